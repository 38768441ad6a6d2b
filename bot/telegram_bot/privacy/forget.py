"""/forget: delete what the bot keeps about the user, then confirm.

Each part that keeps something about users adds a forgetter (`add_forgetter`); /forget runs
them all, in the order added: the question log (found by the keyed hash), the language
choice, hand-off tickets, and whatever joins later.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram_bot.shared.forgetting import add_forgetter, forgetters_in
from bot.telegram_bot.shared.services import BotServices, note_outcome, services, user_language

logger = logging.getLogger(__name__)


def add_default_forgetters(application: Any, svc: BotServices) -> None:
    """The question log's rows and the language choice."""
    log_forget = getattr(svc.question_log, "forget_user", None)
    if callable(log_forget):

        async def forget_questions(user_id: int) -> None:
            await asyncio.to_thread(log_forget, user_id)

        add_forgetter(application, forget_questions)

    async def forget_preferences(user_id: int) -> None:
        await asyncio.to_thread(svc.prefs.forget, user_id)

    add_forgetter(application, forget_preferences)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget: every forgetter runs before the user is told it is done."""
    svc = services(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    lang = user_language(update, svc)  # before the choice is forgotten
    note_outcome("forget")
    failed = 0
    for forgetter in forgetters_in(context.bot_data):
        try:
            await forgetter(user.id)
        except Exception:  # one store down must not keep the others from forgetting
            failed += 1
            logger.exception("/forget: one part could not be deleted")
    # What handlers keep about the user in memory (python-telegram-bot's user_data) too.
    context.application.drop_user_data(user.id)
    done = "forgotten" if not failed else "forget_incomplete"
    await message.reply_text(svc.dialog.locales.text(lang, done))
