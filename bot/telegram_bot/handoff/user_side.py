"""Ask the agency: the user's side of handing a question to staff.

"Ask the agency" (on a fallback, a "did you mean" and after a 👎) or `/ask <question>` shows
what will be sent and who will see it; one tap sends it (with the user's name only if they
choose so). The ticket is committed to the ticket store before the user is told it was
received, then posted to the staff group (handoff.staff_posts, handoff.staff_group). Staff replies
come back as copies, under a line saying they are from the agency; the user answers by
replying to any message of the ticket.

Questions waiting for a confirming tap are kept in memory only (a bounded number): nothing
was promised yet, and an unconfirmed question should not reach the disk. After a restart the
old button asks the user to use /ask instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import math
import secrets
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.dialog import HANDOFF_ACTION, Dialog, Reply
from bot.core.telegram_html import shorten
from bot.storage.tickets import Blocked, LimitReached, TicketStore
from bot.telegram_bot.handoff import staff_group
from bot.telegram_bot.handoff.staff_delivery import register_kinds
from bot.telegram_bot.handoff.staff_posts import (
    after_close,
    erase_in_staff_group,
    lanes,
    queue_card,
    relay_to_staff,
    tell_user,
    withdraw_in_staff_group,
)
from bot.telegram_bot.handoff.state import (
    HANDOFF_KEY,
    Draft,
    Handoff,
    handoff_in,
    require_handoff,
    user_text,
)
from bot.telegram_bot.handoff.ticket_learning import ticket_button
from bot.telegram_bot.shared import handler_groups
from bot.telegram_bot.shared.forgetting import add_forgetter
from bot.telegram_bot.shared.services import note_outcome, services, services_in, user_language
from bot.telegram_bot.transport.outbox import Outbox

logger = logging.getLogger(__name__)

SWEEPER_KEY = "handoff_sweeper"
# Confirmation buttons: "hs:<draft>" send, "hn:<draft>" send with the name, "hx:<draft>" cancel.
SEND, SEND_WITH_NAME, CANCEL = "hs:", "hn:", "hx:"
# How often the sweeper posts tickets the group has not got yet, closes idle tickets and
# erases expired ones.
SWEEP_SECONDS = 60.0
# The confirmation quotes the question inside one message (4,096 units): a longer one is cut.
CONFIRM_QUESTION_CHARS = 3000


# ----- wiring (called by bot.telegram_bot.app) ---------------------------------------------


def install(application: Any, store: TicketStore | None, outbox: Outbox) -> None:
    """Keep the hand-off's state, note each question for "Ask the agency", teach `outbox`
    the hand-off's items and let /forget delete the user's tickets. Without a staff group or
    a store, hand-off stays off."""
    svc = services_in(application.bot_data)
    settings = svc.dialog.settings.handoff
    if store is None or not settings.enabled:
        return
    handoff = Handoff(store, settings, outbox)
    application.bot_data[HANDOFF_KEY] = handoff
    svc.tickets = store
    register_kinds(outbox, handoff, lambda: svc.dialog)

    def note_question(update: Update, question_id: str, text: str, reply: Reply) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or chat.type != ChatType.PRIVATE:
            return
        handoff.keep_draft(question_id, Draft(user.id, text, reply.lang, offered_by(reply)))

    svc.question_listeners.append(note_question)

    async def forget_tickets(user_id: int) -> None:
        handoff.forget_drafts(user_id)
        known = await asyncio.to_thread(store.tickets_of, user_id)
        copies = await asyncio.to_thread(store.staff_messages, [t.id for t in known])
        withdrawn = await asyncio.to_thread(store.forget_user, user_id)
        await outbox.drop_lanes(
            [name for t in known for name in lanes(t.id)]
        )  # their texts go unsent
        await asyncio.to_thread(store.checkpoint)
        for ticket in withdrawn:
            await withdraw_in_staff_group(
                application.bot, svc.dialog, ticket, copies.get(ticket.id, [])
            )

    add_forgetter(application, forget_tickets)


def register(application: Any) -> None:
    """Add the hand-off's handlers: call before answering's catch-alls of group ANSWERS
    (they are tried in the order added)."""
    handoff = handoff_in(application.bot_data)
    if handoff is None:
        return
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handlers(
        [
            CommandHandler("ask", ask_command, filters=filters.UpdateType.MESSAGE),
            CallbackQueryHandler(ask_button, pattern=f"^{HANDOFF_ACTION}"),
            CallbackQueryHandler(confirm_button, pattern=r"^h[snx]:"),
            CallbackQueryHandler(ticket_button, pattern=r"^lt:"),
        ],
        group=handler_groups.ANSWERS,
    )
    application.add_handler(
        MessageHandler(
            private & filters.REPLY & ~filters.COMMAND & ~filters.StatusUpdate.ALL, user_reply
        ),
        group=handler_groups.TICKET_REPLIES,
    )
    # Before everything else, even the flood guard: the staff group is not for questions.
    application.add_handlers(
        staff_group.handlers(handoff.staff_chat_id), group=handler_groups.STAFF_CHAT
    )


async def start(application: Any) -> None:
    """Set the staff group's menu; post what the group missed while the bot was down (at
    once), then sweep every minute."""
    handoff = handoff_in(application.bot_data)
    if handoff is None:
        return
    await _set_staff_commands(application, handoff)

    async def every_minute() -> None:
        while True:
            try:
                await sweep(application)
            except Exception:  # the bot keeps answering; the next sweep tries again
                logger.exception("the hand-off sweep failed; trying again in a minute")
            await asyncio.sleep(SWEEP_SECONDS)

    application.bot_data[SWEEPER_KEY] = asyncio.create_task(every_minute(), name="hand-off")


async def _set_staff_commands(application: Any, handoff: Handoff) -> None:
    """The staff group's command menu: the ticket commands."""
    dialog = services_in(application.bot_data).dialog
    lang = dialog.settings.default_language
    commands = [
        BotCommand(name, dialog.locales.text(lang, "command_" + name))
        for name in ("close", "reopen", "block", "unblock")
    ]
    try:
        await application.bot.set_my_commands(
            commands, scope=BotCommandScopeChat(handoff.staff_chat_id)
        )
    except TelegramError as error:
        logger.warning("no command menu in the staff group (is the bot in it?): %s", error)


async def stop(application: Any) -> None:
    task = application.bot_data.pop(SWEEPER_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sweep(application: Any) -> None:
    """Post unposted tickets, close idle and long-unanswered ones (telling both sides),
    erase expired ones."""

    handoff = handoff_in(application.bot_data)
    if handoff is None:
        return
    svc = services_in(application.bot_data)
    store, bot = handoff.store, application.bot
    # A card queued before a kill, or a ticket committed just before one: queued once.
    for ticket in await asyncio.to_thread(store.unposted):
        await queue_card(handoff, ticket)
    idle = handoff.settings.idle_close_hours
    for ticket in await asyncio.to_thread(store.idle_tickets, timedelta(hours=idle)):
        if await asyncio.to_thread(store.close_ticket, ticket.id, "idle"):
            await tell_user(svc.dialog, handoff, ticket, "handoff_closed_idle")
            await after_close(svc.dialog, handoff, ticket, "staff_closed_idle", hours=idle)
    days = handoff.settings.unanswered_close_days
    for ticket in await asyncio.to_thread(store.unanswered_tickets, timedelta(days=days)):
        if await asyncio.to_thread(store.close_ticket, ticket.id, "unanswered"):
            await tell_user(svc.dialog, handoff, ticket, "handoff_closed_unanswered")
            await after_close(svc.dialog, handoff, ticket, "staff_closed_unanswered", days=days)
    await _purge_expired(bot, svc.dialog, store, handoff.settings.retention_days)


async def _purge_expired(bot: Any, dialog: Dialog, store: TicketStore, days: int) -> None:
    """Erase expired tickets, then what the staff group still shows of them: the card,
    the topic's name and the copies of the user's messages."""
    expired = await asyncio.to_thread(store.expired, days)
    if not expired:
        return
    copies = await asyncio.to_thread(store.staff_messages, [t.id for t in expired])
    await asyncio.to_thread(store.purge_expired, days)
    lang = dialog.settings.default_language
    for ticket in expired:
        if ticket.staff_message_id is not None:
            with contextlib.suppress(TelegramError):
                await bot.edit_message_text(
                    dialog.locales.text(lang, "staff_expired_card", ticket=str(ticket.id)),
                    chat_id=ticket.staff_chat_id,
                    message_id=ticket.staff_message_id,
                )
        await erase_in_staff_group(bot, dialog, ticket, copies.get(ticket.id, []))


# ----- what the user sees ---------------------------------------------------------------


def offered_by(reply: Reply) -> dict[str, Any]:
    """What the bot had offered for the question, for the ticket card."""
    match = reply.match
    candidates = list(match.candidates) if match is not None else []
    if not candidates and match is not None and match.best is not None:
        candidates = [match.best]
    return {
        "kind": reply.kind,
        "candidates": [[c.entry_id, round(c.score, 1)] for c in candidates[:3]],
    }


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question>: the confirmation for that question; /ask alone: for the latest
    question, or how to use /ask."""
    svc, handoff = services(context), require_handoff(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    lang = user_language(update, svc)
    note_outcome("handoff_ask")
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(user_text(svc.dialog, lang, "handoff_private_only"))
        return
    text = " ".join(context.args or [])
    if text:
        draft_id = secrets.token_urlsafe(8)
        # Matched as a question would be, so staff see what the bot could have offered.
        reply = svc.dialog.reply_to_question(text, chosen_lang=lang)
        handoff.keep_draft(draft_id, Draft(user.id, text, reply.lang, offered_by(reply)))
    else:
        draft_id = handoff.latest.get(user.id, "")
        if draft_id not in handoff.drafts:
            await message.reply_text(user_text(svc.dialog, lang, "handoff_no_question"))
            return
    await _show_confirmation(context, message.chat.id, draft_id, handoff.drafts[draft_id])


async def ask_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Ask the agency": the confirmation for that question (or the latest one)."""
    svc, handoff = services(context), require_handoff(context)
    query = update.callback_query
    if query is None:
        return
    lang = user_language(update, svc)
    note_outcome("handoff_ask")
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await query.answer(user_text(svc.dialog, lang, "handoff_private_only"), show_alert=True)
        return
    draft_id = (query.data or "")[len(HANDOFF_ACTION) :] or handoff.latest.get(query.from_user.id)
    draft = handoff.drafts.get(draft_id or "")
    if draft_id is None or draft is None or draft.user_id != query.from_user.id:
        await query.answer(user_text(svc.dialog, lang, "handoff_expired"), show_alert=True)
        return
    await query.answer()
    await _show_confirmation(context, chat.id, draft_id, draft)


async def _show_confirmation(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, draft_id: str, draft: Draft
) -> None:
    dialog = services(context).dialog
    lang = draft.lang
    question = html.escape(shorten(draft.question, CONFIRM_QUESTION_CHARS))
    text = user_text(dialog, lang, "handoff_confirm", question=question)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    user_text(dialog, lang, "handoff_send"), callback_data=SEND + draft_id
                ),
                InlineKeyboardButton(
                    user_text(dialog, lang, "handoff_send_with_name"),
                    callback_data=SEND_WITH_NAME + draft_id,
                ),
            ],
            [
                InlineKeyboardButton(
                    user_text(dialog, lang, "handoff_cancel"), callback_data=CANCEL + draft_id
                )
            ],
        ]
    )
    await context.bot.send_message(chat_id, text, reply_markup=markup)


async def confirm_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send, send with the name, or cancel: the ticket is committed before the user is told."""
    svc, handoff = services(context), require_handoff(context)
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    action, draft_id = (query.data or "")[:3], (query.data or "")[3:]
    user = query.from_user
    draft = handoff.drafts.get(draft_id)
    lang = draft.lang if draft is not None else user_language(update, svc)
    # Only in the user's own private chat: staff replies go to the chat the ticket names.
    chat = query.message.chat
    if (
        draft is None
        or draft.user_id != user.id
        or chat.type != ChatType.PRIVATE
        or chat.id != user.id
    ):
        note_outcome("handoff_expired")
        await query.answer(user_text(svc.dialog, lang, "handoff_expired"), show_alert=True)
        return
    await query.answer()
    if action == CANCEL:
        note_outcome("handoff_cancelled")
        handoff.drop_draft(draft_id)
        await query.edit_message_text(user_text(svc.dialog, lang, "handoff_cancelled"))
        return
    name = None
    if action == SEND_WITH_NAME:
        name = user.full_name + (f" (@{user.username})" if user.username else "")
    opened = await asyncio.to_thread(
        handoff.store.open_ticket,
        draft=draft_id,
        user_id=user.id,
        chat_id=query.message.chat.id,
        user_name=name,
        lang=lang,
        question=draft.question,
        offered=draft.offered,
        staff_chat_id=handoff.staff_chat_id,
        max_open=handoff.settings.max_open_per_user,
        max_per_day=handoff.settings.max_per_day,
    )
    if isinstance(opened, LimitReached):
        note_outcome("handoff_limit")
        await query.edit_message_text(limit_text(svc.dialog, lang, opened, handoff.store.now()))
        return
    if isinstance(opened, Blocked):
        # Staff blocked this user: they are not told, and nothing reaches staff.
        note_outcome("handoff_blocked")
        handoff.drop_draft(draft_id)
        await query.edit_message_text(user_text(svc.dialog, lang, "handoff_received"))
        return
    ticket, created = opened
    note_outcome("handoff_opened" if created else "handoff_repeated")
    handoff.drop_draft(draft_id)
    if not created:
        return  # a second tap on "send": the first one has told the user already
    # The route first: once the user reads "reply to this message", the reply must work.
    await asyncio.to_thread(
        handoff.store.add_route, query.message.chat.id, query.message.message_id, ticket.id
    )
    # Told "received" at once: the card follows when the staff group's limit allows.
    await queue_card(handoff, ticket)
    await query.edit_message_text(user_text(svc.dialog, lang, "handoff_received"))


def limit_text(dialog: Dialog, lang: str, limit: LimitReached, now: datetime) -> str:
    """What a user over a limit is told: when they can ask again, in whole hours."""
    if limit.kind == "open" or limit.retry_at is None:
        return user_text(dialog, lang, "handoff_limit_open")
    hours = max(1, math.ceil((limit.retry_at - now).total_seconds() / 3600))
    if hours == 1:  # "in 1 hours" / "pas 1 orësh" read wrong in both languages
        return user_text(dialog, lang, "handoff_limit_daily_one_hour")
    return user_text(dialog, lang, "handoff_limit_daily", hours=str(hours))


async def user_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply to one of a ticket's messages in the user's chat goes to staff (any kind of
    message, copied) and the update stops here; a reply to anything else goes on to the
    answers (group ANSWERS) like any other message."""
    svc, handoff = services(context), require_handoff(context)
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        return
    ticket = await asyncio.to_thread(
        handoff.store.ticket_for_message, message.chat.id, message.reply_to_message.message_id
    )
    if ticket is None:
        return
    if not ticket.is_open:
        note_outcome("handoff_closed_reply")
        await message.reply_text(user_text(svc.dialog, ticket.lang, "handoff_ticket_closed"))
        raise ApplicationHandlerStop
    limit = svc.dialog.settings.handoff.max_replies_per_hour
    if not await asyncio.to_thread(handoff.store.note_user_message, ticket.id, limit):
        note_outcome("handoff_replies_limit")
        await message.reply_text(user_text(svc.dialog, ticket.lang, "handoff_replies_limit"))
        raise ApplicationHandlerStop
    note_outcome("handoff_user_message")
    # A reply that joins one still waiting for the staff group is not acknowledged again:
    # a burst of replies gets one "sent", not one each (each would count against the
    # user's chat limit, and a script could make the bot spend its budget on them).
    if await relay_to_staff(handoff, ticket, message):
        await message.reply_text(user_text(svc.dialog, ticket.lang, "handoff_user_sent"))
    raise ApplicationHandlerStop


# ----- shared with the staff side -----------------------------------------------------------
