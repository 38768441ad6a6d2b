"""Backups of the bot's database while it runs, and restoring one while it does not.

A copy of the file is not a backup: in WAL mode the last commits live in the -wal file,
and a copy taken mid-write is torn. SQLite's online backup API copies the database as one
read transaction sees it (writers keep going meanwhile; WAL readers never block them), so
the copy is consistent. The copy is written under a temporary name, checked with
`PRAGMA integrity_check`, made durable, and only then given its final name: a backup that
exists under its name is whole.

The question-log key is not in the database and so not in the backup: it lives in the
service's environment (README, "Privacy"), which is backed up with the server's /etc.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bot.storage.database import connect
from bot.storage.instance_lock import LockHeld, hold_instance_lock

_STAMP_FORMAT: Final = "%Y%m%dT%H%M%SZ"
_PRIVATE_UMASK: Final = 0o077


class BackupError(RuntimeError):
    """The backup or restore cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    removed: tuple[Path, ...]  # older backups rotated out by `keep`


def backup_name(database: Path, moment: datetime) -> str:
    return f"{database.stem}-{moment.astimezone(UTC).strftime(_STAMP_FORMAT)}{database.suffix}"


def _backup_pattern(database: Path) -> re.Pattern[str]:
    return re.compile(
        re.escape(database.stem) + r"-[0-9]{8}T[0-9]{6}Z" + re.escape(database.suffix)
    )


def backup_database(
    database: Path,
    destination: Path,
    *,
    keep: int | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackupResult:
    """Copy `database` into the folder `destination` as `<name>-<UTC time>.sqlite3`,
    consistent even while the bot writes; then keep only the newest `keep` backups there."""
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1 (the backup just made)")
    if not database.is_file():
        raise BackupError(
            f"no database at {database}: the bot creates it when it answers its first question"
        )
    destination.mkdir(parents=True, exist_ok=True)
    final = destination / backup_name(database, clock())
    if final.exists():
        raise BackupError(f"{final} exists already; wait a second and run the backup again")
    partial = final.with_name("." + final.name + ".partial")
    try:
        with _private_files():
            _copy(database, partial)
        _check_integrity(partial)
        _fsync(partial)
        os.replace(partial, final)
        _fsync(destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    removed = _rotate(database, destination, keep) if keep is not None else ()
    return BackupResult(final, final.stat().st_size, removed)


def restore_database(source: Path, database: Path) -> Path | None:
    """Replace the bot's database by the backup `source`, refusing while the bot runs (it
    holds the state folder's lock). The database being replaced is first kept as
    `<name>.before-restore-<time>` (returned), so a wrong restore loses nothing."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    _check_integrity(source)
    if not _has_question_log(source):
        raise BackupError(f"{source} is not a backup of the bot's database (no question log)")
    try:
        with hold_instance_lock(database, "a restore"):
            kept = None
            if database.exists():
                kept = database.with_name(
                    f"{database.name}.before-restore-{datetime.now(UTC).strftime(_STAMP_FORMAT)}"
                )
                with _private_files():
                    _copy(database, kept)
            with _private_files():
                _copy(source, database)
            _check_integrity(database)
            return kept
    except LockHeld as held:
        raise BackupError(
            f"the database is in use by {held.holder or 'another process'}: stop the bot "
            "first (systemctl stop ascs-faq-bot), restore, then start it again"
        ) from None


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup from `source` into `target`, in one step: one read transaction,
    so the copy is the database at one moment however busy the writers are."""
    try:
        reader = connect(source, read_only=True)
    except sqlite3.Error as error:
        raise BackupError(f"cannot open {source}: {error}") from None
    try:
        writer = sqlite3.connect(target)
        try:
            reader.backup(writer)
            # The copy stands alone: one file, no -wal to carry along.
            writer.execute("PRAGMA journal_mode=DELETE")
        finally:
            writer.close()
    except sqlite3.Error as error:
        raise BackupError(f"cannot copy {source} to {target}: {error}") from None
    finally:
        reader.close()


def _check_integrity(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupError(f"{path} is not a usable SQLite database: {error}") from None
    if rows != ["ok"]:
        raise BackupError(f"{path} fails SQLite's integrity check: {'; '.join(rows[:3])}")
    if not tables:
        raise BackupError(f"{path} is an empty database, not a backup of the bot's")


def _has_question_log(path: Path) -> bool:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'questions'"
        ).fetchone()
    finally:
        connection.close()
    return found is not None


def _rotate(database: Path, destination: Path, keep: int) -> tuple[Path, ...]:
    pattern = _backup_pattern(database)
    backups = sorted(p for p in destination.iterdir() if pattern.fullmatch(p.name))
    old = backups[:-keep]
    for path in old:
        path.unlink()
    return tuple(old)


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    previous = os.umask(_PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
