"""A link whose address is not known yet (url: null) opens a stand-in link, and every text
that mentions its button says what it really opens, until staff set the address."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, settings_from_mapping
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.staff.lint import lint_warnings
from tests.factories import CONTACT_FAQ, settings_mapping, write_faq

WEBSITE = "https://www.amshc.gov.al"
FORM = "https://www.amshc.gov.al/register-form"

DATABASE_FAQ = """\
category:
  en: NGO database
  sq: Databaza e OJF-ve
entries:
  - id: ngo-database-register
    questions:
      en:
        - "How do I register my NGO in the database?"
        - ngo database registration
      sq:
        - "Si ta regjistroj OJF-në në databazë?"
        - regjistrimi në databazë
    answer:
      en: "Register with the form the button below opens."
      sq: "Regjistrohuni me formularin që hap butoni më poshtë."
    answer_until_link_set:
      en: "I don't have the form's address: the button opens the website ({ngo_registration})."
      sq: "Adresën e formularit nuk e kam: butoni hap faqen ({ngo_registration})."
    links: [ngo_registration]
"""


def _mapping(tmp_path: Path, form_url: str | None) -> dict[str, Any]:
    raw = settings_mapping(tmp_path / "faq")
    raw["links"]["ngo_registration"] = {
        "url": form_url,
        "until_set": "website",
        "label": {"en": "Registration form", "sq": "Formulari i regjistrimit"},
    }
    return raw


def _dialog(tmp_path: Path, form_url: str | None, faq: str = DATABASE_FAQ) -> Dialog:
    settings = settings_from_mapping(_mapping(tmp_path, form_url), base_dir=tmp_path)
    write_faq(settings.faq_dir, {"services.yaml": faq, "contact.yaml": CONTACT_FAQ})
    return build_dialog(settings)[0]


def _url_buttons(reply: Any) -> list[tuple[str, str]]:
    return [(b.label, b.url) for row in reply.buttons for b in row if b.url]


@pytest.mark.parametrize("lang", ["en", "sq"])
def test_until_the_address_is_set_the_button_and_texts_say_it_opens_the_website(
    tmp_path: Path, lang: str
) -> None:
    dialog = _dialog(tmp_path, None)
    assert dialog.settings.pending_links == frozenset({"ngo_registration"})
    website_label = dialog.settings.links["website"].label(lang)

    answer = dialog.show_entry("ngo-database-register", lang)
    assert _url_buttons(answer) == [(website_label, WEBSITE)]
    assert WEBSITE in answer.text
    assert "form's address" in answer.text or "nuk e kam" in answer.text

    register = dialog.register(lang)
    assert _url_buttons(register) == [(website_label, WEBSITE)]
    honest = {"en": "I don't have the form's address", "sq": "Adresën e formularit nuk e kam"}
    assert honest[lang] in register.text


@pytest.mark.parametrize("lang", ["en", "sq"])
def test_once_staff_set_the_address_the_same_files_give_the_form_and_its_own_answer(
    tmp_path: Path, lang: str
) -> None:
    dialog = _dialog(tmp_path, FORM)
    assert dialog.settings.pending_links == frozenset()
    own_label = dialog.settings.links["ngo_registration"].label(lang)
    assert own_label in ("Registration form", "Formulari i regjistrimit")

    answer = dialog.show_entry("ngo-database-register", lang)
    assert _url_buttons(answer) == [(own_label, FORM)]
    assert "address" not in answer.text
    assert "nuk e kam" not in answer.text
    register = dialog.register(lang)
    assert _url_buttons(register) == [(own_label, FORM)]
    assert "address" not in register.text
    assert "nuk e kam" not in register.text


def test_lint_asks_for_an_honest_answer_when_an_entry_shows_a_link_without_address(
    tmp_path: Path,
) -> None:
    without = DATABASE_FAQ.split("    answer_until_link_set:")[0]
    without += "    links: [ngo_registration]\n"
    dialog = _dialog(tmp_path, None, faq=without)
    loaded = dialog.knowledge()
    warnings = lint_warnings(loaded, tmp_path / "faq", pending_links=dialog.settings.pending_links)
    [warning] = [w for w in warnings if "answer_until_link_set" in w.message]
    assert warning.entry_id == "ngo-database-register"
    assert "'ngo_registration' has no address yet" in warning.message
    assert lint_warnings(loaded, tmp_path / "faq") == [
        w for w in warnings if "answer_until_link_set" not in w.message
    ]


def test_the_answer_until_the_link_is_set_is_checked_like_any_answer(tmp_path: Path) -> None:
    from bot.core.knowledge import KnowledgeBaseError

    broken = DATABASE_FAQ.replace("({ngo_registration})", "({ngo_form})", 1)
    with pytest.raises(KnowledgeBaseError, match=r"answer_until_link_set.en: unknown placeholder"):
        _dialog(tmp_path, None, faq=broken)


def test_a_link_without_address_must_name_a_link_with_one(tmp_path: Path) -> None:
    raw = _mapping(tmp_path, None)
    del raw["links"]["ngo_registration"]["until_set"]
    with pytest.raises(ConfigError, match=r"links\.ngo_registration\.url.*until_set"):
        settings_from_mapping(raw, base_dir=tmp_path)
    raw = _mapping(tmp_path, None)
    raw["links"]["ngo_registration"]["until_set"] = "webiste"
    with pytest.raises(ConfigError, match="'webiste' is not a link with an address"):
        settings_from_mapping(raw, base_dir=tmp_path)
