"""Ask the agency: the staff group's side.

Every ticket gets a card in the configured group: its own forum topic when topics are on,
otherwise one message that staff reply to. Whatever a member of the group writes in a
ticket's topic (or as a reply to one of its messages) is copied to the user, in any form
(text, document, photo), under a line saying it is from the agency. Commands in a ticket:
/close, /reopen, /block (the user's questions no longer reach staff; they are not told) and
/unblock.

Only the configured group is listened to, and in it only its members: bots, channels and
people who are not (or no longer) members are ignored. Nothing of a ticket is posted
anywhere else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.dialog import Dialog
from bot.storage.tickets import Ticket
from bot.telegram_bot.handoff.staff_posts import (
    after_close,
    correct_for_user,
    relay_to_user,
    set_topic,
    tell_staff,
    tell_staff_here,
    tell_user,
)
from bot.telegram_bot.handoff.state import (
    Handoff,
    handoff_in,
    is_current_member,
    note_membership,
)
from bot.telegram_bot.handoff.ticket_learning import offer_ticket_learning
from bot.telegram_bot.shared.services import note_outcome, services

logger = logging.getLogger(__name__)


def handlers(staff_chat_id: int) -> list[BaseHandler[Update, Any, Any]]:
    """Every message in the staff group, and nothing from anywhere else; and who joins or
    leaves it (chat_member updates, sent to a bot that is an admin of the group)."""
    return [
        MessageHandler(
            filters.Chat(chat_id=staff_chat_id) & filters.UpdateType.MESSAGE, on_message
        ),
        MessageHandler(
            filters.Chat(chat_id=staff_chat_id) & filters.UpdateType.EDITED_MESSAGE, on_edit
        ),
        ChatMemberHandler(member_changed, ChatMemberHandler.CHAT_MEMBER, chat_id=staff_chat_id),
    ]


async def member_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Someone joined or left the staff group (or was removed): the membership cache
    follows at once rather than after its few minutes."""
    handoff, change = handoff_in(context.bot_data), update.chat_member
    if handoff is None or change is None:
        return
    member = change.new_chat_member
    is_member = note_membership(handoff, member.user.id, member)
    logger.info("staff group: a member %s", "joined" if is_member else "left")


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle a staff-group message; never let it reach the question handlers."""
    try:
        await _handle(update, context)
    except Exception:  # the group's message must not fall through to the FAQ handlers
        logger.exception("error while handling a staff-group message")
    raise ApplicationHandlerStop


async def _handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    handoff = handoff_in(context.bot_data)
    message = update.effective_message
    if handoff is None or message is None or filters.StatusUpdate.ALL.check_update(update):
        return  # a topic opened or closed, someone joined: nothing to relay
    if not await _from_a_member(context.bot, handoff, message):
        note_outcome("staff_group_ignored")
        return
    dialog = services(context).dialog
    ticket = await _ticket_of(handoff, message)
    command = _command(message, context.bot.username)
    if command is not None:
        if ticket is None:
            await tell_staff_here(dialog, handoff, message, "staff_no_ticket")
            return
        note_outcome(f"staff_{command}")
        await _COMMANDS[command](context.bot, dialog, handoff, ticket)
        return
    if ticket is None or (message.text or "").startswith("/"):
        note_outcome("staff_group_chatter")
        return
    if not ticket.is_open:
        await tell_staff_here(dialog, handoff, message, "staff_ticket_is_closed", ticket)
        return
    note_outcome("staff_reply")
    await relay_to_user(handoff, ticket, message)
    await offer_ticket_learning(context, ticket, message)


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A staff member edited a message of the group: if the user got it, they get the
    correction too."""
    handoff, edited = handoff_in(context.bot_data), update.edited_message
    try:
        if handoff is None or edited is None:
            return
        if not await _from_a_member(context.bot, handoff, edited):
            note_outcome("staff_group_ignored")
            return
        ticket = await _ticket_of(handoff, edited)
        if ticket is None:
            return
        dialog = services(context).dialog
        if await correct_for_user(context.bot, dialog, handoff, ticket, edited):
            note_outcome("staff_correction")
    except Exception:  # an edit must not fall through to the FAQ handlers
        logger.exception("error while handling a staff-group edit")
    raise ApplicationHandlerStop


async def _from_a_member(bot: Any, handoff: Handoff, message: Message) -> bool:
    """A person who is a member of the group now (or an anonymous admin of it)."""
    if message.sender_chat is not None:
        return message.sender_chat.id == message.chat.id  # an admin writing as the group
    return await is_current_member(bot, handoff, message.from_user)


async def _ticket_of(handoff: Handoff, message: Message) -> Ticket | None:
    store, chat_id = handoff.store, message.chat.id
    if message.is_topic_message and message.message_thread_id:
        ticket = await asyncio.to_thread(
            store.ticket_for_thread, chat_id, message.message_thread_id
        )
        if ticket is not None:
            return ticket
    replied = message.reply_to_message
    if replied is not None:
        return await asyncio.to_thread(store.ticket_for_message, chat_id, replied.message_id)
    return None


def _command(message: Message, bot_username: str | None) -> str | None:
    text = message.text or ""
    if not text.startswith("/"):
        return None
    name, _, addressee = text.split(maxsplit=1)[0][1:].partition("@")
    if addressee and addressee.lower() != (bot_username or "").lower():
        return None
    name = name.lower()
    return name if name in _COMMANDS else None


# ----- relaying ------------------------------------------------------------------------


# ----- commands ------------------------------------------------------------------------


async def _close(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    if not await asyncio.to_thread(handoff.store.close_ticket, ticket.id, "staff"):
        await tell_staff(dialog, handoff, ticket, "staff_ticket_is_closed")
        return
    await tell_user(dialog, handoff, ticket, "handoff_closed_by_staff")
    await after_close(dialog, handoff, ticket, "staff_closed")


async def _reopen(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    if not await asyncio.to_thread(handoff.store.reopen_ticket, ticket.id):
        await tell_staff(dialog, handoff, ticket, "staff_cannot_reopen")
        return
    await set_topic(handoff, ticket, closed=False)
    await tell_staff(dialog, handoff, ticket, "staff_reopened")


async def _block(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    closed = await asyncio.to_thread(handoff.store.block_user_of, ticket.id)
    await tell_staff(dialog, handoff, ticket, "staff_blocked")
    for other in closed:
        await set_topic(handoff, other, closed=True)


async def _unblock(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    await asyncio.to_thread(handoff.store.unblock_user_of, ticket.id)
    await tell_staff(dialog, handoff, ticket, "staff_unblocked")


_Command = Callable[[Any, Dialog, Handoff, Ticket], Awaitable[None]]
_COMMANDS: dict[str, _Command] = {
    "close": _close,
    "reopen": _reopen,
    "block": _block,
    "unblock": _unblock,
}


# ----- what staff see ------------------------------------------------------------------
