"""Acting on suggestions: list, accept (write into faq/), reject, undo.

Shared by `python -m bot learn` and the admins' /learn in Telegram, so both behave the same.
An accepted suggestion is recorded (with the file's bytes before and after) before the file
is replaced and settled after; a kill -9 in between is settled on the next use by looking
at the file (`settle`). Undo puts back the exact bytes of before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.core.knowledge_state import LoadedKnowledge
from bot.staff.faq_writer import (
    FaqWriteError,
    PlannedChange,
    plan_draft,
    plan_variant,
    remove_file,
    unified_diff,
    validate,
    write_atomically,
)
from bot.staff.learning import Suggestion, collect_signals, suggest, suggestion_id
from bot.staff.report import QuestionSource
from bot.storage.learning_store import Change, ChangeState, LearningStore

logger = logging.getLogger(__name__)


class LearnError(RuntimeError):
    """A suggestion cannot be acted on; the message says why, for staff."""


@dataclass(frozen=True)
class Accepted:
    suggestion: Suggestion
    path: Path
    diff: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LearningDesk:
    def __init__(
        self,
        settings: Settings,
        store: LearningStore,
        source: QuestionSource,
        knowledge: Callable[[], LoadedKnowledge],
        *,
        faq_dir: Path | None = None,
        flush: Callable[[], object] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.source = source
        self.knowledge = knowledge
        self.faq_dir = Path(faq_dir or settings.faq_dir)
        self._flush = flush
        self._clock = clock
        # One change at a time: two admins accepting at once must not both plan from the
        # same old file (the second would then be refused as "changed meanwhile").
        self._changing = threading.Lock()

    # ----- reading ---------------------------------------------------------------------

    def suggestions(self) -> list[Suggestion]:
        """Open suggestions, most people first (accepted and rejected ones left out)."""
        self.settle()
        if self._flush is not None:
            self._flush()  # questions still queued for the log count too
        since = self._clock() - timedelta(days=self.settings.learning.period_days)
        signals = collect_signals(
            self.source.questions(since), self.store.choices(since), self.settings.learning
        )
        closed = [sid for sid, d in self.store.decided().items() if d != "undone"]
        return suggest(signals, self.knowledge(), self.settings.learning, closed=closed)

    def find(self, identifier: str) -> Suggestion:
        found = next((s for s in self.suggestions() if s.id == identifier), None)
        if found is None:
            raise LearnError(
                f"no open suggestion {identifier!r}: it was accepted or rejected already, "
                "or is no longer suggested (see `python -m bot learn`)"
            )
        return found

    # ----- deciding --------------------------------------------------------------------

    def accept(self, identifier: str, decided_by: str) -> Accepted:
        """Write the suggestion into faq/ (a variant into its entry's file, a new entry
        into the drafts file), checked first; raises LearnError if it cannot be."""
        return self.apply(self.find(identifier), decided_by)

    def apply(self, suggestion: Suggestion, decided_by: str) -> Accepted:
        with self._changing:
            return self._apply(suggestion, decided_by)

    def _apply(self, suggestion: Suggestion, decided_by: str) -> Accepted:
        try:
            if suggestion.kind == "variant":
                assert suggestion.entry_id is not None
                plan = plan_variant(
                    self.faq_dir, suggestion.entry_id, suggestion.lang, suggestion.text
                )
                validate(self.settings, self.faq_dir, plan)
            else:
                plan = plan_draft(
                    self.faq_dir,
                    f"draft-{suggestion.id}",
                    suggestion.lang,
                    list(suggestion.samples),
                )
        except FaqWriteError as error:
            details = "; ".join(str(problem) for problem in error.problems)
            raise LearnError(f"{error}{': ' + details if details else ''}") from None
        self._write(suggestion, plan, decided_by)
        logger.info(
            "learn: accepted %s (%s) by %s:\n%s",
            suggestion.id,
            suggestion.kind,
            decided_by,
            plan.diff,
        )
        return Accepted(suggestion, plan.path, plan.diff)

    def _write(self, suggestion: Suggestion, plan: PlannedChange, decided_by: str) -> None:
        current = plan.path.read_bytes() if plan.path.exists() else None
        if current != plan.before:
            raise LearnError(f"{plan.path} changed while the edit was prepared; try again")
        change_id = self.store.begin_change(
            suggestion.id,
            plan.path,
            plan.before,
            plan.after,
            plan.diff,
            decision=_fields(suggestion, decided_by),
        )
        write_atomically(plan.path, plan.after)
        self.store.set_state(change_id, "applied")

    def reject(self, identifier: str, decided_by: str) -> Suggestion:
        """Never offer the suggestion again."""
        found = self.find(identifier)
        self.store.record_decision(found.id, "rejected", _fields(found, decided_by))
        logger.info("learn: rejected %s by %s", found.id, decided_by)
        return found

    def undo(self) -> Change:
        """Put back the file as it was before the last accepted change still in place.

        The returned change's diff is what the undo did (the accepted lines taken out),
        not the accept's own diff."""
        with self._changing:
            return self._undo()

    def _undo(self) -> Change:
        self.settle()
        change = self.store.last_applied()
        if change is None:
            raise LearnError("nothing to undo: no accepted change is in place")
        current = change.path.read_bytes() if change.path.exists() else None
        if current != change.after:
            raise LearnError(
                f"{change.path} was edited after the change was accepted; undo it by hand "
                f"(the change was:\n{change.diff})"
            )
        self.store.set_state(change.id, "undoing")
        if change.before is None:
            remove_file(change.path)
        else:
            write_atomically(change.path, change.before)
        self.store.end_change(change, "undone")
        reverse = unified_diff(change.path, change.after, change.before or b"", self.faq_dir)
        logger.info("learn: undid change %d (%s):\n%s", change.id, change.path, reverse)
        return replace(change, diff=reverse)

    # ----- ties from hand-off tickets ---------------------------------------------------

    def add_question(self, entry_id: str, lang: str, text: str, decided_by: str) -> Accepted:
        """Add a question staff answered in a ticket as a variant of `entry_id`."""
        suggestion = Suggestion(
            suggestion_id("variant", entry_id, lang, text),
            "variant",
            entry_id,
            lang,
            text,
            1,
            1,
            (text,),
        )
        return self.apply(suggestion, decided_by)

    def draft_entry(self, lang: str, text: str, decided_by: str) -> Accepted:
        """Put a question into the drafts file as a new entry for staff to finish."""
        suggestion = Suggestion(
            suggestion_id("entry", None, lang, text), "entry", None, lang, text, 1, 1, (text,)
        )
        return self.apply(suggestion, decided_by)

    # ----- after a crash ---------------------------------------------------------------

    def settle(self) -> None:
        """Settle changes the bot stopped in the middle of, by what the file holds now."""
        for change in self.store.unsettled():
            current = change.path.read_bytes() if change.path.exists() else None
            state: ChangeState
            if change.state == "writing":
                state = "applied" if current == change.after else "abandoned"
            else:  # undoing
                state = "undone" if current == change.before else "applied"
            if state == "applied":
                self.store.set_state(change.id, "applied")
            else:
                self.store.end_change(change, state)
            logger.warning("learn: change %d was interrupted; now %s", change.id, state)


def _fields(suggestion: Suggestion, decided_by: str) -> dict[str, str | None]:
    return {
        "kind": suggestion.kind,
        "entry_id": suggestion.entry_id,
        "lang": suggestion.lang,
        "text": suggestion.text,
        "decided_by": decided_by,
    }
