"""Builds the core once for every adapter: settings -> knowledge -> matcher -> dialog."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder, build_knowledge
from bot.core.locales import load_locales


def build_dialog(
    settings: Settings, faq_dir: Path | None = None, bot_username: str = ""
) -> tuple[Dialog, KnowledgeHolder]:
    """The dialog over a freshly loaded knowledge base. Raises KnowledgeBaseError."""
    holder = KnowledgeHolder(build_knowledge(settings, faq_dir))
    dialog = Dialog(
        settings,
        load_locales(settings.languages),
        lambda: holder.current,
        bot_username=bot_username,
    )
    return dialog, holder
