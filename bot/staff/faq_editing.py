"""Editing faq/ from a chat: check an uploaded file, summarise what it changes, change one
answer or one `reviewed:` date in place, and notice when a file changed under an edit.

Everything here is plain functions over bytes and text; bot.staff.faq_edit_desk writes the
result (atomically, recorded for the audit trail and undo).

An answer is replaced where it stands: the scalar's exact span in the file (from PyYAML's
node marks) is swapped for the new text written as a double-quoted scalar, so every other
byte (comments, quoting, indentation, the other languages) stays as staff wrote it. The
result is read back and must differ from the original in that one value only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.core.knowledge import Entry, KnowledgeBaseError, Problem
from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.core.telegram_html import html_to_plain
from bot.staff.lint import lint_warnings

# Telegram lets bots download files up to 20 MB; a topic file is a few dozen KB. Anything
# near a megabyte is a wrong file (an export, a photo renamed), refused before reading it.
UPLOAD_LIMIT_BYTES = 1024 * 1024
# The names topic files have: what the loader reads from faq/ (no folders, no dot files).
TOPIC_FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.ya?ml$")
SUMMARY_TEXT_CHARS = 120


class EditRefused(RuntimeError):
    """The edit cannot be made; the message says why, for staff, and `problems` lists lint's
    findings (file:line) when there are some."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class EditConflict(EditRefused):
    """The file changed since the edit started; `diff` is that change, to merge by hand."""

    def __init__(self, message: str, diff: str) -> None:
        super().__init__(message)
        self.diff = diff


def content_hash(data: bytes | None) -> str:
    """A short fingerprint of a file's bytes (None: the file does not exist)."""
    if data is None:
        return "none"
    return hashlib.sha256(data).hexdigest()[:16]


def text_diff(name: str, before: bytes | None, after: bytes | None) -> str:
    old = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new = (after or b"").decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}", n=1))


def ensure_unchanged(path: Path, started_from: bytes | None, name: str) -> None:
    """Raise EditConflict if `path` no longer holds `started_from` (another admin saved it,
    or staff edited it on the server, while this edit was pending)."""
    current = path.read_bytes() if path.exists() else None
    if content_hash(current) != content_hash(started_from):
        raise EditConflict(
            f"{name} changed since you started this edit; nothing was saved. "
            "Here is what changed meanwhile: merge it into your edit by hand and send it again",
            text_diff(name, started_from, current),
        )


# ----- an uploaded file ---------------------------------------------------------------------


def checked_upload(file_name: str | None, size: int | None) -> str:
    """The upload's name if it may replace a topic file (checked before downloading it)."""
    name = (file_name or "").strip()
    if not TOPIC_FILE_NAME.match(name):
        raise EditRefused(
            f"{name or 'the file'}: send a .yaml file named like the topic files "
            "(small letters, digits and '-', for example contact.yaml)"
        )
    if size is not None and size > UPLOAD_LIMIT_BYTES:
        raise EditRefused(f"{name} is {size // 1024} KB; a FAQ file may be at most 1 MB")
    return name


def decoded_upload(name: str, data: bytes) -> str:
    """The upload as text, if it is UTF-8 YAML of at most 1 MB."""
    if len(data) > UPLOAD_LIMIT_BYTES:
        raise EditRefused(f"{name} is {len(data) // 1024} KB; a FAQ file may be at most 1 MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EditRefused(
            f"{name} is not UTF-8 text (byte {error.start}): save it as UTF-8 "
            "(in most editors: Save with encoding, UTF-8) and send it again"
        ) from None
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise EditRefused(f"{where}: not valid YAML: {problem}") from None
    return text


def _scratch_copy(faq_dir: Path, scratch: Path) -> Path:
    copy = scratch / faq_dir.name
    shutil.copytree(faq_dir, copy, ignore=shutil.ignore_patterns(".*"))
    return copy


def check_with_file(
    settings: Settings, faq_dir: Path, name: str, after: bytes
) -> tuple[tuple[Problem, ...], LoadedKnowledge | None]:
    """Load and lint the whole of faq/ with `after` in place of faq/`name`, in a temporary
    copy: (lint's errors, the knowledge base as it would be served; None if it would not
    load). faq/ itself is not touched. The desk checks with faq_edit_check.EditChecker,
    which reaches the same verdicts with less work; this is what its tests compare with."""
    with tempfile.TemporaryDirectory(prefix="faq-edit-") as scratch:
        copy = _scratch_copy(faq_dir, Path(scratch))
        (copy / name).write_bytes(after)
        try:
            loaded = build_knowledge(settings, copy)
        except KnowledgeBaseError as error:
            return tuple(p for p in error.problems if p.severity == "error"), None
        warnings = lint_warnings(
            loaded, copy, dated=settings.dated_answers, pending_links=settings.pending_links
        )
    return tuple(w for w in warnings if w.severity == "error"), loaded


# ----- what a new version of a file changes ---------------------------------------------------


@dataclass(frozen=True)
class EntryChange:
    kind: str  # "added", "removed" or "changed"
    entry_id: str
    question: str  # its first question (in the reader's language when it has one)
    answer: str  # its answer as plain text, shortened
    fields: tuple[str, ...] = ()  # for "changed": the keys that differ


def _entries(text: str | None) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(text) if text else None
    raw = data.get("entries") if isinstance(data, dict) else None
    found: dict[str, dict[str, Any]] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            found.setdefault(item["id"], item)
    return found


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_TEXT_CHARS else flat[: SUMMARY_TEXT_CHARS - 1] + "…"


def _in_language(values: Any, lang: str) -> str:
    if not isinstance(values, Mapping) or not values:
        return ""
    value = values.get(lang, next(iter(values.values())))
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)


def summarise_change(before: str | None, after: str, lang: str) -> list[EntryChange]:
    """Entries added, removed and changed between two versions of a topic file."""
    old, new = _entries(before), _entries(after)
    changes = []

    def described(kind: str, entry: dict[str, Any], fields: tuple[str, ...] = ()) -> EntryChange:
        return EntryChange(
            kind,
            entry["id"],
            _shorten(_in_language(entry.get("questions"), lang)),
            _shorten(html_to_plain(_in_language(entry.get("answer"), lang))),
            fields,
        )

    for entry_id, entry in new.items():
        if entry_id not in old:
            changes.append(described("added", entry))
        elif entry != old[entry_id]:
            keys = sorted(set(entry) | set(old[entry_id]))
            differ = tuple(k for k in keys if entry.get(k) != old[entry_id].get(k))
            changes.append(described("changed", entry, differ))
    changes.extend(described("removed", entry) for key, entry in old.items() if key not in new)
    return changes


# ----- one value changed in place -------------------------------------------------------------


def _mapping_value(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _entry_node(text: str, entry_id: str) -> yaml.MappingNode:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise EditRefused(f"the file is not valid YAML: {error}") from None
    found = _mapping_value(root, "entries") if root is not None else None
    if found is not None and isinstance(found[1], yaml.SequenceNode):
        for item in found[1].value:
            pair = _mapping_value(item, "id")
            if pair is not None and pair[1].value == entry_id:
                assert isinstance(item, yaml.MappingNode)  # _mapping_value found a key in it
                return item
    raise EditRefused(f"no entry {entry_id!r} in the file")


def _replaced(text: str, node: yaml.Node, new_value: str) -> str:
    start, end = node.start_mark.index, node.end_mark.index
    if getattr(node, "style", None) in ("|", ">"):
        # A block scalar's span takes in the line ends after it (blank lines too): keep them.
        span = text[start:end]
        new_value += span[len(span.rstrip("\r\n")) :]
    return text[:start] + new_value + text[end:]


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar: a JSON string is one, and keeps ë and ç as they are."""
    return json.dumps(value, ensure_ascii=False)


def _check_only(before: str, after: str, entry_id: str, changed: Mapping[str, Any]) -> None:
    """`after` must read as `before` with just `changed` (dotted keys) set in one entry."""
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    old_entries = old.get("entries") if isinstance(old, dict) else None
    if not isinstance(old_entries, list):
        raise EditRefused("the file has no entries: list")
    for item in old_entries:
        if isinstance(item, dict) and item.get("id") == entry_id:
            for dotted, value in changed.items():
                *parents, last = dotted.split(".")
                target = item
                for part in parents:
                    target = target.setdefault(part, {})
                target[last] = value
    if old != new:
        raise EditRefused(
            "the edit would change more of the file than this value; edit the file instead"
        )


def with_answer(text: str, entry_id: str, lang: str, answer: str, reviewed: date) -> str:
    """`text` (a topic file) with entry `entry_id`'s answer in `lang` replaced by `answer` and
    its `reviewed:` date set, every other byte as it was."""
    entry = _entry_node(text, entry_id)
    answers = _mapping_value(entry, "answer")
    value = _mapping_value(answers[1], lang) if answers is not None else None
    if value is None or not isinstance(value[1], yaml.ScalarNode):
        raise EditRefused(f"entry {entry_id!r} has no answer in {lang!r} to replace")
    result = _replaced(text, value[1], _quoted(answer))
    result = with_reviewed(result, entry_id, reviewed, check=False)
    _check_only(text, result, entry_id, {f"answer.{lang}": answer, "reviewed": reviewed})
    return result


def with_reviewed(text: str, entry_id: str, day: date, *, check: bool = True) -> str:
    """`text` with entry `entry_id`'s `reviewed:` set to `day` (added after its id line when
    missing), every other byte as it was."""
    entry = _entry_node(text, entry_id)
    existing = _mapping_value(entry, "reviewed")
    if existing is not None:
        result = _replaced(text, existing[1], day.isoformat())
    else:
        id_pair = _mapping_value(entry, "id")
        assert id_pair is not None  # _entry_node found the entry by its id
        id_key, id_value = id_pair
        if entry.flow_style:
            at = id_value.end_mark.index
            result = text[:at] + f", reviewed: {day.isoformat()}" + text[at:]
        else:
            line_end = text.find("\n", id_value.end_mark.index)
            at = len(text) if line_end < 0 else line_end + 1
            ending = "\r\n" if text[:at].endswith("\r\n") else "\n"
            indent = " " * id_key.start_mark.column
            result = text[:at] + f"{indent}reviewed: {day.isoformat()}{ending}" + text[at:]
    if check:
        _check_only(text, result, entry_id, {"reviewed": day})
    return result


# ----- the knowledge base at a glance -----------------------------------------------------------


def topic_files(faq_dir: Path) -> Iterator[Path]:
    """The files /faq lists and admins may replace (the synonyms glossary included)."""
    for path in sorted(faq_dir.iterdir()):
        if path.is_file() and TOPIC_FILE_NAME.match(path.name):
            yield path


def entries_by_file(loaded: LoadedKnowledge) -> dict[str, list[Entry]]:
    """The served entries grouped by the file they come from (its name only)."""
    grouped: dict[str, list[Entry]] = {}
    for entry in loaded.knowledge:
        grouped.setdefault(Path(entry.file).name, []).append(entry)
    return grouped
