"""Tickets: questions handed to staff, and the routes that carry replies back to the user.

The tickets live in the question log's SQLite file (WAL; other stores share it) in their own
tables with their own schema version (`tickets_schema_version`), so they migrate
independently of the question log.

A ticket keeps what staff need to answer and what the bot needs to relay the answer: the
question as the user wrote it, the user's private chat id (the route back), their name only
if they agreed, and the keyed hash of their Telegram id (bot.storage.question_log.hash_user)
for limits, blocks and /forget. When a ticket has been closed for `retention_days`, the chat
id, name, question and hash are erased and its routes deleted; the dates and language stay,
for the statistics.

The limits must outlive /forget, or a user resets them by forgetting: each opening is also
kept for a day under a pseudonym of its own (`ticket_openings`, no question, no name), and
the daily limit counts those. A user's messages in a ticket are counted for an hour
(`ticket_user_messages`, deleted with the ticket) for the cap on replies.

Every write is its own transaction, committed (synchronous=FULL) before the method returns:
whatever the bot then tells the user or staff is already on disk, and a kill -9 at any
moment leaves either the whole write or none of it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from bot.storage.database import OwnConnectionStore, StorageUnavailable
from bot.storage.keys import limit_hash
from bot.storage.question_log import hash_user, key_path_for, load_or_create_key
from bot.storage.timestamps import from_text
from bot.storage.timestamps import to_text as _timestamp
from bot.storage.timestamps import utc_now as _utc_now

if TYPE_CHECKING:
    from bot.config import Settings

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 2
OPEN: Final = "open"
CLOSED: Final = "closed"
# Longest question kept: Telegram messages are at most 4096 characters anyway.
MAX_QUESTION_CHARS: Final = 4000

# "refused": the staff group refused the card for good (it never reached staff).
# "unanswered": staff never replied within handoff.unanswered_close_days; "expired":
# erased after the retention period while still open.
ClosedBy = Literal["staff", "idle", "blocked", "refused", "unanswered", "expired"]


class TicketStoreError(StorageUnavailable):
    """The ticket tables cannot be used (for example, made by a newer version)."""


@dataclass(frozen=True)
class Ticket:
    id: int
    user_hash: str | None
    chat_id: int | None  # the user's private chat; None once erased after retention
    user_name: str | None  # only when the user agreed to show it
    lang: str
    question: str
    offered: Mapping[str, Any]  # what the bot had offered: kind, candidates with scores
    status: str  # OPEN or CLOSED
    opened_at: datetime
    last_activity_at: datetime
    first_staff_reply_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    undeliverable: bool  # the user blocked the bot; staff were told
    staff_chat_id: int
    staff_thread_id: int | None  # the forum topic, when topics are on
    staff_message_id: int | None  # the ticket's card; None until posted

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


class Opened(NamedTuple):
    ticket: Ticket
    created: bool  # False: this draft had become a ticket already (a second tap on "send")


@dataclass(frozen=True)
class LimitReached:
    """The user may not open another ticket now: `kind` says which limit, `retry_at` when
    they can ask again (None: once an open ticket is closed)."""

    kind: Literal["open", "daily"]
    retry_at: datetime | None


@dataclass(frozen=True)
class Blocked:
    """Staff blocked this user; nothing reaches staff (and the user is not told)."""


@dataclass(frozen=True)
class TicketStats:
    opened: int
    answered: int  # of those opened, how many got a staff reply
    median_first_reply: timedelta | None


_MIGRATIONS: Final[dict[int, str]] = {
    1: """
        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after /forget
            draft TEXT UNIQUE,                     -- the confirmation it came from: a second
                                                   -- tap on "send" finds this ticket again
            user_hash TEXT,                        -- HMAC of the Telegram id; NULL once erased
            chat_id INTEGER,                       -- the route back; NULL once erased
            user_name TEXT,                        -- only with the user's consent
            lang TEXT NOT NULL,
            question TEXT NOT NULL,
            offered TEXT NOT NULL,                 -- JSON
            status TEXT NOT NULL,                  -- open | closed
            opened_at TEXT NOT NULL,               -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ
            last_activity_at TEXT NOT NULL,
            first_staff_reply_at TEXT,
            closed_at TEXT,
            closed_by TEXT,
            undeliverable INTEGER NOT NULL DEFAULT 0,
            staff_chat_id INTEGER NOT NULL,
            staff_thread_id INTEGER,
            staff_message_id INTEGER
        );
        CREATE INDEX tickets_by_user ON tickets (user_hash, opened_at);
        CREATE INDEX tickets_by_thread ON tickets (staff_chat_id, staff_thread_id);
        CREATE INDEX tickets_by_status ON tickets (status, last_activity_at);
        CREATE INDEX tickets_by_opening ON tickets (opened_at);
        -- Which ticket a message belongs to, in the user's chat or the staff group: a reply
        -- to that message goes to the ticket.
        CREATE TABLE ticket_routes (
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
            PRIMARY KEY (chat_id, message_id)
        );
        CREATE INDEX ticket_routes_by_ticket ON ticket_routes (ticket_id);
        CREATE TABLE blocked_users (
            user_hash TEXT PRIMARY KEY,
            blocked_at TEXT NOT NULL
        );
    """,
    2: """
        -- When a user opened a ticket, by a pseudonym of its own (keys.limit_hash): /forget
        -- keeps these rows, so that it does not reset the daily limit. No question, no name,
        -- no chat; a row is deleted a day after its ticket was opened.
        CREATE TABLE ticket_openings (
            limit_hash TEXT NOT NULL,
            opened_at TEXT NOT NULL
        );
        CREATE INDEX ticket_openings_by_user ON ticket_openings (limit_hash, opened_at);
        CREATE INDEX ticket_openings_by_time ON ticket_openings (opened_at);
        -- When the user wrote in a ticket, for the cap on replies an hour; deleted with the
        -- ticket (/forget) or after an hour.
        CREATE TABLE ticket_user_messages (
            ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
            sent_at TEXT NOT NULL
        );
        CREATE INDEX ticket_user_messages_by_ticket ON ticket_user_messages (ticket_id, sent_at);
        CREATE INDEX ticket_user_messages_by_time ON ticket_user_messages (sent_at);
        -- Which copy in the user's chat a staff message became: a staff edit corrects it.
        CREATE TABLE ticket_relays (
            ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
            staff_message_id INTEGER NOT NULL,
            user_message_id INTEGER NOT NULL,
            PRIMARY KEY (ticket_id, staff_message_id)
        ) WITHOUT ROWID;
    """,
}


# Tickets past the retention period that still hold personal data: closed that long ago,
# or with no message that long (parameters: CLOSED, cutoff, cutoff).
_EXPIRED_SELECT = (
    "SELECT * FROM tickets WHERE chat_id IS NOT NULL"
    " AND ((status = ? AND closed_at < ?) OR last_activity_at < ?)"
)


def _parse(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


class TicketStore(OwnConnectionStore):
    """Tickets over one SQLite file; safe to use from several threads (one lock)."""

    def __init__(self, path: Path, *, key: bytes, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = Path(path)
        self._key = key
        self._clock = clock
        super().__init__(
            self.path,
            # FULL: a commit is on disk before the user is told "received", even if the
            # machine, not just the bot, stops the next moment.
            durable=True,
            version_table="tickets_schema_version",
            migrations=_MIGRATIONS,
            what="ticket tables",
            too_new=TicketStoreError,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> TicketStore:
        path = settings.question_log_path
        return cls(path, key=load_or_create_key(key_path_for(path), environ))

    def user_hash(self, user_id: int) -> str:
        return hash_user(self._key, user_id)

    def limit_hash(self, user_id: int) -> str:
        return limit_hash(self._key, user_id)

    def now(self) -> datetime:
        return self._clock()

    # ----- opening ---------------------------------------------------------------------

    def open_ticket(
        self,
        *,
        draft: str,
        user_id: int,
        chat_id: int,
        user_name: str | None,
        lang: str,
        question: str,
        offered: Mapping[str, Any],
        staff_chat_id: int,
        max_open: int,
        max_per_day: int,
    ) -> Opened | LimitReached | Blocked:
        """A new ticket, committed; or the ticket this draft already became; or why not."""
        user = self.user_hash(user_id)
        now = self._clock()
        with self._transaction() as db:
            existing = db.execute("SELECT * FROM tickets WHERE draft = ?", (draft,)).fetchone()
            if existing is not None:
                return Opened(_ticket(existing), created=False)
            if db.execute("SELECT 1 FROM blocked_users WHERE user_hash = ?", (user,)).fetchone():
                return Blocked()
            (open_count,) = db.execute(
                "SELECT COUNT(*) FROM tickets WHERE user_hash = ? AND status = ?", (user, OPEN)
            ).fetchone()
            if open_count >= max_open:
                return LimitReached("open", None)
            day_ago = _timestamp(now - timedelta(days=1))
            db.execute("DELETE FROM ticket_openings WHERE opened_at <= ?", (day_ago,))
            counted = self.limit_hash(user_id)
            recent = max(
                # The openings survive /forget; the tickets count those opened before the
                # openings were kept (an older version of the bot).
                db.execute(
                    "SELECT opened_at FROM ticket_openings WHERE limit_hash = ? AND opened_at > ?",
                    (counted, day_ago),
                ).fetchall(),
                db.execute(
                    "SELECT opened_at FROM tickets WHERE user_hash = ? AND opened_at > ?",
                    (user, day_ago),
                ).fetchall(),
                key=len,
            )
            if len(recent) >= max_per_day:
                # The oldest of the day's tickets leaves the 24-hour window first.
                times = sorted(row[0] for row in recent)
                oldest = _parse(times[len(times) - max_per_day])
                assert oldest is not None
                return LimitReached("daily", oldest + timedelta(days=1))
            db.execute(
                "INSERT INTO ticket_openings (limit_hash, opened_at) VALUES (?, ?)",
                (counted, _timestamp(now)),
            )
            cursor = db.execute(
                "INSERT INTO tickets (draft, user_hash, chat_id, user_name, lang, question,"
                " offered, status, opened_at, last_activity_at, staff_chat_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    draft,
                    user,
                    chat_id,
                    user_name,
                    lang,
                    question[:MAX_QUESTION_CHARS],
                    json.dumps(dict(offered), ensure_ascii=False),
                    OPEN,
                    _timestamp(now),
                    _timestamp(now),
                    staff_chat_id,
                ),
            )
            row = db.execute("SELECT * FROM tickets WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return Opened(_ticket(row), created=True)

    def set_staff_thread(self, ticket_id: int, thread_id: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE tickets SET staff_thread_id = ? WHERE id = ?", (thread_id, ticket_id)
            )

    def set_staff_message(self, ticket_id: int, message_id: int) -> None:
        """The ticket's card is posted: note it, and route replies to it to the ticket."""
        with self._transaction() as db:
            row = db.execute(
                "UPDATE tickets SET staff_message_id = ? WHERE id = ? RETURNING staff_chat_id",
                (message_id, ticket_id),
            ).fetchone()
            if row is not None:
                db.execute(
                    "INSERT OR REPLACE INTO ticket_routes (chat_id, message_id, ticket_id)"
                    " VALUES (?, ?, ?)",
                    (row[0], message_id, ticket_id),
                )

    def unposted(self) -> list[Ticket]:
        """Open tickets whose card is not in the staff group yet (the bot stopped, or the
        group refused), oldest first."""
        rows = self._read(
            "SELECT * FROM tickets WHERE status = ? AND staff_message_id IS NULL ORDER BY id",
            (OPEN,),
        )
        return [_ticket(row) for row in rows]

    # ----- routes ----------------------------------------------------------------------

    def add_route(self, chat_id: int, message_id: int, ticket_id: int) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ticket_routes (chat_id, message_id, ticket_id)"
                " VALUES (?, ?, ?)",
                (chat_id, message_id, ticket_id),
            )

    def add_relay(self, ticket_id: int, staff_message_id: int, user_message_id: int) -> None:
        """Staff message `staff_message_id` reached the user as `user_message_id`."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ticket_relays (ticket_id, staff_message_id,"
                " user_message_id) VALUES (?, ?, ?)",
                (ticket_id, staff_message_id, user_message_id),
            )

    def relayed_copy(self, ticket_id: int, staff_message_id: int) -> int | None:
        """The user's copy of a staff message of the ticket, if it was relayed."""
        rows = self._read(
            "SELECT user_message_id FROM ticket_relays"
            " WHERE ticket_id = ? AND staff_message_id = ?",
            (ticket_id, staff_message_id),
        )
        return int(rows[0][0]) if rows else None

    def ticket_for_message(self, chat_id: int, message_id: int) -> Ticket | None:
        rows = self._read(
            "SELECT tickets.* FROM ticket_routes JOIN tickets ON tickets.id = ticket_id"
            " WHERE ticket_routes.chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return _ticket(rows[0]) if rows else None

    def ticket_for_thread(self, staff_chat_id: int, thread_id: int) -> Ticket | None:
        rows = self._read(
            "SELECT * FROM tickets WHERE staff_chat_id = ? AND staff_thread_id = ?",
            (staff_chat_id, thread_id),
        )
        return _ticket(rows[0]) if rows else None

    def ticket(self, ticket_id: int) -> Ticket | None:
        rows = self._read("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return _ticket(rows[0]) if rows else None

    def open_tickets_of(self, user_id: int) -> list[Ticket]:
        rows = self._read(
            "SELECT * FROM tickets WHERE user_hash = ? AND status = ? ORDER BY id",
            (self.user_hash(user_id), OPEN),
        )
        return [_ticket(row) for row in rows]

    # ----- the conversation ------------------------------------------------------------

    def note_staff_reply(self, ticket_id: int) -> None:
        now = _timestamp(self._clock())
        with self._transaction() as db:
            db.execute(
                "UPDATE tickets SET last_activity_at = ?,"
                " first_staff_reply_at = COALESCE(first_staff_reply_at, ?) WHERE id = ?",
                (now, now, ticket_id),
            )

    def note_user_message(self, ticket_id: int, max_per_hour: int | None = None) -> bool:
        """Count a message of the user in the ticket, unless they wrote `max_per_hour`
        already in the last hour (False: not counted, not to be relayed)."""
        now = self._clock()
        hour_ago = _timestamp(now - timedelta(hours=1))
        with self._transaction() as db:
            db.execute("DELETE FROM ticket_user_messages WHERE sent_at <= ?", (hour_ago,))
            if max_per_hour is not None:
                (sent,) = db.execute(
                    "SELECT COUNT(*) FROM ticket_user_messages WHERE ticket_id = ? AND sent_at > ?",
                    (ticket_id, hour_ago),
                ).fetchone()
                if sent >= max_per_hour:
                    return False
            updated = db.execute(
                "UPDATE tickets SET last_activity_at = ? WHERE id = ?",
                (_timestamp(now), ticket_id),
            )
            if updated.rowcount:
                db.execute(
                    "INSERT INTO ticket_user_messages (ticket_id, sent_at) VALUES (?, ?)",
                    (ticket_id, _timestamp(now)),
                )
        return True

    def mark_undeliverable(self, ticket_id: int) -> bool:
        """The user blocked the bot; True the first time (staff are told once)."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE tickets SET undeliverable = 1 WHERE id = ? AND undeliverable = 0",
                (ticket_id,),
            )
        return cursor.rowcount > 0

    def close_ticket(self, ticket_id: int, by: ClosedBy) -> bool:
        """Close an open ticket; False if it was not open."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE tickets SET status = ?, closed_at = ?, closed_by = ?"
                " WHERE id = ? AND status = ?",
                (CLOSED, _timestamp(self._clock()), by, ticket_id, OPEN),
            )
        return cursor.rowcount > 0

    def reopen_ticket(self, ticket_id: int) -> bool:
        """Reopen a closed ticket that still has its route back; False otherwise."""
        now = _timestamp(self._clock())
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE tickets SET status = ?, closed_at = NULL, closed_by = NULL,"
                " last_activity_at = ? WHERE id = ? AND status = ? AND chat_id IS NOT NULL",
                (OPEN, now, ticket_id, CLOSED),
            )
        return cursor.rowcount > 0

    def idle_tickets(self, idle: timedelta) -> list[Ticket]:
        """Open tickets staff have answered and nobody has written in for `idle`."""
        cutoff = _timestamp(self._clock() - idle)
        rows = self._read(
            "SELECT * FROM tickets WHERE status = ? AND first_staff_reply_at IS NOT NULL"
            " AND last_activity_at < ? ORDER BY id",
            (OPEN, cutoff),
        )
        return [_ticket(row) for row in rows]

    def unanswered_tickets(self, waited: timedelta) -> list[Ticket]:
        """Open tickets opened more than `waited` ago that staff have never answered."""
        cutoff = _timestamp(self._clock() - waited)
        rows = self._read(
            "SELECT * FROM tickets WHERE status = ? AND first_staff_reply_at IS NULL"
            " AND opened_at < ? ORDER BY id",
            (OPEN, cutoff),
        )
        return [_ticket(row) for row in rows]

    # ----- blocking --------------------------------------------------------------------

    def block_user_of(self, ticket_id: int) -> list[Ticket]:
        """Block the ticket's user and close their open tickets (returned)."""
        now = _timestamp(self._clock())
        with self._transaction() as db:
            row = db.execute("SELECT user_hash FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
            if row is None or row[0] is None:
                return []
            user = row[0]
            db.execute(
                "INSERT OR IGNORE INTO blocked_users (user_hash, blocked_at) VALUES (?, ?)",
                (user, now),
            )
            closed = db.execute(
                "UPDATE tickets SET status = ?, closed_at = ?, closed_by = 'blocked'"
                " WHERE user_hash = ? AND status = ? RETURNING *",
                (CLOSED, now, user, OPEN),
            ).fetchall()
        return [_ticket(r) for r in closed]

    def unblock_user_of(self, ticket_id: int) -> bool:
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM blocked_users WHERE user_hash ="
                " (SELECT user_hash FROM tickets WHERE id = ?)",
                (ticket_id,),
            )
        return cursor.rowcount > 0

    def is_blocked(self, user_id: int) -> bool:
        return bool(
            self._read(
                "SELECT 1 FROM blocked_users WHERE user_hash = ?", (self.user_hash(user_id),)
            )
        )

    # ----- forgetting and retention ----------------------------------------------------

    def forget_user(self, user_id: int) -> list[Ticket]:
        """Delete every ticket of the user and its routes; returns them (staff are told
        which were withdrawn). A block stays: /forget must not undo it."""
        user = self.user_hash(user_id)
        with self._transaction() as db:
            rows = db.execute(
                "DELETE FROM tickets WHERE user_hash = ? OR chat_id = ? RETURNING *",
                (user, user_id),
            ).fetchall()
            ids = [row["id"] for row in rows]
            db.executemany("DELETE FROM ticket_routes WHERE ticket_id = ?", [(i,) for i in ids])
        return [_ticket(row) for row in rows]

    def expired(self, retention_days: int) -> list[Ticket]:
        """The tickets purge_expired would erase now (for what Telegram still shows)."""
        cutoff = _timestamp(self._clock() - timedelta(days=retention_days))
        return [_ticket(row) for row in self._read(_EXPIRED_SELECT, (CLOSED, cutoff, cutoff))]

    def staff_messages(self, ticket_ids: Sequence[int]) -> dict[int, list[int]]:
        """Ticket id -> the bot's messages of it in the staff group other than its card
        (the user's messages copied there, the whole of a long question): what to delete
        when the ticket is erased. Read before forget_user or purge_expired drop them."""
        found: dict[int, list[int]] = {i: [] for i in ticket_ids}
        for ticket_id in ticket_ids:
            rows = self._read(
                "SELECT message_id FROM ticket_routes JOIN tickets ON tickets.id = ticket_id"
                " WHERE ticket_id = ? AND ticket_routes.chat_id = tickets.staff_chat_id"
                " AND message_id IS NOT tickets.staff_message_id ORDER BY message_id",
                (ticket_id,),
            )
            found[ticket_id] = [int(row[0]) for row in rows]
        return found

    def tickets_of(self, user_id: int) -> list[Ticket]:
        """Every ticket of the user still holding their data (what forget_user deletes)."""
        rows = self._read(
            "SELECT * FROM tickets WHERE user_hash = ? OR chat_id = ? ORDER BY id",
            (self.user_hash(user_id), user_id),
        )
        return [_ticket(row) for row in rows]

    def purge_expired(self, retention_days: int) -> int:
        """Erase who asked what from tickets closed more than `retention_days` ago, and from
        any ticket without a message for that long (closed then, too); their
        dates and language stay, for the statistics. Returns how many."""
        now = self._clock()
        cutoff = _timestamp(now - timedelta(days=retention_days))
        with self._transaction() as db:
            rows = db.execute(
                "UPDATE tickets SET user_hash = NULL, chat_id = NULL, user_name = NULL,"
                " question = '', offered = '{}', draft = NULL, status = ?,"
                " closed_at = COALESCE(closed_at, ?), closed_by = COALESCE(closed_by, 'expired')"
                " WHERE id IN (SELECT id FROM (" + _EXPIRED_SELECT + ")) RETURNING id",
                (CLOSED, _timestamp(now), CLOSED, cutoff, cutoff),
            ).fetchall()
            for statement in ("DELETE FROM ticket_routes", "DELETE FROM ticket_relays"):
                db.executemany(f"{statement} WHERE ticket_id = ?", [(row[0],) for row in rows])
        if rows:
            logger.info("tickets: erased the personal data of %d expired tickets", len(rows))
        return len(rows)

    # ----- statistics ------------------------------------------------------------------

    def stats(self, since: datetime, until: datetime | None = None) -> TicketStats:
        """Tickets opened from `since` to `until` (exclusive; None: up to now): how many,
        how many staff answered, and the median time from opening to the first staff reply."""
        query = "SELECT opened_at, first_staff_reply_at FROM tickets WHERE opened_at >= ?"
        parameters = [_timestamp(since)]
        if until is not None:
            query += " AND opened_at < ?"
            parameters.append(_timestamp(until))
        rows = self._read(query, parameters)
        waits = []
        for opened_text, replied_text in rows:
            opened, replied = _parse(opened_text), _parse(replied_text)
            if opened is not None and replied is not None:
                waits.append((replied - opened).total_seconds())
        median = timedelta(seconds=statistics.median(waits)) if waits else None
        return TicketStats(opened=len(rows), answered=len(waits), median_first_reply=median)


def _ticket(row: sqlite3.Row) -> Ticket:
    opened = _parse(row["opened_at"])
    last = _parse(row["last_activity_at"])
    assert opened is not None
    assert last is not None
    return Ticket(
        id=int(row["id"]),
        user_hash=row["user_hash"],
        chat_id=row["chat_id"],
        user_name=row["user_name"],
        lang=row["lang"],
        question=row["question"],
        offered=json.loads(row["offered"] or "{}"),
        status=row["status"],
        opened_at=opened,
        last_activity_at=last,
        first_staff_reply_at=_parse(row["first_staff_reply_at"]),
        closed_at=_parse(row["closed_at"]),
        closed_by=row["closed_by"],
        undeliverable=bool(row["undeliverable"]),
        staff_chat_id=int(row["staff_chat_id"]),
        staff_thread_id=row["staff_thread_id"],
        staff_message_id=row["staff_message_id"],
    )
