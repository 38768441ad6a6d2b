"""Under the first staff reply to a ticket: "add the question as a variant of <entry>" (for
each entry the bot had offered) and "draft a new entry"."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.staff.learning import has_personal_data
from bot.staff.learning_desk import LearnError
from bot.storage.question_log import clean_question_text
from bot.storage.tickets import Ticket
from bot.telegram_bot.handoff.state import handoff_in, is_current_member
from bot.telegram_bot.shared.learning import (
    accepted_text,
    learning_in,
    refused,
    served_now,
    staff_text,
)
from bot.telegram_bot.shared.replies import callback_answer
from bot.telegram_bot.shared.services import note_outcome, services, user_language

logger = logging.getLogger(__name__)

TICKET_ENTRIES = 3


ROW_ID_DIGITS = 18


async def offer_ticket_learning(
    context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, staff_message: Message
) -> None:
    """Under the first staff reply to a ticket: buttons that teach the bot its question."""
    learning = learning_in(context.bot_data)
    if learning is None or learning.desk is None or ticket.first_staff_reply_at is not None:
        return
    svc = services(context)
    lang = svc.dialog.settings.default_language
    knowledge = svc.knowledge.current.knowledge
    rows = []
    for entry_id, _score in _offered(ticket):
        entry = knowledge.entry(str(entry_id))
        if entry is not None:
            label = staff_text(svc, lang, "learn_ticket_variant", entry=entry.title(lang))
            rows.append([InlineKeyboardButton(label, callback_data=f"lt:v:{ticket.id}:{entry.id}")])
    rows.append(
        [
            InlineKeyboardButton(
                staff_text(svc, lang, "learn_ticket_draft"), callback_data=f"lt:d:{ticket.id}"
            )
        ]
    )
    await staff_message.reply_text(
        staff_text(svc, lang, "learn_ticket_prompt", ticket=str(ticket.id)),
        reply_markup=InlineKeyboardMarkup(rows),
    )


def _offered(ticket: Ticket) -> list[tuple[Any, Any]]:
    found = ticket.offered.get("candidates", [])
    if not isinstance(found, list):
        return []
    return [
        tuple(pair)
        for pair in found[:TICKET_ENTRIES]
        if isinstance(pair, (list, tuple)) and len(pair) == 2
    ]


def is_row_id(text: str) -> bool:
    """A database id in button data: ASCII digits that fit SQLite's 64-bit integer."""
    return text.isascii() and text.isdigit() and len(text) <= ROW_ID_DIGITS


async def ticket_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Add as a variant of <entry>" or "Draft a new entry", pressed in the staff group."""

    svc = services(context)
    query = update.callback_query
    learning, handoff = learning_in(context.bot_data), handoff_in(context.bot_data)
    if query is None:
        return
    message = query.message
    if (
        learning is None
        or learning.desk is None
        or handoff is None
        or not isinstance(message, Message)
        or message.chat.type == ChatType.PRIVATE
        or message.chat.id != handoff.settings.staff_chat_id
    ):
        await query.answer()
        return
    # The buttons write into faq/: a past member or a viewer of a public group may not.
    if query.from_user.id not in svc.dialog.settings.telegram.admin_ids and not (
        await is_current_member(context.bot, handoff, query.from_user, live=True)
    ):
        note_outcome("staff_group_ignored")
        await query.answer()
        return
    lang = svc.dialog.settings.default_language
    parts = (query.data or "").split(":")
    ticket = (
        await asyncio.to_thread(handoff.store.ticket, int(parts[2]))
        if len(parts) >= 3 and is_row_id(parts[2])
        else None
    )
    note_outcome("staff_learn_ticket")
    if ticket is None or not ticket.question:
        await query.answer(
            callback_answer(staff_text(svc, lang, "learn_ticket_gone")), show_alert=True
        )
        return
    offered = {str(entry_id) for entry_id, _ in _offered(ticket)}
    if parts[1] not in ("v", "d") or (
        parts[1] == "v" and (len(parts) != 4 or parts[3] not in offered)
    ):
        await query.answer()  # forged: only the entries the bot offered have buttons
        return
    text = clean_question_text(ticket.question)
    if has_personal_data(text):
        await query.answer(
            callback_answer(staff_text(svc, lang, "learn_ticket_personal")), show_alert=True
        )
        return
    try:
        if parts[1] == "v" and len(parts) == 4:
            accepted = await asyncio.to_thread(
                learning.desk.add_question, parts[3], ticket.lang, text, "telegram"
            )
        else:
            accepted = await asyncio.to_thread(
                learning.desk.draft_entry, ticket.lang, text, "telegram"
            )
    except LearnError as error:
        await refused(svc, lang, query, message, error)
        return
    await served_now(svc, (query.from_user.id, user_language(update, svc)))
    await query.answer()
    await query.edit_message_text(accepted_text(svc, lang, accepted))
