"""Each user's language: the one they chose with /language (kept across restarts) and the one
they last wrote in (kept in memory only).

The file stores no Telegram ids: users are keyed by the same keyed hash as the question log
(bot.storage.question_log.hash_user), which is enough to look a preference up again and useless to
anyone who has the file without the key. It is rewritten whole on each choice (atomically,
via a temporary file) - choices are rare and the file is small.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

from bot.storage.question_log import hash_user

logger = logging.getLogger(__name__)

FILE_VERSION = 1
# Languages detected from what users wrote, for the users seen most recently.
DEFAULT_RECENT_USERS = 10_000


def user_prefs_path(question_log_path: Path) -> Path:
    """Where the preferences live: next to the question log (data/user_prefs.json)."""
    return question_log_path.with_name("user_prefs.json")


class UserPrefs:
    """Chosen languages by hashed user id, saved to `path` (None: memory only, for tests)."""

    def __init__(
        self, path: Path | None, key: bytes, *, recent_users: int = DEFAULT_RECENT_USERS
    ) -> None:
        self.path = path
        self._key = key
        self._chosen: dict[str, str] = _read(path) if path is not None else {}
        self._recent: OrderedDict[int, str] = OrderedDict()
        self._recent_users = recent_users

    def chosen_language(self, user_id: int) -> str | None:
        return self._chosen.get(hash_user(self._key, user_id))

    def choose_language(self, user_id: int, lang: str) -> None:
        """Remember the user's explicit choice, on disk at once."""
        user = hash_user(self._key, user_id)
        if self._chosen.get(user) == lang:
            return
        self._chosen[user] = lang
        if self.path is None:
            return
        try:
            _write(self.path, self._chosen)
        except OSError:
            # The choice still holds until a restart; the reply must not fail over a full disk.
            logger.warning("%s: cannot save the language choices", self.path, exc_info=True)

    def recent_language(self, user_id: int) -> str | None:
        return self._recent.get(user_id)

    def note_language(self, user_id: int, lang: str) -> None:
        """The language the user's last question was written in."""
        self._recent.pop(user_id, None)
        self._recent[user_id] = lang
        if len(self._recent) > self._recent_users:
            self._recent.popitem(last=False)

    def forget(self, user_id: int) -> None:
        """Drop everything kept about the user (the file is rewritten without them)."""
        self._recent.pop(user_id, None)
        if self._chosen.pop(hash_user(self._key, user_id), None) is None or self.path is None:
            return
        _write(self.path, self._chosen)


def _read(path: Path) -> dict[str, str]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        # Losing language choices is a small harm; refusing to start over it would be a big one.
        logger.warning("%s: cannot read the language choices (%s); starting afresh", path, error)
        return {}
    languages = raw.get("languages") if isinstance(raw, dict) else None
    if not isinstance(languages, dict):
        logger.warning("%s: not a language-choices file; starting afresh", path)
        return {}
    return {str(user): lang for user, lang in languages.items() if isinstance(lang, str)}


def _write(path: Path, chosen: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": FILE_VERSION, "languages": chosen}, sort_keys=True, indent=0)
    descriptor, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
