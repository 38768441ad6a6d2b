"""Each user's language: the one they chose with /language (kept across restarts, in the
bot's database) and the one they last wrote in (kept in memory only).

No Telegram ids are stored: users are keyed by the same keyed hash as the question log
(bot.storage.keys.hash_user), which is enough to look a preference up again and useless to
anyone who has the database without the key. Choices are read into memory when the
database opens, so looking one up never touches the disk; a new choice holds at once and
is written by the database's writer thread, one row per user (a user's next choice
replaces the row, `forget` deletes it).

Earlier versions kept the choices in `user_prefs.json` beside the database: that file is
imported once and then renamed to `user_prefs.json.imported` (or `.unreadable` when it
cannot be read; the bot starts either way).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bot.storage.database import Database, Write, migrate
from bot.storage.keys import hash_user

logger = logging.getLogger(__name__)

# Languages detected from what users wrote, and this run's choices, for the users seen most
# recently (older choices are in the database).
DEFAULT_RECENT_USERS: Final = 10_000

_MIGRATIONS: Final[dict[int, str]] = {
    1: """
        CREATE TABLE user_prefs (
            user_hash TEXT PRIMARY KEY,  -- HMAC of the Telegram user id, never the id itself
            lang TEXT NOT NULL,
            chosen_at TEXT NOT NULL      -- UTC, ISO 8601
        );
    """,
}


def user_prefs_path(question_log_path: Path) -> Path:
    """Where earlier versions kept the preferences: beside the database."""
    return question_log_path.with_name("user_prefs.json")


class _Choice(Write):
    def __init__(self, prefs: UserPrefs, user_id: int, lang: str | None) -> None:
        self._prefs = prefs
        self._user_id = user_id
        self._lang = lang  # None: forget the user
        self._user_hash = ""

    def prepare(self, key: bytes) -> None:
        self._user_hash = hash_user(key, self._user_id)

    def write(self, connection: sqlite3.Connection) -> None:
        if self._lang is None:
            connection.execute("DELETE FROM user_prefs WHERE user_hash = ?", (self._user_hash,))
            self._prefs._stored.pop(self._user_hash, None)
            return
        connection.execute(
            "INSERT INTO user_prefs (user_hash, lang, chosen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_hash) DO UPDATE SET lang = excluded.lang,"
            " chosen_at = excluded.chosen_at",
            (self._user_hash, self._lang, datetime.now(UTC).isoformat()),
        )
        self._prefs._stored[self._user_hash] = self._lang


class UserPrefs:
    """Chosen languages by hashed user id, kept in `database` (None: in memory only, under
    `key` or a random one)."""

    def __init__(
        self,
        database: Database | None,
        key: bytes | None = None,
        *,
        legacy_file: Path | None = None,
        recent_users: int = DEFAULT_RECENT_USERS,
    ) -> None:
        self.database = database
        self._memory_key = key or secrets.token_bytes(32)
        self._legacy_file = legacy_file
        # What the database holds, by user hash: replaced whole at each (re)open, updated
        # by the writer after each write.
        self._stored: dict[str, str] = {}
        # This run's choices by user id, so that a choice holds before it is written (or
        # while the database cannot be written). Memory only.
        self._chosen: OrderedDict[int, str] = OrderedDict()
        self._recent: OrderedDict[int, str] = OrderedDict()
        self._recent_users = recent_users
        if database is not None:
            database.attach(self)

    def _key(self) -> bytes | None:
        return self._memory_key if self.database is None else self.database.key

    def chosen_language(self, user_id: int) -> str | None:
        if user_id in self._chosen:
            return self._chosen[user_id]
        key = self._key()
        return None if key is None else self._stored.get(hash_user(key, user_id))

    def choose_language(self, user_id: int, lang: str) -> None:
        """Remember the user's explicit choice: at once in memory, soon on disk."""
        if self.chosen_language(user_id) == lang:
            return
        _remember(self._chosen, user_id, lang, self._recent_users)
        if self.database is not None:
            self.database.submit(_Choice(self, user_id, lang))

    def recent_language(self, user_id: int) -> str | None:
        return self._recent.get(user_id)

    def note_language(self, user_id: int, lang: str) -> None:
        """The language the user's last question was written in."""
        _remember(self._recent, user_id, lang, self._recent_users)

    def forget(self, user_id: int) -> None:
        """Forget everything kept about the user: their choice (in memory at once, on disk
        with the next write) and the language they last wrote in."""
        self._chosen.pop(user_id, None)
        self._recent.pop(user_id, None)
        key = self._key()
        if key is not None:
            self._stored.pop(hash_user(key, user_id), None)
        if self.database is not None:
            self.database.submit(_Choice(self, user_id, None))
            # Blocks (callers run it off the event loop): /forget confirms only once the
            # row is gone from the file, including from the -wal file.
            self.database.flush()
            self.database.checkpoint()

    # ----- the database's store interface (writer thread) --------------------------------

    def prepare(self, connection: sqlite3.Connection) -> None:
        assert self.database is not None
        path = self.database.path
        migrate(connection, "user_prefs_version", _MIGRATIONS, "user preferences", path)
        if self._legacy_file is not None:
            _import_legacy_file(connection, self._legacy_file)
        rows = connection.execute("SELECT user_hash, lang FROM user_prefs").fetchall()
        self._stored = {str(row[0]): str(row[1]) for row in rows}

    def maintain(self, connection: sqlite3.Connection) -> None:
        """Nothing to tidy: one row per user who chose, deleted by forget()."""


def _remember(memory: OrderedDict[int, str], user_id: int, lang: str, limit: int) -> None:
    memory.pop(user_id, None)
    memory[user_id] = lang
    if len(memory) > limit:
        memory.popitem(last=False)


def _import_legacy_file(connection: sqlite3.Connection, path: Path) -> None:
    """Copy an earlier version's user_prefs.json into the table once, then rename it. The
    rows are committed before the rename: a crash in between imports again, harmlessly
    (a choice already in the table wins)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except OSError as error:
        logger.warning("%s: cannot read the old language choices (%s)", path, error)
        return
    try:
        raw = json.loads(text)
        languages = raw.get("languages") if isinstance(raw, dict) else None
        if not isinstance(languages, dict):
            raise ValueError("not a language-choices file")
    except ValueError as error:
        # Losing language choices is a small harm; refusing to start over it a big one.
        logger.warning("%s: cannot import the old language choices (%s); set aside", path, error)
        path.replace(path.with_name(path.name + ".unreadable"))
        return
    chosen = [(str(user), lang) for user, lang in languages.items() if isinstance(lang, str)]
    now = datetime.now(UTC).isoformat()
    with connection:
        connection.executemany(
            "INSERT OR IGNORE INTO user_prefs (user_hash, lang, chosen_at) VALUES (?, ?, ?)",
            [(user, lang, now) for user, lang in chosen],
        )
    path.replace(path.with_name(path.name + ".imported"))
    logger.info("imported %d language choices from %s into the database", len(chosen), path)
