"""Reports show staff what to add to the FAQ, what is asked and what did not help."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.staff.report import (
    CSV_COLUMNS,
    Report,
    build_report,
    cluster_questions,
    parse_since,
    render_report,
    stats_summary,
    unanswered_summary,
)
from bot.storage.question_log import LoggedQuestion, QuestionLog
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, make_settings, write_faq

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_counter = iter(range(1_000_000))


def asked(
    text: str,
    outcome: str,
    *,
    entry_id: str | None = None,
    lang: str = "en",
    user: str = "user-1",
    days_ago: float = 1,
    helpful: bool | None = None,
) -> LoggedQuestion:
    return LoggedQuestion(
        id=f"q{next(_counter)}",
        asked_at=NOW - timedelta(days=days_ago),
        text=text,
        lang=lang,
        outcome=outcome,
        entry_id=entry_id,
        score=0.0,
        user_hash=user,
        channel="telegram",
        helpful=helpful,
    )


@pytest.fixture
def knowledge(tmp_path: Path) -> LoadedKnowledge:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    return build_knowledge(settings)


LOG = [
    # unanswered: one question in two wordings, and two others
    asked("how do i register an ngo", "fallback", user="user-1"),
    asked("how do i register an ngo", "fallback", user="user-2", days_ago=2),
    asked("how do i register an ngo", "fallback", user="user-3", days_ago=3),
    asked("how to register ngo", "fallback", user="user-4"),
    asked("how to register ngo", "fallback", user="user-5"),
    asked("how do i close an ngo", "fallback", user="user-6"),
    asked("ku mund te paguaj taksen", "fallback", lang="sq", user="user-7"),
    # low confidence: "did you mean" was offered
    asked("telephone number of the office", "suggest", entry_id="office-address"),
    asked("telephone number of the office", "suggest", entry_id="office-address"),
    # answered, with feedback
    asked("where is your office", "answer", entry_id="office-address", helpful=False),
    asked("office address", "answer", entry_id="office-address", helpful=True),
    asked("ku ndodhet zyra", "answer", entry_id="office-address", lang="sq"),
    asked("adresa e zyres", "answer", entry_id="office-address", lang="sq"),
    asked("phone number", "answer", entry_id="phone-number"),
    asked("hello", "smalltalk", user="user-2"),
    # outside the period
    asked("how do i register an ngo", "fallback", days_ago=40),
]


def test_a_period_is_written_as_hours_days_or_weeks() -> None:
    assert parse_since("12h") == timedelta(hours=12)
    assert parse_since("30d") == timedelta(days=30)
    assert parse_since("2w") == timedelta(weeks=2)


@pytest.mark.parametrize("typed", ["30", "d30", "0d", "1 month", ""])
def test_a_period_that_is_not_one_is_refused_with_an_example(typed: str) -> None:
    with pytest.raises(ValueError, match="for example 30d"):
        parse_since(typed)


def test_unanswered_questions_are_grouped_by_wording_most_frequent_first(
    knowledge: LoadedKnowledge,
) -> None:
    report = build_report(LOG, knowledge, timedelta(days=30), now=NOW)
    assert [(c.count, c.samples) for c in report.unanswered] == [
        (5, ("how do i register an ngo", "how to register ngo")),
        (1, ("how do i close an ngo",)),
        (1, ("ku mund te paguaj taksen",)),
    ]
    assert report.unanswered[0].last_asked == NOW - timedelta(days=1)
    assert report.unanswered[2].languages == ("sq",)


def test_each_group_names_the_entry_that_comes_closest(knowledge: LoadedKnowledge) -> None:
    report = build_report(LOG, knowledge, timedelta(days=30), now=NOW)
    [low_confidence] = report.low_confidence
    assert low_confidence.count == 2
    assert low_confidence.samples == ("telephone number of the office",)
    expected = knowledge.matcher.rank("telephone number of the office", 1)[0]
    assert low_confidence.closest_entry_id == expected.entry_id
    assert low_confidence.closest_entry_id in ("phone-number", "office-address")
    assert low_confidence.closest_score == round(expected.score, 1)


def test_without_a_knowledge_base_groups_have_no_closest_entry() -> None:
    report = build_report(LOG, None, timedelta(days=30), now=NOW)
    assert report.unanswered[0].closest_entry_id is None
    assert report.never_asked == ()


def test_grouping_is_the_same_whatever_order_the_questions_come_in() -> None:
    fallbacks = [q for q in LOG if q.outcome == "fallback"]
    assert cluster_questions(fallbacks) == cluster_questions(list(reversed(fallbacks)))


def test_a_group_shows_at_most_three_distinct_wordings() -> None:
    wordings = [
        "where is the office",
        "where is the office located",
        "where is the office now",
        "where is the office today",
    ]
    clusters = cluster_questions([asked(text, "fallback") for text in wordings])
    assert len(clusters) == 1
    assert clusters[0].count == 4
    assert len(clusters[0].samples) == 3


def test_counts_people_outcomes_languages_and_days(knowledge: LoadedKnowledge) -> None:
    report = build_report(LOG, knowledge, timedelta(days=30), now=NOW)
    assert report.questions == 15
    assert report.people == 7
    assert report.outcomes == {"fallback": 7, "answer": 5, "suggest": 2, "smalltalk": 1}
    assert report.fallback_share == pytest.approx(7 / 14)
    assert report.per_language == (("en", 12), ("sq", 3))
    days = dict(report.per_day)
    assert len(days) == 31
    assert days[date(2026, 2, 28)] == 13
    assert days[date(2026, 2, 27)] == 1
    assert days[date(2026, 2, 1)] == 0


def test_entries_are_ranked_by_how_often_their_answer_was_given(
    knowledge: LoadedKnowledge,
) -> None:
    report = build_report(LOG, knowledge, timedelta(days=30), now=NOW)
    assert [(u.entry_id, u.asked, u.helpful, u.not_helpful) for u in report.entries] == [
        ("office-address", 4, 1, 1),
        ("phone-number", 1, 0, 0),
    ]
    assert report.entries[0].title("en") == "Where is your office?"
    assert report.never_asked == ("grant-types",)
    assert [u.entry_id for u in report.negative_feedback] == ["office-address"]


def test_the_report_reads_straight_from_the_question_log(
    tmp_path: Path, knowledge: LoadedKnowledge
) -> None:
    with QuestionLog(tmp_path / "log.sqlite3", key=b"key", clock=lambda: NOW) as log:
        log.record_question(
            "Where is your office?",
            user_id=1,
            lang="en",
            outcome="answer",
            entry_id="office-address",
            asked_at=NOW - timedelta(hours=2),
        )
        log.record_question(
            "How do I register an NGO?",
            user_id=2,
            lang="en",
            outcome="fallback",
            asked_at=NOW - timedelta(hours=1),
        )
        assert log.flush()
        report = build_report(log, knowledge, timedelta(days=7), now=NOW)
    assert report.questions == 2
    assert report.unanswered[0].samples == ("how do i register an ngo",)


# ----- rendering -----------------------------------------------------------------------


@pytest.fixture
def report(knowledge: LoadedKnowledge) -> Report:
    return build_report(LOG, knowledge, timedelta(days=30), now=NOW)


def test_the_table_fits_an_80_column_terminal(report: Report) -> None:
    table = render_report(report, "table")
    assert all(len(line) <= 80 for line in table.splitlines())
    assert "how do i register an ngo" in table
    assert "never asked: grant-types" in table.lower()


def test_the_csv_has_one_sheet_with_a_section_column(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    sections = [row["section"] for row in rows]
    assert {"summary", "outcome", "day", "language", "entry", "unanswered"} <= set(sections)
    first_group = next(row for row in rows if row["section"] == "unanswered")
    assert first_group["label"] == "how do i register an ngo"
    assert first_group["value"] == "5"
    assert first_group["samples"] == "how do i register an ngo | how to register ngo"
    entry = next(row for row in rows if row["section"] == "entry")
    assert (entry["key"], entry["value"], entry["helpful"], entry["not_helpful"]) == (
        "office-address",
        "4",
        "1",
        "1",
    )


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text() -> None:
    report = build_report([asked("=cmd", "fallback")], None, timedelta(days=30), now=NOW)
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert next(row for row in rows if row["section"] == "unanswered")["label"] == "'=cmd"


def test_the_json_is_one_object_with_every_section(report: Report) -> None:
    data = json.loads(render_report(report, "json"))
    assert data["questions"] == 15
    assert data["unanswered"][0]["count"] == 5
    assert data["entries"][0]["id"] == "office-address"
    assert data["never_asked"] == ["grant-types"]


# ----- Telegram summaries --------------------------------------------------------------


def test_stats_for_the_last_week_fit_in_a_few_lines_in_both_languages(
    knowledge: LoadedKnowledge,
) -> None:
    week = build_report(LOG, knowledge, timedelta(days=7), now=NOW)
    english = stats_summary(week, "en")
    assert english.startswith("<b>Question report, last 7 days</b>")
    assert "Questions: 15 from 7 people" in english
    assert "(50%)" in english
    assert "Where is your office? (4)" in english
    albanian = stats_summary(week, "sq")
    assert "7 ditët e fundit" in albanian
    assert "Pyetje: 15 nga 7 persona" in albanian
    assert len(english.splitlines()) <= 8


def test_unanswered_summary_lists_the_largest_groups_first(report: Report) -> None:
    text = unanswered_summary(report, "en", limit=2)
    assert "1. <b>5×</b> how do i register an ngo" in text
    assert "also: how to register ngo" in text
    assert "2. <b>1×</b> how do i close an ngo" in text
    assert "ku mund" not in text


def test_user_text_in_a_telegram_summary_is_escaped() -> None:
    report = build_report(
        [asked("call me on <phone>", "fallback")], None, timedelta(days=7), now=NOW
    )
    text = unanswered_summary(report, "sq")
    assert "call me on &lt;phone&gt;" in text
    assert "<phone>" not in text


def test_an_empty_period_says_so() -> None:
    report = build_report([], None, timedelta(days=7), now=NOW)
    assert stats_summary(report, "en") == "No questions in the last 7 days."
    assert unanswered_summary(report, "sq") == "Asnjë pyetje pa përgjigje në 7 ditët e fundit."


def test_every_report_text_exists_in_both_languages() -> None:
    from bot.staff.report import _TEXTS

    assert set(_TEXTS["sq"]) == set(_TEXTS["en"])


def test_the_albanian_table_fits_an_80_column_terminal_too(report: Report) -> None:
    table = render_report(report, "table", "sq")
    assert all(len(line) <= 80 for line in table.splitlines())
    assert "Asnjëherë të kërkuara: grant-types" in table


def test_a_wording_finds_its_group_among_thousands_of_others() -> None:
    rng = random.Random(16)
    letters = "abcdefghijklmnopqrstuvwxyz"
    junk = [
        asked(" ".join("".join(rng.choices(letters, k=7)) for _ in range(3)), "fallback")
        for _ in range(3000)
    ]
    typed = [
        *[asked("how do i register an ngo", "fallback") for _ in range(3)],
        asked("how do i regster an ngo", "fallback"),
        asked("register an ngo how do i", "fallback"),
    ]
    clusters = cluster_questions(junk + typed)
    assert clusters[0].count == 5
    assert clusters[0].samples[0] == "how do i register an ngo"
    assert len(clusters) == 3001


def test_the_closest_entry_is_looked_up_for_the_largest_groups_only(
    knowledge: LoadedKnowledge,
) -> None:
    fallbacks = [
        *[asked("telephone number of the office", "fallback") for _ in range(3)],
        *[asked("where is the office", "fallback") for _ in range(2)],
        asked("phone", "fallback"),
    ]
    clusters = cluster_questions(fallbacks, knowledge, closest_for=2)
    assert [c.closest_entry_id is not None for c in clusters] == [True, True, False]


def test_a_long_period_is_counted_by_month_in_the_table_not_day_by_day() -> None:
    questions = [asked("a", "answer", days_ago=1), asked("b", "answer", days_ago=400)]
    report = build_report(questions, None, timedelta(days=3650), now=NOW)
    table = render_report(report, "table")
    assert len(table.splitlines()) < 200  # 3,650 days: about 120 months
    assert "Questions per month (UTC)" in table
    assert "\n  2026-02          1  " in table  # the month of the recent question
    assert "\n  2025-01          1  " in table  # 400 days before 2026-03-01
    assert len(report.per_day) == 3651  # the JSON and CSV keep every day


def test_a_quarter_is_counted_by_week_from_monday() -> None:
    report = build_report([asked("a", "answer", days_ago=3)], None, timedelta(days=90), now=NOW)
    table = render_report(report, "table")
    assert "Questions per week" in table
    # 2026-02-26 (a Thursday) is counted in the week from Monday 2026-02-23.
    assert "\n  2026-02-23       1  " in table
    assert sum(line.startswith("  2026-") for line in table.splitlines()) <= 14
