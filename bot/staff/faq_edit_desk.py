"""Admins' edits of faq/ from Telegram: a whole file sent back, one answer, a `reviewed:`
date; each checked in a temporary copy, written atomically, recorded in the audit trail,
and undone byte for byte.

Planning (checking) and applying are separate steps, because the admin sees the outcome
before saying Apply; between the two, another admin or someone on the server may save the
same file. Every plan therefore carries the bytes it started from, and applying (or
planning from a file the admin fetched earlier) is refused when the file holds anything
else (bot.staff.faq_editing.EditConflict, with the change to merge by hand).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from bot.config import Settings
from bot.core.knowledge import Problem
from bot.staff.faq_edit_check import EditChecker
from bot.staff.faq_editing import (
    EditRefused,
    EntryChange,
    decoded_upload,
    ensure_unchanged,
    summarise_change,
    text_diff,
    topic_files,
    with_answer,
    with_reviewed,
)
from bot.staff.faq_writer import FaqWriteError, find_entry_file, remove_file, write_atomically
from bot.storage.audit import AuditRecord, AuditState, AuditStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedEdit:
    action: str  # upload, edit, reviewed
    name: str  # the file's name in faq/
    before: bytes | None  # what the file held when the edit started (None: a new file)
    after: bytes
    diff: str
    entry_id: str | None = None
    changes: tuple[EntryChange, ...] = ()  # for an upload: the entries it changes
    preview: str = ""  # for an answer: the text users will get (Telegram HTML)
    problems: tuple[Problem, ...] = ()  # lint's errors: a plan with some cannot be applied


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FaqEditDesk:
    def __init__(
        self,
        settings: Settings,
        audit: AuditStore | None,
        *,
        faq_dir: Path | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.faq_dir = Path(faq_dir or settings.faq_dir)
        self._clock = clock
        # The real time, as lint's (not `clock`): the same verdicts as a check from the shell.
        self._checker = EditChecker(settings, self.faq_dir)
        # One write at a time: the check that the file is unchanged and the write that
        # follows it must not interleave with another admin's.
        self._writing = threading.Lock()

    def now(self) -> datetime:
        return self._clock()

    def today(self) -> date:
        """Today in the agency's time zone (the day `reviewed:` gets)."""
        return self._clock().astimezone(self.settings.dated_answers.zone).date()

    # ----- reading -----------------------------------------------------------------------

    def file_names(self) -> list[str]:
        return [path.name for path in topic_files(self.faq_dir)]

    def read(self, name: str) -> bytes:
        if name not in self.file_names():
            raise EditRefused(f"no file {name!r} in faq/")
        return (self.faq_dir / name).read_bytes()

    def entry_file(self, entry_id: str) -> str:
        try:
            return find_entry_file(self.faq_dir, entry_id).name
        except FaqWriteError as error:
            raise EditRefused(str(error)) from None

    def answers_of(self, entry_id: str) -> tuple[str, dict[str, str]]:
        """The file holding entry `entry_id` and its answers as written there (placeholders
        and tags as staff typed them)."""
        name = self.entry_file(entry_id)
        data = yaml.safe_load((self.faq_dir / name).read_text(encoding="utf-8"))
        for item in data.get("entries") or []:
            if isinstance(item, dict) and item.get("id") == entry_id:
                answers = item.get("answer")
                if isinstance(answers, dict):
                    return name, {str(k): str(v) for k, v in answers.items()}
        raise EditRefused(f"entry {entry_id!r} has no answer in {name}")

    def history(self, limit: int) -> list[AuditRecord]:
        return self.audit.history(limit) if self.audit is not None else []

    # ----- planning ----------------------------------------------------------------------

    def plan_upload(
        self, name: str, data: bytes, lang: str, *, fetched: bytes | None = None
    ) -> PlannedEdit:
        """`data` in place of faq/`name` (or as a new file), checked. `fetched`: the file
        as the admin got it from the bot, if they did: it must still be what faq/ holds."""
        text = decoded_upload(name, data)
        path = self.faq_dir / name
        before = path.read_bytes() if path.exists() else None
        if fetched is not None:
            ensure_unchanged(path, fetched, name)
        if before == data:
            raise EditRefused(f"{name} is the same as the file in faq/: nothing to change")
        problems, _loaded = self._checker.check(name, data)
        old_text = before.decode("utf-8", "replace") if before is not None else None
        return PlannedEdit(
            "upload",
            name,
            before,
            data,
            text_diff(name, before, data),
            changes=tuple(summarise_change(old_text, text, lang)),
            problems=problems,
        )

    def plan_answer(
        self, entry_id: str, lang: str, answer: str, *, started_from: bytes
    ) -> PlannedEdit:
        """Entry `entry_id`'s answer in `lang` replaced, `reviewed:` set to today."""
        name = self.entry_file(entry_id)
        path = self.faq_dir / name
        ensure_unchanged(path, started_from, name)
        after = with_answer(
            started_from.decode("utf-8"), entry_id, lang, answer.strip(), self.today()
        ).encode("utf-8")
        problems, knowledge = self._checker.check(name, after)
        preview = ""
        entry = knowledge.entry(entry_id) if knowledge is not None else None
        if entry is not None:
            preview, _lang = entry.answer(lang, self.settings.pending_links)
        return PlannedEdit(
            "edit",
            name,
            started_from,
            after,
            text_diff(name, started_from, after),
            entry_id=entry_id,
            preview=preview,
            problems=problems,
        )

    def plan_reviewed(self, entry_id: str) -> PlannedEdit:
        name = self.entry_file(entry_id)
        before = (self.faq_dir / name).read_bytes()
        after = with_reviewed(before.decode("utf-8"), entry_id, self.today()).encode("utf-8")
        problems, _knowledge = self._checker.check(name, after)
        return PlannedEdit(
            "reviewed",
            name,
            before,
            after,
            text_diff(name, before, after),
            entry_id=entry_id,
            problems=problems,
        )

    # ----- writing -----------------------------------------------------------------------

    def apply(self, plan: PlannedEdit, changed_by: str) -> int:
        """Write the plan's file (atomically) if faq/ still holds what the plan started
        from; returns the audit record's id, which undo takes."""
        if plan.problems:
            raise EditRefused("the file has errors; nothing was saved", plan.problems)
        audit = self._audit()
        path = self.faq_dir / plan.name
        with self._writing:
            self.settle()
            ensure_unchanged(path, plan.before, plan.name)
            change_id = audit.begin(
                plan.action,
                path,
                plan.before,
                plan.after,
                plan.diff,
                changed_by=changed_by,
                entry_id=plan.entry_id,
            )
            write_atomically(path, plan.after)
            audit.finish(change_id, "applied")
        logger.info("faq: %s of %s by %s:\n%s", plan.action, plan.name, changed_by, plan.diff)
        return change_id

    def undo(self, change_id: int, changed_by: str) -> AuditRecord:
        """Put the file back as it was before change `change_id`, byte for byte, unless it
        was edited since (then EditConflict, with that edit)."""
        audit = self._audit()
        with self._writing:
            self.settle()
            change = audit.change(change_id)
            if change is None or change.action == "undo" or change.after is None:
                raise EditRefused("there is no such change to undo")
            if change.state == "undone":
                raise EditRefused("this change was undone already")
            ensure_unchanged(change.path, change.after, change.path.name)
            diff = text_diff(change.path.name, change.after, change.before)
            undo_id = audit.begin(
                "undo",
                change.path,
                change.after,
                change.before,
                diff,
                changed_by=changed_by,
                entry_id=change.entry_id,
                undoes=change.id,
            )
            if change.before is None:
                remove_file(change.path)
            else:
                write_atomically(change.path, change.before)
            audit.finish(undo_id, "applied")
        logger.info("faq: undid change %d of %s by %s", change_id, change.path.name, changed_by)
        found = audit.change(undo_id)
        assert found is not None
        return found

    def _audit(self) -> AuditStore:
        if self.audit is None:
            raise EditRefused(
                "changes need the question log's database (for the audit trail and undo), "
                "which cannot be used now; see the bot's log"
            )
        return self.audit

    def settle(self) -> None:
        """Settle changes the bot stopped in the middle of, by what the file holds now."""
        if self.audit is None:
            return
        for change in self.audit.unsettled():
            current = change.path.read_bytes() if change.path.exists() else None
            state: AuditState = "applied" if current == change.after else "abandoned"
            self.audit.finish(change.id, state)
            logger.warning("faq: change %d was interrupted; now %s", change.id, state)
