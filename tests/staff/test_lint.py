"""Lint on the real knowledge base after the edits staff get wrong: a thief variant, a
synonym group that merges two entries' questions, a subject listed as missing that an entry
now answers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.core.knowledge import Problem
from bot.core.knowledge_state import build_knowledge
from bot.staff.lint import lint_warnings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def faq(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "faq", tmp_path / "faq"))


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(REPO / "config.yaml", environ={})


def lint(settings: Settings, faq: Path) -> list[Problem]:
    return lint_warnings(build_knowledge(settings, faq), faq)


def add_variant(faq: Path, after: str, variant: str) -> int:
    """Add a question variant after the line `after` of contact.yaml; its line number."""
    path = faq / "contact.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    position = lines.index(after) + 1
    lines.insert(position, f'        - "{variant}"')
    path.write_text("\n".join(lines), encoding="utf-8")
    return position + 1


def line_of(faq: Path, text: str) -> int:
    lines = (faq / "contact.yaml").read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines, 1) if line.strip() == f'- "{text}"')


def test_the_real_knowledge_base_lints_clean(settings: Settings, faq: Path) -> None:
    assert lint(settings, faq) == []


def test_a_variant_that_takes_over_another_entrys_is_an_error_with_both_places(
    settings: Settings, faq: Path
) -> None:
    # The example: "numri i telefonit" added to the office's questions.
    thief_line = add_variant(faq, '        - "më jepni adresën"', "numri i telefonit")
    errors = [p for p in lint(settings, faq) if p.severity == "error"]
    taken = [p for p in errors if p.entry_id == "office-address" and "takes over" in p.message]
    assert taken, errors
    for problem in taken:
        assert (problem.file, problem.line) == ("faq/contact.yaml", thief_line)
        victim = re.search(
            r"takes over '([^']+)' of entry 'phone' at faq/contact.yaml:(\d+)", problem.message
        )
        assert victim is not None, problem.message
        assert int(victim.group(2)) == line_of(faq, victim.group(1))


def test_a_synonym_group_that_merges_two_entries_questions_is_an_error(
    settings: Settings, faq: Path
) -> None:
    glossary = faq / "synonyms.yaml"
    glossary.write_text(
        glossary.read_text(encoding="utf-8").replace(
            "  - [telefon, telefoni,", "  - [adresa, telefon, telefoni,"
        ),
        encoding="utf-8",
    )
    errors = [p for p in lint(settings, faq) if p.severity == "error"]
    merged = [p for p in errors if "same question once the synonyms are read" in p.message]
    assert merged, errors
    assert all("faq/synonyms.yaml:" in p.message for p in merged)


def test_a_subject_listed_as_not_in_base_that_an_entry_uses_is_a_warning(
    settings: Settings, faq: Path
) -> None:
    glossary = faq / "synonyms.yaml"
    glossary.write_text(glossary.read_text(encoding="utf-8") + "  - adresa\n", encoding="utf-8")
    problems = lint(settings, faq)
    assert [(p.file, p.severity) for p in problems] == [("faq/synonyms.yaml", "warning")]
    assert "'adresa' is used by the questions of entry" in problems[0].message
    assert problems[0].line == len(glossary.read_text(encoding="utf-8").split("\n")) - 1


def test_a_question_indented_one_space_too_far_is_a_warning_with_its_line(
    settings: Settings, faq: Path
) -> None:
    # Issue 24: the second line joins the first, and the entry gets one question
    # "ku te parkoj - parkim te zyra" instead of two.
    path = faq / "contact.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    position = lines.index('        - "më jepni adresën"') + 1
    lines[position:position] = ["        - ku te parkoj", "         - parkim te zyra"]
    path.write_text("\n".join(lines), encoding="utf-8")
    joined = [p for p in lint(settings, faq) if "ku te parkoj - parkim te zyra" in p.message]
    assert [(p.file, p.line, p.severity) for p in joined] == [
        ("faq/contact.yaml", position + 1, "warning")
    ]
    assert "on its own line" in joined[0].message


def test_a_question_copied_into_another_entry_is_reported_once(
    settings: Settings, faq: Path
) -> None:
    add_variant(faq, '        - "më jepni adresën"', "numri i telefonit")
    about_it = [p for p in lint(settings, faq) if "'numri i telefonit'" in p.message]
    assert len(about_it) == 1, about_it
    assert about_it[0].severity == "error"
