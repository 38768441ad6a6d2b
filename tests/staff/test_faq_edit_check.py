"""The FAQ desk's quicker check gives exactly the verdicts of loading and linting the whole
of faq/ (check_with_file), on the shipped knowledge base: for answer edits, `reviewed:`
dates and sent files, valid or not, and when faq/ itself holds an error or changes on the
server between checks."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings, load_settings
from bot.staff.faq_edit_check import EditChecker
from bot.staff.faq_editing import check_with_file, with_answer, with_reviewed
from bot.storage.knowledge_cache import load_knowledge

REPO = Path(__file__).resolve().parents[2]
SCHEMA = "# yaml-language-server: $schema=../bot/core/schema/faq.schema.json\n"
DAY = date(2026, 12, 8)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    shipped_settings = load_settings(REPO / "config.yaml", environ={})
    folder = tmp_path_factory.mktemp("edit-check")
    faq = folder / "faq"
    shutil.copytree(shipped_settings.faq_dir, faq, ignore=shutil.ignore_patterns(".*"))
    settings = dataclasses.replace(
        shipped_settings, faq_dir=faq, question_log_path=folder / "state" / "questions.db"
    )
    load_knowledge(settings)  # as the bot starts: the checker starts from the files' parse
    return settings, faq


@pytest.fixture(scope="module")
def checker(shipped: tuple[Settings, Path]) -> EditChecker:
    """One checker for every case, as the desk keeps one: what it remembers between
    checks (parsed files, faq/ known clean) must not change a later verdict."""
    settings, faq = shipped
    return EditChecker(settings, faq)


def _answer(entry_id: str, lang: str, text: str) -> Callable[[Path], tuple[str, bytes]]:
    def edit(faq: Path) -> tuple[str, bytes]:
        name = "contact.yaml"
        before = (faq / name).read_text(encoding="utf-8")
        return name, with_answer(before, entry_id, lang, text, DAY).encode("utf-8")

    return edit


def _reviewed(entry_id: str) -> Callable[[Path], tuple[str, bytes]]:
    def edit(faq: Path) -> tuple[str, bytes]:
        before = (faq / "grants.yaml").read_text(encoding="utf-8")
        return "grants.yaml", with_reviewed(before, entry_id, DAY).encode("utf-8")

    return edit


def _upload(
    name: str, change: Callable[[dict[str, Any]], None]
) -> Callable[[Path], tuple[str, bytes]]:
    def edit(faq: Path) -> tuple[str, bytes]:
        data = yaml.safe_load((faq / name).read_text(encoding="utf-8"))
        change(data)
        text = SCHEMA + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        return name, text.encode("utf-8")

    return edit


def _entry(data: dict[str, Any], entry_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in data["entries"] if e["id"] == entry_id)
    return found


def _add_questions(entry_id: str, lang: str, *texts: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: _entry(data, entry_id)["questions"][lang].extend(texts)


def _add_entry_as(entry_id: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["entries"].append({**data["entries"][0], "id": entry_id, "questions": {"en": ["x y"]}})

    return change


def _set_answer(entry_id: str, text: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: _entry(data, entry_id)["answer"].update(en=text)


def _glossary_with(group: str) -> Callable[[Path], tuple[str, bytes]]:
    def edit(faq: Path) -> tuple[str, bytes]:
        text = (faq / "synonyms.yaml").read_text(encoding="utf-8")
        return "synonyms.yaml", text.replace("synonyms:\n", f"synonyms:\n  - {group}\n", 1).encode()

    return edit


# (what the edit is, the edit, whether the full check refuses it)
ANSWER_EDITS = [
    ("a valid answer", _answer("phone", "en", "Call us on {phone}."), False),
    (
        "a valid answer in Albanian",
        _answer("office-address", "sq", "Na gjeni në <b>Tiranë</b>."),
        False,
    ),
    ("an unclosed HTML tag", _answer("phone", "en", "Call <b>us on {phone}."), True),
    ("a tag Telegram does not know", _answer("phone", "sq", "<div>Na telefononi</div>"), True),
    ("an unknown placeholder", _answer("office-address", "en", "We are at {nowhere}."), True),
    ("a reviewed date", _reviewed("grant-types"), False),
]
UPLOADS = [
    (
        "a new question",
        _upload("grants.yaml", _add_questions("grant-types", "en", "kinds of grant")),
        False,
    ),
    (
        "a changed answer",
        _upload("news.yaml", _set_answer("social-media", "See <i>our pages</i>.")),
        False,
    ),
    (
        "an HTML error in a sent file",
        _upload("news.yaml", _set_answer("social-media", "<b>x")),
        True,
    ),
    (
        "an unknown placeholder in a sent file",
        _upload("news.yaml", _set_answer("social-media", "{nope}")),
        True,
    ),
    (
        "a question another file's entry has",
        _upload("grants.yaml", _add_questions("grant-types", "en", "How can I contact you?")),
        True,
    ),
    (
        "a thief variant",
        _upload("news.yaml", _add_questions("social-media", "en", "contacts")),
        True,
    ),
    ("an id another file uses", _upload("grants.yaml", _add_entry_as("contact-all")), True),
    (
        "a comment added",
        lambda faq: ("news.yaml", (faq / "news.yaml").read_bytes() + b"# note\n"),
        False,
    ),
    (
        "a question removed",
        _upload("news.yaml", lambda d: _entry(d, "social-media")["questions"]["en"].pop()),
        False,
    ),
    (
        "an entry expired",
        _upload("news.yaml", lambda d: _entry(d, "social-media").update(expires=date(2020, 1, 1))),
        False,
    ),
    ("a new entry", _upload("news.yaml", _add_entry_as("news-new-entry")), False),
    ("a harmless synonym group", _glossary_with("[qwertz, azerty]"), False),
    (
        "a synonym group joining two entries' questions",
        _glossary_with("[contact, open call]"),
        True,
    ),
    ("a YAML error", lambda faq: ("grants.yaml", b"entries:\n  - id: [unclosed\n"), True),
    ("a new file", lambda faq: ("extra.yaml", (faq / "news.yaml").read_bytes()), True),
]


@pytest.mark.parametrize(
    ("label", "edit", "refused"), ANSWER_EDITS, ids=[c[0] for c in ANSWER_EDITS]
)
def test_an_answer_edit_gets_the_full_checks_verdict(
    shipped: tuple[Settings, Path],
    checker: EditChecker,
    label: str,
    edit: Callable[[Path], tuple[str, bytes]],
    refused: bool,
) -> None:
    settings, faq = shipped
    name, after = edit(faq)
    full, _loaded = check_with_file(settings, faq, name, after)

    quick, knowledge = checker.check(name, after)

    assert quick == full
    assert bool(quick) is refused, label
    assert (knowledge is None) is (_loaded is None)


@pytest.mark.parametrize(("label", "edit", "refused"), UPLOADS, ids=[c[0] for c in UPLOADS])
def test_a_sent_file_gets_the_full_checks_verdict(
    shipped: tuple[Settings, Path],
    checker: EditChecker,
    label: str,
    edit: Callable[[Path], tuple[str, bytes]],
    refused: bool,
) -> None:
    settings, faq = shipped
    name, after = edit(faq)
    full, _loaded = check_with_file(settings, faq, name, after)

    quick, _quick_loaded = checker.check(name, after)

    assert quick == full
    assert bool(quick) is refused, label


def test_an_error_already_in_faq_is_reported_for_an_answer_edit_as_the_full_check_does(
    shipped: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, shipped_faq = shipped
    faq = tmp_path / "faq"
    shutil.copytree(shipped_faq, faq)
    checker = EditChecker(settings, faq)
    name, after = _answer("phone", "en", "Call us on {phone}.")(faq)
    assert checker.check(name, after)[0] == ()  # faq/ is now known to be clean
    # Someone on the server adds a variant that takes another entry's question.
    thief_name, thief = _upload("news.yaml", _add_questions("social-media", "en", "contacts"))(faq)
    (faq / thief_name).write_bytes(thief)
    full, _loaded = check_with_file(settings, faq, name, after)

    quick, _knowledge = checker.check(name, after)

    assert quick == full
    assert any("takes over" in problem.message for problem in quick)
