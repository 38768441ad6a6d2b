"""The ticket store: tickets and routes committed before anyone is told, limits, blocks,
retention, /forget down to the database bytes, and a kill -9 at any moment."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.storage.question_log import QuestionLog
from bot.storage.tickets import (
    Blocked,
    LimitReached,
    Opened,
    Ticket,
    TicketStore,
    TicketStoreError,
)

KEY = b"k" * 32
STAFF = -1001111111111
REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "questions.sqlite3"


@pytest.fixture
def store(path: Path, clock: Clock) -> Any:
    with TicketStore(path, key=KEY, clock=clock) as opened:
        yield opened


def open_ticket(store: TicketStore, user_id: int = 7, **options: Any) -> Opened | Any:
    values: dict[str, Any] = {
        "draft": f"d{user_id}-{os.urandom(4).hex()}",
        "user_id": user_id,
        "chat_id": user_id,
        "user_name": None,
        "lang": "en",
        "question": "Can a foundation apply for the institutional grant?",
        "offered": {"kind": "fallback", "candidates": [["grant-types", 18.5]]},
        "staff_chat_id": STAFF,
        "max_open": 5,
        "max_per_day": 5,
    }
    values.update(options)
    return store.open_ticket(**values)


def opened(result: object) -> Ticket:
    assert isinstance(result, Opened), result
    return result.ticket


def test_a_ticket_is_committed_and_readable_by_another_process(
    store: TicketStore, path: Path
) -> None:
    ticket = opened(open_ticket(store, user_name="Arben Hoxha"))
    store.set_staff_thread(ticket.id, 501)
    store.set_staff_message(ticket.id, 900)
    # A second connection sees it at once: nothing waits in a buffer.
    with TicketStore(path, key=KEY) as other:
        again = other.ticket_for_thread(STAFF, 501)
        assert again is not None
        assert again.question == ticket.question
        assert again.user_name == "Arben Hoxha"
        assert again.offered == {"kind": "fallback", "candidates": [["grant-types", 18.5]]}
        assert other.ticket_for_message(STAFF, 900) == again
    assert ticket.user_hash is not None
    assert "7" not in ticket.user_hash[:0]  # the hash, not the id, identifies the user
    assert ticket.user_hash == store.user_hash(7)


def test_a_second_tap_on_send_finds_the_same_ticket(store: TicketStore) -> None:
    first = open_ticket(store, draft="same")
    second = open_ticket(store, draft="same")
    assert isinstance(first, Opened)
    assert isinstance(second, Opened)
    assert first.created
    assert not second.created
    assert second.ticket.id == first.ticket.id


def test_open_tickets_are_limited_per_user(store: TicketStore) -> None:
    first = opened(open_ticket(store, max_open=1))
    assert open_ticket(store, max_open=1) == LimitReached("open", None)
    assert isinstance(open_ticket(store, user_id=8, max_open=1), Opened)  # others unaffected
    store.close_ticket(first.id, "staff")
    assert isinstance(open_ticket(store, max_open=1), Opened)


def test_tickets_per_day_are_limited_and_the_user_learns_when_to_ask_again(
    store: TicketStore, clock: Clock
) -> None:
    first = opened(open_ticket(store, max_per_day=2))
    store.close_ticket(first.id, "staff")
    clock.advance(hours=3)
    second = opened(open_ticket(store, max_per_day=2))
    store.close_ticket(second.id, "staff")
    clock.advance(hours=1)
    refused = open_ticket(store, max_per_day=2)
    assert refused == LimitReached("daily", first.opened_at + timedelta(days=1))
    clock.advance(hours=20, seconds=1)  # 24 hours after the first
    assert isinstance(open_ticket(store, max_per_day=2), Opened)


def test_forget_does_not_reset_the_daily_limit(
    store: TicketStore, clock: Clock, path: Path
) -> None:
    for _ in range(2):
        opened(open_ticket(store, max_per_day=2, max_open=1))
        store.forget_user(7)
        clock.advance(minutes=5)
    refused = open_ticket(store, max_per_day=2, max_open=1)
    assert isinstance(refused, LimitReached)
    assert refused.kind == "daily"
    assert refused.retry_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert isinstance(open_ticket(store, user_id=8, max_per_day=2), Opened)  # others unaffected
    # What /forget keeps is no pseudonym the question log or the tickets use.
    store.checkpoint()
    files = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert store.user_hash(7).encode() not in files
    clock.advance(days=1)
    assert isinstance(open_ticket(store, max_per_day=2, max_open=1), Opened)


def test_tickets_opened_before_the_openings_were_kept_still_count(
    store: TicketStore, path: Path
) -> None:
    opened(open_ticket(store, max_per_day=2))
    opened(open_ticket(store, max_per_day=2))
    with sqlite3.connect(path) as connection:  # as an older version left the file
        connection.execute("DELETE FROM ticket_openings")
    assert isinstance(open_ticket(store, max_per_day=2), LimitReached)


def test_a_users_messages_in_one_ticket_are_capped_per_hour(
    store: TicketStore, clock: Clock
) -> None:
    ticket = opened(open_ticket(store))
    other = opened(open_ticket(store, user_id=8))
    assert [store.note_user_message(ticket.id, max_per_hour=3) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert store.note_user_message(other.id, max_per_hour=3)  # another ticket, its own count
    clock.advance(minutes=59)
    assert not store.note_user_message(ticket.id, max_per_hour=3)
    clock.advance(minutes=1, seconds=1)
    assert store.note_user_message(ticket.id, max_per_hour=3)
    again = store.ticket(ticket.id)
    assert again is not None
    assert again.last_activity_at == clock.now


def test_a_blocked_user_opens_nothing_and_forget_does_not_lift_the_block(
    store: TicketStore, path: Path
) -> None:
    first = opened(open_ticket(store))
    other = opened(open_ticket(store))
    closed = store.block_user_of(first.id)
    assert {t.id for t in closed} == {first.id, other.id}
    assert all(store.ticket(t.id).status == "closed" for t in closed)  # type: ignore[union-attr]
    assert open_ticket(store) == Blocked()
    assert store.is_blocked(7)
    store.forget_user(7)
    assert open_ticket(store) == Blocked()
    # Unblocking needs a ticket of the user; a fresh block shows unblock works.
    again = opened(open_ticket(store, user_id=9))
    store.block_user_of(again.id)
    assert store.unblock_user_of(again.id)
    assert isinstance(open_ticket(store, user_id=9, max_open=9), Opened)


def test_close_reopen_and_idle(store: TicketStore, clock: Clock) -> None:
    answered = opened(open_ticket(store))
    waiting = opened(open_ticket(store, user_id=8))
    store.note_staff_reply(answered.id)
    clock.advance(hours=73)
    # Only tickets staff have answered close by themselves; a question nobody answered
    # stays open for staff.
    assert [t.id for t in store.idle_tickets(timedelta(hours=72))] == [answered.id]
    store.note_user_message(answered.id)
    assert store.idle_tickets(timedelta(hours=72)) == []
    assert store.close_ticket(answered.id, "idle")
    assert not store.close_ticket(answered.id, "staff")
    assert store.reopen_ticket(answered.id)
    assert not store.reopen_ticket(waiting.id)  # open already
    reopened = store.ticket(answered.id)
    assert reopened is not None
    assert reopened.is_open


def test_undeliverable_is_marked_once(store: TicketStore) -> None:
    ticket = opened(open_ticket(store))
    assert store.mark_undeliverable(ticket.id)
    assert not store.mark_undeliverable(ticket.id)
    marked = store.ticket(ticket.id)
    assert marked is not None
    assert marked.undeliverable


def test_retention_erases_who_asked_what_but_keeps_the_numbers(
    store: TicketStore, clock: Clock, path: Path
) -> None:
    ticket = opened(open_ticket(store, user_name="Arben Hoxha"))
    store.add_route(7, 55, ticket.id)
    store.note_staff_reply(ticket.id)
    store.close_ticket(ticket.id, "staff")
    kept = opened(open_ticket(store, user_id=8))
    clock.advance(days=29)
    assert store.purge_expired(30) == 0
    store.note_user_message(kept.id)
    kept_now = store.ticket(kept.id)
    assert kept_now is not None
    kept = kept_now
    clock.advance(days=2)
    assert store.purge_expired(30) == 1
    erased = store.ticket(ticket.id)
    assert erased is not None
    assert (erased.chat_id, erased.user_name, erased.user_hash, erased.question) == (
        None,
        None,
        None,
        "",
    )
    assert store.ticket_for_message(7, 55) is None
    assert not store.reopen_ticket(ticket.id)  # no way back to the user any more
    assert store.ticket(kept.id) == kept  # open tickets keep their route
    stats = store.stats(clock.now - timedelta(days=40))
    assert (stats.opened, stats.answered) == (2, 1)


def test_stats_count_opened_answered_and_the_median_wait(store: TicketStore, clock: Clock) -> None:
    start = clock.now
    for wait_minutes in (10, 30, 50):
        ticket = opened(open_ticket(store))
        clock.advance(minutes=wait_minutes)
        store.note_staff_reply(ticket.id)
        clock.advance(minutes=1)
        store.note_staff_reply(ticket.id)  # later replies do not move the first
    opened(open_ticket(store))  # not answered yet
    stats = store.stats(start)
    assert stats.opened == 4
    assert stats.answered == 3
    assert stats.median_first_reply == timedelta(minutes=30)
    assert store.stats(clock.now + timedelta(seconds=1)).median_first_reply is None


def test_forget_deletes_every_ticket_and_route_of_the_user_down_to_the_bytes(
    store: TicketStore, path: Path
) -> None:
    question = "Where do I send the statute of Shoqata Zgjidhje Unike?"
    mine = opened(open_ticket(store, user_id=424242, question=question, user_name="Zana Krasniqi"))
    store.add_route(424242, 77, mine.id)
    store.set_staff_message(mine.id, 901)
    theirs = opened(open_ticket(store, user_id=8))
    gone = store.forget_user(424242)
    assert [t.id for t in gone] == [mine.id]
    store.checkpoint()
    assert store.ticket(mine.id) is None
    assert store.ticket_for_message(STAFF, 901) is None
    assert store.ticket(theirs.id) is not None
    files = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    for trace in (question, "Zana Krasniqi", "Shoqata Zgjidhje", mine.user_hash or "-"):
        assert trace.encode() not in files, trace


def test_the_store_shares_the_file_with_the_question_log(path: Path, clock: Clock) -> None:
    with QuestionLog(path, key=KEY) as log, TicketStore(path, key=KEY, clock=clock) as store:
        log.record_question("ku eshte zyra", user_id=7, lang="sq", outcome="answer")
        ticket = opened(open_ticket(store))
        assert log.flush()
        assert len(log.questions(clock.now - timedelta(days=3650))) == 1
        assert store.ticket(ticket.id) == ticket
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"questions", "schema_version", "tickets", "tickets_schema_version"} <= tables


def test_a_newer_schema_is_refused_with_a_clear_error(path: Path) -> None:
    TicketStore(path, key=KEY).close()
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO tickets_schema_version (version) VALUES (99)")
    with pytest.raises(TicketStoreError, match="schema version 99, newer"):
        TicketStore(path, key=KEY)


# A writer that reports each route only after add_route returned (committed).
CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bot.storage.tickets import TicketStore

    store = TicketStore(Path(sys.argv[1]), key=b"k" * 32)
    for n in range(1, 5001):
        opened = store.open_ticket(
            draft=f"d{n}", user_id=n, chat_id=n, user_name=None, lang="en",
            question=f"question {n}", offered={}, staff_chat_id=-100, max_open=1,
            max_per_day=1,
        )
        store.add_route(n, 10_000 + n, opened.ticket.id)
        print(n, opened.ticket.id, flush=True)
    """
)


def test_routes_survive_kill_9_in_the_middle_of_writing(path: Path) -> None:
    path.parent.mkdir(parents=True)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    reported = []
    try:
        for line in child.stdout:
            reported.append(tuple(int(n) for n in line.split()))
            if len(reported) == 40:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert len(reported) == 40
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with TicketStore(path, key=KEY) as store:
        for user_id, ticket_id in reported:
            ticket = store.ticket_for_message(user_id, 10_000 + user_id)
            assert ticket is not None
            assert ticket.id == ticket_id
            assert ticket.chat_id == user_id
        # Whatever the kill interrupted is either whole or absent: every ticket has its
        # question, and no route points nowhere.
        with sqlite3.connect(path) as connection:
            orphans = connection.execute(
                "SELECT COUNT(*) FROM ticket_routes WHERE ticket_id NOT IN (SELECT id FROM tickets)"
            ).fetchone()
            assert orphans == (0,)


def test_a_ticket_staff_never_answer_closes_and_is_erased_after_the_retention_period(
    store: TicketStore, clock: Clock
) -> None:
    waiting = opened(open_ticket(store, user_name="Arben Hoxha"))
    answered = opened(open_ticket(store, user_id=8))
    store.note_staff_reply(answered.id)
    clock.advance(days=13)
    assert store.unanswered_tickets(timedelta(days=14)) == []
    clock.advance(days=2)
    assert [t.id for t in store.unanswered_tickets(timedelta(days=14))] == [waiting.id]
    # Never closed (say the bot was stopped): retention erases it all the same, by its
    # last message, and the user is no longer held at the open limit.
    clock.advance(days=20)
    assert store.purge_expired(30) == 2
    erased = store.ticket(waiting.id)
    assert erased is not None
    assert (erased.status, erased.chat_id, erased.user_name, erased.question) == (
        "closed",
        None,
        None,
        "",
    )
    assert store.open_tickets_of(7) == []
