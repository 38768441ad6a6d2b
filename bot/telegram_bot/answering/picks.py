"""A "did you mean" pick: the button carries the question's id and a tag
("e:<entry>:<question id>:<tag>", see handlers.with_choice_ids); pressing it notes the pick
for learning (only the asker's press of an entry the bot offered: the tag proves both),
shows the entry and asks "Was this helpful?" for that question, so a 👎 cancels the pick."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.telegram_bot.answering.handlers import with_feedback_buttons
from bot.telegram_bot.shared.learning import learning_in
from bot.telegram_bot.shared.replies import send_reply
from bot.telegram_bot.shared.services import note_outcome, services, user_language

logger = logging.getLogger(__name__)

# "e:<entry>:<question id>[:<tag>]": a "did you mean" pick; "lr:<a|r|s>:<id>" and "lr:u"
# /learn's buttons; "lt:v:<ticket>:<entry>" and "lt:d:<ticket>" a ticket's buttons.
# The question id is the log's (URL-safe base64 of a few bytes): anything else is forged.
# The tag proves the bot offered the entry for that question to the person pressing it.
CHOICE_PATTERN = r"^e:[^:]+:[A-Za-z0-9_-]{1,32}(?::[A-Za-z0-9_-]{1,16})?\Z"


async def picked_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A "did you mean" choice: note it, then show the entry with "Was this helpful?"."""
    svc = services(context)
    query = update.callback_query
    if query is None:
        return
    parts = (query.data or "").split(":")
    if len(parts) not in (3, 4) or not all(parts):
        # PTB hands an empty button payload to every pattern; a forged one is ignored.
        await query.answer()
        return
    entry_id, question_id = parts[1], parts[2]
    tag = parts[3] if len(parts) == 4 else ""
    reply = svc.dialog.show_entry(entry_id, user_language(update, svc))
    learning = learning_in(context.bot_data)
    if reply.kind == "answer" and learning is not None and tag:
        # Shown to whoever pressed; counted only for the asker and an entry offered.
        await asyncio.to_thread(
            learning.store.record_pick,
            question_id,
            entry_id,
            user_id=query.from_user.id,
            tag=tag,
        )
    if reply.kind == "answer":
        reply = with_feedback_buttons(svc.dialog, reply, question_id)
    await query.answer()
    await send_reply(update, context, reply)
    note_outcome("choice", reply)


def register(application: Any) -> None:
    """The picks' handler: before answering's catch-all button handler."""
    application.add_handler(CallbackQueryHandler(picked_choice, pattern=CHOICE_PATTERN))
