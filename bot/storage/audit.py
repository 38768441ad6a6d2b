"""The audit trail of faq/ changes made from Telegram, and the reminders already sent.

Kept in the question log's SQLite file (WAL), in tables with their own schema version
(`faq_audit_schema_version`). A change is recorded (who, when, which file, the diff and the
file's bytes before and after, for undo) before the file is replaced and marked applied
after; a kill -9 in between leaves it "writing", settled on the next use by what the file
holds. A reminder is claimed here before it is sent, so a restart never sends it again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from bot.storage.database import OwnConnectionStore, StorageUnavailable
from bot.storage.timestamps import from_text as _parse
from bot.storage.timestamps import to_text as _timestamp
from bot.storage.timestamps import utc_now as _utc_now

SCHEMA_VERSION: Final = 1

# "writing" from just before the file is replaced until just after ("undoing" likewise for
# an undo); either left behind means the bot stopped in between.
AuditState = Literal["writing", "applied", "undoing", "undone", "abandoned"]


class AuditStoreError(StorageUnavailable):
    """The audit tables cannot be used (for example, made by a newer version)."""


_MIGRATIONS: Final[dict[int, str]] = {
    1: """
        CREATE TABLE faq_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            action TEXT NOT NULL,           -- upload, edit, reviewed, undo
            path TEXT NOT NULL,             -- the FAQ file changed
            entry_id TEXT,                  -- the entry edited (edit, reviewed)
            changed_by TEXT NOT NULL,       -- the admin: Telegram id and name
            before BLOB,                    -- the file's bytes before (NULL: it did not exist)
            after BLOB,                     -- its bytes after (NULL: removed by an undo)
            diff TEXT NOT NULL,
            state TEXT NOT NULL,            -- writing, applied, undoing, undone, abandoned
            changed_at TEXT NOT NULL,
            undoes INTEGER                  -- for an undo: the change it reverts
        );
        CREATE TABLE faq_reminders (
            key TEXT PRIMARY KEY,           -- what was told to whom (entry, date, admin)
            sent_at TEXT NOT NULL
        );
    """,
}


@dataclass(frozen=True)
class AuditRecord:
    id: int
    action: str
    path: Path
    entry_id: str | None
    changed_by: str
    before: bytes | None
    after: bytes | None
    diff: str
    state: AuditState
    changed_at: datetime
    undoes: int | None = None


class AuditStore(OwnConnectionStore):
    """FAQ changes and sent reminders over one SQLite file; thread-safe (one lock).
    `path` None: in memory (tests)."""

    def __init__(self, path: Path | None, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = path
        self._clock = clock
        super().__init__(
            path,
            # FULL: a change record is on disk before the FAQ file is touched.
            durable=True,
            version_table="faq_audit_schema_version",
            migrations=_MIGRATIONS,
            what="FAQ audit tables",
            too_new=AuditStoreError,
        )

    # ----- changes ----------------------------------------------------------------------

    def begin(
        self,
        action: str,
        path: Path,
        before: bytes | None,
        after: bytes | None,
        diff: str,
        *,
        changed_by: str,
        entry_id: str | None = None,
        undoes: int | None = None,
    ) -> int:
        """Record a change about to be written (state "writing"); returns its id. For an
        undo, the change it reverts becomes "undoing" in the same transaction."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO faq_audit (action, path, entry_id, changed_by, before, after, diff,"
                " state, changed_at, undoes) VALUES (?, ?, ?, ?, ?, ?, ?, 'writing', ?, ?)",
                (
                    action,
                    str(path),
                    entry_id,
                    changed_by,
                    before,
                    after,
                    diff,
                    _timestamp(self._clock()),
                    undoes,
                ),
            )
            if undoes is not None:
                db.execute("UPDATE faq_audit SET state = 'undoing' WHERE id = ?", (undoes,))
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def finish(self, change_id: int, state: AuditState) -> None:
        """Settle a change: "applied" or "abandoned". Settling an undo as applied marks the
        change it reverts "undone"; an abandoned undo leaves that change "applied"."""
        with self._transaction() as db:
            db.execute("UPDATE faq_audit SET state = ? WHERE id = ?", (state, change_id))
            row = db.execute("SELECT undoes FROM faq_audit WHERE id = ?", (change_id,)).fetchone()
            if row is not None and row["undoes"] is not None:
                reverted = "undone" if state == "applied" else "applied"
                db.execute("UPDATE faq_audit SET state = ? WHERE id = ?", (reverted, row["undoes"]))

    def change(self, change_id: int) -> AuditRecord | None:
        rows = self._read("SELECT * FROM faq_audit WHERE id = ?", (change_id,))
        return _record(rows[0]) if rows else None

    def unsettled(self) -> list[AuditRecord]:
        """Changes the bot stopped in the middle of (still "writing")."""
        rows = self._read("SELECT * FROM faq_audit WHERE state = 'writing' ORDER BY id")
        return [_record(row) for row in rows]

    def history(self, limit: int = 20) -> list[AuditRecord]:
        """The latest changes, newest first (abandoned ones too: the trail hides nothing)."""
        rows = self._read("SELECT * FROM faq_audit ORDER BY id DESC LIMIT ?", (limit,))
        return [_record(row) for row in rows]

    # ----- reminders --------------------------------------------------------------------

    def claim_reminder(self, key: str) -> bool:
        """True the first time `key` is claimed, False ever after (also after a restart).
        Claimed before sending: a crash in between loses that one reminder rather than
        sending it twice."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO faq_reminders (key, sent_at) VALUES (?, ?)",
                (key, _timestamp(self._clock())),
            )
            return cursor.rowcount == 1


def _record(row: sqlite3.Row) -> AuditRecord:
    return AuditRecord(
        id=int(row["id"]),
        action=row["action"],
        path=Path(row["path"]),
        entry_id=row["entry_id"],
        changed_by=row["changed_by"],
        before=row["before"],
        after=row["after"],
        diff=row["diff"],
        state=row["state"],
        changed_at=_parse(row["changed_at"]),
        undoes=row["undoes"],
    )
