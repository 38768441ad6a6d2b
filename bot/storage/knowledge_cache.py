"""The loaded and indexed knowledge base, kept between runs so that `ask` starts at once.

Loading faq/ (YAML parsing, schema checks) and indexing it are most of a command's start-up
(0.5 s of `ask`'s 0.8 s on the ASCS base; about 3 s at 15,000 question variants). The result
is kept in the state folder (the folder of the question-log database, config.yaml
`paths.question_log`) under a key made of the content of every FAQ file, the settings that
shape loading and matching, and the source of the code that builds it: any change to one of
them builds anew.

A second file keeps each FAQ file's YAML as read, by the digest of its text, so that after
an edit only the edited file is read again.

Both are written atomically (a temporary file, then a rename) and start with a digest of
what follows: a half-written, truncated or otherwise damaged file, or one made by other
code, is ignored and rebuilt. A folder that cannot be written only means no cache. The cache
holds nothing that is not in faq/ already; delete it at any time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import stat
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import bot.core
from bot.config import Settings
from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.core.matcher import utc_now

CACHE_FILE = "knowledge.cache"
# The YAML of each file as read (node tree and data), by the digest of its text: after an
# edit only the edited file is read again, which is most of the time lint takes then.
FILES_CACHE_FILE = "knowledge-files.cache"
# Raise when the file's layout changes; the code's own digest covers everything else.
_FORMAT = b"ascs-faq-knowledge-cache 2\n"
_DIGEST_SIZE = 32


def cache_path(settings: Settings) -> Path:
    return settings.question_log_path.parent / CACHE_FILE


def load_knowledge(
    settings: Settings,
    faq_dir: Path | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> LoadedKnowledge:
    """As `build_knowledge`, from the cache when faq/, the settings and the code are as
    they were when it was written. Raises KnowledgeBaseError as `build_knowledge` does."""
    folder = faq_dir or settings.faq_dir
    if clock not in (None, utc_now):
        return build_knowledge(settings, folder, clock=clock)
    path = cache_path(settings)
    try:
        key = _key(settings, folder)
    except OSError:
        return build_knowledge(settings, folder)  # loading says what is wrong with it
    cached = _read(path, key)
    if isinstance(cached, LoadedKnowledge):
        return dataclasses.replace(cached, loaded_at=time.time())
    parsed_texts = kept_parses(settings)
    used: dict[str, tuple[Any, Any]] = _Recording(parsed_texts)
    loaded = build_knowledge(settings, folder, parsed_texts=used)
    _write(path, key, loaded)
    if set(used) != set(parsed_texts):
        _write(path.with_name(FILES_CACHE_FILE), _files_key(), dict(used))
    return loaded


def kept_parses(settings: Settings) -> dict[str, tuple[Any, Any]]:
    """The FAQ files' YAML as the last load read it (a digest of a file's text -> its node
    tree and data; `parsed_texts` of build_knowledge), or nothing when no cache is kept."""
    earlier = _read(cache_path(settings).with_name(FILES_CACHE_FILE), _files_key())
    return earlier if isinstance(earlier, dict) else {}


def _files_key() -> bytes:
    return hashlib.sha256(_FORMAT + b"files" + _code_digest()).digest()


class _Recording(dict[str, tuple[Any, Any]]):
    """The parsed files a build used or added: what the files cache keeps next time."""

    def __init__(self, earlier: dict[str, tuple[Any, Any]]) -> None:
        super().__init__()
        self._earlier = earlier

    def __contains__(self, digest: object) -> bool:
        if isinstance(digest, str) and digest in self._earlier and not super().__contains__(digest):
            self[digest] = self._earlier[digest]
        return super().__contains__(digest)


def _key(settings: Settings, folder: Path) -> bytes:
    digest = hashlib.sha256(_FORMAT)
    digest.update(_code_digest())
    digest.update(
        repr(
            (
                settings.matching,
                settings.languages,
                sorted(settings.links),
                settings.dated_answers.time_zone,
                [sorted(settings.placeholders(lang).items()) for lang in settings.languages],
            )
        ).encode()
    )
    for path in sorted(folder.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            digest.update(path.name.encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()


_code: bytes | None = None


def _code_digest() -> bytes:
    """A digest of the core's source and data files: new code never reads an old cache."""
    global _code
    if _code is None:
        digest = hashlib.sha256()
        root = Path(bot.core.__file__).parent
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".json", ".yaml") and path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes())
        _code = digest.digest()
    return _code


def _read(path: Path, key: bytes) -> object:
    """The value kept under `key`, or None. The file is: format line, key, digest of the
    pickled value, the pickled value; a file for another key is left unread past its key."""
    start = len(_FORMAT) + len(key)
    try:
        with path.open("rb") as file:
            if not _trusted(os.fstat(file.fileno())):
                return None
            if file.read(start) != _FORMAT + key:
                return None  # another format, or other files, settings or code
            digest = file.read(_DIGEST_SIZE)
            payload = file.read()
    except OSError:
        return None
    if hashlib.sha256(payload).digest() != digest:
        return None  # damaged: ignore it
    try:
        return pickle.loads(payload)
    except Exception:  # a file the digest let through but this code cannot read
        return None


def _trusted(status: os.stat_result) -> bool:
    """Unpickling runs code: only a file this user owns and nobody else may write is read
    (as ssh treats its keys), so a shared or world-writable folder cannot plant one."""
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _write(path: Path, key: bytes, value: object) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    data = _FORMAT + key + hashlib.sha256(payload).digest() + payload
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".knowledge-", dir=path.parent)
        try:
            # No fsync: a file cut short by a crash fails its digest and is rebuilt.
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return  # a read-only state folder: no cache, nothing else changes
