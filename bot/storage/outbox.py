"""The outbox: messages the bot owes other chats (the staff group, a ticket's user), kept in
the question log's SQLite file (own tables, `outbox_schema_version`) until Telegram has
accepted them.

A handler that must post somewhere other than its own chat puts an item here (committed)
and returns; one worker (bot.telegram_bot.transport.outbox) sends the
items when Telegram's limits allow. An item moves pending -> sending -> deleted:

- it is marked "sending" (committed) just before its Bot API calls and deleted just after
  Telegram accepted them, so a kill -9 can only repeat the items that were "sending" at that
  instant (the worker sends at most 4 items at once: that is the in-flight window). A
  restart sends "sending" items again first (`recover`).
- each item comes with an idempotency key (`outbox_keys`): putting the same key twice (an
  update handled again after a crash, the sweeper posting a card it already queued) adds
  nothing. Keys are kept KEY_DAYS days.
- items of one lane (a ticket) go in the order they were put; lanes take turns.
- `merge` appends to the lane's last item of the same kind while it is still pending: a
  user's replies that queue up for one ticket reach staff as one message.

Payloads are JSON. They may hold a user's text until it is sent; /forget drops the items of
the user's tickets (`drop_lanes`), and a sent item is deleted with its payload.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from bot.storage.database import OwnConnectionStore, StorageUnavailable

PENDING: Final = "pending"
SENDING: Final = "sending"
NEW, MERGED = "new", "merged"  # what `merge` did
# An idempotency key is remembered this long after its item was put.
KEY_DAYS: Final = 1

_MIGRATIONS: Final[dict[int, str]] = {
    1: """
        CREATE TABLE outbox_items (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: logs name items
            lane TEXT NOT NULL,            -- items of one lane go in order (a ticket)
            chat_id INTEGER NOT NULL,      -- where it goes: Telegram's limits are per chat
            kind TEXT NOT NULL,            -- what the worker does with it
            payload TEXT NOT NULL,         -- JSON
            state TEXT NOT NULL,           -- pending, sending
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before REAL NOT NULL DEFAULT 0,  -- unix seconds: a retry waits until then
            created_at TEXT NOT NULL
        );
        CREATE INDEX outbox_items_by_lane ON outbox_items (lane, id);
        CREATE TABLE outbox_keys (
            key TEXT PRIMARY KEY,
            created_at REAL NOT NULL
        ) WITHOUT ROWID;
    """,
}


class OutboxStoreError(StorageUnavailable):
    """The outbox tables cannot be used (for example, made by a newer version)."""


@dataclass(frozen=True)
class OutboxItem:
    id: int
    lane: str
    chat_id: int
    kind: str
    payload: Mapping[str, Any]
    attempts: int
    created_at: datetime


class OutboxStore(OwnConnectionStore):
    """The outbox over one SQLite file; safe from many threads (one lock). Every write is
    one transaction, committed before the method returns."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self._clock = clock
        super().__init__(
            self.path,
            # NORMAL is durable across a crash of the process (kill -9) in WAL mode; only a
            # power cut can lose the last items. A card needs no more (the sweeper queues it
            # again for every ticket without one), and a relay's fsync would make 70 users
            # pressing Send at once wait for 70 more disk flushes.
            durable=False,
            version_table="outbox_schema_version",
            migrations=_MIGRATIONS,
            what="outbox",
            too_new=OutboxStoreError,
        )

    # ----- putting ------------------------------------------------------------------------

    def put(
        self, key: str, *, lane: str, chat_id: int, kind: str, payload: Mapping[str, Any]
    ) -> bool:
        """A new item; False (and nothing added) if `key` was put before."""
        now = self._clock()
        with self._transaction() as db:
            if not self._claim_key(db, key, now):
                return False
            self._insert(db, lane, chat_id, kind, payload, now)
        return True

    def merge(
        self,
        key: str,
        *,
        lane: str,
        chat_id: int,
        kind: str,
        part: Mapping[str, Any],
        max_parts: int,
        payload: Mapping[str, Any] | None = None,
    ) -> str:
        """Add `part` to the `parts` of the lane's newest pending item of `kind` (unless it
        holds `max_parts` already): "merged"; or put a new item with it (and `payload`'s
        other values): "new". "" (false) if `key` was put before."""
        now = self._clock()
        with self._transaction() as db:
            if not self._claim_key(db, key, now):
                return ""
            row = db.execute(
                "SELECT id, payload FROM outbox_items WHERE lane = ? AND kind = ? AND state = ?"
                " AND id = (SELECT MAX(id) FROM outbox_items WHERE lane = ?)",
                (lane, kind, PENDING, lane),
            ).fetchone()
            if row is not None:
                merged = json.loads(row["payload"])
                if len(merged.get("parts", [])) < max_parts:
                    merged["parts"].append(dict(part))
                    db.execute(
                        "UPDATE outbox_items SET payload = ? WHERE id = ?",
                        (json.dumps(merged, ensure_ascii=False), row["id"]),
                    )
                    return MERGED
            self._insert(db, lane, chat_id, kind, {**(payload or {}), "parts": [dict(part)]}, now)
        return NEW

    # ----- taking -------------------------------------------------------------------------

    def recover(self) -> int:
        """At start: items left "sending" by a stopped or killed run go again (each may
        arrive twice); how many."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE outbox_items SET state = ? WHERE state = ?", (PENDING, SENDING)
            ).rowcount

    def heads(self) -> list[OutboxItem]:
        """The first item of every lane (oldest lane first), due or not."""
        rows = self._read(
            "SELECT * FROM outbox_items WHERE id IN"
            " (SELECT MIN(id) FROM outbox_items GROUP BY lane) ORDER BY id"
        )
        return [_item(row) for row in rows]

    def not_before(self, item_id: int) -> float:
        rows = self._read("SELECT not_before FROM outbox_items WHERE id = ?", (item_id,))
        return float(rows[0][0]) if rows else 0.0

    def due(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Those of `items` whose retry time has come."""
        if not items:
            return []
        now = self._clock()
        marks = ",".join("?" * len(items))
        rows = self._read(
            f"SELECT id FROM outbox_items WHERE id IN ({marks}) AND not_before <= ?",
            (*[item.id for item in items], now),
        )
        due = {int(row[0]) for row in rows}
        return [item for item in items if item.id in due]

    def next_retry(self) -> float | None:
        """Seconds until the soonest item waiting for a retry is due (None: none waits)."""
        rows = self._read("SELECT MIN(not_before) FROM outbox_items")
        if not rows or rows[0][0] is None:
            return None
        return max(0.0, float(rows[0][0]) - self._clock())

    def mark_sending(self, item_id: int) -> Mapping[str, Any] | None:
        """The item goes now; its payload as committed (a merge may have added to it), or
        None if it is gone (/forget)."""
        with self._transaction() as db:
            row = db.execute(
                "UPDATE outbox_items SET state = ? WHERE id = ? RETURNING payload",
                (SENDING, item_id),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def done(self, item_id: int) -> None:
        """Telegram accepted it (or refused it for good): it goes, with its payload."""
        with self._transaction() as db:
            db.execute("DELETE FROM outbox_items WHERE id = ?", (item_id,))

    def retry_later(self, item_id: int, seconds: float) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox_items SET state = ?, attempts = attempts + 1, not_before = ?"
                " WHERE id = ?",
                (PENDING, self._clock() + seconds, item_id),
            )

    def drop_lanes(self, lanes: Sequence[str]) -> int:
        """/forget: the items of these lanes go unsent; how many."""
        if not lanes:
            return 0
        marks = ",".join("?" * len(lanes))
        with self._transaction() as db:
            return db.execute(
                f"DELETE FROM outbox_items WHERE lane IN ({marks})", tuple(lanes)
            ).rowcount

    def pending(self) -> int:
        """Items not yet accepted by Telegram."""
        return int(self._read("SELECT COUNT(*) FROM outbox_items")[0][0])

    # ----- inside -------------------------------------------------------------------------

    def _claim_key(self, db: Any, key: str, now: float) -> bool:
        db.execute(
            "DELETE FROM outbox_keys WHERE created_at < ?",
            (now - timedelta(days=KEY_DAYS).total_seconds(),),
        )
        inserted = db.execute(
            "INSERT INTO outbox_keys (key, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (key, now),
        ).rowcount
        return bool(inserted)

    @staticmethod
    def _insert(
        db: Any, lane: str, chat_id: int, kind: str, payload: Mapping[str, Any], now: float
    ) -> None:
        db.execute(
            "INSERT INTO outbox_items (lane, chat_id, kind, payload, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                lane,
                chat_id,
                kind,
                json.dumps(dict(payload), ensure_ascii=False),
                PENDING,
                datetime.fromtimestamp(now, UTC).isoformat(),
            ),
        )


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=int(row["id"]),
        lane=str(row["lane"]),
        chat_id=int(row["chat_id"]),
        kind=str(row["kind"]),
        payload=json.loads(row["payload"]),
        attempts=int(row["attempts"]),
        created_at=datetime.fromisoformat(row["created_at"]),
    )
