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
import html
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Message, ReplyParameters, Update, User
from telegram.constants import ChatMemberStatus
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, ContextTypes, MessageHandler, filters

from bot.core.dialog import Dialog
from bot.core.telegram_html import escape, shorten, without_format_controls
from bot.storage.tickets import Ticket
from bot.telegram_bot import learn_handlers
from bot.telegram_bot.handlers import note_outcome, services
from bot.telegram_bot.handoff import Handoff, handoff_in, tell_user, user_text

logger = logging.getLogger(__name__)

# Membership is asked of Telegram once per person per few minutes, not on every message.
MEMBERSHIP_SECONDS = 300.0
# A card is one message (4,096 units): the question and the name are cut to leave room for
# the rest; a longer question follows the card in full, split over several messages.
CARD_QUESTION_CHARS = 3000
NAME_CHARS = 100
MAX_MEMBERS_CACHED = 1000
MEMBER_STATUSES = {
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
}


def handlers(staff_chat_id: int) -> list[BaseHandler[Update, Any, Any]]:
    """Every message in the staff group, and nothing from anywhere else."""
    return [
        MessageHandler(filters.Chat(chat_id=staff_chat_id) & filters.UpdateType.MESSAGE, on_message)
    ]


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
            await _tell_staff_here(context.bot, dialog, message, "staff_no_ticket")
            return
        note_outcome(f"staff_{command}")
        await _COMMANDS[command](context.bot, dialog, handoff, ticket)
        return
    if ticket is None or (message.text or "").startswith("/"):
        note_outcome("staff_group_chatter")
        return
    if not ticket.is_open:
        await _tell_staff_here(context.bot, dialog, message, "staff_ticket_is_closed", ticket)
        return
    note_outcome("staff_reply")
    await relay_to_user(context.bot, dialog, handoff, ticket, message)
    await learn_handlers.offer_ticket_learning(context, ticket, message)


async def _from_a_member(bot: Any, handoff: Handoff, message: Message) -> bool:
    """A person who is a member of the group now (or an anonymous admin of it)."""
    if message.sender_chat is not None:
        return message.sender_chat.id == message.chat.id  # an admin writing as the group
    return await is_current_member(bot, handoff, message.from_user)


async def is_current_member(bot: Any, handoff: Handoff, sender: User | None) -> bool:
    """`sender` is a person who is a member of the staff group now (cached for a while)."""
    if sender is None or sender.is_bot:
        return False
    membership = handoff.membership
    now = time.monotonic()
    known = membership.get(sender.id)
    if known is not None and known[1] > now:
        return known[0]
    try:
        member = await bot.get_chat_member(handoff.settings.staff_chat_id, sender.id)
    except TelegramError as error:
        logger.warning("could not check a staff-group member: %s", error)
        return False
    is_member = member.status in MEMBER_STATUSES or (
        member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
    )
    if len(membership) >= MAX_MEMBERS_CACHED:
        membership.clear()
    membership[sender.id] = (is_member, now + MEMBERSHIP_SECONDS)
    return is_member


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


async def relay_to_user(
    bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket, message: Message
) -> None:
    """The staff message, copied to the user under "Reply from the agency"."""
    if ticket.chat_id is None:
        return
    try:
        header = await bot.send_message(
            ticket.chat_id, user_text(dialog, ticket.lang, "handoff_staff_reply")
        )
        copy = await bot.copy_message(ticket.chat_id, message.chat.id, message.message_id)
    except Forbidden:
        await user_unreachable(bot, dialog, handoff, ticket, message.message_id)
        return
    except TelegramError as error:
        logger.error("could not relay a reply to ticket #%d: %s", ticket.id, error)
        return
    store = handoff.store
    for message_id in (header.message_id, copy.message_id):
        await asyncio.to_thread(store.add_route, ticket.chat_id, message_id, ticket.id)
    await asyncio.to_thread(store.note_staff_reply, ticket.id)


async def relay_to_staff(
    bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket, message: Message
) -> None:
    """The user's message, copied into the ticket's topic (or as a reply to its card)."""
    store, chat_id = handoff.store, ticket.staff_chat_id
    lang = dialog.settings.default_language
    # An error here (staff deleted the topic, the bot lost its rights) reaches the error
    # handler's log, and the user is not told "sent".
    header = await bot.send_message(
        chat_id,
        dialog.locales.text(lang, "staff_user_wrote", ticket=str(ticket.id)),
        message_thread_id=ticket.staff_thread_id,
        reply_parameters=_to_card(ticket),
    )
    copy = await bot.copy_message(
        chat_id, message.chat.id, message.message_id, message_thread_id=ticket.staff_thread_id
    )
    for message_id in (header.message_id, copy.message_id):
        await asyncio.to_thread(store.add_route, chat_id, message_id, ticket.id)


async def user_unreachable(
    bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket, reply_to: int | None = None
) -> None:
    """The user blocked the bot: the ticket is marked and staff are told."""
    await asyncio.to_thread(handoff.store.mark_undeliverable, ticket.id)
    await tell_staff(bot, dialog, ticket, "staff_undeliverable", reply_to=reply_to)


# ----- commands ------------------------------------------------------------------------


async def _close(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    if not await asyncio.to_thread(handoff.store.close_ticket, ticket.id, "staff"):
        await tell_staff(bot, dialog, ticket, "staff_ticket_is_closed")
        return
    await tell_user(bot, dialog, handoff, ticket, "handoff_closed_by_staff")
    await after_close(bot, dialog, ticket, "staff_closed")


async def _reopen(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    if not await asyncio.to_thread(handoff.store.reopen_ticket, ticket.id):
        await tell_staff(bot, dialog, ticket, "staff_cannot_reopen")
        return
    if ticket.staff_thread_id is not None:
        try:
            await bot.reopen_forum_topic(ticket.staff_chat_id, ticket.staff_thread_id)
        except TelegramError as error:
            logger.warning("could not reopen the topic of ticket #%d: %s", ticket.id, error)
    await tell_staff(bot, dialog, ticket, "staff_reopened")


async def _block(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    closed = await asyncio.to_thread(handoff.store.block_user_of, ticket.id)
    await tell_staff(bot, dialog, ticket, "staff_blocked")
    for other in closed:
        await _close_topic(bot, other)


async def _unblock(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    await asyncio.to_thread(handoff.store.unblock_user_of, ticket.id)
    await tell_staff(bot, dialog, ticket, "staff_unblocked")


_Command = Callable[[Any, Dialog, Handoff, Ticket], Awaitable[None]]
_COMMANDS: dict[str, _Command] = {
    "close": _close,
    "reopen": _reopen,
    "block": _block,
    "unblock": _unblock,
}


# ----- what staff see ------------------------------------------------------------------


def card_text(dialog: Dialog, ticket: Ticket, *, topic: bool) -> str:
    """The ticket as staff see it: number, language, sender (with consent), question and
    what the bot had offered with its scores. The question and name are cut so the card
    fits one message (post_ticket then sends the whole question separately)."""
    lang = dialog.settings.default_language
    if ticket.user_name:
        name = escape(shorten(without_format_controls(ticket.user_name), NAME_CHARS))
        sender = dialog.locales.text(lang, "staff_sender_named", name=name)
    else:
        sender = dialog.locales.text(lang, "staff_sender_anonymous")
    candidates = ", ".join(
        f"{html.escape(str(entry_id))} ({float(score):.0f})"
        for entry_id, score in ticket.offered.get("candidates", [])
    )
    kind = ticket.offered.get("kind")
    if kind == "suggest" and candidates:
        offered = dialog.locales.text(lang, "staff_offered_suggest", candidates=candidates)
    elif kind == "answer" and candidates:
        offered = dialog.locales.text(lang, "staff_offered_answer", candidates=candidates)
    else:
        offered = dialog.locales.text(lang, "staff_offered_fallback")
        if candidates:
            offered += f" – {candidates}"
    return dialog.locales.text(
        lang,
        "staff_ticket_card",
        ticket=str(ticket.id),
        language=html.escape(ticket.lang),
        sender=sender,
        question=html.escape(
            shorten(without_format_controls(ticket.question), CARD_QUESTION_CHARS)
        ),
        offered=offered,
        howto=dialog.locales.text(lang, "staff_howto_topic" if topic else "staff_howto_reply"),
    )


def card_cuts_question(ticket: Ticket) -> bool:
    shown = without_format_controls(ticket.question)
    return shorten(shown, CARD_QUESTION_CHARS) != shown


def _to_card(ticket: Ticket, reply_to: int | None = None) -> ReplyParameters | None:
    """In a plain group, notices answer the ticket's card so they stay together."""
    if reply_to is not None:
        return ReplyParameters(reply_to)
    if ticket.staff_thread_id is None and ticket.staff_message_id is not None:
        return ReplyParameters(ticket.staff_message_id)
    return None


async def tell_staff(
    bot: Any,
    dialog: Dialog,
    ticket: Ticket,
    key: str,
    *,
    reply_to: int | None = None,
    values: dict[str, str] | None = None,
) -> None:
    """A notice in the ticket's topic, or answering its card."""
    lang = dialog.settings.default_language
    text = dialog.locales.text(lang, key, ticket=str(ticket.id), **(values or {}))
    try:
        await bot.send_message(
            ticket.staff_chat_id,
            text,
            message_thread_id=ticket.staff_thread_id,
            reply_parameters=_to_card(ticket, reply_to),
        )
    except TelegramError as error:
        logger.warning("could not tell staff about ticket #%d: %s", ticket.id, error)


async def _tell_staff_here(
    bot: Any, dialog: Dialog, message: Message, key: str, ticket: Ticket | None = None
) -> None:
    lang = dialog.settings.default_language
    values = {"ticket": str(ticket.id)} if ticket is not None else {}
    try:
        await message.reply_text(dialog.locales.text(lang, key, **values))
    except TelegramError as error:
        logger.warning("could not answer in the staff group: %s", error)


async def after_close(bot: Any, dialog: Dialog, ticket: Ticket, key: str, **values: Any) -> None:
    """Tell staff the ticket is closed, then close its topic."""
    await tell_staff(bot, dialog, ticket, key, values={k: str(v) for k, v in values.items()})
    await _close_topic(bot, ticket)


async def _close_topic(bot: Any, ticket: Ticket) -> None:
    if ticket.staff_thread_id is None:
        return
    try:
        await bot.close_forum_topic(ticket.staff_chat_id, ticket.staff_thread_id)
    except TelegramError as error:
        logger.info("could not close the topic of ticket #%d: %s", ticket.id, error)
