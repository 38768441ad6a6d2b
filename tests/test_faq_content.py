"""Meta-tests over the real knowledge base in faq/: what staff ship must stay healthy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.staff.evaluation import evaluate, format_report, load_cases
from bot.staff.lint import lint_warnings

REPO = Path(__file__).resolve().parent.parent
FAQ_DIR = REPO / "faq"


@pytest.fixture(scope="module")
def loaded() -> LoadedKnowledge:
    return build_knowledge(load_settings(REPO / "config.yaml", environ={}))


@pytest.fixture(scope="module")
def dialog() -> Dialog:
    return build_dialog(load_settings(REPO / "config.yaml", environ={}))[0]


def test_every_faq_file_loads_and_lint_has_no_warnings(loaded: LoadedKnowledge) -> None:
    warnings = lint_warnings(loaded, FAQ_DIR)
    assert warnings == [], "\n".join(str(w) for w in warnings)


def test_every_entry_is_in_albanian_and_english(loaded: LoadedKnowledge) -> None:
    for entry in loaded.knowledge:
        assert set(entry.answers) == {"sq", "en"}, entry.id
        assert set(entry.questions) == {"sq", "en"}, entry.id


def test_the_knowledge_base_is_grouped_in_a_handful_of_topics(loaded: LoadedKnowledge) -> None:
    categories = loaded.knowledge.categories
    assert 3 <= len(categories) <= 8
    for category in categories:
        assert category.title("sq") != category.title("en"), category.key


def test_contact_details_come_from_config_not_from_answers() -> None:
    literal_contacts = re.compile(r"info@amshc|22\s?355\s?69|Frosina|amshc\.gov\.al", re.I)
    for path in FAQ_DIR.glob("*.yaml"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.lstrip().startswith("#") or line.lstrip().startswith("- "):
                continue  # comments and question variants may name them
            assert not literal_contacts.search(line), f"{path.name}:{number}: use a placeholder"


def test_the_projects_own_evaluation_meets_the_quality_bars(dialog: Dialog) -> None:
    cases = load_cases(REPO / "tests" / "eval_cases.yaml")
    assert len(cases) >= 60
    assert {c.lang for c in cases} == {"sq", "en"}
    assert any(not c.in_scope for c in cases)
    summary = evaluate(dialog, cases)
    assert summary.meets_bars, format_report(summary, verbose=True)


def test_own_evaluation_questions_are_not_copies_of_faq_variants(
    loaded: LoadedKnowledge,
) -> None:
    from bot.core.text import normalise

    variants = {normalise(v) for e in loaded.knowledge for vs in e.questions.values() for v in vs}
    copies = [
        c.question
        for c in load_cases(REPO / "tests" / "eval_cases.yaml")
        if normalise(c.question) in variants
    ]
    assert len(copies) <= 3, copies
