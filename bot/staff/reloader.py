"""Safe hot reload of the knowledge base when staff edit faq/*.yaml.

The new knowledge base is loaded and validated in full before it is served; only then is it
swapped in, in one step (KnowledgeHolder.swap), so a question is answered from the old
version or the new one, never from a mixture. An edit with errors is rejected: the last good
version keeps answering, each problem is logged with its file and line, and `on_rejected`
tells the staff (the Telegram adapter messages the admins).

Editors save in steps (truncate, write, rename), so a reload can catch a file half written.
Before calling such an edit broken, the reloader waits for the files to settle: while they
keep changing it tries again, up to a few times. And it does not repeat itself: the same
problems are reported once, not on every save, until a good version loads.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from watchfiles import awatch

from bot.config import Settings
from bot.core.knowledge import KnowledgeBaseError, Problem
from bot.core.knowledge_state import KnowledgeHolder, LoadedKnowledge, build_knowledge

logger = logging.getLogger(__name__)

FAQ_SUFFIXES = (".yaml", ".yml")
# How long to wait for an editor to finish saving before calling an edit broken, and how
# many loads to try in all while the files keep changing.
SETTLE_DELAY_SECONDS = 1.0
SETTLE_ATTEMPTS = 3
# watchfiles groups changes until none has come for QUIET_MS, but for DEBOUNCE_MS at most,
# so one save (or a "save all") reloads once.
QUIET_MS = 400
DEBOUNCE_MS = 1600

ReloadStatus = Literal["reloaded", "unchanged", "rejected"]
# Callbacks may be plain functions or coroutines (`reload` and `watch` await the latter).
OnReloaded = Callable[[LoadedKnowledge], Awaitable[None] | None]
OnRejected = Callable[[tuple[Problem, ...]], Awaitable[None] | None]


@dataclass(frozen=True)
class ReloadResult:
    status: ReloadStatus
    served: LoadedKnowledge  # what answers questions after this attempt
    problems: tuple[Problem, ...] = ()  # the errors, when rejected
    reported: bool = False  # whether on_rejected was called (not for a repeat)

    @property
    def ok(self) -> bool:
        return self.status != "rejected"


def is_faq_file(path: str | Path) -> bool:
    """A knowledge-base file, not an editor's backup, swap or lock file (".#x.yaml")."""
    name = Path(path).name
    return name.endswith(FAQ_SUFFIXES) and not name.startswith((".", "#", "~"))


def faq_fingerprint(faq_dir: Path) -> str:
    """A digest of every FAQ file's name and content: equal digests, same knowledge base."""
    digest = hashlib.sha256()
    try:
        files = sorted(p for p in faq_dir.iterdir() if is_faq_file(p) and p.is_file())
    except OSError:
        return ""
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:  # removed or replaced while being read: a change in itself
            digest.update(b"\0unreadable\0")
        digest.update(b"\0")
    return digest.hexdigest()


class KnowledgeReloader:
    """Reloads faq/ into the holder on request (`reload_now`, `reload`) or on change (`watch`)."""

    def __init__(
        self,
        settings: Settings,
        holder: KnowledgeHolder,
        *,
        on_reloaded: OnReloaded | None = None,
        on_rejected: OnRejected | None = None,
        faq_dir: Path | None = None,
        settle_delay: float = SETTLE_DELAY_SECONDS,
        settle_attempts: int = SETTLE_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._holder = holder
        self._on_reloaded = on_reloaded
        self._on_rejected = on_rejected
        self.faq_dir = faq_dir or settings.faq_dir
        self._settle_delay = settle_delay
        self._settle_attempts = max(1, settle_attempts)
        self._sleep = sleep
        # One reload at a time: the watcher and an admin's /reload may ask at once.
        self._lock = threading.Lock()
        # Unknown at first: the holder's knowledge base was loaded by someone else.
        self._served_fingerprint: str | None = None
        self._last_reported: frozenset[Problem] | None = None

    # ----- reloading -------------------------------------------------------------------

    def reload_now(self) -> ReloadResult:
        """Load, validate and swap in faq/ now, blocking; callbacks run in this thread.

        Coroutine callbacks cannot be awaited here; from async code use `reload`.
        """
        result = self._load_and_swap()
        outcome = self._notify(result)
        if inspect.isawaitable(outcome):
            logger.warning("reload_now cannot await an async callback; use `await reload()`")
            if inspect.iscoroutine(outcome):
                outcome.close()
        return result

    async def reload(self) -> ReloadResult:
        """`reload_now` for the event loop: the loading runs in a worker thread, the
        callbacks run on the loop (and are awaited if they are coroutines)."""
        result = await asyncio.to_thread(self._load_and_swap)
        outcome = self._notify(result)
        if inspect.isawaitable(outcome):
            try:
                await outcome
            except Exception:
                logger.exception("the reload callback failed")
        return result

    def _load_and_swap(self) -> ReloadResult:
        with self._lock:
            fingerprint = faq_fingerprint(self.faq_dir)
            if fingerprint == self._served_fingerprint and self._last_reported is None:
                return ReloadResult("unchanged", self._holder.current)
            problems: tuple[Problem, ...] = ()
            for attempt in range(1, self._settle_attempts + 1):
                try:
                    loaded = build_knowledge(self._settings, self.faq_dir)
                except KnowledgeBaseError as error:
                    problems = _errors(error)
                    if attempt == self._settle_attempts:
                        break
                    self._sleep(self._settle_delay)
                    settled = faq_fingerprint(self.faq_dir)
                    if settled == fingerprint:
                        break  # nothing changed while waiting: the error is real
                    fingerprint = settled
                    continue
                self._holder.swap(loaded)
                self._served_fingerprint = fingerprint
                self._last_reported = None
                logger.info(
                    "knowledge base reloaded from %s: %d entries, %d warning(s)",
                    self.faq_dir,
                    len(loaded.knowledge),
                    len(loaded.knowledge.warnings),
                )
                return ReloadResult("reloaded", loaded)
            return self._reject(problems)

    def _reject(self, problems: tuple[Problem, ...]) -> ReloadResult:
        key = frozenset(problems)
        repeated = key == self._last_reported
        self._last_reported = key
        if repeated:
            logger.warning(
                "knowledge base still not reloaded: the same %d problem(s) as before",
                len(problems),
            )
        else:
            logger.error(
                "knowledge base not reloaded (%d problem(s)); still serving the last good version",
                len(problems),
            )
            for problem in problems:
                logger.error("%s", problem)
        return ReloadResult("rejected", self._holder.current, problems, reported=not repeated)

    def _notify(self, result: ReloadResult) -> Awaitable[None] | None:
        """Call the callback that fits the result; returns what it returned."""
        try:
            if result.status == "reloaded" and self._on_reloaded is not None:
                return self._on_reloaded(result.served)
            if result.reported and self._on_rejected is not None:
                return self._on_rejected(result.problems)
        except Exception:
            # A failed notification (say, Telegram unreachable) must not undo the reload.
            logger.exception("the reload callback failed")
        return None

    # ----- watching --------------------------------------------------------------------

    async def watch(self, stop_event: asyncio.Event) -> None:
        """Reload whenever a FAQ file changes, until `stop_event` is set."""
        logger.info("watching %s for changes to the FAQ files", self.faq_dir)
        async for changes in awatch(
            self.faq_dir,
            watch_filter=lambda _change, path: is_faq_file(path),
            debounce=DEBOUNCE_MS,
            step=QUIET_MS,
            stop_event=stop_event,
        ):
            names = sorted({Path(path).name for _change, path in changes})
            logger.info("FAQ files changed: %s", ", ".join(names))
            try:
                await self.reload()
            except Exception:
                # Keep watching: the next save may well load.
                logger.exception("reloading the knowledge base failed")
        logger.info("stopped watching %s", self.faq_dir)


def _errors(error: KnowledgeBaseError) -> tuple[Problem, ...]:
    errors = tuple(p for p in error.problems if p.severity == "error")
    return errors or error.problems
