"""/learn (admins, private chat): one suggestion at a time with Accept / Reject / Skip.
Accepting writes faq/ through bot.staff.learning_desk (checked, atomic), reloads the
knowledge base at once and shows the diff, with an Undo button."""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.staff.learning import Suggestion
from bot.staff.learning_desk import LearnError
from bot.telegram_bot.shared.learning import (
    accepted_text,
    learning_in,
    refused,
    served_now,
    staff_text,
)
from bot.telegram_bot.shared.services import (
    BotServices,
    note_outcome,
    services,
    services_in,
    user_language,
)

logger = logging.getLogger(__name__)

SKIPPED_KEY = "learn_skipped"


async def learn(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/learn: the first open suggestion this admin has not skipped."""
    note_outcome("staff_learn")
    message = update.effective_message
    if message is None:
        return
    await _show_next(update, context, message)


async def _show_next(update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message) -> None:
    svc = services(context)
    lang = user_language(update, svc)
    learning = learning_in(context.bot_data)
    if learning is None or learning.desk is None:
        await message.reply_text(staff_text(svc, lang, "staff_no_log"))
        return
    skipped = _skipped(context)
    found = await asyncio.to_thread(learning.desk.suggestions)
    waiting = [s for s in found if s.id not in skipped]
    if not waiting:
        await message.reply_text(staff_text(svc, lang, "learn_none"))
        return
    suggestion = waiting[0]
    await message.reply_text(
        _card(svc, lang, suggestion, len(waiting)),
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        staff_text(svc, lang, "learn_accept"), callback_data=f"lr:a:{suggestion.id}"
                    ),
                    InlineKeyboardButton(
                        staff_text(svc, lang, "learn_reject"), callback_data=f"lr:r:{suggestion.id}"
                    ),
                    InlineKeyboardButton(
                        staff_text(svc, lang, "learn_skip"), callback_data=f"lr:s:{suggestion.id}"
                    ),
                ]
            ]
        ),
    )


def _skipped(context: ContextTypes.DEFAULT_TYPE) -> set[str]:
    data = context.user_data
    if data is None:
        return set()
    found = data.setdefault(SKIPPED_KEY, set())
    return found if isinstance(found, set) else set()


def _card(svc: BotServices, lang: str, suggestion: Suggestion, waiting: int) -> str:
    others = "; ".join(html.escape(sample) for sample in suggestion.samples[1:]) or "–"
    values = {
        "id": suggestion.id,
        "waiting": str(waiting),
        "text": html.escape(suggestion.text),
        "language": html.escape(suggestion.lang),
        "users": str(suggestion.users),
        "asked": str(suggestion.asked),
        "others": others,
    }
    if suggestion.kind == "entry":
        return staff_text(svc, lang, "learn_card_entry", **values)
    entry = svc.knowledge.current.knowledge.entry(suggestion.entry_id or "")
    title = entry.title(lang) if entry is not None else suggestion.entry_id or ""
    return staff_text(
        svc,
        lang,
        "learn_card_variant",
        entry=html.escape(title),
        entry_id=html.escape(suggestion.entry_id or ""),
        against=str(suggestion.against),
        signals=_signals(svc, lang, suggestion),
        **values,
    )


def _signals(svc: BotServices, lang: str, suggestion: Suggestion) -> str:
    """What ties the wording to the entry, kind by kind: staff judge a pick differently
    from a 👍."""
    kinds = suggestion.signals or {}
    parts = [
        staff_text(svc, lang, f"learn_signal_{kind}", count=str(count))
        for kind, count in sorted(kinds.items())
        if count
    ]
    return staff_text(svc, lang, "learn_signals", signals="; ".join(parts)) if parts else ""


async def learn_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Accept / Reject / Skip under a suggestion, and Undo under an accepted one."""
    svc = services(context)
    query = update.callback_query
    learning = learning_in(context.bot_data)
    if query is None:
        return
    if (
        learning is None
        or learning.desk is None
        or query.from_user.id not in svc.dialog.settings.telegram.admin_ids
        or not isinstance(query.message, Message)
    ):
        await query.answer()
        return
    desk, message = learning.desk, query.message
    lang = user_language(update, svc)
    action, _, identifier = (query.data or "").removeprefix("lr:").partition(":")
    note_outcome(f"staff_learn_{action}")
    try:
        if action == "a":
            accepted = await asyncio.to_thread(desk.accept, identifier, "telegram")
            await served_now(svc, (query.from_user.id, lang))
            await query.answer()
            await query.edit_message_text(
                accepted_text(svc, lang, accepted),
                reply_markup=InlineKeyboardMarkup(
                    [
                        [
                            InlineKeyboardButton(
                                staff_text(svc, lang, "learn_undo"), callback_data="lr:u"
                            )
                        ]
                    ]
                ),
            )
        elif action == "r":
            await asyncio.to_thread(desk.reject, identifier, "telegram")
            await query.answer()
            await query.edit_message_text(staff_text(svc, lang, "learn_rejected", id=identifier))
        elif action == "s":
            _skipped(context).add(identifier)
            await query.answer()
            await query.edit_message_reply_markup(None)
        elif action == "u":
            change = await asyncio.to_thread(desk.undo)
            await served_now(svc, (query.from_user.id, lang))
            await query.answer()
            await query.edit_message_text(
                staff_text(svc, lang, "learn_undone", file=html.escape(change.path.name))
            )
            return
        else:
            await query.answer()
            return
    except LearnError as error:
        await refused(svc, lang, query, message, error)
        return
    await _show_next(update, context, message)


def register(application: Any) -> None:
    """/learn and its buttons, for the admins (in their menu either way: without a question
    log, /learn says so)."""
    admin_ids = services_in(application.bot_data).dialog.settings.telegram.admin_ids
    if not admin_ids:
        return
    admins = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.User(user_id=admin_ids)
    application.add_handlers(
        [
            CommandHandler("learn", learn, filters=admins),
            CallbackQueryHandler(learn_button, pattern=r"^lr:"),
        ]
    )
