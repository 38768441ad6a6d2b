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
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{role} (pid {os.getpid()})\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)  # releases the flock


def lock_holder(database: Path) -> str | None:
    """Who holds the state folder's lock now (None: nobody), without taking it for long."""
    path = lock_path_for(database)
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(descriptor) or "another process"
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return None
    finally:
        os.close(descriptor)


def _holder(descriptor: int) -> str:
    return os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip()
