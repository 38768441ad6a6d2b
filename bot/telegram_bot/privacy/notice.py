"""/privacy: what the bot keeps about the user, for how long, and /forget."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram_bot.shared.replies import send_reply
from bot.telegram_bot.shared.services import note_outcome, services, user_language


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/privacy: the notice in the user's language, figures from config.yaml."""
    svc = services(context)
    note_outcome("privacy")
    await send_reply(update, context, svc.dialog.privacy(user_language(update, svc)))
