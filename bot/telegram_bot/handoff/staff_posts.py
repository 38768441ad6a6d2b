"""What the hand-off sends. Everything for another chat than the update's (the staff group,
a ticket's user) is an outbox item (bot.telegram_bot.transport.outbox): the handler queues
it, committed, and returns; handoff.staff_delivery sends it when Telegram's limits allow.
Erasing what /forget or expiry removes still calls Telegram directly (background work)."""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
from typing import Any

from telegram import Message, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.core.dialog import Dialog
from bot.core.telegram_html import escape, shorten, without_format_controls
from bot.storage.outbox import NEW
from bot.storage.tickets import Ticket
from bot.telegram_bot.handoff.state import Handoff, user_text

logger = logging.getLogger(__name__)

# Outbox item kinds (handoff.staff_delivery sends them).
CARD = "handoff.card"
RELAY_TO_STAFF = "handoff.relay_to_staff"
RELAY_TO_USER = "handoff.relay_to_user"
STAFF_NOTICE = "handoff.staff_notice"
USER_NOTICE = "handoff.user_notice"
TOPIC_STATE = "handoff.topic_state"
# A user's replies waiting for the staff group are sent together, this many at most.
MAX_REPLIES_MERGED = 20


def lane(ticket_id: int, to: str) -> str:
    """A ticket's items for one side ("staff" or "user") go in the order they were queued;
    the two sides do not wait for each other."""
    return f"ticket:{ticket_id}:{to}"


def lanes(ticket_id: int) -> list[str]:
    return [lane(ticket_id, "staff"), lane(ticket_id, "user")]


def topic_name(ticket: Ticket) -> str:
    """The ticket's number and language, never the question: Telegram keeps a topic's
    creation message, with its first name, and nobody can delete it."""
    return f"#{ticket.id} · {ticket.lang}"


def _once() -> str:
    """The key of an item nothing else could queue again."""
    return secrets.token_hex(8)


async def queue_card(handoff: Handoff, ticket: Ticket) -> None:
    """The ticket's card (and its topic) for the staff group; queued once however often
    asked (the sweeper asks again for every ticket without a card)."""
    await handoff.outbox.put(
        f"card:{ticket.id}",
        lane=lane(ticket.id, "staff"),
        chat_id=ticket.staff_chat_id,
        kind=CARD,
        payload={"ticket": ticket.id},
    )


async def tell_user(dialog: Dialog, handoff: Handoff, ticket: Ticket, key: str) -> None:
    """A message to the ticket's user (a 403 marks the ticket and tells staff)."""
    if ticket.chat_id is None:
        return
    await handoff.outbox.put(
        _once(),
        lane=lane(ticket.id, "user"),
        chat_id=ticket.chat_id,
        kind=USER_NOTICE,
        payload={"ticket": ticket.id, "text": user_text(dialog, ticket.lang, key)},
    )


async def erase_in_staff_group(
    bot: Any, dialog: Dialog, ticket: Ticket, copies: list[int], *, withdrawn: bool = False
) -> None:
    """The topic no longer names the question, and the user's copied messages go (best
    effort: a bot that is not an admin may not delete old messages; staff can)."""
    if ticket.staff_thread_id is not None:
        lang = dialog.settings.default_language
        key = "staff_topic_withdrawn" if withdrawn else "staff_topic_expired"
        try:
            await bot.edit_forum_topic(
                ticket.staff_chat_id,
                ticket.staff_thread_id,
                name=dialog.locales.text(lang, key, ticket=str(ticket.id)),
            )
        except TelegramError as error:
            logger.warning("could not rename the topic of ticket #%d: %s", ticket.id, error)
    for message_id in copies:
        try:
            await bot.delete_message(ticket.staff_chat_id, message_id)
        except TelegramError as error:
            logger.warning("could not delete a message of ticket #%d: %s", ticket.id, error)


async def withdraw_in_staff_group(
    bot: Any, dialog: Dialog, ticket: Ticket, copies: list[int]
) -> None:
    """/forget deleted the ticket: its topic goes with everything in it when the bot may
    delete it (an admin with "Delete messages"); otherwise the card loses the question, the
    topic its name and the user's copied messages are deleted. Staff are told either way."""
    if ticket.staff_thread_id is not None:
        try:
            await bot.delete_forum_topic(ticket.staff_chat_id, ticket.staff_thread_id)
        except TelegramError as error:
            logger.info("could not delete ticket #%d's topic (%s); renaming it", ticket.id, error)
        else:
            lang = dialog.settings.default_language
            try:  # in the group's general topic: the ticket's own is gone
                await bot.send_message(
                    ticket.staff_chat_id,
                    dialog.locales.text(lang, "staff_withdrawn", ticket=str(ticket.id)),
                )
            except TelegramError as error:
                logger.warning("could not tell staff of withdrawn #%d: %s", ticket.id, error)
            return
    await tell_staff_withdrawn(bot, dialog, ticket)
    await erase_in_staff_group(bot, dialog, ticket, copies, withdrawn=True)


async def tell_staff_withdrawn(bot: Any, dialog: Dialog, ticket: Ticket) -> None:
    """/forget deleted the ticket: the card loses the question, staff see only that."""
    lang = dialog.settings.default_language
    try:
        if ticket.staff_message_id is not None:
            await bot.edit_message_text(
                dialog.locales.text(lang, "staff_withdrawn_card", ticket=str(ticket.id)),
                chat_id=ticket.staff_chat_id,
                message_id=ticket.staff_message_id,
            )
        await bot.send_message(
            ticket.staff_chat_id,
            dialog.locales.text(lang, "staff_withdrawn", ticket=str(ticket.id)),
            message_thread_id=ticket.staff_thread_id,
        )
    except TelegramError as error:
        logger.warning("could not tell staff that ticket #%d was withdrawn: %s", ticket.id, error)


# A card is one message (4,096 units): the question and the name are cut to leave room for
# the rest; a longer question follows the card in full, split over several messages.
CARD_QUESTION_CHARS = 3000


NAME_CHARS = 100


async def relay_to_user(handoff: Handoff, ticket: Ticket, message: Message) -> None:
    """The staff message, for the user, under "Reply from the agency"."""
    if ticket.chat_id is None:
        return
    await handoff.outbox.put(
        f"to-user:{message.chat.id}:{message.message_id}",
        lane=lane(ticket.id, "user"),
        chat_id=ticket.chat_id,
        kind=RELAY_TO_USER,
        payload={"ticket": ticket.id, "from": message.chat.id, "message": message.message_id},
    )


async def correct_for_user(
    bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket, edited: Message
) -> bool:
    """Staff edited a reply the user already has: their copy is edited the same way, or,
    when Telegram cannot edit it (a different kind of message, too old), "Correction:" and
    the new text follow it. False if the message was never relayed (or not yet: the relay
    waits in the outbox, and sends the edited message when its turn comes)."""
    copy = await asyncio.to_thread(handoff.store.relayed_copy, ticket.id, edited.message_id)
    if copy is None or ticket.chat_id is None:
        return False
    try:
        if edited.text is not None:
            await bot.edit_message_text(
                edited.text, chat_id=ticket.chat_id, message_id=copy, entities=edited.entities
            )
        else:
            await bot.edit_message_caption(
                chat_id=ticket.chat_id,
                message_id=copy,
                caption=edited.caption or "",
                caption_entities=edited.caption_entities,
            )
        return True
    except BadRequest as error:
        if "not modified" in str(error).lower():
            return True
        logger.info("could not edit the user's copy in ticket #%d (%s)", ticket.id, error)
    except TelegramError as error:
        logger.warning("could not correct a reply of ticket #%d: %s", ticket.id, error)
        return True
    new_text = edited.text_html if edited.text is not None else edited.caption_html or ""
    correction = user_text(dialog, ticket.lang, "handoff_correction", text=new_text)
    try:
        await bot.send_message(
            ticket.chat_id,
            correction,
            reply_parameters=ReplyParameters(copy, allow_sending_without_reply=True),
        )
    except Forbidden:
        await asyncio.to_thread(handoff.store.mark_undeliverable, ticket.id)
        await tell_staff(dialog, handoff, ticket, "staff_undeliverable", reply_to=edited.message_id)
    except TelegramError as error:
        logger.warning("could not send a correction in ticket #%d: %s", ticket.id, error)
    return True


async def relay_to_staff(handoff: Handoff, ticket: Ticket, message: Message) -> bool:
    """The user's message, for the ticket's topic (or as a reply to its card). Replies that
    queue up for one ticket are sent together: texts in one message, anything else
    (a photo, a document) copied after it. True if it starts a message of its own (False:
    it joined one still waiting, or it was queued before)."""
    if message.text is not None:
        part: dict[str, Any] = {"text": escape(without_format_controls(message.text))}
    else:
        part = {"copy": message.message_id, "from": message.chat.id}
    queued = await handoff.outbox.merge(
        f"to-staff:{message.chat.id}:{message.message_id}",
        lane=lane(ticket.id, "staff"),
        chat_id=ticket.staff_chat_id,
        kind=RELAY_TO_STAFF,
        part=part,
        max_parts=MAX_REPLIES_MERGED,
        payload={"ticket": ticket.id},
    )
    return queued == NEW


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


async def tell_staff(
    dialog: Dialog,
    handoff: Handoff,
    ticket: Ticket,
    key: str,
    *,
    reply_to: int | None = None,
    values: dict[str, str] | None = None,
) -> None:
    """A notice in the ticket's topic, or answering its card."""
    lang = dialog.settings.default_language
    text = dialog.locales.text(lang, key, ticket=str(ticket.id), **(values or {}))
    payload: dict[str, Any] = {"ticket": ticket.id, "text": text}
    if reply_to is not None:
        payload["reply_to"] = reply_to
    await handoff.outbox.put(
        _once(),
        lane=lane(ticket.id, "staff"),
        chat_id=ticket.staff_chat_id,
        kind=STAFF_NOTICE,
        payload=payload,
    )


async def tell_staff_here(
    dialog: Dialog, handoff: Handoff, message: Message, key: str, ticket: Ticket | None = None
) -> None:
    """An answer to a staff member's message, in its topic."""
    lang = dialog.settings.default_language
    values = {"ticket": str(ticket.id)} if ticket is not None else {}
    await handoff.outbox.put(
        _once(),
        lane=lane(ticket.id, "staff") if ticket is not None else "staff-group",
        chat_id=message.chat.id,
        kind=STAFF_NOTICE,
        payload={
            "text": dialog.locales.text(lang, key, **values),
            "reply_to": message.message_id,
            "thread": message.message_thread_id if message.is_topic_message else None,
        },
    )


async def after_close(
    dialog: Dialog, handoff: Handoff, ticket: Ticket, key: str, **values: Any
) -> None:
    """Tell staff the ticket is closed, then close its topic."""
    await tell_staff(dialog, handoff, ticket, key, values={k: str(v) for k, v in values.items()})
    await set_topic(handoff, ticket, closed=True)


async def set_topic(handoff: Handoff, ticket: Ticket, *, closed: bool) -> None:
    """Close (or reopen) the ticket's topic, after what was queued for it before."""
    if ticket.staff_thread_id is None:
        return
    await handoff.outbox.put(
        _once(),
        lane=lane(ticket.id, "staff"),
        chat_id=ticket.staff_chat_id,
        kind=TOPIC_STATE,
        payload={"ticket": ticket.id, "closed": closed},
    )
