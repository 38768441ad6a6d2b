"""Subscriptions and announcement jobs, in the question log's SQLite file (own tables).

What is stored about a subscriber: the chat id, the topics it follows and the language it
reads - nothing else. Unsubscribing from the last topic, /forget, or blocking the bot (a 403
during an announcement) deletes the chat id.

An announcement is a job (`broadcasts`) with one row per recipient (`broadcast_recipients`)
whose state moves pending -> sending -> sent | blocked | failed. The recipients are copied
from the subscriptions in the same transaction that creates the job, so a kill at any moment
leaves either no job or a whole one. A sender marks a recipient "sending" (committed) just
before the Bot API call and "sent" just after: a kill between the two is the only way a
message can go out twice, so at most the messages in flight at that instant are repeated
when the job resumes. A finished job keeps only its counts; its recipients' chat ids are
deleted with it.

A job is claimed by one process at a time (a lease with the owner's host and pid): the
running bot and `python -m bot announce` never deliver the same job together, and a job
whose owner died is taken over at once (same host) or when its lease runs out.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from bot.storage.database import OwnConnectionStore, StorageUnavailable
from bot.storage.timestamps import to_text as _timestamp

SCHEMA_VERSION: Final = 1
# A claimed job's lease: renewed while it is delivered; a silent owner loses it after this.
LEASE: Final = timedelta(seconds=60)
PENDING, SENDING, SENT, BLOCKED, FAILED = "pending", "sending", "sent", "blocked", "failed"
# "refused": Telegram refused the announcement's first messages (its text); stopped, with
# its texts and counts kept.
RUNNING, DONE, REFUSED = "running", "done", "refused"

_MIGRATIONS: Final[dict[int, str]] = {
    1: """
        CREATE TABLE subscribers (
            chat_id INTEGER PRIMARY KEY,
            lang TEXT NOT NULL
        );
        CREATE TABLE subscriber_topics (
            chat_id INTEGER NOT NULL REFERENCES subscribers (chat_id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            PRIMARY KEY (topic, chat_id)
        ) WITHOUT ROWID;
        CREATE INDEX subscriber_topics_by_chat ON subscriber_topics (chat_id);
        CREATE TABLE broadcasts (
            id INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            created_at TEXT NOT NULL,
            state TEXT NOT NULL,              -- running, done
            requested_by INTEGER,             -- the admin's chat, for progress (NULL: CLI)
            requested_lang TEXT,              -- and the language they use
            status_message_id INTEGER,        -- the admin's progress message
            owner TEXT,                       -- host:pid delivering it now
            lease_until TEXT,
            total INTEGER NOT NULL,
            delivered INTEGER NOT NULL DEFAULT 0,  -- counts, kept when the job is done
            blocked INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            resent INTEGER NOT NULL DEFAULT 0,     -- "sending" at a restart, sent again
            finished_at TEXT
        );
        CREATE TABLE broadcast_texts (
            broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
            lang TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (broadcast_id, lang)
        ) WITHOUT ROWID;
        CREATE TABLE broadcast_recipients (
            broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL,
            lang TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,  -- failed sends (5xx, network)
            PRIMARY KEY (broadcast_id, chat_id)
        ) WITHOUT ROWID;
        CREATE INDEX broadcast_recipients_by_state
            ON broadcast_recipients (broadcast_id, state);
    """,
}


class SubscriptionStoreError(StorageUnavailable):
    """The subscriptions cannot be opened (for example, made by a newer version)."""


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    lang: str
    attempts: int = 0


@dataclass(frozen=True)
class BroadcastCounts:
    total: int
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    pending: int = 0  # not yet sent, "sending" included
    resent: int = 0  # "sending" at a restart, or timed out: each may have arrived twice

    @property
    def done(self) -> int:
        return self.delivered + self.blocked + self.failed


@dataclass(frozen=True)
class Broadcast:
    id: int
    topic: str
    texts: Mapping[str, str]  # language -> Telegram HTML
    state: str
    counts: BroadcastCounts
    requested_by: int | None = None
    requested_lang: str | None = None
    status_message_id: int | None = None


def _cancel_pending(chat_id: int, topic: str | None) -> list[tuple[str, tuple[object, ...]]]:
    """The statements that take `chat_id` out of the running announcements of `topic` (None:
    of every topic) not yet sent to it; one on its way ("sending") stays."""
    of_topic = "" if topic is None else " AND topic = ?"
    jobs = f"SELECT id FROM broadcasts WHERE state = ?{of_topic}"
    job_args: tuple[object, ...] = (RUNNING,) if topic is None else (RUNNING, topic)
    return [
        (
            f"UPDATE broadcasts SET total = total - 1 WHERE id IN ({jobs}) AND id IN"
            " (SELECT broadcast_id FROM broadcast_recipients WHERE chat_id = ? AND state = ?)",
            (*job_args, chat_id, PENDING),
        ),
        (
            f"DELETE FROM broadcast_recipients WHERE broadcast_id IN ({jobs})"
            " AND chat_id = ? AND state = ?",
            (*job_args, chat_id, PENDING),
        ),
    ]


def _now() -> datetime:
    return datetime.now(UTC)


def this_process() -> str:
    """The owner name of a lease taken by this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str) -> bool:
    """True if `owner` was a process on this machine that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class SubscriptionStore(OwnConnectionStore):
    """Subscriptions and announcement jobs over one SQLite file; safe from many threads.

    Each method is one short transaction; callers in an event loop run them in a thread
    (asyncio.to_thread) so that a busy disk never holds up an answer.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            self.path,
            # NORMAL is durable across a crash of the process in WAL mode; a recipient's
            # "sending" mark is what bounds the duplicates, not the disk.
            durable=False,
            version_table="subscriptions_schema_version",
            migrations=_MIGRATIONS,
            what="subscriptions",
            too_new=SubscriptionStoreError,
        )

    def _write(self, statements: Iterable[tuple[str, tuple[object, ...]]]) -> list[int]:
        """Run `statements` in one transaction; their row counts."""
        with self._transaction() as db:
            return [db.execute(sql, args).rowcount for sql, args in statements]

    # ----- subscriptions ---------------------------------------------------------------

    def topics_of(self, chat_id: int) -> frozenset[str]:
        rows = self._read("SELECT topic FROM subscriber_topics WHERE chat_id = ?", (chat_id,))
        return frozenset(row[0] for row in rows)

    def language_of(self, chat_id: int) -> str | None:
        rows = self._read("SELECT lang FROM subscribers WHERE chat_id = ?", (chat_id,))
        return str(rows[0][0]) if rows else None

    def subscribers(self) -> dict[int, str]:
        """Every subscribed chat and its language."""
        return {int(r[0]): str(r[1]) for r in self._read("SELECT chat_id, lang FROM subscribers")}

    def subscribe(self, chat_id: int, topic: str, lang: str) -> None:
        self._write(
            [
                (
                    "INSERT INTO subscribers (chat_id, lang) VALUES (?, ?)"
                    " ON CONFLICT (chat_id) DO UPDATE SET lang = excluded.lang",
                    (chat_id, lang),
                ),
                (
                    "INSERT OR IGNORE INTO subscriber_topics (chat_id, topic) VALUES (?, ?)",
                    (chat_id, topic),
                ),
            ]
        )

    def subscribe_many(self, chats: Mapping[int, str], topic: str) -> None:
        """Subscribe every chat (chat id -> language) to `topic` in one transaction."""
        self._write(
            [
                statement
                for chat_id, lang in chats.items()
                for statement in (
                    (
                        "INSERT INTO subscribers (chat_id, lang) VALUES (?, ?)"
                        " ON CONFLICT (chat_id) DO UPDATE SET lang = excluded.lang",
                        (chat_id, lang),
                    ),
                    (
                        "INSERT OR IGNORE INTO subscriber_topics (chat_id, topic) VALUES (?, ?)",
                        (chat_id, topic),
                    ),
                )
            ]
        )

    def unsubscribe(self, chat_id: int, topic: str) -> None:
        """Stop `topic`, and the topic's announcements not yet sent to the chat; the chat
        id goes once no topic is left."""
        self._write(
            [
                ("DELETE FROM subscriber_topics WHERE chat_id = ? AND topic = ?", (chat_id, topic)),
                (
                    "DELETE FROM subscribers WHERE chat_id = ? AND NOT EXISTS"
                    " (SELECT 1 FROM subscriber_topics WHERE chat_id = ?)",
                    (chat_id, chat_id),
                ),
                *_cancel_pending(chat_id, topic),
            ]
        )

    def unsubscribe_all(self, chat_id: int) -> bool:
        """Stop every topic, and every announcement not yet sent to the chat; True if the
        chat followed any topic."""
        deleted, *_ = self._write(
            [
                ("DELETE FROM subscribers WHERE chat_id = ?", (chat_id,)),
                *_cancel_pending(chat_id, None),
            ]
        )
        return deleted > 0

    def forget(self, chat_id: int) -> None:
        """/forget: the chat's subscriptions, and its place in announcements not yet sent."""
        self._write(
            [
                ("DELETE FROM subscribers WHERE chat_id = ?", (chat_id,)),
                (
                    "UPDATE broadcasts SET total = total - 1 WHERE state = ? AND id IN"
                    " (SELECT broadcast_id FROM broadcast_recipients WHERE chat_id = ?"
                    "  AND state IN (?, ?))",
                    (RUNNING, chat_id, PENDING, SENDING),
                ),
                (
                    "DELETE FROM broadcast_recipients WHERE chat_id = ? AND state IN (?, ?)",
                    (chat_id, PENDING, SENDING),
                ),
            ]
        )
        self.checkpoint()  # the deleted rows must not survive in the -wal file either

    def set_language(self, chat_id: int, lang: str) -> None:
        """The language announcements reach this chat in (if it is subscribed)."""
        self._write([("UPDATE subscribers SET lang = ? WHERE chat_id = ?", (lang, chat_id))])

    def audience(self, topic: str) -> dict[str, int]:
        """How many chats follow `topic`, by language."""
        rows = self._read(
            "SELECT s.lang, COUNT(*) FROM subscriber_topics t JOIN subscribers s"
            " ON s.chat_id = t.chat_id WHERE t.topic = ? GROUP BY s.lang ORDER BY s.lang",
            (topic,),
        )
        return {str(row[0]): int(row[1]) for row in rows}

    # ----- announcement jobs -----------------------------------------------------------

    def create_broadcast(
        self,
        topic: str,
        texts: Mapping[str, str],
        *,
        requested_by: int | None = None,
        requested_lang: str | None = None,
        default_language: str | None = None,
    ) -> Broadcast:
        """A job for every current subscriber of `topic`, in one transaction. A subscriber
        whose language has no text gets `default_language`'s."""
        if not texts:
            raise ValueError("an announcement needs its text in at least one language")
        fallback = default_language if default_language in texts else next(iter(texts))
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO broadcasts (topic, created_at, state, requested_by, requested_lang,"
                " total) VALUES (?, ?, ?, ?, ?, 0)",
                (topic, _timestamp(_now()), RUNNING, requested_by, requested_lang),
            )
            job = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO broadcast_texts (broadcast_id, lang, text) VALUES (?, ?, ?)",
                [(job, lang, text) for lang, text in texts.items()],
            )
            languages = ",".join("?" * len(texts))
            db.execute(
                "INSERT INTO broadcast_recipients (broadcast_id, chat_id, lang, state)"
                " SELECT ?, s.chat_id,"
                f" CASE WHEN s.lang IN ({languages}) THEN s.lang ELSE ? END, ?"
                " FROM subscriber_topics t JOIN subscribers s ON s.chat_id = t.chat_id"
                " WHERE t.topic = ?",
                (job, *texts, fallback, PENDING, topic),
            )
            db.execute(
                "UPDATE broadcasts SET total = (SELECT COUNT(*) FROM broadcast_recipients"
                " WHERE broadcast_id = ?) WHERE id = ?",
                (job, job),
            )
        found = self.broadcast(job)
        assert found is not None
        return found

    def broadcast(self, job: int) -> Broadcast | None:
        rows = self._read("SELECT * FROM broadcasts WHERE id = ?", (job,))
        if not rows:
            return None
        row = rows[0]
        texts = {
            str(r[0]): str(r[1])
            for r in self._read(
                "SELECT lang, text FROM broadcast_texts WHERE broadcast_id = ?", (job,)
            )
        }
        return Broadcast(
            id=job,
            topic=row["topic"],
            texts=texts,
            state=row["state"],
            counts=self.counts(job),
            requested_by=row["requested_by"],
            requested_lang=row["requested_lang"],
            status_message_id=row["status_message_id"],
        )

    def counts(self, job: int) -> BroadcastCounts:
        (row,) = self._read("SELECT * FROM broadcasts WHERE id = ?", (job,))
        if row["state"] in (DONE, REFUSED):
            return BroadcastCounts(
                row["total"], row["delivered"], row["blocked"], row["failed"], 0, row["resent"]
            )
        states: dict[str, int] = {
            str(r[0]): int(r[1])
            for r in self._read(
                "SELECT state, COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ?"
                " GROUP BY state",
                (job,),
            )
        }
        return BroadcastCounts(
            total=row["total"],
            delivered=states.get(SENT, 0),
            blocked=states.get(BLOCKED, 0),
            failed=states.get(FAILED, 0),
            pending=states.get(PENDING, 0) + states.get(SENDING, 0),
            resent=row["resent"],
        )

    def in_flight(self, job: int) -> int:
        """Recipients marked "sending": the messages that may arrive twice if the process
        dies now."""
        rows = self._read(
            "SELECT COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ? AND state = ?",
            (job, SENDING),
        )
        return int(rows[0][0])

    def unfinished(self) -> list[int]:
        rows = self._read("SELECT id FROM broadcasts WHERE state = ? ORDER BY id", (RUNNING,))
        return [int(row[0]) for row in rows]

    def set_status_message(self, job: int, message_id: int) -> None:
        self._write(
            [("UPDATE broadcasts SET status_message_id = ? WHERE id = ?", (message_id, job))]
        )

    def claim(self, owner: str, now: datetime | None = None) -> int | None:
        """Take the oldest unfinished job for `owner` (or renew its lease); None if there
        is none, or another live process is delivering one (one at a time: two broadcasts
        at once would exceed Telegram's limits together)."""
        now = now or _now()
        with self._transaction() as db:
            jobs = db.execute(
                "SELECT id, owner, lease_until FROM broadcasts WHERE state = ? ORDER BY id",
                (RUNNING,),
            ).fetchall()
            chosen = None
            for row in jobs:
                holder, until = row["owner"], row["lease_until"]
                free = (
                    holder is None
                    or holder == owner
                    or until is None
                    or until < _timestamp(now)
                    or _owner_is_dead(holder)
                )
                if not free:
                    chosen = None
                    break
                if chosen is None:
                    chosen = int(row["id"])
            if chosen is not None:
                db.execute(
                    "UPDATE broadcasts SET owner = ?, lease_until = ? WHERE id = ?",
                    (owner, _timestamp(now + LEASE), chosen),
                )
        return chosen

    def renew(self, job: int, owner: str) -> bool:
        """Extend `owner`'s lease; False if the job is no longer theirs."""
        (changed,) = self._write(
            [
                (
                    "UPDATE broadcasts SET lease_until = ? WHERE id = ? AND owner = ?",
                    (_timestamp(_now() + LEASE), job, owner),
                )
            ]
        )
        return changed > 0

    def release(self, job: int, owner: str) -> None:
        self._write(
            [
                (
                    "UPDATE broadcasts SET owner = NULL, lease_until = NULL"
                    " WHERE id = ? AND owner = ?",
                    (job, owner),
                )
            ]
        )

    def recover(self, job: int) -> int:
        """After a restart: recipients left "sending" go back to the queue (they may have
        got the message; sending again is the only way to be sure no one misses it).
        Returns how many."""
        with self._transaction() as db:
            resent = db.execute(
                "UPDATE broadcast_recipients SET state = ? WHERE broadcast_id = ? AND state = ?",
                (PENDING, job, SENDING),
            ).rowcount
            db.execute("UPDATE broadcasts SET resent = resent + ? WHERE id = ?", (resent, job))
        return resent

    def pending(self, job: int, limit: int) -> list[Recipient]:
        """The next recipients to send to, fewest failed attempts first."""
        rows = self._read(
            "SELECT chat_id, lang, attempts FROM broadcast_recipients"
            " WHERE broadcast_id = ? AND state = ? ORDER BY attempts, chat_id LIMIT ?",
            (job, PENDING, limit),
        )
        return [Recipient(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    def _set_state(self, job: int, chat_id: int, state: str, *, attempt: bool = False) -> None:
        self._write(
            [
                (
                    "UPDATE broadcast_recipients SET state = ?, attempts = attempts + ?"
                    " WHERE broadcast_id = ? AND chat_id = ?",
                    (state, int(attempt), job, chat_id),
                )
            ]
        )

    def mark_sending(self, job: int, chat_id: int, sent_before: int | None = None) -> bool:
        """`chat_id`'s message goes out now; `sent_before`, the same sender's previous
        recipient, got theirs (one transaction for both: one commit per message). False:
        `chat_id` is no longer waiting for it (they unsubscribed or asked to be forgotten
        meanwhile), so it must not be sent."""
        statements: list[tuple[str, tuple[object, ...]]] = []
        update = "UPDATE broadcast_recipients SET state = ? WHERE broadcast_id = ? AND chat_id = ?"
        if sent_before is not None:
            statements.append((update, (SENT, job, sent_before)))
        statements.append((update + " AND state = ?", (SENDING, job, chat_id, PENDING)))
        *_, marked = self._write(statements)
        return marked > 0

    def mark_sent(self, job: int, chat_id: int) -> None:
        self._set_state(job, chat_id, SENT)

    def mark_failed(self, job: int, chat_id: int) -> None:
        self._set_state(job, chat_id, FAILED, attempt=True)

    def mark_retry(self, job: int, chat_id: int, *, attempt: bool) -> None:
        """Back in the queue: after a failure that counts (`attempt`) or a 429 wait."""
        self._set_state(job, chat_id, PENDING, attempt=attempt)

    def mark_uncertain(self, job: int, chat_id: int) -> None:
        """A send timed out: Telegram may have delivered it. It goes again (no one must miss
        it) and is counted with the messages that may have arrived twice."""
        with self._transaction() as db:
            db.execute(
                "UPDATE broadcast_recipients SET state = ?, attempts = attempts + 1"
                " WHERE broadcast_id = ? AND chat_id = ?",
                (PENDING, job, chat_id),
            )
            db.execute("UPDATE broadcasts SET resent = resent + 1 WHERE id = ?", (job,))

    def mark_blocked(self, job: int, chat_id: int) -> None:
        """The user blocked the bot: counted, and every subscription of theirs ends."""
        self._write(
            [
                (
                    "UPDATE broadcast_recipients SET state = ? WHERE broadcast_id = ?"
                    " AND chat_id = ?",
                    (BLOCKED, job, chat_id),
                ),
                ("DELETE FROM subscribers WHERE chat_id = ?", (chat_id,)),
            ]
        )

    def refuse(self, job: int) -> BroadcastCounts:
        """Stop a job Telegram refuses to deliver: nothing more is sent (a restart does not
        resume it); its texts and counts are kept, its recipients deleted."""
        counts = self.counts(job)
        self._write(
            [
                (
                    "UPDATE broadcasts SET state = ?, delivered = ?, blocked = ?, failed = ?,"
                    " finished_at = ?, owner = NULL, lease_until = NULL WHERE id = ?",
                    (
                        REFUSED,
                        counts.delivered,
                        counts.blocked,
                        counts.failed,
                        _timestamp(_now()),
                        job,
                    ),
                ),
                ("DELETE FROM broadcast_recipients WHERE broadcast_id = ?", (job,)),
            ]
        )
        return replace(counts, pending=0)

    def finish(self, job: int) -> BroadcastCounts:
        """Close a job with nothing pending: keep its counts, delete its recipients."""
        counts = self.counts(job)
        if counts.pending:
            raise ValueError(f"announcement {job} still has {counts.pending} recipient(s) to go")
        self._write(
            [
                (
                    "UPDATE broadcasts SET state = ?, delivered = ?, blocked = ?, failed = ?,"
                    " finished_at = ?, owner = NULL, lease_until = NULL WHERE id = ?",
                    (
                        DONE,
                        counts.delivered,
                        counts.blocked,
                        counts.failed,
                        _timestamp(_now()),
                        job,
                    ),
                ),
                ("DELETE FROM broadcast_recipients WHERE broadcast_id = ?", (job,)),
            ]
        )
        return counts
