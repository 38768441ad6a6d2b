"""Short messages a new user sends (issue 23): "phone number pls" from someone with no
language setting is answered in English, and a bare "ok" is acknowledged, not answered
with "I don't have an answer"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.dialog import Dialog
from bot.core.language import guess_language
from tests.factories import CONTACT_FAQ, make_dialog

# How the knowledge base writes each word (shares per language); None: it never does.
WRITTEN = {
    "phone": {"en": 1.0},
    "number": {"en": 1.0},
    "pls": {"en": 1.0},
    "numri": {"sq": 1.0},
    "email": {},  # written in both languages alike
    "the": {"en": 1.0},
    "of": {"en": 1.0},
    "agency": {"en": 1.0},
}


def written(word: str) -> dict[str, float] | None:
    return WRITTEN.get(word)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("phone number pls", "en"),
        ("email pls", "en"),
        ("Email, pls!", "en"),
        # "tel" is written by no variant: nothing to go by, the user's setting decides
        ("tel pls", None),
        # words of two languages: no clear language
        ("numri pls", None),
        # only short questions are read as a whole
        ("email of the agency pls", None),
    ],
)
def test_a_short_question_with_no_clue_is_read_as_a_whole(
    question: str, expected: str | None
) -> None:
    # The matcher passes no clue for glossary words ("phone", "email"), and "pls" is
    # written in Albanian chats too, so word by word nothing tells the language.
    assert guess_language(question, ["pls"], written) == expected


def test_a_clue_still_beats_the_short_question_rule() -> None:
    # "numri" is Albanian: the clue decides, the other words do not outvote it.
    assert guess_language("numri pls", ["numri"], written) == "sq"


SYNONYMS = """\
synonyms:
  - [telefon, telefoni, phone, telephone]
  - [email, e-mail]
"""
EMAIL_FAQ = """\
category:
  en: E-mail
  sq: E-mail
entries:
  - id: email
    questions:
      en: ["What is your email?", email address, send me your email pls]
      sq: ["Cili është emaili?", email, adresa e emailit]
    answer:
      en: "Write to {email}."
      sq: "Shkruani në {email}."
"""


@pytest.fixture
def dialog(tmp_path: Path) -> Dialog:
    files = {"contact.yaml": CONTACT_FAQ, "email.yaml": EMAIL_FAQ, "synonyms.yaml": SYNONYMS}
    return make_dialog(tmp_path, files)[0]


def test_a_short_english_question_is_answered_in_english_without_a_language_setting(
    dialog: Dialog,
) -> None:
    reply = dialog.reply_to_question("email pls")
    assert reply.lang == "en"
    assert reply.text == "Write to info@amshc.gov.al."


def test_an_albanian_question_is_still_answered_in_albanian(dialog: Dialog) -> None:
    reply = dialog.reply_to_question("numri i telefonit")
    assert reply.lang == "sq"
    assert "Na telefononi" in reply.text


@pytest.mark.parametrize(("message", "lang"), [("ok", "sq"), ("OK", "en"), ("okay", "en")])
def test_a_bare_ok_is_acknowledged_like_thanks(dialog: Dialog, message: str, lang: str) -> None:
    reply = dialog.reply_to_question(message, chosen_lang=lang)
    assert reply.kind == "smalltalk"
    assert reply.lang == lang
    assert reply.text == dialog.locales.text(lang, "thanks")


def test_ok_before_a_question_does_not_hide_the_question(dialog: Dialog) -> None:
    reply = dialog.reply_to_question("ok, and the phone number?")
    assert reply.kind == "answer"
    assert reply.entry_id == "phone-number"
