"""Privacy: /forget deletes what the bot keeps about the user (every feature's forgetter)."""

from __future__ import annotations

from typing import Any

from telegram.ext import CommandHandler

from bot.telegram_bot.privacy import forget
from bot.telegram_bot.shared.addressing import NEW_MESSAGE
from bot.telegram_bot.shared.services import BotServices


def install(application: Any, svc: BotServices) -> None:
    """/forget deletes the question log's rows and the language choice (more join later)."""
    forget.add_default_forgetters(application, svc)


def register(application: Any) -> None:
    application.add_handler(CommandHandler("forget", forget.forget, filters=NEW_MESSAGE))
