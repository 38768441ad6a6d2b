"""Before and after every handler: the flood gate (group -2) and the error handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.telegram_bot.shared.replies import callback_answer, send_reply
from bot.telegram_bot.shared.services import note_outcome, services, user_language

logger = logging.getLogger(__name__)


async def flood_gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs first: a user over the flood limit gets one notice, then is ignored a while.
    Inline queries have an allowance of their own and get no notice (there is no chat to
    send it to): they go unanswered until the user slows down."""
    svc = services(context)
    user = update.effective_user
    if user is None:
        return
    inline = update.inline_query is not None
    verdict = svc.flood.check_inline(user.id) if inline else svc.flood.check(user.id)
    if verdict == "allow":
        return
    note_outcome("throttled")
    if verdict == "notify" and not inline:
        notice = svc.dialog.flood_notice(user_language(update, svc))
        if update.callback_query is not None:
            await update.callback_query.answer(callback_answer(notice.text), show_alert=True)
        else:
            await send_reply(update, context, notice)
        note_outcome("flood_notice", notice)
    elif update.callback_query is not None:
        await update.callback_query.answer()  # ignored, but its spinner stops
    raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any error a callback raised, with its traceback; the bot carries on."""
    note_outcome("error")
    if isinstance(context.error, Forbidden):
        # The user blocked the bot or the bot left the group: nothing to fix, nothing to retry.
        logger.warning("Telegram refused to deliver a reply: %s", context.error)
        return
    logger.error("error while handling an update", exc_info=context.error)
