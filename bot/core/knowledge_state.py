"""The knowledge base currently served, swapped atomically on reload.

A question is answered from one `LoadedKnowledge` snapshot taken at its start, so it sees
the old knowledge base or the new one, never a half-loaded one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.core.knowledge import KnowledgeBase, load_knowledge_base
from bot.core.matcher import Matcher, utc_now


@dataclass(frozen=True)
class LoadedKnowledge:
    knowledge: KnowledgeBase
    matcher: Matcher
    loaded_at: float = field(default_factory=time.time)


def build_knowledge(
    settings: Settings,
    faq_dir: Path | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    parsed_texts: MutableMapping[str, tuple[Any, Any]] | None = None,
) -> LoadedKnowledge:
    """Load and validate the FAQ folder and index it. Raises KnowledgeBaseError.

    `clock` (aware datetimes; default: the real time) decides when dated entries expire;
    `parsed_texts` is load_knowledge_base's store of files already read.
    """
    knowledge = load_knowledge_base(
        faq_dir or settings.faq_dir,
        placeholders={lang: settings.placeholders(lang) for lang in settings.languages},
        link_names=frozenset(settings.links),
        time_zone=settings.dated_answers.zone,
        languages=settings.languages,
        parsed_texts=parsed_texts,
    )
    return LoadedKnowledge(knowledge, Matcher(knowledge, settings.matching, clock=clock or utc_now))


class KnowledgeHolder:
    """Owns the served snapshot; readers take `current`, a reload calls `swap`."""

    def __init__(self, initial: LoadedKnowledge) -> None:
        self._current = initial
        self._lock = threading.Lock()

    @property
    def current(self) -> LoadedKnowledge:
        return self._current  # a single attribute read: atomic

    def swap(self, new: LoadedKnowledge) -> LoadedKnowledge:
        """Serve `new` from now on; returns the snapshot it replaced."""
        with self._lock:
            old, self._current = self._current, new
        return old
