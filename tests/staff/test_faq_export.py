"""The FAQ for a website: a page per language that a browser shows as it should, with every
entry under its id, the contacts filled in, links that work and a way into the Telegram bot;
and JSON with the same contents."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.config import Settings, load_settings
from bot.core.knowledge import KnowledgeBase
from bot.core.knowledge_state import build_knowledge
from bot.core.locales import Locales, load_locales
from bot.staff import faq_export
from bot.staff.faq_export import (
    ExportError,
    deep_link,
    faq_as_dict,
    faq_page,
    web_html,
    write_export,
)
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, settings_mapping, write_faq
from tests.web_pages import (
    XHTML,
    elements,
    ids_are_unique,
    open_in_chromium,
    parse_page,
    text_of,
)

PROJECT = Path(__file__).resolve().parents[2]
BOT = "ascs_faq_bot"
SPOILER_FAQ = """\
category:
  en: Tricky answers
  sq: Përgjigje të vështira
entries:
  - id: tricky
    questions:
      en: ["What about the tricky one?"]
      sq: ["Po ajo e vështira?"]
    answer:
      en: |-
        Line one &amp; <tg-spoiler>hidden</tg-spoiler>
        Write to {email} or see https://example.org/form.
        <a href="https://example.org/x">a link</a> and <pre>keep
        this</pre>
      sq: "Vetëm një rresht: {phone}."
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    write_faq(
        tmp_path / "faq",
        {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ, "tricky.yaml": SPOILER_FAQ},
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings_mapping(tmp_path / "faq")), encoding="utf-8")
    return path


@pytest.fixture
def settings(config: Path) -> Settings:
    return load_settings(config, environ={})


@pytest.fixture
def knowledge(settings: Settings) -> KnowledgeBase:
    return build_knowledge(settings).knowledge


@pytest.fixture
def locales(settings: Settings) -> Locales:
    return load_locales(settings.languages)


def articles(tree: Any) -> dict[str, Any]:
    return {a.get("id"): a for a in elements(tree, "article")}


def hrefs(element: Any) -> list[str]:
    return [a.get("href", "") for a in element.iter(f"{XHTML}a")]


# ----- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["sq", "en"])
def test_each_page_is_valid_html_with_a_heading_per_topic_and_entry(
    knowledge: KnowledgeBase, settings: Settings, locales: Locales, lang: str
) -> None:
    tree = parse_page(faq_page(knowledge, settings, locales, lang, BOT))
    assert ids_are_unique(tree) == []
    (root,) = list(tree.iter(f"{XHTML}html"))
    assert root.get("lang") == lang
    assert len(elements(tree, "h1")) == 1
    topic_headings = [text_of(h) for s in elements(tree, "section") for h in s.iter(f"{XHTML}h2")]
    assert topic_headings == [c.title(lang) for c in knowledge.categories]
    assert [text_of(h) for h in elements(tree, "h3")] == [e.title(lang) for e in knowledge]
    # every link within the page leads somewhere on it
    ids = {e.get("id") for e in tree.iter() if e.get("id")}
    inner = [h[1:] for h in hrefs(tree) if h.startswith("#")]
    assert inner
    assert set(inner) <= ids


def test_the_contents_list_the_topics_and_their_entries_by_anchor(
    knowledge: KnowledgeBase, settings: Settings, locales: Locales
) -> None:
    tree = parse_page(faq_page(knowledge, settings, locales, "en", BOT))
    (nav,) = elements(tree, "nav")
    assert hrefs(nav) == [
        anchor
        for category in knowledge.categories
        for anchor in (
            f"#topic-{category.key}",
            *(f"#{entry_id}" for entry_id in category.entry_ids),
        )
    ]
    assert "Where is your office?" in text_of(nav)


def test_every_entry_has_its_anchor_its_answer_with_contacts_and_a_telegram_link(
    knowledge: KnowledgeBase, settings: Settings, locales: Locales
) -> None:
    tree = parse_page(faq_page(knowledge, settings, locales, "en", BOT))
    found = articles(tree)
    assert list(found) == [entry.id for entry in knowledge]
    office = found["office-address"]
    assert settings.agency.addresses["en"] in text_of(office)
    assert f"https://t.me/{BOT}?start=office-address" in hrefs(office)
    assert settings.links["map"].url in hrefs(office)
    assert settings.links["map"].label("en") in text_of(office)
    assert "#phone-number" in hrefs(office)  # related: "See also"
    phone = found["phone-number"]
    assert "tel:+35542235569" in hrefs(phone)
    assert settings.agency.phone in text_of(phone)
    for entry_id, article in found.items():
        assert deep_link(BOT, entry_id) in hrefs(article)


def test_the_albanian_page_is_in_albanian_and_links_to_the_english_one(
    knowledge: KnowledgeBase, settings: Settings, locales: Locales
) -> None:
    tree = parse_page(faq_page(knowledge, settings, locales, "sq", BOT))
    assert text_of(elements(tree, "h1")[0]) == "Pyetje të shpeshta"
    office = articles(tree)["office-address"]
    assert settings.agency.addresses["sq"] in text_of(office)
    assert "Hapeni këtë përgjigje në Telegram" in text_of(office)
    assert settings.links["map"].label("sq") in text_of(office)
    assert "faq-en.html" in hrefs(tree)
    (contact,) = elements(tree, "footer")
    assert settings.agency.email in text_of(contact)
    assert f"mailto:{settings.agency.email}" in hrefs(contact)


def test_without_a_bot_username_the_pages_have_no_telegram_links(
    knowledge: KnowledgeBase, settings: Settings, locales: Locales
) -> None:
    page = faq_page(knowledge, settings, locales, "en", None)
    assert "t.me" not in page
    assert len(articles(parse_page(page))) == len(knowledge)


def test_telegram_html_becomes_web_html() -> None:
    phones = {"04 22 355 69": "tel:+35542235569"}
    converted = web_html(
        'a &amp; b <tg-spoiler>s</tg-spoiler> <span class="tg-spoiler">t</span>\n'
        "call 04 22 355 69, mail info@example.org, see https://example.org/a?b=1&amp;c=2.\n"
        '<a href="https://example.org/x">https://example.org/x</a> '
        '<a href="javascript:alert(1)">bad</a> <strike>old</strike> '
        "<pre>one\ntwo</pre>",
        phones,
    )
    assert converted == (
        'a &amp; b <span class="spoiler">s</span> <span class="spoiler">t</span><br>\n'
        'call <a href="tel:+35542235569">04 22 355 69</a>, mail '
        '<a href="mailto:info@example.org">info@example.org</a>, see '
        '<a href="https://example.org/a?b=1&amp;c=2">https://example.org/a?b=1&amp;c=2</a>.<br>\n'
        '<a href="https://example.org/x">https://example.org/x</a> bad <s>old</s> '
        "<pre>one\ntwo</pre>"
    )


def test_an_entry_id_that_clashes_with_a_part_of_the_page_is_refused(
    tmp_path: Path, settings: Settings, locales: Locales
) -> None:
    clash = CONTACT_FAQ.replace("id: phone-number", "id: faq-contents").replace(
        "[phone-number]", "[faq-contents]"
    )
    write_faq(tmp_path / "clash", {"contact.yaml": clash})
    knowledge = build_knowledge(settings, tmp_path / "clash").knowledge
    with pytest.raises(ExportError, match="faq-contents"):
        faq_page(knowledge, settings, locales, "en", BOT)


# ----- JSON -----------------------------------------------------------------------------------


def test_the_json_has_every_entry_with_answers_links_and_deep_link(
    knowledge: KnowledgeBase, settings: Settings
) -> None:
    data = json.loads(json.dumps(faq_as_dict(knowledge, settings, BOT)))
    assert data["languages"] == ["sq", "en"]
    assert [t["id"] for t in data["topics"]] == [c.key for c in knowledge.categories]
    by_id = {e["id"]: e for e in data["entries"]}
    assert list(by_id) == [e.id for e in knowledge]
    office = by_id["office-address"]
    assert office["topic"] == "contact"
    assert office["answers_text"]["en"] == f"Our office is at {settings.agency.addresses['en']}."
    assert office["links"] == [
        {
            "name": "map",
            "url": settings.links["map"].url,
            "labels": dict(settings.links["map"].labels),
        }
    ]
    assert office["related"] == ["phone-number"]
    assert office["telegram"] == f"https://t.me/{BOT}?start=office-address"
    assert office["pages"] == {
        "sq": "faq-sq.html#office-address",
        "en": "faq-en.html#office-address",
    }
    assert "<" not in by_id["tricky"]["answers_text"]["en"]
    assert data["agency"]["email"] == settings.agency.email


# ----- writing the files ------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_export_writes_a_page_per_language_or_the_json(config: Path, tmp_path: Path) -> None:
    site = tmp_path / "site" / "faq"
    code, out, err = run("--config", str(config), "export", "--out", str(site), "--bot", "@x_bot")
    assert code == 0, err
    assert out.split() == [str(site / "faq-sq.html"), str(site / "faq-en.html")]
    assert "https://t.me/x_bot?start=office-address" in (site / "faq-en.html").read_text()
    code, out, _ = run("--config", str(config), "export", "--out", str(site), "--format", "json")
    assert code == 0
    assert json.loads((site / "faq.json").read_text())["entries"][0]["telegram"] is None
    assert sorted(p.name for p in site.iterdir()) == ["faq-en.html", "faq-sq.html", "faq.json"]


def test_export_without_a_bot_username_says_the_telegram_links_are_missing(
    config: Path, tmp_path: Path
) -> None:
    code, _, err = run("--config", str(config), "export", "--out", str(tmp_path / "site"))
    assert code == 0
    assert "--bot" in err


def test_export_into_a_file_instead_of_a_folder_is_a_clear_error(
    config: Path, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "site"
    not_a_folder.write_text("keep me")
    code, _, err = run("--config", str(config), "export", "--out", str(not_a_folder))
    assert code == 1
    assert "is a file: --out must be a folder" in err
    assert "File exists" not in err
    assert not_a_folder.read_text() == "keep me"


def test_a_failed_write_leaves_the_published_page_whole(
    knowledge: KnowledgeBase,
    settings: Settings,
    locales: Locales,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = tmp_path / "site"
    write_export(knowledge, settings, locales, site, "html", BOT)
    published = (site / "faq-en.html").read_text()

    def crash(source: Any, target: Any) -> None:
        raise OSError(28, "No space left on device")

    changed = knowledge.__class__(
        knowledge.entries[:1], knowledge.categories[:1], knowledge.languages
    )
    monkeypatch.setattr(faq_export.os, "replace", crash)
    with pytest.raises(ExportError, match="No space left"):
        write_export(changed, settings, locales, site, "html", BOT)
    assert (site / "faq-en.html").read_text() == published
    assert sorted(os.listdir(site)) == ["faq-en.html", "faq-sq.html"]  # no half-written file


# ----- the project's own FAQ ------------------------------------------------------------------


def test_the_projects_faq_exports_to_valid_pages_with_every_entry(tmp_path: Path) -> None:
    settings = load_settings(PROJECT / "config.yaml", environ={})
    knowledge = build_knowledge(settings).knowledge
    written = write_export(
        knowledge, settings, load_locales(settings.languages), tmp_path, "html", BOT
    )
    for path in written:
        tree = parse_page(path.read_text(encoding="utf-8"))
        assert ids_are_unique(tree) == []
        assert list(articles(tree)) == [e.id for e in knowledge]


def test_the_faq_page_renders_in_chromium_with_no_console_errors(
    knowledge: KnowledgeBase, settings: Settings, locales: Locales, tmp_path: Path
) -> None:
    (page,) = [
        p
        for p in write_export(knowledge, settings, locales, tmp_path, "html", BOT)
        if p.name == "faq-en.html"
    ]
    view = open_in_chromium(page)
    assert view.console == []
    import html5lib

    dom = html5lib.parse(view.dom, namespaceHTMLElements=True)
    assert len(elements(dom, "article")) == len(knowledge)
    text = text_of(dom)
    assert "Frequently asked questions" in text
    assert settings.agency.addresses["en"] in text
    assert "Open this answer in Telegram" in text


# ----- the project's own FAQ: what the agency's website would publish ---------------------------

BUTTON_WORDS = ("button", "butoni", "butonin", "tap ", "shtypni")


@pytest.fixture
def project_export(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    config = str(PROJECT / "config.yaml")
    for fmt in ("html", "json"):
        code, _, err = run("--config", config, "export", "--out", str(site), "--format", fmt)
        assert code == 0, err
    return site


def test_the_web_pages_never_mention_telegram_buttons(project_export: Path) -> None:
    for name in ("faq-en.html", "faq-sq.html", "faq.json"):
        text = (project_export / name).read_text(encoding="utf-8").lower()
        assert not [w for w in BUTTON_WORDS if w in text], name


def test_a_link_without_an_address_gets_the_honest_answer_on_the_web(
    project_export: Path,
) -> None:
    settings = load_settings(PROJECT / "config.yaml", environ={})
    assert {"ngo_registration", "staff_webmail"} <= settings.pending_links
    pages = {
        lang: articles(parse_page((project_export / f"faq-{lang}.html").read_text("utf-8")))
        for lang in ("en", "sq")
    }
    assert "I don't have the form's address" in text_of(pages["en"]["ngo-database-register"])
    assert "Adresën e formularit nuk e kam" in text_of(pages["sq"]["ngo-database-register"])
    assert "I don't have its address" in text_of(pages["en"]["staff-webmail"])
    data = json.loads((project_export / "faq.json").read_text(encoding="utf-8"))
    register = next(e for e in data["entries"] if e["id"] == "ngo-database-register")
    assert "I don't have the form's address" in register["answers_text"]["en"]
    assert "I don't have the form's address" in register["answers_html"]["en"]
