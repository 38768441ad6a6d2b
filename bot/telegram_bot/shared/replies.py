"""Sending a core `Reply` where an update came from: edit in place, reply, split over several
messages, then the contact card and map pin; and a reply's text as a callback answer."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.core.dialog import Reply
from bot.core.telegram_html import html_to_plain, split_message
from bot.telegram_bot.shared.services import SERVICES_KEY, BotServices, note_outcome
from bot.telegram_bot.transport.keyboards import inline_keyboard

logger = logging.getLogger(__name__)

# Telegram cuts a callback answer at 200 characters; a toast vanishes after a moment, so
# anything longer than a short sentence is shown as an alert the user dismisses.
CALLBACK_ANSWER_LIMIT = 200


def callback_answer(text: str) -> str:
    """A reply's text as a callback answer: plain, and within Telegram's limit."""
    plain = " ".join(html_to_plain(text).split())
    if len(plain) > CALLBACK_ANSWER_LIMIT:
        plain = plain[: CALLBACK_ANSWER_LIMIT - 1] + "…"
    return plain


async def send_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """Send `reply` where the update came from: a browsing button edits its own message,
    a message gets a reply (quoted in groups); then the contact card and map pin, if any."""
    svc = context.bot_data.get(SERVICES_KEY)
    if isinstance(svc, BotServices):
        for decorate in svc.reply_decorators:
            reply = decorate(update, reply)
    note_outcome(reply.kind, reply)
    markup = inline_keyboard(reply.buttons)
    query, message = update.callback_query, update.message
    # Over Telegram's limit (a long answer after a notice), the reply goes in several
    # messages, the buttons under the last one.
    *leading, last = split_message(reply.text)
    if (
        query is not None
        and reply.replace_previous
        and not leading
        and await edit_in_place(query, reply, markup)
    ):
        pass
    elif message is not None:
        for number, part in enumerate(leading):
            await message.reply_text(part, do_quote=None if number == 0 else False)
        await message.reply_text(last, reply_markup=markup, do_quote=None if not leading else False)
    else:
        for part in leading:
            await context.bot.send_message(reply_chat_id(update), part)
        await context.bot.send_message(reply_chat_id(update), last, reply_markup=markup)
    if reply.contact_card is not None:
        card = reply.contact_card
        await context.bot.send_contact(
            reply_chat_id(update), phone_number=card.phone_number, first_name=card.first_name
        )
    if reply.venue is not None:
        venue = reply.venue
        await context.bot.send_venue(
            reply_chat_id(update),
            latitude=venue.latitude,
            longitude=venue.longitude,
            title=venue.title,
            address=venue.address,
        )


async def edit_in_place(
    query: CallbackQuery, reply: Reply, markup: InlineKeyboardMarkup | None
) -> bool:
    """Show `reply` in the message whose button was pressed; False if it cannot be edited
    (too old, deleted), in which case the caller sends a new message."""
    try:
        await query.edit_message_text(reply.text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" in error.message:  # the same page asked for twice
            return True
        logger.info("could not edit the message in place (%s); sending a new one", error)
        return False
    return True


def reply_chat_id(update: Update) -> int:
    """The chat the update came from; for a button on an inline-mode message, the user's
    private chat."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    raise ValueError("the update has neither a chat nor a user to reply to")
