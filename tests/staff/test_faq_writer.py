"""Writing a learned variant: one line added, every other byte of the staff's file kept."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from bot.core.knowledge_state import build_knowledge
from bot.staff.faq_writer import (
    FaqWriteError,
    plan_draft,
    plan_variant,
    validate,
    with_variant,
)

REPO = Path(__file__).resolve().parents[2]
# Comments everywhere, blank lines, every quoting style, a flow list, a block answer.
ODD_FILE = """\
# yaml-language-server: $schema=../bot/core/schema/faq.schema.json
# Staff notes: keep the deadlines in step with the call for proposals.
category: {en: Deadlines, sq: Afatet}   # a flow mapping

entries:
    # the projects' deadline
    - id: deadline-projects
      questions:
          en:
              - 'When is the deadline for project grants?'   # single quotes
              - "project grant deadline"
              - project deadline   # plain
          sq: ["Kur është afati për grantet e projekteve?", 'afati i granteve te projekteve']
      answer:
          en: |
              Project grant applications close on 31 March.
          sq: >-
              Aplikimet për grantet e projekteve
              mbyllen më 31 mars.

    - id: deadline-institutional
      questions:
          en: ["When is the deadline for institutional grants?", "institutional grant deadline"]
          sq: ["Kur është afati për grantet institucionale?"]
      answer:
          en: "Institutional grant applications close on 30 September."
          sq: "Aplikimet për grantet institucionale mbyllen më 30 shtator."
"""


def added_lines(before: str, after: str) -> list[str]:
    diff = difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True))
    changed = [line for line in diff if line[:2] in ("+ ", "- ")]
    assert all(line.startswith("+ ") for line in changed), changed
    return [line[2:] for line in changed]


def test_one_line_is_added_to_the_right_entry_and_nothing_else_changes() -> None:
    after = with_variant(ODD_FILE, "deadline-projects", "en", "deadline for grants")

    # Written like its neighbour (plain), right after the entry's last English question.
    assert added_lines(ODD_FILE, after) == ["              - deadline for grants\n"]
    assert after.replace("              - deadline for grants\n", "", 1) == ODD_FILE
    assert after.index("deadline for grants") > after.index("project deadline   # plain")
    assert after.index("deadline for grants") < after.index('sq: ["Kur')


def test_a_flow_list_gets_the_new_question_on_its_own_line() -> None:
    after = with_variant(ODD_FILE, "deadline-institutional", "sq", "kur mbyllen grantet")

    old, new = ODD_FILE.splitlines(), after.splitlines()
    assert len(new) == len(old)
    (changed,) = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == (
        '          sq: ["Kur është afati për grantet institucionale?"]',
        '          sq: ["Kur është afati për grantet institucionale?", "kur mbyllen grantet"]',
    )


def test_a_quote_in_the_question_is_escaped_as_its_neighbour_is_quoted() -> None:
    text = ODD_FILE.replace("- project deadline   # plain", "- 'project deadline'   # quoted")

    after = with_variant(text, "deadline-projects", "en", "what's the project's deadline")

    assert added_lines(text, after) == ["              - 'what''s the project''s deadline'\n"]


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "123"])
def test_a_question_yaml_would_read_as_a_boolean_or_number_is_quoted(word: str) -> None:
    after = with_variant(ODD_FILE, "deadline-projects", "en", word)

    assert added_lines(ODD_FILE, after) == [f'              - "{word}"\n']
    loaded = yaml.safe_load(after)
    assert loaded["entries"][0]["questions"]["en"][-1] == word


def test_an_unknown_entry_is_refused() -> None:
    with pytest.raises(FaqWriteError, match="no entry 'nope'"):
        with_variant(ODD_FILE, "nope", "en", "anything")


def test_the_projects_own_files_take_a_line_in_their_style() -> None:
    before = (REPO / "faq" / "contact.yaml").read_text(encoding="utf-8")

    after = with_variant(before, "contact-all", "en", "where can i find you")

    assert added_lines(before, after) == ['        - "where can i find you"\n']


def test_the_planned_file_loads_and_answers_the_new_question(settings: Settings) -> None:
    plan = plan_variant(settings.faq_dir, "deadline-projects", "en", "deadline for grants")
    validate(settings, settings.faq_dir, plan)  # raises if it would not load or lint fails

    assert plan.path == settings.faq_dir / "deadlines.yaml"
    assert plan.path.read_bytes() == plan.before  # nothing written yet
    assert plan.diff.splitlines()[-2].startswith("+      en: [")
    assert plan.diff.splitlines()[-2].endswith('"project grant deadline", "deadline for grants"]')


def test_a_variant_that_takes_another_entrys_question_is_refused(settings: Settings) -> None:
    # Word for word another entry's question: lint's thief check fails, so no write.
    plan = plan_variant(
        settings.faq_dir, "deadline-projects", "en", "When is the deadline for institutional grants"
    )

    with pytest.raises(FaqWriteError, match="lint") as refused:
        validate(settings, settings.faq_dir, plan)
    assert refused.value.problems
    build_knowledge(settings)  # the files on disk are untouched and still load


def test_a_write_that_would_not_load_is_refused(settings: Settings) -> None:
    plan = plan_variant(settings.faq_dir, "deadline-projects", "en", "deadline for grants")
    broken = type(plan)(plan.path, plan.before, plan.after + b"  - id: [unclosed\n", plan.diff)

    with pytest.raises(FaqWriteError, match="would not load"):
        validate(settings, settings.faq_dir, broken)


def test_a_draft_entry_goes_to_the_drafts_file_that_the_bot_never_loads(
    settings: Settings,
) -> None:
    plan = plan_draft(settings.faq_dir, "draft-1", "en", ["can i get a job at the agency"])

    assert plan.before is None
    assert plan.path == settings.faq_dir / "drafts" / "new-entries.yaml"
    plan.path.parent.mkdir()
    plan.path.write_bytes(plan.after)
    knowledge = build_knowledge(settings).knowledge
    assert knowledge.entry("draft-1") is None
    second = plan_draft(settings.faq_dir, "draft-2", "en", ["i want to visit you"])
    assert added_lines(plan.after.decode(), second.after.decode())[0] == "  - id: draft-2\n"
