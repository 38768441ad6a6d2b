"""The report's "Unanswered" lists mark questions the knowledge base answers now (an entry
added since they were asked), and "Entries nobody was given" names each entry's question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.core.locales import load_locales
from bot.core.telegram_html import html_to_plain
from bot.staff.report import Report, build_report, render_report, unanswered_summary
from bot.staff.report_html import render_html_report
from bot.storage.question_log import LoggedQuestion
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, make_settings, write_faq

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fallback(text: str, number: int) -> LoggedQuestion:
    return LoggedQuestion(
        id=f"q{number}",
        asked_at=NOW - timedelta(hours=number + 1),
        text=text,
        lang="en",
        outcome="fallback",
        entry_id=None,
        score=0.0,
        user_hash=f"user-{number}",
        channel="telegram",
        helpful=None,
    )


@pytest.fixture
def knowledge(tmp_path: Path) -> LoadedKnowledge:
    """The base as it is now: grants were added after the grant questions went unanswered."""
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    return build_knowledge(settings)


@pytest.fixture
def report(knowledge: LoadedKnowledge) -> Report:
    asked = [fallback("what kinds of grants do you give", n) for n in range(3)]
    asked += [fallback("can i adopt a cat here", n) for n in range(3, 5)]
    return build_report(asked, knowledge, timedelta(days=7), now=NOW)


def test_the_table_marks_a_question_the_base_now_answers_and_only_that_one(
    report: Report,
) -> None:
    table = render_report(report, "table")

    grants, cat = table.split("what kinds of grants do you give")[1].split("can i adopt a cat")
    assert "✓ now answered by grant-types" in grants
    assert "now answered" not in cat.split("\n\n")[0]


def test_the_html_report_and_unanswered_mark_it_too(report: Report) -> None:
    page = render_html_report(report, load_locales(("sq", "en")), "en")
    assert "now answered by grant-types" in page
    assert "✓ now answered by grant-types" in html_to_plain(unanswered_summary(report, "en"))


def test_entries_nobody_was_given_are_named_by_their_question(report: Report) -> None:
    table = render_report(report, "table")
    page = render_html_report(report, load_locales(("sq", "en")), "en")

    assert "phone-number (What is your phone number?)" in " ".join(table.split())
    assert "phone-number: What is your phone number?" in page
    sq_table = render_report(report, "table", "sq")
    assert "phone-number (Cili është numri i telefonit?)" in " ".join(sq_table.split())
