"""One holder at a time for the bot's state folder: the running bot, or a restore.

The lock is a file of its own (`bot.lock` beside the database), never the database: SQLite
keeps its own POSIX locks on the database, and any other open and close of that file in the
same process would silently drop them. flock() locks belong to the open file, are released
by the kernel when the holder dies (kill -9 included), and do not interfere with SQLite's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

LOCK_NAME: Final = "bot.lock"


class LockHeld(RuntimeError):
    """Another process holds the state folder; the message says which (pid and role)."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder or 'another process'}")
        self.path = path
        self.holder = holder


def lock_path_for(database: Path) -> Path:
    return database.with_name(LOCK_NAME)


@contextlib.contextmanager
def hold_instance_lock(database: Path, role: str) -> Iterator[Path]:
    """Hold the state folder's lock while the block runs; LockHeld if another process holds
    it. `role` ("the bot", "a restore") is written in the file so the refusal can name it."""
    path = lock_path_for(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(path, _holder(descriptor)) from None
        _write_holder(descriptor, f"{role} (pid {os.getpid()})\n")
        try:
            yield path
        finally:
            _write_holder(descriptor, "")
    finally:
        os.close(descriptor)  # releases the flock


def _write_holder(descriptor: int, holder: str) -> None:
    """Name the holder in the file, for a refusal to quote. The lock holds without it: on
    a full disk the bot still starts (and keeps answering, README "The question log")."""
    with contextlib.suppress(OSError):
        os.ftruncate(descriptor, 0)
        if holder:
            os.pwrite(descriptor, holder.encode(), 0)


def _holder(descriptor: int) -> str:
    return os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip()
