"""Staff files that are valid YAML but would exhaust or mislead the bot are refused by the
loader with file and line: alias bombs, deep nesting, answers with nothing to read, ids with
a hidden newline."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.knowledge import KnowledgeBaseError
from bot.core.knowledge_state import build_knowledge
from bot.core.safe_yaml import MAX_ALIAS_EXPANSION, compose_and_load
from tests.core.test_knowledge_loader import VALID_ENTRY, load_problems, only_problem
from tests.factories import make_settings, write_faq

# Nine levels of ten aliases each: a billion items once expanded.
ALIAS_BOMB = (
    VALID_ENTRY
    + """\
    links: &a0 [map]
x0: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
x1: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
x2: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
x3: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
x4: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
x5: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
x6: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
x7: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
x8: &a9 [*a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8]
"""
)


def test_an_alias_bomb_is_refused_with_file_and_line(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, ALIAS_BOMB)
    assert problem.file == "faq/topic.yaml"
    # x3 (file line 16) is the first level whose expansion passes the bound.
    assert problem.line == 16
    assert f"expand to more than {MAX_ALIAS_EXPANSION:,} items" in problem.message


def test_an_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID_ENTRY + "loop: &self [1, *self]\n")
    assert problem.line == 12
    assert "refers to the item that contains it" in problem.message


def test_a_few_shared_answers_through_aliases_still_load(tmp_path: Path) -> None:
    shared = VALID_ENTRY.replace('en: "At {address}."', 'en: &same "At {address}."').replace(
        'sq: "Në {address}."', "sq: *same"
    )
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"topic.yaml": shared})
    entry = build_knowledge(settings).knowledge.entry("office-address")
    assert entry is not None
    assert entry.answers["sq"].startswith("At Rruga")  # the English text, shared


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_nesting_hundreds_of_levels_is_a_clear_error_not_a_crash(
    tmp_path: Path, opening: str
) -> None:
    closing = "]" if opening == "[" else "}"
    text = "entries:\n  - id: deep\n    questions: " + opening * 900 + closing * 900 + "\n"
    problem = only_problem(tmp_path, text)
    assert problem.line == 4
    assert "nests more than" in problem.message
    assert "Traceback" not in problem.message


def test_the_bounded_loader_gives_what_safe_load_gives() -> None:
    text = "a: &x {b: [1, 2.5, yes, null, '3']}\nc: *x\nd: {<<: *x, e: f}\n"
    import yaml

    root, data = compose_and_load(text)
    assert data == yaml.safe_load(text)
    assert root is not None
    assert compose_and_load("") == (None, None)


@pytest.mark.parametrize("answer", ['"   "', '"<b></b>"', '"<b> </b>\\n<i></i>"', '""'])
def test_an_answer_without_visible_text_is_an_error(tmp_path: Path, answer: str) -> None:
    text = VALID_ENTRY.replace('"At {address}."', answer)
    problem = only_problem(tmp_path, text)
    assert problem.line == 10
    assert problem.entry_id == "office-address"
    assert "answer.en" in problem.message or "only spaces" in problem.message


def test_tag_only_answer_names_the_missing_visible_text(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID_ENTRY.replace('"At {address}."', '"<b></b>"'))
    assert "answer.en: has no visible text" in problem.message


def test_a_whitespace_only_question_is_an_error(tmp_path: Path) -> None:
    problem = only_problem(
        tmp_path, VALID_ENTRY.replace("        - office address", '        - "  "')
    )
    assert problem.line == 6
    assert "only spaces" in problem.message


@pytest.mark.parametrize(
    ("original", "forged", "said"),
    [
        ("id: office-address", 'id: "office-address\\n"', "is not a valid id"),
        ("    answer:", '    related: ["phone\\n"]\n    answer:', "is not a valid entry id"),
        ("    answer:", '    links: ["map\\n"]\n    answer:', "is not a link name"),
        ("      en:\n        - office", '      "en\\n":\n        - office', "not a language code"),
    ],
)
def test_a_trailing_newline_does_not_slip_past_a_pattern(
    tmp_path: Path, original: str, forged: str, said: str
) -> None:
    text = VALID_ENTRY.replace(original, forged, 1)
    assert text != VALID_ENTRY
    problems = load_problems(tmp_path, {"topic.yaml": text})
    assert any(said in p.message for p in problems), problems


def test_an_unreadable_folder_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"topic.yaml": VALID_ENTRY})

    def refuse(self: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "iterdir", refuse)
    with pytest.raises(KnowledgeBaseError, match="cannot read the folder: Permission denied"):
        build_knowledge(settings)
