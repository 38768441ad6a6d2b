"""What the hand-off sends: the ticket card and its topic in the staff group, relayed
messages both ways, notices to staff and to the user, and erasing what /forget or expiry
removes."""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any, Literal

from telegram import (
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.core.dialog import Dialog
from bot.core.telegram_html import escape, shorten, split_message, without_format_controls
from bot.storage.tickets import Ticket
from bot.telegram_bot.handoff.state import Handoff, user_text

logger = logging.getLogger(__name__)


Posted = Literal["posted", "later", "refused"]


async def post_ticket(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> Posted:
    """Put the ticket in the staff group (its own topic when topics are on) and note where.
    "later" if the group could not take it now (the sweeper tries again); "refused" if it
    never will (the ticket is closed: the caller tells the user)."""

    store, chat_id = handoff.store, ticket.staff_chat_id
    thread = ticket.staff_thread_id
    try:
        if handoff.settings.forum_topics and thread is None:
            topic = await bot.create_forum_topic(chat_id, topic_name(ticket))
            thread = int(topic.message_thread_id)
            await asyncio.to_thread(store.set_staff_thread, ticket.id, thread)
        card = await bot.send_message(
            chat_id,
            card_text(dialog, ticket, topic=thread is not None),
            message_thread_id=thread,
        )
    except BadRequest as error:
        logger.error("could not post ticket #%d to the staff group: %s", ticket.id, error)
        if not _for_good(error):
            return "later"
        await asyncio.to_thread(store.close_ticket, ticket.id, "refused")
        return "refused"
    except TelegramError as error:
        logger.error("could not post ticket #%d to the staff group: %s", ticket.id, error)
        return "later"
    await asyncio.to_thread(store.set_staff_message, ticket.id, card.message_id)
    if card_cuts_question(ticket):
        await _post_whole_question(bot, handoff, ticket, thread, card.message_id)
    return "posted"


def topic_name(ticket: Ticket) -> str:
    """The ticket's number and language, never the question: Telegram keeps a topic's
    creation message, with its first name, and nobody can delete it."""
    return f"#{ticket.id} · {ticket.lang}"


def _for_good(error: BadRequest) -> bool:
    """Telegram will refuse this card however often it is sent."""
    return "too long" in str(error).lower()


async def _post_whole_question(
    bot: Any, handoff: Handoff, ticket: Ticket, thread: int | None, card: int
) -> None:
    """The card showed the question cut: the whole of it, under the card."""
    try:
        for part in split_message(escape(without_format_controls(ticket.question))):
            sent = await bot.send_message(
                ticket.staff_chat_id,
                part,
                message_thread_id=thread,
                reply_parameters=ReplyParameters(card) if thread is None else None,
            )
            await asyncio.to_thread(
                handoff.store.add_route, ticket.staff_chat_id, sent.message_id, ticket.id
            )
    except TelegramError as error:
        logger.warning("could not post the whole question of ticket #%d: %s", ticket.id, error)


async def tell_user(
    bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket, key: str
) -> Message | None:
    """A message to the ticket's user; None if it could not be delivered (a 403 marks the
    ticket and tells staff)."""

    if ticket.chat_id is None:
        return None
    try:
        sent: Message = await bot.send_message(ticket.chat_id, user_text(dialog, ticket.lang, key))
    except Forbidden:
        await user_unreachable(bot, dialog, handoff, ticket)
        return None
    except TelegramError as error:
        logger.warning("could not tell the user of ticket #%d: %s", ticket.id, error)
        return None
    return sent


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
    await asyncio.to_thread(store.add_relay, ticket.id, message.message_id, copy.message_id)
    await asyncio.to_thread(store.note_staff_reply, ticket.id)


async def correct_for_user(
    bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket, edited: Message
) -> bool:
    """Staff edited a reply the user already has: their copy is edited the same way, or,
    when Telegram cannot edit it (a different kind of message, too old), "Correction:" and
    the new text follow it. False if the message was never relayed."""
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
        await user_unreachable(bot, dialog, handoff, ticket, edited.message_id)
    except TelegramError as error:
        logger.warning("could not send a correction in ticket #%d: %s", ticket.id, error)
    return True


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


async def tell_staff_here(
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
    await close_topic(bot, ticket)


async def close_topic(bot: Any, ticket: Ticket) -> None:
    if ticket.staff_thread_id is None:
        return
    try:
        await bot.close_forum_topic(ticket.staff_chat_id, ticket.staff_thread_id)
    except TelegramError as error:
        logger.info("could not close the topic of ticket #%d: %s", ticket.id, error)
