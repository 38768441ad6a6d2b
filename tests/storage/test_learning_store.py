"""The learning tables: their own schema version, beside the question log and the tickets."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage.learning_store import LearningStore, LearningStoreError
from bot.storage.question_log import QuestionLog
from bot.storage.tickets import TicketStore

FIELDS: dict[str, str | None] = {
    "kind": "variant",
    "entry_id": "office-address",
    "lang": "en",
    "text": "where can i find you",
    "decided_by": "cli",
}


def test_it_shares_the_question_logs_file_and_keeps_everything_across_a_reopen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "questions.sqlite3"
    with (
        QuestionLog(path, key=b"k" * 32),
        TicketStore(path, key=b"k" * 32),
        LearningStore(path) as store,
    ):
        store.record_choice("q1", "office-address")
        store.record_choice("q1", "phone-number")  # a later pick replaces the earlier
        store.record_decision("abc12345", "rejected", FIELDS)
        change = store.begin_change(
            "def67890", tmp_path / "faq.yaml", b"old\n", b"new\n", "diff", decision=FIELDS
        )
        store.set_state(change, "applied")
    with LearningStore(path) as reopened:
        since = datetime.now(UTC) - timedelta(days=1)
        assert reopened.choices(since) == {"q1": "phone-number"}
        assert reopened.decided() == {"abc12345": "rejected", "def67890": "accepted"}
        last = reopened.last_applied()
        assert last is not None
        assert (last.before, last.after, last.state) == (b"old\n", b"new\n", "applied")
        reopened.end_change(last, "undone")
        assert reopened.last_applied() is None
        assert reopened.decided()["def67890"] == "undone"  # offered again
    versions = sqlite3.connect(path).execute("SELECT version FROM learning_schema_version")
    assert [row[0] for row in versions] == [1, 2]


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite3"
    LearningStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO learning_schema_version (version) VALUES (99)")
    with pytest.raises(LearningStoreError, match="newer than this bot understands"):
        LearningStore(path)


def test_picks_go_once_their_question_has_left_the_log_or_was_never_in_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "questions.sqlite3"
    now = [datetime(2026, 12, 1, 12, tzinfo=UTC)]
    with (
        QuestionLog(path, key=b"k" * 32) as log,
        LearningStore(path, clock=lambda: now[0]) as store,
    ):
        asked = log.record_question("grant deadline", user_id=42, lang="en", outcome="suggest")
        assert log.flush()
        store.record_choice(asked, "deadline-projects")
        store.record_choice("forged-id", "deadline-projects")  # no such question
        since = now[0] - timedelta(days=30)
        assert set(store.choices(since)) == {asked, "forged-id"}  # a fresh pick stays
        now[0] += timedelta(days=2)
        store.record_choice("later", "deadline-projects")
        assert set(store.choices(since)) == {asked, "later"}
        log.forget_user(42)  # /forget (or the retention period) takes the question
        now[0] += timedelta(days=2)
        store.record_choice("latest", "deadline-projects")
        assert set(store.choices(since)) == {"latest"}


def test_a_store_that_creates_the_bots_file_creates_it_private(tmp_path: Path) -> None:
    # `python -m bot learn` may be the first to open the file: it must not be world-readable.
    path = tmp_path / "data" / "questions.sqlite3"
    with LearningStore(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_pick_counts_only_for_an_offered_entry_pressed_by_the_asker(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite3"
    with LearningStore(path) as store:
        offered = store.pick_tag("q1", "office-address", 41)
        assert len(offered) == 8
        # Forged: an entry that was not offered, with the tag of one that was.
        assert not store.record_pick("q1", "how-to-apply", user_id=41, tag=offered)
        # Someone else pressing the asker's button (in a group).
        assert not store.record_pick("q1", "office-address", user_id=42, tag=offered)
        since = datetime.now(UTC) - timedelta(days=1)
        assert store.choices(since) == {}
        assert store.record_pick("q1", "office-address", user_id=41, tag=offered)
        assert store.choices(since) == {"q1": "office-address"}
    # The key is kept: a button sent before a restart still counts after it.
    with LearningStore(path) as reopened:
        assert reopened.pick_tag("q1", "office-address", 41) == offered
    with LearningStore(tmp_path / "other.sqlite3") as elsewhere:
        assert elsewhere.pick_tag("q1", "office-address", 41) != offered
