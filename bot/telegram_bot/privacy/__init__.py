"""Privacy: /privacy says what the bot keeps about the user and for how long; /forget
deletes it (every feature's forgetter)."""

from __future__ import annotations

from typing import Any

from telegram.ext import CommandHandler

from bot.telegram_bot.privacy import forget, notice
from bot.telegram_bot.shared.addressing import NEW_MESSAGE
from bot.telegram_bot.shared.services import BotServices


def install(application: Any, svc: BotServices) -> None:
    """/forget deletes the question log's rows and the language choice (more join later)."""
    forget.add_default_forgetters(application, svc)


def register(application: Any) -> None:
    application.add_handlers(
        [
            CommandHandler("forget", forget.forget, filters=NEW_MESSAGE),
            CommandHandler("privacy", notice.privacy, filters=NEW_MESSAGE),
        ]
    )
