"""Learning in Telegram: users' "did you mean" picks are noted, admins act on suggestions.

- A "did you mean" button carries the question's id ("e:<entry>:<question id>", see
  handlers.with_choice_ids); pressing it notes the pick (bot.storage.learning_store), shows
  the entry and asks "Was this helpful?" for that question, so a 👎 cancels the pick.
- /learn (admins, private chat): one suggestion at a time with Accept / Reject / Skip.
  Accepting writes faq/ through bot.staff.learning_desk (checked, atomic), reloads the
  knowledge base at once and shows the diff, with an Undo button.
- Under the first staff reply to a ticket: "add the question as a variant of <entry>" (for
  each entry the bot had offered) and "draft a new entry".
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.staff.learning import Suggestion, has_personal_data
from bot.staff.learning_desk import Accepted, LearnError, LearningDesk
from bot.storage.learning_store import LearningStore
from bot.storage.question_log import clean_question_text
from bot.storage.tickets import Ticket
from bot.telegram_bot.handlers import (
    BotServices,
    callback_answer,
    note_outcome,
    send_reply,
    services,
    services_in,
    user_language,
    with_feedback_buttons,
)

logger = logging.getLogger(__name__)

LEARNING_KEY = "learning"
SKIPPED_KEY = "learn_skipped"
# "e:<entry>:<question id>": a "did you mean" pick; "lr:<a|r|s>:<id>" and "lr:u" /learn's
# buttons; "lt:v:<ticket>:<entry>" and "lt:d:<ticket>" a ticket's buttons.
# The question id is the log's (URL-safe base64 of a few bytes): anything else is forged.
CHOICE_PATTERN = r"^e:[^:]+:[A-Za-z0-9_-]{1,32}\Z"
DIFF_CHARS = 2500
TICKET_ENTRIES = 3
ROW_ID_DIGITS = 18


@dataclass
class Learning:
    store: LearningStore
    desk: LearningDesk | None  # None without a question log to learn from


def learning_in(bot_data: Any) -> Learning | None:
    found = bot_data.get(LEARNING_KEY)
    return found if isinstance(found, Learning) else None


# ----- wiring (called by bot.telegram_bot.app) ---------------------------------------------


def install(application: Any, store: LearningStore | None) -> None:
    """Keep the learning state; without a store, picks are not noted and /learn is off."""
    if store is None:
        return
    svc = services_in(application.bot_data)
    source, log = svc.question_source, svc.question_log
    desk = None
    if source is not None:
        flush = getattr(log, "flush", None)
        desk = LearningDesk(
            svc.dialog.settings,
            store,
            source,
            lambda: svc.knowledge.current,
            faq_dir=svc.reloader.faq_dir if svc.reloader is not None else None,
            flush=flush if callable(flush) else None,
        )
    application.bot_data[LEARNING_KEY] = Learning(store, desk)


def register(application: Any) -> None:
    """The handlers: before the handler table's catch-all button handler."""
    handlers: list[Any] = [CallbackQueryHandler(picked_choice, pattern=CHOICE_PATTERN)]
    admin_ids = services_in(application.bot_data).dialog.settings.telegram.admin_ids
    if learning_in(application.bot_data) is not None:
        handlers.append(CallbackQueryHandler(ticket_button, pattern=r"^lt:"))
    if admin_ids:  # in the admins' menu either way: without a log, /learn says so
        admins = filters.ChatType.PRIVATE & filters.User(user_id=admin_ids)
        handlers.append(CommandHandler("learn", learn, filters=admins))
        handlers.append(CallbackQueryHandler(learn_button, pattern=r"^lr:"))
    application.add_handlers(handlers)


# ----- users' picks ---------------------------------------------------------------------


async def picked_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A "did you mean" choice: note it, then show the entry with "Was this helpful?"."""
    svc = services(context)
    query = update.callback_query
    if query is None:
        return
    parts = (query.data or "").split(":", 2)
    if len(parts) != 3 or not all(parts):
        # PTB hands an empty button payload to every pattern; a forged one is ignored.
        await query.answer()
        return
    _, entry_id, question_id = parts
    reply = svc.dialog.show_entry(entry_id, user_language(update, svc))
    learning = learning_in(context.bot_data)
    if reply.kind == "answer" and learning is not None:
        await asyncio.to_thread(learning.store.record_choice, question_id, entry_id)
    if reply.kind == "answer":
        reply = with_feedback_buttons(svc.dialog, reply, question_id)
    await query.answer()
    await send_reply(update, context, reply)
    note_outcome("choice", reply)


# ----- /learn ---------------------------------------------------------------------------


def _t(svc: BotServices, lang: str, key: str, **values: str) -> str:
    return svc.dialog.locales.text(lang, key, **values)


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
        await message.reply_text(_t(svc, lang, "staff_no_log"))
        return
    skipped = _skipped(context)
    found = await asyncio.to_thread(learning.desk.suggestions)
    waiting = [s for s in found if s.id not in skipped]
    if not waiting:
        await message.reply_text(_t(svc, lang, "learn_none"))
        return
    suggestion = waiting[0]
    await message.reply_text(
        _card(svc, lang, suggestion, len(waiting)),
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _t(svc, lang, "learn_accept"), callback_data=f"lr:a:{suggestion.id}"
                    ),
                    InlineKeyboardButton(
                        _t(svc, lang, "learn_reject"), callback_data=f"lr:r:{suggestion.id}"
                    ),
                    InlineKeyboardButton(
                        _t(svc, lang, "learn_skip"), callback_data=f"lr:s:{suggestion.id}"
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
        return _t(svc, lang, "learn_card_entry", **values)
    entry = svc.knowledge.current.knowledge.entry(suggestion.entry_id or "")
    title = entry.title(lang) if entry is not None else suggestion.entry_id or ""
    return _t(
        svc,
        lang,
        "learn_card_variant",
        entry=html.escape(title),
        entry_id=html.escape(suggestion.entry_id or ""),
        against=str(suggestion.against),
        **values,
    )


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
            await _served_now(svc)
            await query.answer()
            await query.edit_message_text(
                _accepted_text(svc, lang, accepted),
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton(_t(svc, lang, "learn_undo"), callback_data="lr:u")]]
                ),
            )
        elif action == "r":
            await asyncio.to_thread(desk.reject, identifier, "telegram")
            await query.answer()
            await query.edit_message_text(_t(svc, lang, "learn_rejected", id=identifier))
        elif action == "s":
            _skipped(context).add(identifier)
            await query.answer()
            await query.edit_message_reply_markup(None)
        elif action == "u":
            change = await asyncio.to_thread(desk.undo)
            await _served_now(svc)
            await query.answer()
            await query.edit_message_text(
                _t(svc, lang, "learn_undone", file=html.escape(change.path.name))
            )
            return
        else:
            await query.answer()
            return
    except LearnError as error:
        await _refused(svc, lang, query, message, error)
        return
    await _show_next(update, context, message)


async def _refused(
    svc: BotServices, lang: str, query: CallbackQuery, message: Message, error: LearnError
) -> None:
    """An alert, and the whole reason (lint's findings can be long) as a message."""
    refused = _t(svc, lang, "learn_refused", reason=html.escape(str(error)[:DIFF_CHARS]))
    await query.answer(callback_answer(refused), show_alert=True)
    await message.reply_text(refused)


def _accepted_text(svc: BotServices, lang: str, accepted: Accepted) -> str:
    diff = accepted.diff
    if len(diff) > DIFF_CHARS:
        diff = diff[: DIFF_CHARS - 1] + "…"
    key = "learn_accepted" if accepted.suggestion.kind == "variant" else "learn_drafted"
    return _t(
        svc,
        lang,
        key,
        id=accepted.suggestion.id,
        file=html.escape(accepted.path.name),
        diff=html.escape(diff),
    )


async def _served_now(svc: BotServices) -> None:
    """Reload at once rather than wait for the watcher: the next question gets it."""
    if svc.reloader is not None:
        await svc.reloader.reload()


# ----- hand-off tickets --------------------------------------------------------------------


async def offer_ticket_learning(
    context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, staff_message: Message
) -> None:
    """Under the first staff reply to a ticket: buttons that teach the bot its question."""
    learning = learning_in(context.bot_data)
    if learning is None or learning.desk is None or ticket.first_staff_reply_at is not None:
        return
    svc = services(context)
    lang = svc.dialog.settings.default_language
    knowledge = svc.knowledge.current.knowledge
    rows = []
    for entry_id, _score in _offered(ticket):
        entry = knowledge.entry(str(entry_id))
        if entry is not None:
            label = _t(svc, lang, "learn_ticket_variant", entry=entry.title(lang))
            rows.append([InlineKeyboardButton(label, callback_data=f"lt:v:{ticket.id}:{entry.id}")])
    rows.append(
        [
            InlineKeyboardButton(
                _t(svc, lang, "learn_ticket_draft"), callback_data=f"lt:d:{ticket.id}"
            )
        ]
    )
    await staff_message.reply_text(
        _t(svc, lang, "learn_ticket_prompt", ticket=str(ticket.id)),
        reply_markup=InlineKeyboardMarkup(rows),
    )


def _offered(ticket: Ticket) -> list[tuple[Any, Any]]:
    found = ticket.offered.get("candidates", [])
    if not isinstance(found, list):
        return []
    return [
        tuple(pair)
        for pair in found[:TICKET_ENTRIES]
        if isinstance(pair, (list, tuple)) and len(pair) == 2
    ]


def is_row_id(text: str) -> bool:
    """A database id in button data: ASCII digits that fit SQLite's 64-bit integer."""
    return text.isascii() and text.isdigit() and len(text) <= ROW_ID_DIGITS


async def ticket_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Add as a variant of <entry>" or "Draft a new entry", pressed in the staff group."""
    from bot.telegram_bot.handoff import handoff_in
    from bot.telegram_bot.staff_group import is_current_member

    svc = services(context)
    query = update.callback_query
    learning, handoff = learning_in(context.bot_data), handoff_in(context.bot_data)
    if query is None:
        return
    message = query.message
    if (
        learning is None
        or learning.desk is None
        or handoff is None
        or not isinstance(message, Message)
        or message.chat.type == ChatType.PRIVATE
        or message.chat.id != handoff.settings.staff_chat_id
    ):
        await query.answer()
        return
    # The buttons write into faq/: a past member or a viewer of a public group may not.
    if query.from_user.id not in svc.dialog.settings.telegram.admin_ids and not (
        await is_current_member(context.bot, handoff, query.from_user)
    ):
        note_outcome("staff_group_ignored")
        await query.answer()
        return
    lang = svc.dialog.settings.default_language
    parts = (query.data or "").split(":")
    ticket = (
        await asyncio.to_thread(handoff.store.ticket, int(parts[2]))
        if len(parts) >= 3 and is_row_id(parts[2])
        else None
    )
    note_outcome("staff_learn_ticket")
    if ticket is None or not ticket.question:
        await query.answer(callback_answer(_t(svc, lang, "learn_ticket_gone")), show_alert=True)
        return
    offered = {str(entry_id) for entry_id, _ in _offered(ticket)}
    if parts[1] not in ("v", "d") or (
        parts[1] == "v" and (len(parts) != 4 or parts[3] not in offered)
    ):
        await query.answer()  # forged: only the entries the bot offered have buttons
        return
    text = clean_question_text(ticket.question)
    if has_personal_data(text):
        await query.answer(callback_answer(_t(svc, lang, "learn_ticket_personal")), show_alert=True)
        return
    try:
        if parts[1] == "v" and len(parts) == 4:
            accepted = await asyncio.to_thread(
                learning.desk.add_question, parts[3], ticket.lang, text, "telegram"
            )
        else:
            accepted = await asyncio.to_thread(
                learning.desk.draft_entry, ticket.lang, text, "telegram"
            )
    except LearnError as error:
        await _refused(svc, lang, query, message, error)
        return
    await _served_now(svc)
    await query.answer()
    await query.edit_message_text(_accepted_text(svc, lang, accepted))
