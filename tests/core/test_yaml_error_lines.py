"""A YAML mistake is reported on the line staff must fix: an unclosed quote on its own line,
not on the line, several lines on, where the parser noticed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.knowledge import KnowledgeBaseError, Problem
from bot.core.knowledge_state import build_knowledge
from tests.factories import make_settings, write_faq


def entry(number: int) -> str:
    return (
        f"  - id: entry-{number}\n"
        "    questions:\n"
        "      en:\n"
        f'        - "question number {number}"\n'
        f"        - another way to ask {number}\n"
        "    answer:\n"
        f'      en: "Answer {number}."\n'
    )


def the_problem(tmp_path: Path, text: str) -> Problem:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"topic.yaml": text})
    with pytest.raises(KnowledgeBaseError) as caught:
        build_knowledge(settings)
    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert len(errors) == 1, errors
    return errors[0]


def test_an_unclosed_quote_on_line_680_is_reported_at_680_not_683(tmp_path: Path) -> None:
    header = "# Grants\n# (two comment lines)\nentries:\n"
    lines = (header + "".join(entry(n) for n in range(120))).splitlines(keepends=True)
    # write_faq puts the schema line first, so the file's line 680 is lines[678]: a quoted
    # question. The next quote in the file opens the entry's answer, three lines on (683).
    assert lines[678].startswith('        - "question number')
    assert lines[681].startswith('      en: "Answer')
    lines[678] = lines[678].rstrip().rstrip('"') + "\n"  # the closing quote forgotten
    problem = the_problem(tmp_path, "".join(lines))
    assert problem.line == 680
    assert "quote opened on this line is not closed" in problem.message


def test_an_unclosed_quote_at_the_end_of_the_file_is_reported_where_it_opens(
    tmp_path: Path,
) -> None:
    text = "entries:\n" + entry(1) + '  - id: last\n    questions:\n      en:\n        - "where\n'
    problem = the_problem(tmp_path, text + "        - and more\n\n")
    assert problem.line == 13  # the schema line, 8 lines of entry 1, then the quote's line
    assert "not closed" in problem.message


def test_a_quoted_answer_written_over_several_lines_still_loads(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    text = (
        "entries:\n  - id: long-answer\n    questions:\n      en:\n        - long answer\n"
        '    answer:\n      en: "A long answer\n        written over two lines."\n'
    )
    write_faq(settings.faq_dir, {"topic.yaml": text})
    knowledge = build_knowledge(settings).knowledge
    entry_ = knowledge.entry("long-answer")
    assert entry_ is not None
    assert "written over two lines" in entry_.answers["en"]
