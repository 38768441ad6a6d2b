"""The question report and /stats count questions handed to staff: opened, answered and
the median time to the first staff reply, over the report's period only."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.staff.report import build_report, render_report, stats_summary
from bot.storage.question_log import LoggedQuestion
from bot.storage.tickets import Opened, TicketStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW - timedelta(days=40)

    def __call__(self) -> datetime:
        return self.now


def question(days_ago: float) -> LoggedQuestion:
    return LoggedQuestion(
        id=f"q{days_ago}",
        asked_at=NOW - timedelta(days=days_ago),
        text="a question",
        lang="en",
        outcome="fallback",
        entry_id=None,
        score=10.0,
        user_hash="u",
        channel="telegram",
    )


def tickets_with_waits(path: Path, clock: Clock) -> TicketStore:
    """Tickets 40 days ago (outside a 30-day report) and 3 days ago, answered after 20 min,
    2 h and never."""
    store = TicketStore(path, key=b"k" * 32, clock=clock)
    for days_ago, wait in (
        (40, timedelta(minutes=5)),
        (3, timedelta(minutes=20)),
        (3, timedelta(hours=2)),
        (3, None),
    ):
        clock.now = NOW - timedelta(days=days_ago)
        opened = store.open_ticket(
            draft=f"{days_ago}-{wait}",
            user_id=7,
            chat_id=7,
            user_name=None,
            lang="en",
            question="?",
            offered={},
            staff_chat_id=-100,
            max_open=9,
            max_per_day=9,
        )
        assert isinstance(opened, Opened)
        if wait is not None:
            clock.now += wait
            store.note_staff_reply(opened.ticket.id)
    clock.now = NOW
    return store


def test_the_report_counts_tickets_of_its_period(tmp_path: Path) -> None:
    with tickets_with_waits(tmp_path / "q.sqlite3", Clock()) as store:
        report = build_report([question(1)], None, timedelta(days=30), NOW, tickets=store)
    assert report.tickets is not None
    assert (report.tickets.opened, report.tickets.answered) == (3, 2)
    assert report.tickets.median_first_reply == timedelta(minutes=70)  # of 20 min and 2 h

    summary = stats_summary(report, "en")
    assert (
        "Handed to staff: 3 · answered: 2 · median time to the first reply: 1 h 10 min" in summary
    )
    assert "Dërguar stafit: 3 · me përgjigje: 2" in stats_summary(report, "sq")
    assert "Handed to staff: 3" in render_report(report, "table")
    data = json.loads(render_report(report, "json"))
    assert data["tickets"] == {"opened": 3, "answered": 2, "median_first_reply_seconds": 4200}
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert {r["key"]: r["value"] for r in rows if r["section"] == "tickets"} == {
        "opened": "3",
        "answered": "2",
        "median_first_reply_seconds": "4200",
    }


def test_without_hand_off_the_report_has_no_ticket_line(tmp_path: Path) -> None:
    report = build_report([question(1)], None, timedelta(days=30), NOW)
    assert report.tickets is None
    assert "staff" not in stats_summary(report, "en")
    assert json.loads(render_report(report, "json"))["tickets"] is None


def test_a_quiet_week_still_shows_the_tickets(tmp_path: Path) -> None:
    with tickets_with_waits(tmp_path / "q.sqlite3", Clock()) as store:
        report = build_report([], None, timedelta(days=7), NOW, tickets=store)
    summary = stats_summary(report, "en")
    assert "No questions" in summary
    assert "Handed to staff: 3" in summary
