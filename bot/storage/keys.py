"""The secret key behind the users' pseudonyms (the keyed hash of a Telegram id).

The key comes from the QUESTION_LOG_KEY environment variable; when that is unset, a random
key is generated on first run and kept next to the database (`<database>.key`, readable by
the owner only), so the same person keeps the same hash across restarts. Deleting or
changing the key starts a new set of hashes (old rows cannot be linked to new ones any
more).

Telegram ids are a small space: whoever has the key and the database can tell who asked
what in under a second. Keeping the key in the database's folder is the default for a
first run only; `key_warning` says so at start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from bot.config import LOG_KEY_ENV

logger = logging.getLogger(__name__)

_KEY_BYTES: Final = 32


class KeyFileError(RuntimeError):
    """The key file cannot be used (for example, it is empty)."""


def key_path_for(database: Path) -> Path:
    """Where the generated key is kept when QUESTION_LOG_KEY is unset."""
    return database.with_name(database.name + ".key")


def key_from_environment(environ: Mapping[str, str] | None = None) -> bytes | None:
    environ = os.environ if environ is None else environ
    value = environ.get(LOG_KEY_ENV, "").strip()
    return value.encode("utf-8") if value else None


def key_warning(database: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the key is badly placed (None: it comes from the environment)."""
    if key_from_environment(environ) is not None:
        return None
    return (
        f"the question-log key is kept in {key_path_for(database)}, in the database's own "
        f"folder: whoever copies that folder can tell which user asked what. Set {LOG_KEY_ENV} "
        "in the bot's environment instead (see README, Privacy)."
    )


def load_or_create_key(key_path: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The hashing key: QUESTION_LOG_KEY if set, else the key file (created on first use)."""
    from_environment = key_from_environment(environ)
    if from_environment is not None:
        if len(from_environment) < 16:
            logger.warning("%s is shorter than 16 characters; use a long random value", LOG_KEY_ENV)
        return from_environment
    key_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: if two processes start at once, only one creates the key; the other reads it.
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(key_path)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as key_file:
            key_file.write(secrets.token_hex(_KEY_BYTES) + "\n")
            key_file.flush()
            os.fsync(key_file.fileno())
    except BaseException:
        # A half-written key (a full disk) would be read as the key next time.
        key_path.unlink(missing_ok=True)
        raise
    logger.info("generated the question-log key in %s (keep it; see README, Privacy)", key_path)
    return _read_key_file(key_path)


def _read_key_file(key_path: Path) -> bytes:
    mode = stat.S_IMODE(key_path.stat().st_mode)
    if mode & 0o077:
        logger.warning("%s was readable by others; restricting it to its owner", key_path)
        key_path.chmod(0o600)
    key = key_path.read_text(encoding="ascii").strip()
    if not key:
        raise KeyFileError(f"{key_path}: the key file is empty; delete it to make a new key")
    return key.encode("ascii")


def hash_user(key: bytes, user_id: int) -> str:
    """A stable pseudonym for a user: the same id gives the same hash under the same key."""
    return hmac.new(key, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:32]


def limit_hash(key: bytes, user_id: int) -> str:
    """The pseudonym the hand-off limits count by. Kept after /forget (a user must not reset
    their limits with it), so it differs from `hash_user`: what stays cannot be joined to
    anything the user asked."""
    return hmac.new(key, f"limits:{user_id}".encode("ascii"), hashlib.sha256).hexdigest()[:32]


def pick_tag(secret: bytes, question_id: str, entry_id: str, user_id: int) -> str:
    """What a "did you mean" button carries besides the question and the entry: proof that
    the bot offered this entry for this question to this user (8 URL-safe characters)."""
    message = f"pick\0{question_id}\0{entry_id}\0{user_id}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:6]
    return base64.urlsafe_b64encode(digest).decode("ascii")
