"""The question log: what users asked and how the bot answered, for the staff's reports.

An embedded SQLite database (WAL mode) with one row per question handled. What is stored:
the time (UTC), the question's text with personal data masked and then normalised, its
language, the outcome ("answer", "suggest", "fallback", "smalltalk", ...), the entry and
score, the channel ("telegram", "inline", "terminal") and the user as a keyed hash. Never
the user's name, username or Telegram id.

The user hash is HMAC-SHA256 of the Telegram user id under a secret key, so staff can count
distinct people without being able to tell who they are. The key comes from the
QUESTION_LOG_KEY environment variable; when that is unset, a random key is generated on
first run and kept next to the database (`<database>.key`, readable by the owner only), so
the same person keeps the same hash across restarts. Deleting or changing the key starts a
new set of hashes (old rows cannot be linked to new ones any more). Never share the key file
together with the database.

Writing never holds up an answer: `record_question` masks the text, queues the row and
returns at once; one background thread writes queued rows in batches and commits each batch
as soon as it is written. When the queue is full (the disk is stuck), rows are dropped and
counted rather than making users wait. `close()` writes everything still queued.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import logging
import os
import queue
import re
import secrets
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final

from bot.config import LOG_KEY_ENV
from bot.core.text import normalise

if TYPE_CHECKING:
    from bot.config import Settings

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
DEFAULT_RETENTION_DAYS: Final = 180
# Enough for a burst of several thousand questions while the disk is briefly slow; past
# that, dropping a log row is better than making users wait for their answer.
DEFAULT_QUEUE_SIZE: Final = 10_000
# Rows written per transaction: large enough to keep up with a burst, small enough that a
# batch commits well within half a second.
_BATCH_SIZE: Final = 500
# Purges run at open and then about once a day, from the writer thread.
_PURGE_INTERVAL: Final = timedelta(days=1)
# 11 url-safe characters (64 random bits): short enough for Telegram's 64-byte callback data
# ("f:y:" + id), long enough that ids never collide in practice.
_QUESTION_ID_BYTES: Final = 8
_KEY_BYTES: Final = 32
# The dialog matches on a question's first 500 characters; a longer stored text adds
# nothing to a report but size.
MAX_TEXT_CHARS: Final = 1000

# Outcomes the dialog reports; others (for example "command") may be logged too.
ANSWER: Final = "answer"
SUGGEST: Final = "suggest"
FALLBACK: Final = "fallback"
SMALLTALK: Final = "smalltalk"


class QuestionLogError(RuntimeError):
    """The question log cannot be opened (for example, made by a newer version)."""


# ----- masking personal data -----------------------------------------------------------

EMAIL_PLACEHOLDER: Final = "<email>"
PHONE_PLACEHOLDER: Final = "<phone>"
NUMBER_PLACEHOLDER: Final = "<number>"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Digits in groups separated by one space, dot, hyphen or slash, optionally led by "+" or an
# area code in brackets: "069 123 4567", "+355 69 123 4567", "(04) 2235569", "12.03.2024".
# Each group must follow a separator, so the pattern cannot backtrack exponentially.
_DIGIT_GROUPS = re.compile(r"(?<![\w+])(?:\+\s?|\()?\d+\)?(?:(?:\s?[-./]\s?|\s)\(?\d+\)?)*(?!\w)")
_DATE = re.compile(r"\d{1,2}([./-])\d{1,2}\1\d{2,4}|\d{4}([./-])\d{1,2}\2\d{1,2}")
_KEPT_AS_IS = re.compile(
    r"<email>|<phone>|<number>|(?<![\w./-])(?:\d{1,2}([./-])\d{1,2}\1\d{2,4}"
    r"|\d{4}([./-])\d{1,2}\2\d{1,2})(?![\w])"
)
# A word holding five or more digits in a row: identity card and tax numbers (NIPT such as
# L12345678A), bank accounts, reference numbers.
_LONG_DIGIT_WORD = re.compile(r"\w*\d{5,}\w*")


def _classify_digits(found: str) -> str:
    """What a run of digit groups is: a phone number, another long number, or harmless."""
    digits = re.sub(r"\D", "", found)
    stripped = found.strip("()")
    if _DATE.fullmatch(stripped):
        return found  # a date is useful in reports and identifies nobody
    count = len(digits)
    # Albanian numbers: national ones start with 0 (069 123 4567: 10 digits; 04 22 355 69:
    # 9), international ones with +355 or 00355; "+" leads any foreign number.
    is_phone = (
        (found.startswith("+") and 8 <= count <= 15)
        or (digits.startswith("00") and 10 <= count <= 15)
        or (digits.startswith("355") and 11 <= count <= 12)
        or (digits.startswith("0") and 8 <= count <= 11)
    )
    if is_phone:
        return PHONE_PLACEHOLDER
    longest_group = max(len(group) for group in re.findall(r"\d+", found))
    # Nine or more digits in spaced groups is an account or card number; years ("2023 2024")
    # and amounts ("1 000 000") stay readable.
    if longest_group >= 5 or count >= 9:
        return NUMBER_PLACEHOLDER
    return found


def mask_personal_data(text: str) -> str:
    """The text with e-mail addresses, phone numbers and long numbers replaced by
    <email>, <phone> and <number>; the rest is kept, as reports need it."""
    text = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    text = _DIGIT_GROUPS.sub(lambda match: _classify_digits(match.group(0)), text)
    return _LONG_DIGIT_WORD.sub(NUMBER_PLACEHOLDER, text)


def clean_question_text(text: str) -> str:
    """What the log stores: personal data masked, then normalised (bot.core.text.normalise).

    Masking runs again on the normalised text because normalising can join what masking
    saw apart: "069, 123, 4567" or "069_123_4567" become "069 123 4567". Placeholders and
    dates are kept as they are (normalised, "12.03.2024" would read like digit groups).
    """
    masked = mask_personal_data(text)
    pieces: list[str] = []
    position = 0
    for kept in _KEPT_AS_IS.finditer(masked):
        pieces.append(mask_personal_data(normalise(masked[position : kept.start()])))
        pieces.append(kept.group(0))
        position = kept.end()
    pieces.append(mask_personal_data(normalise(masked[position:])))
    return " ".join(" ".join(pieces).split())


# ----- the user's keyed hash -----------------------------------------------------------


def key_path_for(database: Path) -> Path:
    """Where the generated key is kept when QUESTION_LOG_KEY is unset."""
    return database.with_name(database.name + ".key")


def load_or_create_key(key_path: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The hashing key: QUESTION_LOG_KEY if set, else the key file (created on first use)."""
    environ = os.environ if environ is None else environ
    from_environment = environ.get(LOG_KEY_ENV, "").strip()
    if from_environment:
        if len(from_environment) < 16:
            logger.warning("%s is shorter than 16 characters; use a long random value", LOG_KEY_ENV)
        return from_environment.encode("utf-8")
    key_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: if two processes start at once, only one creates the key; the other reads it.
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(key_path)
    with os.fdopen(descriptor, "w", encoding="ascii") as key_file:
        key_file.write(secrets.token_hex(_KEY_BYTES) + "\n")
    logger.info(
        "generated the question-log key in %s (keep it; see bot/storage/question_log.py)", key_path
    )
    return _read_key_file(key_path)


def _read_key_file(key_path: Path) -> bytes:
    mode = stat.S_IMODE(key_path.stat().st_mode)
    if mode & 0o077:
        logger.warning("%s was readable by others; restricting it to its owner", key_path)
        key_path.chmod(0o600)
    key = key_path.read_text(encoding="ascii").strip()
    if not key:
        raise QuestionLogError(f"{key_path}: the key file is empty; delete it to make a new key")
    return key.encode("ascii")


def hash_user(key: bytes, user_id: int) -> str:
    """A stable pseudonym for a user: the same id gives the same hash under the same key."""
    return hmac.new(key, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:32]


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


def _timestamp(moment: datetime) -> str:
    # A fixed-width UTC form sorts as text, so range queries use the index.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _utc_now() -> datetime:
    return datetime.now(UTC)


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


@dataclass(frozen=True)
class _QuestionRow:
    id: str
    asked_at: str
    text: str
    lang: str | None
    outcome: str
    entry_id: str | None
    score: float
    user_hash: str | None
    channel: str


@dataclass(frozen=True)
class _FeedbackVote:
    question_id: str
    helpful: bool
    voted_at: str
    user_hash: str | None  # when set, only the asker's vote counts


@dataclass(frozen=True)
class _Purge:
    cutoff: str
    done: Future[int]


@dataclass(frozen=True)
class _Flush:
    done: threading.Event


class _Stop:
    pass


_WorkItem = _QuestionRow | _FeedbackVote | _Purge | _Flush | _Stop


class QuestionLog:
    """The question log over one SQLite file; safe to use from many threads."""

    def __init__(
        self,
        path: Path,
        *,
        key: bytes,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._key = key
        self._clock = clock
        self._queue: queue.Queue[_WorkItem] = queue.Queue(maxsize=queue_size)
        self._dropped = 0
        self._dropped_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = _connect(self.path, check_same_thread=False)
        try:
            _migrate(self._connection, self.path)
            self._purge(self._connection, _timestamp(self._clock() - self._retention))
        except BaseException:
            self._connection.close()
            raise
        self._last_purge = self._clock()
        self._writer = threading.Thread(
            target=self._write_loop, name=f"question-log {self.path.name}", daemon=True
        )
        self._writer.start()
        # A safety net for an adapter that forgets close(): the daemon writer would otherwise
        # be stopped at exit with rows still queued.
        atexit.register(self.close)

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> QuestionLog:
        path = settings.question_log_path
        return cls(
            path,
            key=load_or_create_key(key_path_for(path), environ),
            retention_days=settings.question_log.retention_days,
        )

    @property
    def _retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    @property
    def dropped(self) -> int:
        """Writes dropped because the queue was full or the log was closed."""
        with self._dropped_lock:
            return self._dropped

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

        `user_id` is hashed here and never stored; pass no name or username anywhere.
        """
        question_id = secrets.token_urlsafe(_QUESTION_ID_BYTES)
        row = _QuestionRow(
            id=question_id,
            asked_at=_timestamp(asked_at or self._clock()),
            text=clean_question_text(text)[:MAX_TEXT_CHARS],
            lang=lang,
            outcome=outcome,
            entry_id=entry_id,
            score=float(score),
            user_hash=None if user_id is None else hash_user(self._key, user_id),
            channel=channel,
        )
        self._enqueue(row)
        return question_id

    def record_feedback(
        self, question_id: str, helpful: bool, *, user_id: int | None = None
    ) -> None:
        """Store a yes/no vote on the answer logged as `question_id`; a new vote replaces
        the previous one. With `user_id`, a vote by anyone but the asker is ignored (in a
        group, others can press the same buttons)."""
        vote = _FeedbackVote(
            question_id=question_id,
            helpful=helpful,
            voted_at=_timestamp(self._clock()),
            user_hash=None if user_id is None else hash_user(self._key, user_id),
        )
        self._enqueue(vote)

    def _enqueue(self, item: _QuestionRow | _FeedbackVote) -> None:
        if self._closed:
            self._count_dropped("the question log is closed")
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._count_dropped("the question log's queue is full")

    def _count_dropped(self, reason: str) -> None:
        with self._dropped_lock:
            self._dropped += 1
            dropped = self._dropped
        # The first drop and then every hundredth: a stuck disk should not flood the log.
        if dropped == 1 or dropped % 100 == 0:
            logger.warning("%s: dropped a write (%d so far)", reason, dropped)

    # ----- waiting for the writer ------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is committed; False if that took too long."""
        if self._closed:
            return True
        done = threading.Event()
        try:
            self._queue.put(_Flush(done), timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def purge_older_than(self, days: int, timeout: float = 60.0) -> int:
        """Delete questions asked more than `days` days ago; returns how many."""
        cutoff = _timestamp(self._clock() - timedelta(days=days))
        if self._closed:
            raise QuestionLogError("the question log is closed")
        done: Future[int] = Future()
        self._queue.put(_Purge(cutoff, done), timeout=timeout)
        return done.result(timeout)

    def purge_expired(self) -> int:
        """Delete questions older than the retention period (question_log.retention_days)."""
        return self.purge_older_than(self.retention_days)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything still queued, then stop the writer. Safe to call twice."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        # A blocking put: the writer is draining the queue, so room appears.
        try:
            self._queue.put(_Stop(), timeout=timeout)
        except queue.Full:
            logger.error("the question log's writer is not draining its queue; closing anyway")
        self._writer.join(timeout)
        if self._writer.is_alive():
            logger.error("the question log's writer did not finish within %.0f s", timeout)
            return
        self._connection.close()

    def __enter__(self) -> QuestionLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ----- the writer thread -----------------------------------------------------------

    def _write_loop(self) -> None:
        connection = self._connection
        while True:
            try:
                first = self._queue.get(timeout=60.0)
            except queue.Empty:
                self._purge_daily(connection)
                continue
            batch = [first]
            # Take what else is already waiting, without waiting for more: each batch is
            # committed as soon as it is written.
            while len(batch) < _BATCH_SIZE:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = self._write_batch(connection, batch)
            self._purge_daily(connection)
            if stop:
                # A record racing with close() may have slipped in behind the stop signal.
                leftovers = self._take_waiting()
                if leftovers:
                    self._write_batch(connection, leftovers)
                return

    def _take_waiting(self) -> list[_WorkItem]:
        waiting: list[_WorkItem] = []
        while True:
            try:
                waiting.append(self._queue.get_nowait())
            except queue.Empty:
                return waiting

    def _write_batch(self, connection: sqlite3.Connection, batch: list[_WorkItem]) -> bool:
        """Write and commit a batch, then answer its flushes and purges; True on _Stop."""
        rows = [item for item in batch if isinstance(item, _QuestionRow | _FeedbackVote)]
        if rows:
            try:
                with connection:  # one transaction, committed on leaving
                    for row in rows:
                        self._write_item(connection, row)
            except Exception:  # the writer must outlive a bad batch, whatever went wrong
                logger.exception("could not write %d rows to the question log", len(rows))
                with self._dropped_lock:
                    self._dropped += len(rows)
        stop = False
        for control in batch:
            if isinstance(control, _Flush):
                control.done.set()
            elif isinstance(control, _Purge):
                try:
                    control.done.set_result(self._purge(connection, control.cutoff))
                except sqlite3.Error as error:
                    control.done.set_exception(error)
            elif isinstance(control, _Stop):
                stop = True
        return stop

    @staticmethod
    def _write_item(connection: sqlite3.Connection, item: _QuestionRow | _FeedbackVote) -> None:
        if isinstance(item, _QuestionRow):
            # OR IGNORE: a repeated id (never expected) must not cost the whole batch.
            connection.execute(
                "INSERT OR IGNORE INTO questions (id, asked_at, text, lang, outcome, entry_id,"
                " score, user_hash, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.id,
                    item.asked_at,
                    item.text,
                    item.lang,
                    item.outcome,
                    item.entry_id,
                    item.score,
                    item.user_hash,
                    item.channel,
                ),
            )
        else:
            connection.execute(
                "UPDATE questions SET helpful = ?, feedback_at = ? WHERE id = ?"
                " AND (? IS NULL OR user_hash = ?)",
                (
                    int(item.helpful),
                    item.voted_at,
                    item.question_id,
                    item.user_hash,
                    item.user_hash,
                ),
            )

    def _purge(self, connection: sqlite3.Connection, cutoff: str) -> int:
        with connection:
            deleted = connection.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
        if deleted.rowcount:
            logger.info(
                "question log: deleted %d questions older than %s", deleted.rowcount, cutoff
            )
        return deleted.rowcount

    def _purge_daily(self, connection: sqlite3.Connection) -> None:
        now = self._clock()
        if now - self._last_purge < _PURGE_INTERVAL:
            return
        self._last_purge = now
        try:
            self._purge(connection, _timestamp(now - self._retention))
        except sqlite3.Error:
            logger.exception("could not delete expired questions from the question log")

    # ----- reading (for reports) -------------------------------------------------------

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        # A connection per read: WAL lets it read committed rows while the writer writes.
        connection = _connect(self.path)
        try:
            yield connection
        finally:
            connection.close()

    def questions(self, since: datetime, until: datetime | None = None) -> list[LoggedQuestion]:
        """Committed questions asked from `since` (inclusive) to `until` (exclusive), oldest
        first. Call flush() first to include what is still queued."""
        query = "SELECT * FROM questions WHERE asked_at >= ?"
        parameters = [_timestamp(since)]
        if until is not None:
            query += " AND asked_at < ?"
            parameters.append(_timestamp(until))
        with self._reader() as connection:
            rows = connection.execute(query + " ORDER BY asked_at, rowid", parameters).fetchall()
        return [_logged_question(row) for row in rows]

    def question(self, question_id: str) -> LoggedQuestion | None:
        with self._reader() as connection:
            row = connection.execute(
                "SELECT * FROM questions WHERE id = ?", (question_id,)
            ).fetchone()
        return _logged_question(row) if row is not None else None

    def feedback_counts(self, since: datetime) -> dict[str, FeedbackCounts]:
        """Per entry id: how many said the answer helped and how many said it did not."""
        with self._reader() as connection:
            rows = connection.execute(
                "SELECT entry_id, SUM(helpful = 1), SUM(helpful = 0) FROM questions"
                " WHERE asked_at >= ? AND entry_id IS NOT NULL AND helpful IS NOT NULL"
                " GROUP BY entry_id ORDER BY entry_id",
                (_timestamp(since),),
            ).fetchall()
        return {row[0]: FeedbackCounts(int(row[1]), int(row[2])) for row in rows}

    def forget_user(self, user_id: int) -> int:
        """Delete every question of the user (found by their keyed hash), including any
        still queued; returns how many."""
        self.flush()
        user_hash = hash_user(self._key, user_id)
        with self._reader() as connection:
            with connection:
                deleted = connection.execute(
                    "DELETE FROM questions WHERE user_hash = ?", (user_hash,)
                )
            # No old copy of the deleted rows may stay behind in the -wal file.
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted.rowcount


def _connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=10.0, check_same_thread=check_same_thread)
    connection.row_factory = sqlite3.Row
    # WAL: readers (reports) never wait for the writer, and a crash loses at most the batch
    # being written. NORMAL is durable across a crash of the bot in WAL mode.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows (retention) are overwritten, not just unlinked, so purged questions do
    # not linger in the file's free pages.
    connection.execute("PRAGMA secure_delete=ON")
    return connection


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    with connection:
        connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = int(row[0]) if row[0] is not None else 0
    if current > SCHEMA_VERSION:
        raise QuestionLogError(
            f"{path}: the question log has schema version {current}, newer than this bot "
            f"understands ({SCHEMA_VERSION}); update the bot"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        # executescript commits on its own, so the version row goes in the same script.
        connection.executescript(
            "BEGIN;\n"
            + _MIGRATIONS[version]
            + f"\nINSERT INTO schema_version (version) VALUES ({version});\nCOMMIT;"
        )
        logger.info("question log %s: schema version %d", path, version)


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
