"""Renders the dialog's buttons and inline results as Telegram objects.

The one place that turns `Button` rows into an `InlineKeyboardMarkup`, enforcing what
Telegram would reject: callback data over 64 bytes, and URL buttons other than http(s) or
tg:// (a mailto: button makes the whole message fail with BUTTON_URL_INVALID).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)
from telegram.constants import ParseMode

from bot.core.dialog import CALLBACK_DATA_LIMIT, Button, InlineResult

# Telegram opens only these from a button; the text of the reply carries e-mail and phone.
BUTTON_URL_SCHEMES = ("http://", "https://", "tg://")


def inline_keyboard(
    rows: Sequence[Sequence[Button]], *, url_only: bool = False
) -> InlineKeyboardMarkup | None:
    """The buttons as an inline keyboard (None when none is left); `url_only` drops action
    buttons, for messages sent through inline mode."""
    keyboard = []
    for row in rows:
        buttons = [b for b in (_telegram_button(button, url_only) for button in row) if b]
        if buttons:
            keyboard.append(buttons)
    return InlineKeyboardMarkup(keyboard) if keyboard else None


def _telegram_button(button: Button, url_only: bool) -> InlineKeyboardButton | None:
    if button.url is not None:
        if not button.url.startswith(BUTTON_URL_SCHEMES):
            return None
        return InlineKeyboardButton(button.label, url=button.url)
    if button.action is None or url_only:
        return None
    if len(button.action.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        # A programming error in the dialog, not user input: fail loudly in tests.
        raise ValueError(
            f"callback data {button.action!r} is over Telegram's {CALLBACK_DATA_LIMIT} bytes"
        )
    return InlineKeyboardButton(button.label, callback_data=button.action)


def without_row_of(
    markup: InlineKeyboardMarkup | None, callback_data: str
) -> InlineKeyboardMarkup | None:
    """The keyboard minus the row holding the button that sent `callback_data` (used to take
    the 'helpful? yes / no' pair away once a vote is in)."""
    if markup is None:
        return None
    rows = [
        row
        for row in markup.inline_keyboard
        if not any(button.callback_data == callback_data for button in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def inline_article(result: InlineResult) -> InlineQueryResultArticle:
    """One inline-mode result: the entry's answer as a message with its link buttons."""
    reply = result.reply
    return InlineQueryResultArticle(
        id=result.entry_id,
        title=result.title,
        description=result.description,
        input_message_content=InputTextMessageContent(reply.text, parse_mode=ParseMode.HTML),
        reply_markup=inline_keyboard(reply.buttons, url_only=True),
    )
