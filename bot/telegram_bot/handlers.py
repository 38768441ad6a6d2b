"""Thin Telegram callbacks: read the update, ask the dialog, send the reply.

Every callback has PTB's signature and reaches the bot's state through `services(context)`.
What to say is the dialog's business (bot.core.dialog); how buttons look is the keyboards
module's; which update goes to which callback is the handler table in bot.telegram_bot.app.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Protocol

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.core.dialog import Dialog, Reply
from bot.core.knowledge_state import KnowledgeHolder
from bot.core.telegram_html import MESSAGE_LIMIT, html_to_plain, plain_length, split_message
from bot.staff.reloader import KnowledgeReloader
from bot.staff.report import QuestionSource
from bot.storage.user_prefs import UserPrefs
from bot.telegram_bot.flood import FloodGuard
from bot.telegram_bot.keyboards import inline_article, inline_keyboard, without_row_of

logger = logging.getLogger(__name__)

SERVICES_KEY = "services"
# Inline results depend on the user's language, and the knowledge base can be reloaded:
# a short cache keeps Telegram from serving stale answers for long.
INLINE_CACHE_SECONDS = 30
# Telegram cuts a callback answer at 200 characters; a toast vanishes after a moment, so
# anything longer than a short sentence is shown as an alert the user dismisses.
CALLBACK_ANSWER_LIMIT = 200
TOAST_LIMIT = 64


class QuestionRecorder(Protocol):
    """What the handlers need of the question log (bot.storage.question_log.QuestionLog)."""

    def record_question(
        self,
        text: str,
        *,
        user_id: int | None,
        lang: str | None,
        outcome: str,
        entry_id: str | None = ...,
        score: float = ...,
        channel: str = ...,
    ) -> str: ...

    def record_feedback(
        self, question_id: str, helpful: bool, *, user_id: int | None = ...
    ) -> None: ...


@dataclass
class BotServices:
    """Everything the callbacks use, stored once in `application.bot_data`."""

    dialog: Dialog  # replaced once in post_init, when the bot's username is known
    knowledge: KnowledgeHolder
    prefs: UserPrefs
    flood: FloodGuard
    question_log: QuestionRecorder | None = None  # None: questions are not logged
    question_source: QuestionSource | None = None  # the log read back, for /stats
    reloader: KnowledgeReloader | None = None  # for /reload and the FAQ watcher
    # Told of every question answered in words (update, question id, text, reply).
    question_listeners: list[Callable[[Update, str, str, Reply], None]] = field(
        default_factory=list
    )


def services_in(bot_data: MutableMapping[Any, Any]) -> BotServices:
    found = bot_data.get(SERVICES_KEY)
    if not isinstance(found, BotServices):
        raise RuntimeError(
            "the application was not built by bot.telegram_bot.app.build_application"
        )
    return found


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    """The bot's services, from the one place they are kept."""
    return services_in(context.bot_data)


# ----- what became of each update (one log line each, see telegram_app) -----------------


@dataclass
class UpdateOutcome:
    kind: str = "ignored"
    entry_id: str | None = None
    score: float | None = None
    lang: str | None = None


_outcome: ContextVar[UpdateOutcome | None] = ContextVar("update_outcome", default=None)


@contextmanager
def tracking_outcome() -> Iterator[UpdateOutcome]:
    """Collect what the callbacks of the update processed inside this block did."""
    outcome = UpdateOutcome()
    token = _outcome.set(outcome)
    try:
        yield outcome
    finally:
        _outcome.reset(token)


def note_outcome(kind: str, reply: Reply | None = None) -> None:
    outcome = _outcome.get()
    if outcome is None:  # a callback run outside the update processor (some tests)
        return
    outcome.kind = kind
    if reply is not None:
        outcome.entry_id = reply.entry_id
        outcome.score = reply.match.score if reply.match is not None else None
        outcome.lang = reply.lang


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
        reply = with_choice_ids(reply, question_id)
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


async def flood_gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs first: a user over the flood limit gets one notice, then is ignored a while.
    Inline queries have an allowance of their own and get no notice (there is no chat to
    send it to): they go unanswered until the user slows down."""
    svc = services(context)
    user = update.effective_user
    if user is None:
        return
    inline = update.inline_query is not None
    verdict = svc.flood.check_inline(user.id) if inline else svc.flood.check(user.id)
    if verdict == "allow":
        return
    note_outcome("throttled")
    if verdict == "notify" and not inline:
        notice = svc.dialog.flood_notice(user_language(update, svc))
        if update.callback_query is not None:
            await update.callback_query.answer(callback_answer(notice.text), show_alert=True)
        else:
            await send_reply(update, context, notice)
        note_outcome("flood_notice", notice)
    elif update.callback_query is not None:
        await update.callback_query.answer()  # ignored, but its spinner stops
    raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any error a callback raised, with its traceback; the bot carries on."""
    note_outcome("error")
    if isinstance(context.error, Forbidden):
        # The user blocked the bot or the bot left the group: nothing to fix, nothing to retry.
        logger.warning("Telegram refused to deliver a reply: %s", context.error)
        return
    logger.error("error while handling an update", exc_info=context.error)


# ----- helpers ------------------------------------------------------------------------


def user_language(update: Update, svc: BotServices) -> str:
    """The explicit choice, else the language the user last wrote in, else Telegram's."""
    user = update.effective_user
    if user is None:
        return svc.dialog.reply_language()
    return svc.dialog.reply_language(
        chosen=svc.prefs.chosen_language(user.id),
        detected=svc.prefs.recent_language(user.id),
        hint=user.language_code,
    )


@cache
def mention_pattern(bot_username: str) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)


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


def with_choice_ids(reply: Reply, question_id: str) -> Reply:
    """'Did you mean' buttons that also name the question ("e:<entry>:<question id>"), so
    a pick can be tied to it (bot.telegram_bot.learn_handlers)."""
    rows = tuple(
        tuple(
            replace(button, action=f"{button.action}:{question_id}")
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


def callback_answer(text: str) -> str:
    """A reply's text as a callback answer: plain, and within Telegram's limit."""
    plain = " ".join(html_to_plain(text).split())
    if len(plain) > CALLBACK_ANSWER_LIMIT:
        plain = plain[: CALLBACK_ANSWER_LIMIT - 1] + "…"
    return plain


async def send_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """Send `reply` where the update came from: a browsing button edits its own message,
    a message gets a reply (quoted in groups); then the contact card and map pin, if any."""
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
