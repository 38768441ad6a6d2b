"""The FAQ desk's check of a changed file, doing only what the change can affect.

`faq_editing.check_with_file` loads and lints the whole of faq/ from scratch for every
check (1.4-1.8 s on the ASCS base on a busy machine). `EditChecker.check` gives the same
verdicts with less work:

- Every file is parsed once: unchanged files' YAML (node tree and data) is kept by the
  digest of their text, starting from the knowledge cache's (what the bot's start-up
  read), so a check reads only the changed file again. The whole base is still assembled
  from every file, so ids, links, placeholders, HTML and the schema are checked across it
  as loading checks them.
- Lint's errors (a question taken over by another entry, a synonym group that makes two
  entries' questions the same) are a function of what matching reads: each entry's id,
  questions, `covers:` and `expires:` (in order), the synonyms glossary and the day. An
  /edit of an answer or a `reviewed:` date (`with_answer`/`with_reviewed` refuse any other
  change) leaves all of them as they were, and so does a sent file that changes only
  answers, links, dates or comments. When faq/ as it stands loads and lints without an
  error, such a change has lint errors only if it has load errors, and loading is all the
  check does: no index, no self-test. Whether faq/ is clean is found once per state of its
  files (and per day, as `expires:` days end) and remembered.
- Any other change (a question added, changed or removed, an entry added or removed, the
  glossary) is linted in full. The matcher scores with BM25, whose weights count every
  entry, so one changed question can change any other question's result: no part of the
  self-test is provably unaffected by it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Hashable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.core.knowledge import KnowledgeBase, KnowledgeBaseError, Problem, load_knowledge_base
from bot.core.knowledge_state import build_knowledge
from bot.core.matcher import utc_now
from bot.core.synonyms import SYNONYMS_FILE
from bot.staff.lint import lint_warnings
from bot.storage.knowledge_cache import kept_parses

# States of faq/ remembered as clean: the current one and a few it may go back to (undo).
_REMEMBERED_STATES = 16


def _errors(problems: list[Problem] | tuple[Problem, ...]) -> tuple[Problem, ...]:
    return tuple(p for p in problems if p.severity == "error")


def matching_inputs(knowledge: KnowledgeBase) -> Hashable:
    """What matching, and so lint's errors, read from a knowledge base besides the glossary
    file and the settings: two bases with equal inputs get the same lint errors."""
    return (
        knowledge.languages,
        tuple(
            (
                entry.id,
                tuple((lang, tuple(texts)) for lang, texts in entry.questions.items()),
                tuple(entry.covers),
                entry.expires_at,
            )
            for entry in knowledge.entries
        ),
    )


class EditChecker:
    """Checks a new version of one file of `faq_dir` against the rest (the folder itself is
    never written: each check works in a temporary copy)."""

    def __init__(
        self,
        settings: Settings,
        faq_dir: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.faq_dir = faq_dir
        self._clock = clock
        # Starts from what the bot's own load read (the knowledge cache), if it kept it.
        self._parsed: dict[str, tuple[Any, Any]] = kept_parses(settings)
        # A state of faq/ (files and day) -> its matching inputs if it has no error, else None.
        self._clean: dict[str, Hashable | None] = {}
        self._checking = threading.Lock()

    def check(self, name: str, after: bytes) -> tuple[tuple[Problem, ...], KnowledgeBase | None]:
        """faq/ with `after` in place of faq/`name`: (the errors loading and linting the
        whole of it would report, the knowledge base as it would be served; None if it
        would not load)."""
        # Admins' plans run in worker threads: one check at a time uses what is kept.
        with self._checking:
            return self._check(name, after)

    def _check(self, name: str, after: bytes) -> tuple[tuple[Problem, ...], KnowledgeBase | None]:
        base = self._base_inputs() if name != SYNONYMS_FILE else None
        with tempfile.TemporaryDirectory(prefix="faq-edit-") as scratch:
            copy = scratch_copy(self.faq_dir, Path(scratch), name, after)
            if base is None:
                return self._full_check(copy)
            try:
                knowledge = self._load(copy)
            except KnowledgeBaseError as error:
                return _errors(error.problems), None
            inputs = matching_inputs(knowledge)
            if inputs != base:
                return self._full_check(copy)
            problems = _errors(knowledge.warnings)
            if not problems:
                self._remember(self._state(copy), inputs)
        return problems, knowledge

    # ----- the parts ---------------------------------------------------------------------

    def _load(self, folder: Path) -> KnowledgeBase:
        settings = self.settings
        if len(self._parsed) > 2 * sum(1 for _ in folder.iterdir()) + _REMEMBERED_STATES:
            self._parsed.clear()  # mostly old versions of files: the next load reads anew
        return load_knowledge_base(
            folder,
            placeholders={lang: settings.placeholders(lang) for lang in settings.languages},
            link_names=frozenset(settings.links),
            time_zone=settings.dated_answers.zone,
            languages=settings.languages,
            parsed_texts=self._parsed,
        )

    def _full_check(self, folder: Path) -> tuple[tuple[Problem, ...], KnowledgeBase | None]:
        """What check_with_file does, with unchanged files' parse kept."""
        try:
            loaded = build_knowledge(
                self.settings, folder, clock=self._clock, parsed_texts=self._parsed
            )
        except KnowledgeBaseError as error:
            return _errors(error.problems), None
        warnings = lint_warnings(
            loaded,
            folder,
            dated=self.settings.dated_answers,
            pending_links=self.settings.pending_links,
        )
        problems = _errors(warnings)
        if not problems:
            self._remember(self._state(folder), matching_inputs(loaded.knowledge))
        return problems, loaded.knowledge

    def _base_inputs(self) -> Hashable | None:
        """The matching inputs of faq/ as it stands if it loads and lints without an error
        (found once per state of its files and day), else None."""
        state = self._state(self.faq_dir)
        if state not in self._clean:
            problems, _knowledge = self._full_check(self.faq_dir)
            if problems:
                self._remember(state, None)
        return self._clean.get(state)

    def _state(self, folder: Path) -> str:
        """The files of `folder` (names and contents) and today in the agency's time zone:
        an entry's `expires:` day ends at midnight there, which changes lint's findings."""
        digest = hashlib.sha256(self._today().isoformat().encode())
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                digest.update(path.name.encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def _today(self) -> date:
        return self._clock().astimezone(self.settings.dated_answers.zone).date()

    def _remember(self, state: str, inputs: Hashable | None) -> None:
        self._clean.pop(state, None)
        self._clean[state] = inputs
        while len(self._clean) > _REMEMBERED_STATES:
            del self._clean[next(iter(self._clean))]


def scratch_copy(faq_dir: Path, scratch: Path, name: str, after: bytes) -> Path:
    """faq/ copied into `scratch` (same folder name, so problems name files alike), with
    `after` as its `name`."""
    copy = scratch / faq_dir.name
    shutil.copytree(faq_dir, copy, ignore=shutil.ignore_patterns(".*"))
    (copy / name).write_bytes(after)
    return copy
