"""Builds the core once for every adapter: settings -> knowledge -> matcher -> dialog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder, LoadedKnowledge, build_knowledge
from bot.core.locales import load_locales
from bot.core.matcher import utc_now


def build_dialog(
    settings: Settings,
    faq_dir: Path | None = None,
    bot_username: str = "",
    *,
    clock: Callable[[], datetime] = utc_now,
    loaded: LoadedKnowledge | None = None,
) -> tuple[Dialog, KnowledgeHolder]:
    """The dialog over a freshly loaded knowledge base (or `loaded`, already loaded).
    Raises KnowledgeBaseError.

    `clock` (default: the real time) decides when entries with an `expires:` day stop.
    """
    holder = KnowledgeHolder(loaded or build_knowledge(settings, faq_dir, clock=clock))
    dialog = Dialog(
        settings,
        load_locales(settings.languages),
        lambda: holder.current,
        bot_username=bot_username,
        clock=clock,
    )
    return dialog, holder
