"""The outbox worker's side of the hand-off: how each item handoff.staff_posts queues is
sent, and what follows when Telegram refuses it. Every Bot API call here passes
`rate_limit_args=STAFF`, so it waits behind answers in the rate budget.

Each item reads its ticket again when it is sent: a ticket forgotten or erased meanwhile
sends nothing, and a relay uses the topic and card its ticket has by then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import ReplyParameters
from telegram.error import BadRequest, TelegramError

from bot.core.dialog import Dialog
from bot.core.telegram_html import escape, split_message, without_format_controls
from bot.storage.outbox import OutboxItem
from bot.storage.tickets import Ticket
from bot.telegram_bot.handoff.staff_posts import (
    CARD,
    RELAY_TO_STAFF,
    RELAY_TO_USER,
    STAFF_NOTICE,
    TOPIC_STATE,
    USER_NOTICE,
    card_cuts_question,
    card_text,
    tell_staff,
    tell_user,
    topic_name,
)
from bot.telegram_bot.handoff.state import Handoff, user_text
from bot.telegram_bot.transport.outbox import STAFF, ItemKind, Outbox

logger = logging.getLogger(__name__)


def register_kinds(outbox: Outbox, handoff: Handoff, dialog: Callable[[], Dialog]) -> None:
    """Teach the outbox the hand-off's items; `dialog` gives the current texts."""
    store = handoff.store

    async def ticket_of(item: OutboxItem) -> Ticket | None:
        ticket_id = item.payload.get("ticket")
        if ticket_id is None:
            return None
        return await asyncio.to_thread(store.ticket, int(ticket_id))

    async def send_card(bot: Any, item: OutboxItem) -> None:
        ticket = await ticket_of(item)
        if ticket is None or not ticket.is_open or ticket.staff_message_id is not None:
            return  # forgotten, closed or posted meanwhile
        await post_ticket(bot, dialog(), handoff, ticket)

    async def card_refused(bot: Any, item: OutboxItem, error: BadRequest) -> bool:
        ticket = await ticket_of(item)
        if ticket is None:
            return False
        if "too long" not in str(error).lower():
            return True  # the bot may not be in the group yet: try again later
        if await asyncio.to_thread(store.close_ticket, ticket.id, "refused"):
            await tell_user(dialog(), handoff, ticket, "handoff_not_posted")
        return False

    async def send_relay_to_staff(bot: Any, item: OutboxItem) -> None:
        ticket = await ticket_of(item)
        if ticket is None:
            return
        current = dialog()
        header = current.locales.text(
            current.settings.default_language, "staff_user_wrote", ticket=str(ticket.id)
        )
        texts: list[str] = []
        sent: list[int] = []
        for part in [*item.payload.get("parts", []), None]:
            if part is not None and "text" in part:
                texts.append(str(part["text"]))
                continue
            if texts or part is not None:
                body = "\n\n".join([header, *texts])
                for piece in split_message(body):
                    message = await bot.send_message(
                        ticket.staff_chat_id,
                        piece,
                        message_thread_id=ticket.staff_thread_id,
                        reply_parameters=_to_card(ticket),
                        rate_limit_args=STAFF,
                    )
                    sent.append(message.message_id)
                texts = []
            if part is not None:
                copy = await bot.copy_message(
                    ticket.staff_chat_id,
                    int(part["from"]),
                    int(part["copy"]),
                    message_thread_id=ticket.staff_thread_id,
                    rate_limit_args=STAFF,
                )
                sent.append(copy.message_id)
        for message_id in sent:
            await asyncio.to_thread(store.add_route, ticket.staff_chat_id, message_id, ticket.id)

    async def send_relay_to_user(bot: Any, item: OutboxItem) -> None:
        ticket = await ticket_of(item)
        if ticket is None or ticket.chat_id is None:
            return
        header = await bot.send_message(
            ticket.chat_id,
            user_text(dialog(), ticket.lang, "handoff_staff_reply"),
            rate_limit_args=STAFF,
        )
        copy = await bot.copy_message(
            ticket.chat_id,
            int(item.payload["from"]),
            int(item.payload["message"]),
            rate_limit_args=STAFF,
        )
        for message_id in (header.message_id, copy.message_id):
            await asyncio.to_thread(store.add_route, ticket.chat_id, message_id, ticket.id)
        # Kept so that staff's later edit of the reply reaches the user's copy.
        await asyncio.to_thread(
            store.add_relay, ticket.id, int(item.payload["message"]), copy.message_id
        )
        await asyncio.to_thread(store.note_staff_reply, ticket.id)

    async def relay_unreachable(bot: Any, item: OutboxItem) -> None:
        ticket = await ticket_of(item)
        if ticket is not None:
            await asyncio.to_thread(store.mark_undeliverable, ticket.id)
            reply_to = item.payload.get("message")
            await tell_staff(
                dialog(),
                handoff,
                ticket,
                "staff_undeliverable",
                reply_to=None if reply_to is None else int(reply_to),
            )

    async def send_staff_notice(bot: Any, item: OutboxItem) -> None:
        payload = item.payload
        ticket = await ticket_of(item)
        if "ticket" in payload and ticket is None:
            return  # forgotten meanwhile
        reply_to = payload.get("reply_to")
        if ticket is not None:
            thread = ticket.staff_thread_id
            replying = _to_card(ticket, None if reply_to is None else int(reply_to))
        else:
            thread = payload.get("thread")
            replying = None if reply_to is None else ReplyParameters(int(reply_to))
        await bot.send_message(
            item.chat_id,
            str(payload["text"]),
            message_thread_id=thread,
            reply_parameters=replying,
            rate_limit_args=STAFF,
        )

    async def send_user_notice(bot: Any, item: OutboxItem) -> None:
        ticket = await ticket_of(item)
        if ticket is None or ticket.chat_id is None:
            return
        await bot.send_message(ticket.chat_id, str(item.payload["text"]), rate_limit_args=STAFF)

    async def send_topic_state(bot: Any, item: OutboxItem) -> None:
        ticket = await ticket_of(item)
        if ticket is None or ticket.staff_thread_id is None:
            return
        change = bot.close_forum_topic if item.payload.get("closed") else bot.reopen_forum_topic
        try:
            await change(ticket.staff_chat_id, ticket.staff_thread_id, rate_limit_args=STAFF)
        except BadRequest as error:  # already so, or deleted by staff: nothing to do
            logger.info("could not change the topic of ticket #%d: %s", ticket.id, error)

    async def final(bot: Any, item: OutboxItem, error: BadRequest) -> bool:
        return False

    outbox.register(CARD, ItemKind(send_card, refused=card_refused))
    outbox.register(RELAY_TO_STAFF, ItemKind(send_relay_to_staff, refused=final))
    outbox.register(
        RELAY_TO_USER, ItemKind(send_relay_to_user, refused=final, unreachable=relay_unreachable)
    )
    outbox.register(STAFF_NOTICE, ItemKind(send_staff_notice))
    outbox.register(USER_NOTICE, ItemKind(send_user_notice, unreachable=relay_unreachable))
    outbox.register(TOPIC_STATE, ItemKind(send_topic_state))


async def post_ticket(bot: Any, dialog: Dialog, handoff: Handoff, ticket: Ticket) -> None:
    """Put the ticket in the staff group (its own topic when topics are on) and note where.
    Raises what Telegram answered if it did not take the card."""
    store, chat_id = handoff.store, ticket.staff_chat_id
    thread = ticket.staff_thread_id
    if handoff.settings.forum_topics and thread is None:
        topic = await bot.create_forum_topic(chat_id, topic_name(ticket), rate_limit_args=STAFF)
        thread = int(topic.message_thread_id)
        await asyncio.to_thread(store.set_staff_thread, ticket.id, thread)
    card = await bot.send_message(
        chat_id,
        card_text(dialog, ticket, topic=thread is not None),
        message_thread_id=thread,
        rate_limit_args=STAFF,
    )
    await asyncio.to_thread(store.set_staff_message, ticket.id, card.message_id)
    if card_cuts_question(ticket):
        await _post_whole_question(bot, handoff, ticket, thread, card.message_id)


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
                rate_limit_args=STAFF,
            )
            await asyncio.to_thread(
                handoff.store.add_route, ticket.staff_chat_id, sent.message_id, ticket.id
            )
    except TelegramError as error:
        logger.warning("could not post the whole question of ticket #%d: %s", ticket.id, error)


def _to_card(ticket: Ticket, reply_to: int | None = None) -> ReplyParameters | None:
    """In a plain group, notices answer the ticket's card so they stay together."""
    if reply_to is not None:
        return ReplyParameters(reply_to)
    if ticket.staff_thread_id is None and ticket.staff_message_id is not None:
        return ReplyParameters(ticket.staff_message_id)
    return None
