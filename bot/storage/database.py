"""The bot's SQLite file, shared by its stores (the question log, users' preferences, and
whatever is added later), written by one background thread.

Why one writer thread: answering never waits for the disk. A store queues a write and
returns at once; the writer does the slow part (masking, hashing) and commits the writes
in batches. Other stores, and other processes, can share the file: it is opened in WAL
mode with a busy timeout, and each store creates and versions only its own tables.

Why it never raises into the bot: the log and the preferences are worth less than the
answers. When the file cannot be opened or written (read-only, corrupt, deleted, a full
disk, an empty key file), the database says so once (one log line, and `problem` plus the
health listeners, which tell the admins), keeps the writes in memory up to the queue's
size, and tries again every `retry_seconds` and at every flush; once it works again the
kept writes are committed and the listeners hear that all is well. A file deleted while
the bot runs is noticed before the next write and a new one is created, rather than
writing on into a file nobody can read.

The file and its -wal and -shm companions are readable by their owner only, like the key:
SQLite gives the companions the database file's permissions.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol, Self, TypeVar

logger = logging.getLogger(__name__)

# Enough for a burst of several thousand questions while the disk is briefly slow; past
# that, dropping a log row is better than making users wait for their answer.
DEFAULT_QUEUE_SIZE: Final = 10_000
# How often an unusable database is tried again (a flush tries at once).
DEFAULT_RETRY_SECONDS: Final = 30.0
# Rows written per transaction: large enough to keep up with a burst, small enough that a
# batch commits well within half a second.
BATCH_SIZE: Final = 500
# How long a write waits for another process's transaction before giving up.
BUSY_TIMEOUT_SECONDS: Final = 10.0
_IDLE_WAKEUP_SECONDS: Final = 60.0
_PRIVATE: Final = 0o600
_COMPANIONS: Final = ("-wal", "-shm", "-journal")

T = TypeVar("T")


class StorageUnavailable(RuntimeError):
    """The database cannot be used right now; the message says why."""


class Write:
    """A queued write. `prepare` does the slow work outside the transaction (it may run
    again if the write is retried); `write` runs inside it."""

    def prepare(self, key: bytes) -> None:
        """Work that needs no database: masking, hashing."""

    def write(self, connection: sqlite3.Connection) -> None:
        raise NotImplementedError


class Store(Protocol):
    """What shares the database: it sets up its tables at every (re)open and may do some
    upkeep now and then, both in the writer thread."""

    def prepare(self, connection: sqlite3.Connection) -> None: ...

    def maintain(self, connection: sqlite3.Connection) -> None: ...


HealthListener = Callable[[str | None], None]


@dataclass(frozen=True)
class _Attach:
    store: Store
    done: Future[None] = field(default_factory=Future)


@dataclass(frozen=True)
class _Flush:
    done: Future[bool] = field(default_factory=Future)


@dataclass(frozen=True)
class _Call:
    work: Callable[[sqlite3.Connection, bytes], object]
    done: Future[object] = field(default_factory=Future)


class _Stop:
    pass


_Item = Write | _Attach | _Flush | _Call | _Stop


def _describe(error: BaseException, path: Path | None = None) -> str:
    """The error in a few words; the file only when it is not the database itself."""
    if isinstance(error, OSError) and error.strerror:
        named = error.filename and str(error.filename) != str(path)
        return f"{error.strerror} ({error.filename})" if named else error.strerror
    return str(error) or type(error).__name__


# Held while this process creates the file, so that no thread of it connects to the file
# between its creation and the close of the descriptor that created it.
_CREATING = threading.Lock()


def create_private(path: Path) -> None:
    """Create `path` readable by its owner only (if it is missing), and take the group's
    and others' access away from it and its SQLite companions if they have it.

    Never opens a file that exists: on Linux, closing any descriptor of a file drops every
    POSIX lock the process holds on it, including the locks of this process's SQLite
    connections. A process that lost them looks gone to the others, and the next one to
    close its last connection deletes the -wal file the bot still writes into. A file
    created here (O_EXCL) is one nobody in this process had open; SQLite creates -wal and
    -shm with the database file's permissions, and chmod works on the name alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _CREATING:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, _PRIVATE)
        except FileExistsError:
            pass
        else:
            os.close(descriptor)
    for file in (path, *(path.with_name(path.name + suffix) for suffix in _COMPANIONS)):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            logger.warning("%s was readable by others; restricting it to its owner", file)
            file.chmod(_PRIVATE)


def _checkpoint(connection: sqlite3.Connection) -> None:
    """PRAGMA wal_checkpoint(TRUNCATE), its result row read: an unread statement stays in
    progress and makes the connection's next commit fail."""
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection as every user of the file needs it (WAL, busy timeout, rows by name)."""
    if read_only:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    else:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        if not read_only:
            # WAL: readers (reports, other stores) never wait for the writer, and a crash
            # loses at most the transaction being written. NORMAL is durable across a crash
            # of the bot in WAL mode.
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot use WAL mode (journal mode {mode})")
            connection.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows (retention, /forget) are overwritten, not just unlinked, so they
            # do not linger in the file's free pages.
            connection.execute("PRAGMA secure_delete=ON").fetchall()
    except BaseException:
        connection.close()
        raise
    return connection


class Database:
    """One SQLite file and its writer thread; safe to use from many threads."""

    def __init__(
        self,
        path: Path,
        *,
        key_source: Callable[[], bytes],
        queue_size: int = DEFAULT_QUEUE_SIZE,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
    ) -> None:
        self.path = Path(path)
        self._key_source = key_source
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=queue_size)
        self._backlog_limit = queue_size
        self._backlog: list[Write] = []
        self._retry_seconds = retry_seconds
        self._next_retry = 0.0
        self._stores: list[Store] = []
        self._connection: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._key: bytes | None = None
        self._problem: str | None = "not opened yet"
        self._reported = False
        self._listeners: list[HealthListener] = []
        self._lock = threading.Lock()
        self._dropped = 0
        self._closed = False
        self._writer = threading.Thread(
            target=self._write_loop, name=f"database {self.path.name}", daemon=True
        )
        self._writer.start()
        # A safety net for an adapter that forgets close(): the daemon writer would otherwise
        # be stopped at exit with writes still queued.
        atexit.register(self.close)

    # ----- state -------------------------------------------------------------------------

    @property
    def key(self) -> bytes | None:
        """The hashing key, once it could be read (None while it cannot)."""
        return self._key

    @property
    def problem(self) -> str | None:
        """Why the database cannot be written now (None: it can)."""
        with self._lock:
            return self._problem

    @property
    def dropped(self) -> int:
        """Writes dropped because the queue was full, the log closed or a write failed."""
        with self._lock:
            return self._dropped

    def add_health_listener(self, listener: HealthListener) -> None:
        """Call `listener(problem)` when the database stops working and `listener(None)`
        when it works again; at once if it is not working now. Calls come from the writer
        thread."""
        with self._lock:
            self._listeners.append(listener)
            problem = self._problem if self._reported else None
        if problem is not None:
            listener(problem)

    # ----- the stores' interface -----------------------------------------------------------

    def attach(self, store: Store, timeout: float = 30.0) -> None:
        """Add a store: its `prepare` runs now if the database works, else when it does."""
        item = _Attach(store)
        self._queue.put(item, timeout=timeout)
        with contextlib.suppress(TimeoutError):
            item.done.result(timeout)

    def submit(self, write: Write) -> None:
        """Queue a write; never blocks (a full queue drops it, counted and logged)."""
        if self._closed:
            self._count_dropped("the database is closed", 1)
            return
        try:
            self._queue.put_nowait(write)
        except queue.Full:
            self._count_dropped("the database's queue is full", 1)

    def call(self, work: Callable[[sqlite3.Connection, bytes], T], timeout: float = 60.0) -> T:
        """Run `work(connection, key)` in the writer, in one transaction, after everything
        queued before it; its result. Raises StorageUnavailable when the database cannot be
        used (after trying it again at once)."""
        if self._closed:
            raise StorageUnavailable(f"{self.path}: the database is closed")
        item = _Call(work)
        self._queue.put(item, timeout=timeout)
        return item.done.result(timeout)  # type: ignore[return-value]

    def checkpoint(self, timeout: float = 60.0) -> None:
        """Copy the -wal file into the database and empty it, so that deleted rows leave
        no old copy behind (used when a user asks to be forgotten)."""
        self.call(lambda connection, _: _checkpoint(connection), timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is committed (trying an unusable database
        again at once); False if it could not be, or took too long."""
        if self._closed:
            return True
        item = _Flush()
        try:
            self._queue.put(item, timeout=timeout)
            return item.done.result(timeout)
        except (queue.Full, TimeoutError):
            return False

    @contextlib.contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection of its own: WAL lets it read committed rows while the
        writer writes."""
        try:
            connection = connect(self.path, read_only=True)
        except sqlite3.Error as error:
            raise StorageUnavailable(f"{self.path}: {_describe(error)}") from error
        try:
            yield connection
        except sqlite3.Error as error:
            raise StorageUnavailable(f"{self.path}: {_describe(error)}") from error
        finally:
            connection.close()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything still queued (trying once more if the database is unusable),
        then stop the writer. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        # A blocking put: the writer is draining the queue, so room appears.
        try:
            self._queue.put(_Stop(), timeout=timeout)
        except queue.Full:
            logger.error("the database's writer is not draining its queue; closing anyway")
        self._writer.join(timeout)
        if self._writer.is_alive():
            logger.error("the database's writer did not finish within %.0f s", timeout)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _count_dropped(self, reason: str, count: int) -> None:
        with self._lock:
            before = self._dropped
            self._dropped += count
            dropped = self._dropped
        # The first drop and then every hundredth: a stuck disk should not flood the log.
        if before == 0 or dropped // 100 > before // 100:
            logger.warning("%s: dropped %d writes so far", reason, dropped)

    # ----- the writer thread -------------------------------------------------------------

    def _write_loop(self) -> None:
        self._open()
        while True:
            if self._connection is not None:
                wait = _IDLE_WAKEUP_SECONDS
            else:
                wait = max(0.0, self._next_retry - time.monotonic())
            try:
                batch = [self._queue.get(timeout=wait)]
            except queue.Empty:
                batch = []
            # Take what else is already waiting, without waiting for more: each batch is
            # committed as soon as it is written.
            while len(batch) < BATCH_SIZE:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                if self._connection is None and time.monotonic() >= self._next_retry:
                    self._open()
                stop = self._handle(batch)
                self._maintain()
            except Exception:  # a bug here must not stop the log for good
                logger.exception("the database's writer failed; it carries on")
                stop = any(isinstance(item, _Stop) for item in batch)
            if stop:
                self._shut_down()
                return

    def _handle(self, batch: list[_Item]) -> bool:
        """Work through a batch in order; True when it holds the stop signal."""
        stop = False
        for item in batch:
            if isinstance(item, Write):
                self._keep(item)
                continue
            # Everything before a control item is written before it is answered.
            if self._connection is None:
                self._open()
            self._write_backlog()
            if isinstance(item, _Attach):
                self._stores.append(item.store)
                if self._connection is not None:
                    try:
                        self._prepare_store(item.store)
                    except Exception as error:  # the bot must keep answering
                        self._fail(error)
                item.done.set_result(None)
            elif isinstance(item, _Flush):
                item.done.set_result(self._connection is not None and not self._backlog)
            elif isinstance(item, _Call):
                self._run_call(item)
            else:
                stop = True
        self._write_backlog()
        return stop

    def _keep(self, write: Write) -> None:
        if len(self._backlog) >= self._backlog_limit:
            self._count_dropped(f"the database is unusable ({self._problem})", 1)
            return
        if self._key is not None:
            # Masked now, a question kept through an outage holds its short masked text
            # rather than the whole message.
            try:
                write.prepare(self._key)
            except Exception:  # a bug in one write must not stop the writer
                logger.exception("could not prepare a write; dropped")
                self._count_dropped("a write failed", 1)
                return
        self._backlog.append(write)

    def _write_backlog(self) -> None:
        if not self._backlog or self._connection is None or self._key is None:
            return
        if self._write_kept():
            self._recovered()

    def _write_kept(self) -> bool:
        """Write the kept writes in one transaction; False if the database failed."""
        assert self._connection is not None
        assert self._key is not None
        if not self._still_there():
            return False
        writes, self._backlog = self._backlog, []
        key = self._key
        try:
            for write in writes:
                write.prepare(key)
        except Exception:  # a bug in one write must not stop the writer
            logger.exception("could not prepare %d writes; dropped", len(writes))
            self._count_dropped("a write failed", len(writes))
            return True
        try:
            with self._connection:  # one transaction, committed on leaving
                for write in writes:
                    write.write(self._connection)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            # A bad row, not a bad database: trying again would fail again.
            logger.exception("could not write %d rows; dropped", len(writes))
            self._count_dropped("a write failed", len(writes))
        except (sqlite3.Error, OSError) as error:
            self._backlog = writes + self._backlog
            self._fail(error)
            return False
        return True

    def _run_call(self, item: _Call) -> None:
        if self._connection is None or self._key is None:
            item.done.set_exception(StorageUnavailable(f"{self.path}: {self._problem}"))
            return
        try:
            with self._connection:
                result = item.work(self._connection, self._key)
        except (sqlite3.Error, OSError) as error:
            item.done.set_exception(StorageUnavailable(f"{self.path}: {_describe(error)}"))
            if not isinstance(error, sqlite3.IntegrityError | sqlite3.ProgrammingError):
                self._fail(error)
        except Exception as error:
            item.done.set_exception(error)
        else:
            item.done.set_result(result)  # once committed

    def _maintain(self) -> None:
        for store in self._stores:
            if self._connection is None:
                return
            try:
                store.maintain(self._connection)
            except (sqlite3.Error, OSError) as error:
                self._fail(error)

    def _shut_down(self) -> None:
        if self._connection is None:
            self._open()
        self._write_backlog()
        if self._backlog:
            logger.error(
                "%s: %d writes could not be saved before stopping (%s)",
                self.path,
                len(self._backlog),
                self._problem,
            )
        self._close_connection()

    # ----- opening, failing, recovering ----------------------------------------------------

    def _open(self) -> None:
        self._close_connection()
        try:
            self._key = self._key_source()
            create_private(self.path)
            connection = connect(self.path)
            try:
                # Proves the file can be written now, not at the first question.
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                self._connection = connection
                for store in self._stores:
                    self._prepare_store(store)
            except BaseException:
                self._connection = None
                connection.close()
                raise
            status = self.path.stat()
            self._identity = (status.st_dev, status.st_ino)
        except Exception as error:  # whatever it is, the bot must keep answering
            self._fail(error)
            return
        # Working again only once what was kept is written: a full disk opens fine.
        self._write_backlog()
        if self._connection is not None and not self._backlog:
            self._recovered()

    def _prepare_store(self, store: Store) -> None:
        assert self._connection is not None
        store.prepare(self._connection)

    def _still_there(self) -> bool:
        """Reopen (creating a new file) if the database was deleted or replaced since it
        was opened: writes to a deleted file are lost when it is closed."""
        try:
            status = self.path.stat()
            moved = (status.st_dev, status.st_ino) != self._identity
        except OSError:
            moved = True
        if not moved:
            return True
        self._fail_now(f"{self.path} was deleted or replaced while the bot was running")
        self._open()
        return self._connection is not None

    def _fail(self, error: BaseException) -> None:
        self._fail_now(_describe(error, self.path))

    def _fail_now(self, problem: str) -> None:
        self._close_connection()
        self._next_retry = time.monotonic() + self._retry_seconds
        with self._lock:
            first = not self._reported
            self._problem = problem
            self._reported = True
            listeners = list(self._listeners) if first else []
        if not first:
            return
        logger.error(
            "the database %s cannot be written: %s. The bot keeps answering; it tries again "
            "every %g s and keeps up to %d writes meanwhile.",
            self.path,
            problem,
            self._retry_seconds,
            self._backlog_limit,
        )
        for listener in listeners:
            self._tell(listener, problem)

    def _recovered(self) -> None:
        with self._lock:
            was_reported = self._reported
            self._problem = None
            self._reported = False
            listeners = list(self._listeners) if was_reported else []
        if not was_reported:
            return
        logger.warning("the database %s works again", self.path)
        for listener in listeners:
            self._tell(listener, None)

    @staticmethod
    def _tell(listener: HealthListener, problem: str | None) -> None:
        try:
            listener(problem)
        except Exception:
            logger.exception("a database health listener failed")

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()


class SchemaTooNew(StorageUnavailable):
    """Tables written by a newer version of the bot: left untouched."""


def connect_own(path: Path | None, *, durable: bool) -> sqlite3.Connection:
    """A connection of its own to the bot's file, for a store that commits each promise
    itself (tickets, learning, subscriptions) rather than through the writer thread: the
    file is created private like the log, transactions are begun explicitly (BEGIN
    IMMEDIATE), and `durable` (synchronous=FULL) puts a commit on disk before anyone is told
    it happened. `path` None: in memory (tests)."""
    if path is not None:
        create_private(path)
    connection = sqlite3.connect(
        ":memory:" if path is None else path,
        timeout=BUSY_TIMEOUT_SECONDS,
        check_same_thread=False,
        isolation_level=None,
    )
    connection.row_factory = sqlite3.Row
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        if path is not None:
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
        connection.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        connection.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (/forget, retention) are overwritten, not just unlinked.
        connection.execute("PRAGMA secure_delete=ON").fetchall()
    except BaseException:
        connection.close()
        raise
    return connection


class OwnConnectionStore:
    """A store with its own connection to the bot's file (`connect_own`), its own tables
    and their version table; one lock serialises its threads. Tickets, learning and
    subscriptions are built on it, so each only says what it keeps."""

    def __init__(
        self,
        path: Path | None,
        *,
        durable: bool,
        version_table: str,
        migrations: dict[int, str],
        what: str,
        too_new: Callable[[str], StorageUnavailable],
    ) -> None:
        self._lock = threading.Lock()
        self._connection = connect_own(path, durable=durable)
        try:
            migrate(self._connection, version_table, migrations, what, path, too_new)
        except BaseException:
            self._connection.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def checkpoint(self) -> None:
        """Move committed writes into the database and empty the -wal file, so that
        deleted rows (/forget) leave no old copy behind."""
        with self._lock:
            _checkpoint(self._connection)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction, taken before reading (BEGIN IMMEDIATE) so that a check and the
        write it allows cannot interleave with another process's; committed on leaving,
        or not at all."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    def _read(self, query: str, parameters: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._connection.execute(query, parameters).fetchall())


def migrate(
    connection: sqlite3.Connection,
    version_table: str,
    migrations: dict[int, str],
    what: str,
    path: Path | None,
    too_new: Callable[[str], StorageUnavailable] = SchemaTooNew,
) -> None:
    """Bring one store's tables to the newest version in `migrations` (version -> SQL).
    Each store keeps its own version table, so stores sharing the file never collide."""
    latest = max(migrations)
    with connection:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {version_table} (version INTEGER NOT NULL)")
        row = connection.execute(f"SELECT MAX(version) FROM {version_table}").fetchone()
        current = int(row[0]) if row[0] is not None else 0
    if current > latest:
        raise too_new(
            f"{path}: the {what} has schema version {current}, newer than this bot "
            f"understands ({latest}); update the bot"
        )
    for version in range(current + 1, latest + 1):
        # executescript commits on its own, so the version row goes in the same script.
        connection.executescript(
            "BEGIN;\n"
            + migrations[version]
            + f"\nINSERT INTO {version_table} (version) VALUES ({version});\nCOMMIT;"
        )
        logger.info("%s in %s: schema version %d", what, path, version)
