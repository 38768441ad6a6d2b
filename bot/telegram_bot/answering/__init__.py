"""Answering: questions in words, "did you mean" picks, buttons, browsing the topics, inline
mode and the menu commands (/start, /topics, /contact, /register, /language, /help)."""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackQueryHandler, CommandHandler, InlineQueryHandler, MessageHandler
from telegram.ext import filters as tg_filters

from bot.telegram_bot.answering import handlers, picks
from bot.telegram_bot.shared.addressing import ADDRESSED, NEW_MESSAGE


def register(application: Any) -> None:
    """The menu commands and the picks' buttons (before the catch-alls of every feature)."""
    picks.register(application)
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=NEW_MESSAGE),
            CommandHandler(["topics", "faq"], handlers.topics, filters=NEW_MESSAGE),
            CommandHandler("contact", handlers.contact, filters=NEW_MESSAGE),
            CommandHandler("register", handlers.register, filters=NEW_MESSAGE),
            CommandHandler("language", handlers.language, filters=NEW_MESSAGE),
            CommandHandler("help", handlers.help_command, filters=NEW_MESSAGE),
        ]
    )


def register_catch_alls(application: Any) -> None:
    """What no feature took: unknown commands get /help, words are questions, anything else
    is a message the bot cannot read; any button left, and inline queries. Call last."""
    application.add_handlers(
        [
            MessageHandler(
                NEW_MESSAGE & tg_filters.COMMAND & tg_filters.ChatType.PRIVATE,
                handlers.help_command,
            ),
            MessageHandler(
                NEW_MESSAGE & tg_filters.TEXT & ~tg_filters.COMMAND & ADDRESSED, handlers.question
            ),
            MessageHandler(
                NEW_MESSAGE & ~tg_filters.TEXT & ~tg_filters.StatusUpdate.ALL & ADDRESSED,
                handlers.unsupported,
            ),
            CallbackQueryHandler(handlers.button),
            InlineQueryHandler(handlers.inline_query),
        ]
    )
