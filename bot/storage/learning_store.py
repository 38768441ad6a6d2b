"""What the bot learns from its users: "did you mean" choices, staff decisions, FAQ changes.

The tables live in the question log's SQLite file (WAL) with their own schema version
(`learning_schema_version`), so they migrate independently of the question log and the
tickets. A random key of their own signs the "did you mean" buttons, so that a pick counts
only for an entry the bot offered, pressed by the person who asked (`record_pick`). They
hold no personal data of their own: a choice names the logged question by its id (the
question log keeps the masked text and the user's keyed hash, and /forget deletes those),
and a decision keeps a suggested wording that was already masked.

Every write is its own transaction, committed (synchronous=FULL) before the method returns.
A change to a FAQ file is recorded before the file is replaced and marked applied after,
so a kill -9 between the two is found and settled on the next open (`settle_changes`).
"""

from __future__ import annotations

import hmac
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from bot.storage.database import OwnConnectionStore, StorageUnavailable
from bot.storage.keys import pick_tag
from bot.storage.timestamps import from_text as _parse
from bot.storage.timestamps import to_text as _timestamp
from bot.storage.timestamps import utc_now as _utc_now

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 2

Decision = Literal["accepted", "rejected", "undone"]
# A change is "writing" from just before the file is replaced until just after; "undoing"
# likewise for its undo. Either left behind means the bot stopped in between.
ChangeState = Literal["writing", "applied", "undoing", "undone", "abandoned"]


# A pick is kept while its question is in the question log (which applies the retention
# period and /forget); one whose question is missing goes after CHOICE_GRACE.
CHOICE_GRACE: Final = timedelta(days=1)
CHOICES_TIDY_INTERVAL: Final = timedelta(hours=1)


def _drop_orphan_choices(db: sqlite3.Connection, cutoff: str) -> None:
    has_log = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'questions'"
    ).fetchone()
    if has_log is None:
        db.execute("DELETE FROM learning_choices WHERE chosen_at < ?", (cutoff,))
        return
    db.execute(
        "DELETE FROM learning_choices WHERE chosen_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM questions WHERE questions.id = question_id)",
        (cutoff,),
    )


class LearningStoreError(StorageUnavailable):
    """The learning tables cannot be used (for example, made by a newer version)."""


_MIGRATIONS: Final[dict[int, str]] = {
    1: """
        CREATE TABLE learning_choices (
            question_id TEXT PRIMARY KEY,   -- the question log's id of the question
            entry_id TEXT NOT NULL,         -- the "did you mean" choice the user picked
            chosen_at TEXT NOT NULL
        );
        CREATE INDEX learning_choices_by_time ON learning_choices (chosen_at);
        CREATE TABLE learning_decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            suggestion_id TEXT NOT NULL,
            decision TEXT NOT NULL,         -- accepted, rejected, undone
            kind TEXT NOT NULL,             -- variant, entry
            entry_id TEXT,
            lang TEXT,
            text TEXT NOT NULL,
            decided_by TEXT NOT NULL,       -- "cli" or "telegram"
            decided_at TEXT NOT NULL
        );
        CREATE INDEX learning_decisions_by_suggestion ON learning_decisions (suggestion_id);
        CREATE TABLE learning_changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            suggestion_id TEXT NOT NULL,
            path TEXT NOT NULL,             -- the FAQ file changed
            before BLOB,                    -- its bytes before (NULL: it did not exist)
            after BLOB NOT NULL,            -- its bytes after
            diff TEXT NOT NULL,
            state TEXT NOT NULL,            -- writing, applied, undoing, undone, abandoned
            changed_at TEXT NOT NULL,
            undone_at TEXT
        );
    """,
    2: """
        -- The key that signs "did you mean" buttons (keys.pick_tag): a pick counts only for
        -- an entry the bot offered, pressed by the person it offered it to.
        CREATE TABLE learning_secret (secret BLOB NOT NULL);
        INSERT INTO learning_secret (secret) VALUES (randomblob(32));
    """,
}


@dataclass(frozen=True)
class Change:
    id: int
    suggestion_id: str
    path: Path
    before: bytes | None
    after: bytes
    diff: str
    state: ChangeState
    changed_at: datetime


class LearningStore(OwnConnectionStore):
    """Choices, decisions and FAQ changes over one SQLite file; thread-safe (one lock)."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        self._last_tidy: datetime | None = None
        super().__init__(
            self.path,
            # FULL: a decision or change record is on disk before the FAQ file is touched.
            durable=True,
            version_table="learning_schema_version",
            migrations=_MIGRATIONS,
            what="learning tables",
            too_new=LearningStoreError,
        )
        (row,) = self._read("SELECT secret FROM learning_secret LIMIT 1")
        self._pick_secret = bytes(row[0])

    # ----- choices ---------------------------------------------------------------------

    def pick_tag(self, question_id: str, entry_id: str, user_id: int) -> str:
        """The tag a "did you mean" button for `entry_id`, offered to `user_id` for
        `question_id`, carries (see record_pick)."""
        return pick_tag(self._pick_secret, question_id, entry_id, user_id)

    def record_pick(self, question_id: str, entry_id: str, *, user_id: int, tag: str) -> bool:
        """A pick pressed by `user_id`, noted only if its tag proves the bot offered that
        entry for that question to that same person: a forged button, or someone else
        pressing the asker's button in a group, is not a signal. True if noted."""
        expected = self.pick_tag(question_id, entry_id, user_id)
        if not hmac.compare_digest(expected, tag):
            return False
        self.record_choice(question_id, entry_id)
        return True

    def record_choice(self, question_id: str, entry_id: str) -> None:
        """The user who asked `question_id` picked `entry_id` among the choices offered
        (checked by the caller: record_pick); a later pick for the same question replaces
        the earlier one. Now and then, picks whose question is no longer in the question
        log (expired, forgotten, or never there: forged button data) are deleted, once a
        day old (the log writes in the background, so a fresh pick's question may not be
        there yet)."""
        now = self._clock()
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO learning_choices (question_id, entry_id, chosen_at)"
                " VALUES (?, ?, ?)",
                (question_id, entry_id, _timestamp(now)),
            )
            if self._last_tidy is None or now - self._last_tidy >= CHOICES_TIDY_INTERVAL:
                self._last_tidy = now
                _drop_orphan_choices(db, _timestamp(now - CHOICE_GRACE))

    def choices(self, since: datetime) -> dict[str, str]:
        """Question id -> the entry picked, for picks made from `since` on."""
        rows = self._read(
            "SELECT question_id, entry_id FROM learning_choices WHERE chosen_at >= ?",
            (_timestamp(since),),
        )
        return {row[0]: row[1] for row in rows}

    # ----- decisions -------------------------------------------------------------------

    def record_decision(
        self, suggestion_id: str, decision: Decision, fields: dict[str, str | None]
    ) -> None:
        """`fields`: kind, entry_id, lang, text and decided_by."""
        with self._transaction() as db:
            _insert_decision(db, suggestion_id, decision, fields, _timestamp(self._clock()))

    def decided(self) -> dict[str, Decision]:
        """Suggestion id -> its latest decision (an undo makes a suggestion open again)."""
        rows = self._read(
            "SELECT suggestion_id, decision FROM learning_decisions ORDER BY id",
        )
        return {row[0]: row[1] for row in rows}

    # ----- changes to FAQ files ----------------------------------------------------------

    def begin_change(
        self,
        suggestion_id: str,
        path: Path,
        before: bytes | None,
        after: bytes,
        diff: str,
        *,
        decision: dict[str, str | None],
    ) -> int:
        """Note a change about to be written (state "writing") and its "accepted" decision,
        in one transaction; returns the change's id. `decision` holds kind, entry_id, lang,
        text and decided_by."""
        now = _timestamp(self._clock())
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO learning_changes (suggestion_id, path, before, after, diff, state,"
                " changed_at) VALUES (?, ?, ?, ?, ?, 'writing', ?)",
                (suggestion_id, str(path), before, after, diff, now),
            )
            _insert_decision(db, suggestion_id, "accepted", decision, now)
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def end_change(self, change: Change, state: ChangeState) -> None:
        """Settle a change: "applied", "undone" or "abandoned". Undone and abandoned changes
        make their suggestion open again (an "undone" decision)."""
        now = _timestamp(self._clock())
        with self._transaction() as db:
            db.execute(
                "UPDATE learning_changes SET state = ?, undone_at = ? WHERE id = ?",
                (state, now if state == "undone" else None, change.id),
            )
            if state in ("undone", "abandoned"):
                row = db.execute(
                    "SELECT kind, entry_id, lang, text FROM learning_decisions"
                    " WHERE suggestion_id = ? ORDER BY id DESC LIMIT 1",
                    (change.suggestion_id,),
                ).fetchone()
                if row is not None:
                    fields = {key: row[key] for key in ("kind", "entry_id", "lang", "text")}
                    fields["decided_by"] = "undo" if state == "undone" else "recovery"
                    _insert_decision(db, change.suggestion_id, "undone", fields, now)

    def set_state(self, change_id: int, state: ChangeState) -> None:
        with self._transaction() as db:
            db.execute("UPDATE learning_changes SET state = ? WHERE id = ?", (state, change_id))

    def last_applied(self) -> Change | None:
        """The most recent change still in place (the one `learn --undo` reverts)."""
        rows = self._read(
            "SELECT * FROM learning_changes WHERE state = 'applied' ORDER BY id DESC LIMIT 1"
        )
        return _change(rows[0]) if rows else None

    def unsettled(self) -> list[Change]:
        """Changes the bot stopped in the middle of (state "writing" or "undoing")."""
        rows = self._read(
            "SELECT * FROM learning_changes WHERE state IN ('writing', 'undoing') ORDER BY id"
        )
        return [_change(row) for row in rows]

    def changes(self, limit: int = 20) -> list[Change]:
        rows = self._read("SELECT * FROM learning_changes ORDER BY id DESC LIMIT ?", (limit,))
        return [_change(row) for row in rows]


def _insert_decision(
    db: sqlite3.Connection,
    suggestion_id: str,
    decision: Decision,
    fields: dict[str, str | None],
    at: str,
) -> None:
    db.execute(
        "INSERT INTO learning_decisions (suggestion_id, decision, kind, entry_id, lang, text,"
        " decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            suggestion_id,
            decision,
            fields["kind"],
            fields.get("entry_id"),
            fields.get("lang"),
            fields["text"] or "",
            fields.get("decided_by") or "?",
            at,
        ),
    )


def _change(row: sqlite3.Row) -> Change:
    return Change(
        id=int(row["id"]),
        suggestion_id=row["suggestion_id"],
        path=Path(row["path"]),
        before=row["before"],
        after=row["after"],
        diff=row["diff"],
        state=row["state"],
        changed_at=_parse(row["changed_at"]),
    )
