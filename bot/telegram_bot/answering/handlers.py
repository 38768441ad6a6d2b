"""Thin Telegram callbacks: read the update, ask the dialog, send the reply.

Every callback has PTB's signature and reaches the bot's state through `services(context)`.
What to say is the dialog's business (bot.core.dialog); how buttons look is the keyboards
module's; which update goes to which callback is the handler table in bot.telegram_bot.app.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot.core.dialog import Dialog, Reply
from bot.core.telegram_html import MESSAGE_LIMIT, plain_length
from bot.telegram_bot.shared.addressing import mention_pattern
from bot.telegram_bot.shared.learning import learning_in
from bot.telegram_bot.shared.replies import callback_answer, send_reply
from bot.telegram_bot.shared.services import BotServices, note_outcome, services, user_language
from bot.telegram_bot.transport.keyboards import inline_article, inline_keyboard, without_row_of

logger = logging.getLogger(__name__)

# Inline results depend on the user's language, and the knowledge base can be reloaded:
# a short cache keeps Telegram from serving stale answers for long.
INLINE_CACHE_SECONDS = 30
TOAST_LIMIT = 64


# ----- what became of each update (one log line each, see telegram_app) -----------------


# ----- commands -----------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: the welcome and menu; /start <entry-id> (a deep link): that entry."""
    svc = services(context)
    payload = context.args[0] if context.args else None
    await send_reply(update, context, svc.dialog.welcome(user_language(update, svc), payload))


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/topics and /faq: the topics to browse."""
    svc = services(context)
    await send_reply(update, context, svc.dialog.topics(user_language(update, svc)))


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/contact: address, phone and e-mail, then a contact card and the map pin."""
    svc = services(context)
    await send_reply(update, context, svc.dialog.contact(user_language(update, svc)))


async def register(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/register: how to register an NGO in the agency's database."""
    svc = services(context)
    await send_reply(update, context, svc.dialog.register(user_language(update, svc)))


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language: the language buttons."""
    svc = services(context)
    await send_reply(update, context, svc.dialog.language_menu(user_language(update, svc)))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help, and any command the bot does not know (in a private chat)."""
    svc = services(context)
    await send_reply(update, context, svc.dialog.help(user_language(update, svc)))


# ----- messages -----------------------------------------------------------------------


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A question in words: its answer, 'did you mean' choices, or the contacts."""
    svc = services(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    text = question_text(message.text or "", context.bot.username)
    reply = svc.dialog.reply_to_question(
        text,
        chosen_lang=svc.prefs.chosen_language(user.id),
        hint_lang=svc.prefs.recent_language(user.id) or user.language_code,
    )
    if reply.match is not None and reply.match.lang:
        svc.prefs.note_language(user.id, reply.match.lang)
    question_id = record_question(svc, text, user.id, reply)
    for listener in svc.question_listeners:  # e.g. hand-off keeps it for "Ask the agency"
        listener(update, question_id, text, reply)
    if reply.ask_feedback:
        reply = with_feedback_buttons(svc.dialog, reply, question_id)
    elif reply.kind == "suggest":
        learning = learning_in(context.bot_data)
        tag = None
        if learning is not None:
            tag = partial(learning.store.pick_tag, question_id, user_id=user.id)
        reply = with_choice_ids(reply, question_id, tag)
    await send_reply(update, context, reply)


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice note, location...: the bot reads only text."""
    svc = services(context)
    await send_reply(update, context, svc.dialog.unsupported_message(user_language(update, svc)))


# ----- buttons and inline mode --------------------------------------------------------


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A pressed button: browse in place, open an entry, choose a language or vote."""
    svc = services(context)
    query = update.callback_query
    if query is None:
        return
    lang = user_language(update, svc)
    try:
        reply = svc.dialog.handle_action(query.data or "", lang)
    except Exception:
        # Callback data comes from the client and can be forged: whatever it holds, the
        # button is answered below like an unknown one. Its content is not logged.
        logger.exception("a button's data (%d bytes) could not be read", len(query.data or ""))
        reply = None
    if reply is None:  # a button from an older version of the bot, or forged data
        note_outcome("stale_button")
        await query.answer(callback_answer(svc.dialog.ask_prompt(lang).text))
        return
    if reply.feedback_vote is not None:
        await take_vote(query, svc, reply, *reply.feedback_vote)
        return
    await query.answer()  # stops the button's spinner
    if reply.chosen_language:
        svc.prefs.choose_language(query.from_user.id, reply.chosen_language)
    await send_reply(update, context, reply)


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline mode (@bot question in any chat): matching answers to share."""
    svc = services(context)
    query = update.inline_query
    if query is None:
        return
    text = query.query.strip()
    # A typed query tells its own language (only an explicit choice beats it); an empty one
    # lists top entries in the user's language.
    lang = svc.prefs.chosen_language(query.from_user.id) if text else user_language(update, svc)
    results = svc.dialog.search(text, lang)
    note_outcome("inline")
    await query.answer(
        [inline_article(result) for result in results],
        cache_time=INLINE_CACHE_SECONDS,
        is_personal=True,
    )


# ----- before and after every handler -------------------------------------------------


# ----- helpers ------------------------------------------------------------------------


def question_text(text: str, bot_username: str | None) -> str:
    """The question without the @mention groups address the bot with."""
    if bot_username:
        text = mention_pattern(bot_username).sub(" ", text)
    return " ".join(text.split())


def record_question(svc: BotServices, text: str, user_id: int, reply: Reply) -> str:
    """Log the question; its id ties a later 'helpful?' vote to it."""
    if svc.question_log is None:
        return secrets.token_urlsafe(6)
    return svc.question_log.record_question(
        text,
        user_id=user_id,
        lang=reply.lang,
        outcome=reply.kind,
        entry_id=reply.entry_id,
        score=reply.match.score if reply.match is not None else 0.0,
    )


def with_feedback_buttons(dialog: Dialog, reply: Reply, question_id: str) -> Reply:
    """The answer followed by 'Was this helpful?' and its yes / no pair."""
    text = f"{reply.text}\n\n{dialog.feedback_question(reply.lang)}"
    if plain_length(text) > MESSAGE_LIMIT:  # an answer at the limit keeps just the buttons
        text = reply.text
    buttons = (*reply.buttons, dialog.feedback_buttons(reply.lang, question_id))
    return replace(reply, text=text, buttons=buttons)


def with_choice_ids(
    reply: Reply, question_id: str, tag: Callable[[str], str] | None = None
) -> Reply:
    """'Did you mean' buttons that also name the question ("e:<entry>:<question id>"), so
    a pick can be tied to it (answering.picks); with `tag` (entry id -> its tag), each also
    carries the proof that the bot offered that entry to this asker (":<tag>")."""

    def tied(action: str) -> str:
        entry_id = action.removeprefix("e:")
        return f"{action}:{question_id}" + (f":{tag(entry_id)}" if tag is not None else "")

    rows = tuple(
        tuple(
            replace(button, action=tied(button.action))
            if button.action is not None and button.action.startswith("e:")
            else button
            for button in row
        )
        for row in reply.buttons
    )
    return replace(reply, buttons=rows)


async def take_vote(
    query: CallbackQuery, svc: BotServices, reply: Reply, question_id: str, helpful: bool
) -> None:
    """Record a 'helpful?' vote, thank the user and take the yes / no pair away."""
    note_outcome("vote_yes" if helpful else "vote_no", reply)
    thanks = callback_answer(reply.text)
    await query.answer(thanks, show_alert=len(thanks) > TOAST_LIMIT)
    if svc.question_log is not None:
        svc.question_log.record_feedback(question_id, helpful, user_id=query.from_user.id)
    if isinstance(query.message, Message):
        kept = without_row_of(query.message.reply_markup, query.data or "")
        added = inline_keyboard(reply.buttons)  # after a 👎: "Ask the agency"
        if added is not None:
            kept = InlineKeyboardMarkup(
                [*(kept.inline_keyboard if kept else ()), *added.inline_keyboard]
            )
        await query.edit_message_reply_markup(kept)
