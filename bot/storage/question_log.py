"""The question log: what users asked and how the bot answered, for the staff's reports.

A table in the bot's SQLite database (bot.storage.database) with one row per question
handled. What is stored: the time (UTC), the question's text with personal data masked
(bot.storage.masking) and then normalised, its language, the outcome ("answer", "suggest",
"fallback", "smalltalk", ...), the entry and score, the channel ("telegram", "inline",
"terminal") and the user as a keyed hash (bot.storage.keys). Never the user's name,
username or Telegram id.

The user hash is HMAC-SHA256 of the Telegram user id under a secret key, so staff can count
distinct people without being able to tell who they are. Never share the key together with
the database.

Writing never holds up an answer: `record_question` queues the question as it came and
returns its id at once; the database's writer thread masks it, hashes the user and commits
it. Masking is linear in the text, but a long message still costs a few milliseconds: that
is the writer's time, not the event loop's. When the database cannot be written the bot
keeps answering (see bot.storage.database). `close()` writes everything still queued.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final

from bot.storage.database import (
    DEFAULT_QUEUE_SIZE,
    DEFAULT_RETRY_SECONDS,
    Database,
    HealthListener,
    StorageUnavailable,
    Write,
    migrate,
)
from bot.storage.keys import hash_user, key_path_for, key_warning, load_or_create_key
from bot.storage.masking import (
    EMAIL_PLACEHOLDER,
    NUMBER_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    clean_question_text,
    mask_personal_data,
)
from bot.storage.timestamps import from_text as _parse_timestamp
from bot.storage.timestamps import to_text as _timestamp
from bot.storage.timestamps import utc_now as _utc_now

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "EMAIL_PLACEHOLDER",
    "NUMBER_PLACEHOLDER",
    "PHONE_PLACEHOLDER",
    "QuestionLog",
    "QuestionLogError",
    "clean_question_text",
    "hash_user",
    "key_path_for",
    "load_or_create_key",
    "mask_personal_data",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
DEFAULT_RETENTION_DAYS: Final = 180
# Purges run at open and then about once a day, from the writer thread.
_PURGE_INTERVAL: Final = timedelta(days=1)
# 11 url-safe characters (64 random bits): short enough for Telegram's 64-byte callback data
# ("f:y:" + id), long enough that ids never collide in practice.
_QUESTION_ID_BYTES: Final = 8
# The dialog matches on a question's first 500 characters; a longer stored text adds
# nothing to a report but size.
MAX_TEXT_CHARS: Final = 1000
# What is queued of a question, before masking: Telegram's own message limit. Longer texts
# (other channels) are cut at a space, so that no number is cut in two and half-masked.
MAX_QUEUED_CHARS: Final = 4096

# Outcomes the dialog reports; others (for example "command") may be logged too.
ANSWER: Final = "answer"
SUGGEST: Final = "suggest"
FALLBACK: Final = "fallback"
SMALLTALK: Final = "smalltalk"

# The question log's error is the database's: the log cannot be read or written now.
QuestionLogError = StorageUnavailable

# ----- rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedQuestion:
    id: str
    asked_at: datetime  # UTC
    text: str  # masked and normalised
    lang: str | None
    outcome: str
    entry_id: str | None
    score: float
    user_hash: str | None
    channel: str
    helpful: bool | None = None  # the user's feedback on the answer, if any


@dataclass(frozen=True)
class FeedbackCounts:
    helpful: int = 0
    not_helpful: int = 0


_MIGRATIONS: Final[dict[int, str]] = {
    1: """
        CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            asked_at TEXT NOT NULL,      -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ
            text TEXT NOT NULL,          -- personal data masked, then normalised
            lang TEXT,
            outcome TEXT NOT NULL,
            entry_id TEXT,
            score REAL NOT NULL,
            user_hash TEXT,              -- HMAC of the Telegram user id, never the id itself
            channel TEXT NOT NULL,
            helpful INTEGER,             -- feedback: 1 yes, 0 no, NULL none
            feedback_at TEXT
        );
        CREATE INDEX questions_by_time ON questions (asked_at);
    """,
}


# ----- the writer's work items ---------------------------------------------------------


def queued_text(text: str) -> str:
    """What of a question is queued: all of it up to MAX_QUEUED_CHARS, else cut at a space."""
    if len(text) <= MAX_QUEUED_CHARS:
        return text
    cut = text[:MAX_QUEUED_CHARS]
    head, space, _ = cut.rpartition(" ")
    return head if space else ""


class _QuestionRow(Write):
    """A question as it came; masked and hashed by the writer, outside the event loop."""

    def __init__(
        self,
        question_id: str,
        asked_at: str,
        text: str,
        lang: str | None,
        outcome: str,
        entry_id: str | None,
        score: float,
        user_id: int | None,
        channel: str,
    ) -> None:
        self.id = question_id
        self.asked_at = asked_at
        self.raw_text: str | None = text
        self.text = ""
        self.lang = lang
        self.outcome = outcome
        self.entry_id = entry_id
        self.score = score
        self.user_id = user_id
        self.user_hash: str | None = None
        self.channel = channel

    def prepare(self, key: bytes) -> None:
        if self.raw_text is not None:
            self.text = clean_question_text(self.raw_text)[:MAX_TEXT_CHARS]
            self.raw_text = None  # the unmasked text is not kept once masked
        if self.user_id is not None:
            self.user_hash = hash_user(key, self.user_id)

    def write(self, connection: sqlite3.Connection) -> None:
        # OR IGNORE: a repeated id (never expected) must not cost the whole batch.
        connection.execute(
            "INSERT OR IGNORE INTO questions (id, asked_at, text, lang, outcome, entry_id,"
            " score, user_hash, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.id,
                self.asked_at,
                self.text,
                self.lang,
                self.outcome,
                self.entry_id,
                self.score,
                self.user_hash,
                self.channel,
            ),
        )


class _FeedbackVote(Write):
    def __init__(self, question_id: str, helpful: bool, voted_at: str, user_id: int | None) -> None:
        self.question_id = question_id
        self.helpful = helpful
        self.voted_at = voted_at
        self.user_id = user_id  # when set, only the asker's vote counts
        self.user_hash: str | None = None

    def prepare(self, key: bytes) -> None:
        if self.user_id is not None:
            self.user_hash = hash_user(key, self.user_id)

    def write(self, connection: sqlite3.Connection) -> None:
        connection.execute(
            "UPDATE questions SET helpful = ?, feedback_at = ? WHERE id = ?"
            " AND (? IS NULL OR user_hash = ?)",
            (int(self.helpful), self.voted_at, self.question_id, self.user_hash, self.user_hash),
        )


# ----- the log ---------------------------------------------------------------------------


class QuestionLog:
    """The question log in a Database; safe to use from many threads.

    Given a path (and a key), it opens a database of its own and closes it on close();
    given a Database, it shares it with the other stores and leaves closing to its owner.
    """

    def __init__(
        self,
        where: Path | Database,
        *,
        key: bytes | None = None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        clock: Callable[[], datetime] = _utc_now,
        owns_database: bool | None = None,
    ) -> None:
        if isinstance(where, Database):
            self.database = where
        else:
            if key is None:
                raise TypeError("QuestionLog(path) needs the hashing key")
            fixed_key = key
            self.database = Database(
                Path(where),
                key_source=lambda: fixed_key,
                queue_size=queue_size,
                retry_seconds=retry_seconds,
            )
        self._owns = not isinstance(where, Database) if owns_database is None else owns_database
        self.path = self.database.path
        self.retention_days = retention_days
        self._clock = clock
        self._last_purge = clock()
        self.database.attach(self)

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> QuestionLog:
        """A log over a database of its own (for the report command)."""
        return cls(
            database_from_settings(settings, environ),
            retention_days=settings.question_log.retention_days,
            owns_database=True,
        )

    @property
    def _retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    @property
    def dropped(self) -> int:
        """Writes dropped because the queue was full, the log was closed or a write failed."""
        return self.database.dropped

    @property
    def problem(self) -> str | None:
        """Why the log cannot be written now (None: it can)."""
        return self.database.problem

    def add_health_listener(self, listener: HealthListener) -> None:
        self.database.add_health_listener(listener)

    # ----- the database's store interface (writer thread) --------------------------------

    def prepare(self, connection: sqlite3.Connection) -> None:
        migrate(connection, "schema_version", _MIGRATIONS, "question log", self.path)
        self._last_purge = self._clock()
        self._purge(connection, _timestamp(self._clock() - self._retention))

    def maintain(self, connection: sqlite3.Connection) -> None:
        now = self._clock()
        if now - self._last_purge < _PURGE_INTERVAL:
            return
        self._last_purge = now
        self._purge(connection, _timestamp(now - self._retention))

    # ----- writing (never blocks) ------------------------------------------------------

    def record_question(
        self,
        text: str,
        *,
        user_id: int | None,
        lang: str | None,
        outcome: str,
        entry_id: str | None = None,
        score: float = 0.0,
        channel: str = "telegram",
        asked_at: datetime | None = None,
    ) -> str:
        """Queue a question for the log; returns its id at once (for feedback buttons).

        `user_id` is hashed by the writer and never stored; pass no name or username.
        """
        question_id = secrets.token_urlsafe(_QUESTION_ID_BYTES)
        self.database.submit(
            _QuestionRow(
                question_id,
                _timestamp(asked_at or self._clock()),
                queued_text(text),
                lang,
                outcome,
                entry_id,
                float(score),
                user_id,
                channel,
            )
        )
        return question_id

    def record_feedback(
        self, question_id: str, helpful: bool, *, user_id: int | None = None
    ) -> None:
        """Store a yes/no vote on the answer logged as `question_id`; a new vote replaces
        the previous one. With `user_id`, a vote by anyone but the asker is ignored (in a
        group, others can press the same buttons)."""
        vote = _FeedbackVote(question_id, helpful, _timestamp(self._clock()), user_id)
        self.database.submit(vote)

    # ----- waiting for the writer ------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is committed; False if that failed or took
        too long."""
        return self.database.flush(timeout)

    def purge_older_than(self, days: int, timeout: float = 60.0) -> int:
        """Delete questions asked more than `days` days ago; returns how many."""
        cutoff = _timestamp(self._clock() - timedelta(days=days))
        return self.database.call(lambda connection, _: self._purge(connection, cutoff), timeout)

    def purge_expired(self) -> int:
        """Delete questions older than the retention period (question_log.retention_days)."""
        return self.purge_older_than(self.retention_days)

    def forget_user(self, user_id: int, timeout: float = 60.0) -> int:
        """Delete every question the user asked (found by their keyed hash), including any
        still queued; returns how many. Blocks: call it off the event loop."""

        def forget(connection: sqlite3.Connection, key: bytes) -> int:
            deleted = connection.execute(
                "DELETE FROM questions WHERE user_hash = ?", (hash_user(key, user_id),)
            )
            return int(deleted.rowcount)

        deleted = self.database.call(forget, timeout)
        self.database.checkpoint(timeout)  # no old copy of the rows stays in the -wal file
        return deleted

    def close(self, timeout: float = 30.0) -> None:
        """Write everything still queued; close the database if the log opened it."""
        if self._owns:
            self.database.close(timeout)
        else:
            self.database.flush(timeout)

    def __enter__(self) -> QuestionLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _purge(self, connection: sqlite3.Connection, cutoff: str) -> int:
        with connection:
            deleted = connection.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
        if deleted.rowcount:
            logger.info(
                "question log: deleted %d questions older than %s", deleted.rowcount, cutoff
            )
        return int(deleted.rowcount)

    # ----- reading (for reports) -------------------------------------------------------

    def questions(self, since: datetime, until: datetime | None = None) -> list[LoggedQuestion]:
        """Committed questions asked from `since` (inclusive) to `until` (exclusive), oldest
        first. Call flush() first to include what is still queued."""
        query = "SELECT * FROM questions WHERE asked_at >= ?"
        parameters = [_timestamp(since)]
        if until is not None:
            query += " AND asked_at < ?"
            parameters.append(_timestamp(until))
        with self.database.reader() as connection:
            rows = connection.execute(query + " ORDER BY asked_at, rowid", parameters).fetchall()
        return [_logged_question(row) for row in rows]

    def question(self, question_id: str) -> LoggedQuestion | None:
        with self.database.reader() as connection:
            row = connection.execute(
                "SELECT * FROM questions WHERE id = ?", (question_id,)
            ).fetchone()
        return _logged_question(row) if row is not None else None

    def feedback_counts(self, since: datetime) -> dict[str, FeedbackCounts]:
        """Per entry id: how many said the answer helped and how many said it did not."""
        with self.database.reader() as connection:
            rows = connection.execute(
                "SELECT entry_id, SUM(helpful = 1), SUM(helpful = 0) FROM questions"
                " WHERE asked_at >= ? AND entry_id IS NOT NULL AND helpful IS NOT NULL"
                " GROUP BY entry_id ORDER BY entry_id",
                (_timestamp(since),),
            ).fetchall()
        return {row[0]: FeedbackCounts(int(row[1]), int(row[2])) for row in rows}


def database_from_settings(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    retry_seconds: float = DEFAULT_RETRY_SECONDS,
) -> Database:
    """The bot's database at paths.question_log, with the key from QUESTION_LOG_KEY or the
    key file (read again at each retry: an emptied key file can be fixed while running)."""
    path = settings.question_log_path
    return Database(
        path,
        key_source=lambda: load_or_create_key(key_path_for(path), environ),
        retry_seconds=retry_seconds,
    )


def warn_about_key_placement(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """One warning at start when the key lives beside the database."""
    warning = key_warning(settings.question_log_path, environ)
    if warning:
        logger.warning("%s", warning)


def _logged_question(row: sqlite3.Row) -> LoggedQuestion:
    helpful = row["helpful"]
    return LoggedQuestion(
        id=row["id"],
        asked_at=_parse_timestamp(row["asked_at"]),
        text=row["text"],
        lang=row["lang"],
        outcome=row["outcome"],
        entry_id=row["entry_id"],
        score=float(row["score"]),
        user_hash=row["user_hash"],
        channel=row["channel"],
        helpful=None if helpful is None else bool(helpful),
    )
