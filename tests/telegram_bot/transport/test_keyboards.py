"""Dialog buttons rendered as Telegram inline keyboards, within Telegram's rules."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.dialog import Button, Dialog, InlineResult
from bot.telegram_bot.transport.keyboards import inline_article, inline_keyboard, without_row_of


def test_rows_keep_their_shape_and_kinds() -> None:
    markup = inline_keyboard(
        [
            (Button("Map", url="https://maps.example.org"), Button("Topics", action="t")),
            (Button("Phone", action="e:phone-number"),),
        ]
    )
    assert markup is not None
    first, second = markup.inline_keyboard
    assert [(b.text, b.url, b.callback_data) for b in first] == [
        ("Map", "https://maps.example.org", None),
        ("Topics", None, "t"),
    ]
    assert second[0].callback_data == "e:phone-number"


def test_links_telegram_cannot_open_from_a_button_are_left_out() -> None:
    markup = inline_keyboard(
        [(Button("E-mail", url="mailto:info@amshc.gov.al"), Button("Call", url="tel:+3554"))]
    )
    assert markup is None


def test_inline_mode_keeps_only_link_buttons() -> None:
    markup = inline_keyboard(
        [(Button("Site", url="https://www.amshc.gov.al"),), (Button("More", action="e:x"),)],
        url_only=True,
    )
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [["Site"]]


def test_callback_data_over_64_bytes_is_a_loud_error() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        inline_keyboard([(Button("Too long", action="e:" + "ë" * 32),)])


def test_the_voted_row_is_taken_away_and_the_rest_kept() -> None:
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Map", url="https://maps.example.org")],
            [
                InlineKeyboardButton("Yes", callback_data="f:y:q1"),
                InlineKeyboardButton("No", callback_data="f:n:q1"),
            ],
        ]
    )
    left = without_row_of(markup, "f:n:q1")
    assert left is not None
    assert [[b.text for b in row] for row in left.inline_keyboard] == [["Map"]]
    only_votes = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="f:y:q1")]])
    assert without_row_of(only_votes, "f:y:q1") is None


def test_every_button_the_dialog_makes_renders(dialog: Dialog) -> None:
    replies = [dialog.welcome("en"), dialog.topics("sq"), dialog.contact("en")]
    replies += [dialog.category(c.key, 0, "en") for c in dialog.knowledge().knowledge.categories]
    replies += [dialog.show_entry(e.id, "sq") for e in dialog.knowledge().knowledge]
    for reply in replies:
        inline_keyboard((*reply.buttons, dialog.feedback_buttons("en", "Abc-123_xyz")))


def test_an_inline_result_is_an_html_article(dialog: Dialog) -> None:
    entry_reply = dialog.show_entry("office-address", "en")
    article = inline_article(InlineResult("office-address", "Office", "Where we are", entry_reply))
    assert article.id == "office-address"
    assert article.input_message_content.parse_mode == "HTML"
