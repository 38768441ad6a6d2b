"""Writes a learned question into faq/ without wrecking the staff's file.

The YAML files are the single source of truth and staff edit them by hand, so a change made
by the bot must look like one a careful person made: one more line in the right list, every
comment, blank line, quote and indent elsewhere as it was. ruamel.yaml's round trip keeps
all of that for the files it can reproduce exactly; for a file it would reflow (a long flow
list, an unusual indent), the line is inserted by position instead, next to the list's last
item and quoted like it. Either way the result is checked to differ from the original by
added lines only.

Nothing is written unchecked: the new file is loaded with the rest of faq/ from a temporary
copy, and lint's errors (a variant taking over another entry's question) must not grow. Only
then does it replace the file, by an atomic rename, so the hot reload never sees half a file.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from bot.config import Settings
from bot.core.knowledge import KnowledgeBaseError, Problem
from bot.core.knowledge_state import build_knowledge
from bot.core.synonyms import SYNONYMS_FILE
from bot.staff.drafts import drafts_path
from bot.staff.lint import lint_warnings

_DRAFTS_HEADER = (
    "# Draft entries: questions users asked that no entry answers, suggested by the bot\n"
    "# (`python -m bot learn`, /learn, or a staff reply to a ticket). The bot never serves\n"
    "# this file: write an answer, move the entry into a topic file, and delete it here.\n"
    "drafts:\n"
)
# Indents tried for the round trip, most usual first: (mapping, sequence, offset).
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0))
_PLAIN_SAFE = re.compile(r"^[\w][\w .,?!'’()-]*$")


class FaqWriteError(RuntimeError):
    """The change cannot be made: the entry is missing, or the result would not load."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class PlannedChange:
    path: Path
    before: bytes | None  # None: the file is new
    after: bytes
    diff: str
    # A question added to an entry: only the questions it can affect are tested again.
    added_question: str | None = None


# ----- finding the entry ----------------------------------------------------------------


def _topic_files(faq_dir: Path) -> Iterator[Path]:
    for path in sorted(faq_dir.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.is_file() and path.name != SYNONYMS_FILE:
            yield path


def _entries_of(data: Any) -> list[Any]:
    entries = data.get("entries") if isinstance(data, dict) else None
    return entries if isinstance(entries, list) else []


def find_entry_file(faq_dir: Path, entry_id: str) -> Path:
    """The topic file holding entry `entry_id`."""
    reader = pyyaml.safe_load
    for path in _topic_files(faq_dir):
        try:
            data = reader(path.read_text(encoding="utf-8"))
        except (OSError, pyyaml.YAMLError):
            continue
        if any(isinstance(e, dict) and e.get("id") == entry_id for e in _entries_of(data)):
            return path
    raise FaqWriteError(f"no entry {entry_id!r} in {faq_dir}")


# ----- the edit -------------------------------------------------------------------------


def _round_trip(text: str) -> tuple[YAML, Any] | None:
    """A loader/dumper that reproduces `text` exactly, with the document; None if none does."""
    for mapping, sequence, offset in _INDENTS:
        handler = YAML(typ="rt")
        handler.preserve_quotes = True
        handler.width = 4096  # never reflow a long line
        handler.indent(mapping=mapping, sequence=sequence, offset=offset)
        try:
            data = handler.load(text)
        except YAMLError:
            return None
        if _dump(handler, data) == text:
            return handler, data
    return None


def _dump(handler: YAML, data: Any) -> str:
    out = io.StringIO()
    handler.dump(data, out)
    return out.getvalue()


def _question_list(data: Any, entry_id: str) -> tuple[CommentedMap, Any]:
    for entry in _entries_of(data):
        if isinstance(entry, dict) and entry.get("id") == entry_id:
            questions = entry.get("questions")
            if not isinstance(questions, CommentedMap):
                raise FaqWriteError(f"entry {entry_id!r} has no questions: mapping")
            return questions, entry
    raise FaqWriteError(f"no entry {entry_id!r} in the file")


def _styled(text: str, like: object) -> str:
    if isinstance(like, DoubleQuotedScalarString):
        return cast(str, DoubleQuotedScalarString(text))
    if isinstance(like, SingleQuotedScalarString):
        return cast(str, SingleQuotedScalarString(text))
    # Plain only if the loader (YAML 1.1) reads it back as this text: "yes", "no", "on",
    # "off" or "123" written plain would come back as a boolean or a number.
    try:
        if pyyaml.safe_load(text) == text:
            return text
    except pyyaml.YAMLError:
        pass
    return cast(str, DoubleQuotedScalarString(text))


def _quoted_like(text: str, raw_item: str) -> str:
    """`text` as a YAML scalar written the way the neighbouring item `raw_item` is."""
    if raw_item.startswith("'"):
        return "'" + text.replace("'", "''") + "'"
    if not raw_item.startswith('"') and _PLAIN_SAFE.match(text):
        try:
            if pyyaml.safe_load(text) == text:
                return text
        except pyyaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _insert_by_position(text: str, data: Any, entry_id: str, lang: str, variant: str) -> str:
    questions, _entry = _question_list(data, entry_id)
    items = questions.get(lang)
    if not isinstance(items, CommentedSeq) or not items or items.fa.flow_style():
        raise FaqWriteError(
            f"cannot add to entry {entry_id!r}: its {lang} questions are not a block list "
            "this tool can extend without reformatting the file; add the line by hand"
        )
    last = len(items) - 1
    line, column = items.lc.item(last)
    lines = text.splitlines(keepends=True)
    raw_line = lines[line]
    # The new item goes on the line after the last one, so the last must fit on its line.
    if line + 1 < len(lines):
        following = lines[line + 1]
        if following.strip() and len(following) - len(following.lstrip()) > column - 2:
            raise FaqWriteError(
                f"cannot add to entry {entry_id!r}: its last {lang} question spans lines; "
                "add the line by hand"
            )
    ending = "\r\n" if raw_line.endswith("\r\n") else "\n"
    new_line = raw_line[:column] + _quoted_like(variant, raw_line[column:]) + ending
    if not raw_line.endswith(("\n", "\r")):
        lines[line] = raw_line + ending
    lines.insert(line + 1, new_line)
    return "".join(lines)


def with_variant(text: str, entry_id: str, lang: str, variant: str) -> str:
    """`text` (a topic file) with `variant` added to the end of entry `entry_id`'s `lang`
    questions, every other byte as it was."""
    found = _round_trip(text)
    if found is None:
        try:
            data = YAML(typ="rt").load(text)
        except YAMLError as error:
            raise FaqWriteError(f"the file is not valid YAML: {error}") from None
        result = _insert_by_position(text, data, entry_id, lang, variant)
    else:
        handler, data = found
        questions, _entry = _question_list(data, entry_id)
        items = questions.get(lang)
        if isinstance(items, CommentedSeq) and items:
            items.append(_styled(variant, items[-1]))
        elif items is None:
            sibling = next((v for v in questions.values() if isinstance(v, list) and v), None)
            seq = CommentedSeq([_styled(variant, sibling[0] if sibling else None)])
            questions[lang] = seq
        else:
            raise FaqWriteError(f"entry {entry_id!r}: its {lang} questions are not a list")
        result = _dump(handler, data)
    _check_only_added(text, result)
    return result


def _check_only_added(before: str, after: str) -> None:
    """The edit adds lines, or extends one line (a flow list: `en: [a, b]`), nothing else."""
    old, new = before.splitlines(), after.splitlines()
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    changed = [op for op in opcodes if op[0] != "equal"]
    extends_one_line = (
        len(changed) == 1
        and changed[0][0] == "replace"
        and changed[0][2] - changed[0][1] == 1
        and changed[0][4] - changed[0][3] == 1
    )
    if not extends_one_line and any(op[0] != "insert" for op in changed):
        raise FaqWriteError(
            "the edit would change more of the file than the added question; add the line by hand"
        )


def unified_diff(path: Path, before: bytes | None, after: bytes, faq_dir: Path) -> str:
    name = str(path.relative_to(faq_dir.parent)) if path.is_relative_to(faq_dir.parent) else path
    old = (before or b"").decode("utf-8").splitlines(keepends=True)
    new = after.decode("utf-8").splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}", n=1))


def plan_variant(faq_dir: Path, entry_id: str, lang: str, variant: str) -> PlannedChange:
    """The change adding `variant` to entry `entry_id` (not written yet)."""
    path = find_entry_file(faq_dir, entry_id)
    before = path.read_bytes()
    after = with_variant(before.decode("utf-8"), entry_id, lang, variant).encode("utf-8")
    return PlannedChange(
        path, before, after, unified_diff(path, before, after, faq_dir), added_question=variant
    )


# ----- drafts of new entries ---------------------------------------------------------------


def plan_draft(faq_dir: Path, draft_id: str, lang: str, questions: list[str]) -> PlannedChange:
    """The change adding a draft entry (questions, no answer yet) to the drafts file."""
    path = drafts_path(faq_dir)
    before = path.read_bytes() if path.exists() else None
    text = before.decode("utf-8") if before is not None else _DRAFTS_HEADER
    lines = [f"  - id: {draft_id}\n", "    questions:\n", f"      {lang}:\n"]
    lines.extend(f"        - {json.dumps(q, ensure_ascii=False)}\n" for q in questions)
    lines.append(f'    answer:\n      {lang}: ""  # to write\n')
    if not text.endswith("\n"):
        text += "\n"
    if re.search(r"^drafts:\s*\[\]\s*$", text, re.MULTILINE):
        text = re.sub(r"^drafts:\s*\[\]\s*$", "drafts:", text, count=1, flags=re.MULTILINE)
    after = (text + "".join(lines)).encode("utf-8")
    try:
        pyyaml.safe_load(after)
    except pyyaml.YAMLError as error:
        raise FaqWriteError(f"{path}: the drafts file would not be valid YAML: {error}") from None
    return PlannedChange(path, before, after, unified_diff(path, before, after, faq_dir))


# ----- checking and writing --------------------------------------------------------------


def _errors(settings: Settings, faq_dir: Path, affected_by: str | None = None) -> set[str]:
    loaded = build_knowledge(settings, faq_dir)
    warnings = lint_warnings(
        loaded,
        faq_dir,
        dated=settings.dated_answers,
        pending_links=settings.pending_links,
        affected_by=affected_by,
    )
    return {w.message for w in warnings if w.severity == "error"}


def validate(settings: Settings, faq_dir: Path, change: PlannedChange) -> None:
    """Load faq/ with the change applied, from a temporary copy; raise FaqWriteError if it
    does not load or lint finds an error the current files do not have."""
    with tempfile.TemporaryDirectory(prefix="faq-check-") as scratch:
        copy = Path(scratch) / faq_dir.name
        shutil.copytree(faq_dir, copy, ignore=shutil.ignore_patterns(".*"))
        target = copy / change.path.relative_to(faq_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        original = target.read_bytes() if target.exists() else None
        target.write_bytes(change.after)
        try:
            new = _errors(settings, copy, change.added_question)
        except KnowledgeBaseError as error:
            errors = tuple(p for p in error.problems if p.severity == "error")
            raise FaqWriteError("the FAQ files would not load after this change", errors) from None
        if new:
            # Only errors the change brings count: put the file back and lint again.
            if original is None:
                target.unlink()
            else:
                target.write_bytes(original)
            # If the files are broken already, the change at least loads.
            with contextlib.suppress(KnowledgeBaseError):
                new -= _errors(settings, copy, change.added_question)
        if new:
            raise FaqWriteError(
                "the change would make lint fail: " + "; ".join(sorted(new)),
                tuple(Problem(str(change.path), 0, message) for message in sorted(new)),
            )


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    # A dot name without .yaml: neither the loader nor the watcher takes it for a FAQ file.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def remove_file(path: Path) -> None:
    if path.exists():
        path.unlink()
