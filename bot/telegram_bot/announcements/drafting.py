"""Announcements by staff: /announce in an admin's private chat.

In Telegram: /announce -> pick the topic -> send the text in each language (Telegram's
formatting or HTML, checked as Telegram would) -> a preview of exactly what subscribers get
-> how many it will reach -> Send. The job is stored before anything goes out; the bot's
background runner (announcements.broadcast) delivers it and edits one progress message,
then sends the final counts: delivered, blocked the bot, failed.

`python -m bot announce` does the same from the command line (announce_command.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.telegram_html import escape, shorten
from bot.storage.subscriptions import Broadcast, BroadcastCounts
from bot.telegram_bot.announcements.broadcast import (
    SEND_OPTIONS,
    Draft,
    SubscriptionServices,
    announcement_problems,
    announcement_text,
    subscription_services,
)
from bot.telegram_bot.shared.services import (
    BotServices,
    note_outcome,
    services,
    services_in,
    user_language,
)

logger = logging.getLogger(__name__)

# Formatting an admin applied in Telegram (rather than typing HTML): its HTML is kept.
FORMATTING = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "pre",
        "text_link",
        "blockquote",
        "expandable_blockquote",
    }
)

# The refused text shown back to the admin, as typed (its HTML escaped): room for the rest of
# the message within Telegram's 4,096.
KEPT_TEXT_CHARS = 3000

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Handler = BaseHandler[Update, ContextTypes.DEFAULT_TYPE, Any]


class _Drafting(filters.MessageFilter):
    """Messages from an admin whose draft waits for a text."""

    def __init__(self, subs: SubscriptionServices) -> None:
        super().__init__(name="drafting_announcement")
        self.subs = subs

    def filter(self, message: Message) -> bool:
        draft = self.subs.drafts.get(message.chat_id)
        return draft is not None and draft.waiting_for is not None


def handlers(application: AnyApplication) -> list[Handler]:
    """The admins' /announce flow, for their private chats only (nobody else sees it)."""
    subs = subscription_services(application.bot_data)
    admin_ids = services_in(application.bot_data).dialog.settings.telegram.admin_ids
    if subs is None or not admin_ids:
        return []
    staff_only = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.User(admin_ids)
    drafting = _Drafting(subs)
    return [
        CommandHandler("announce", announce, filters=staff_only),
        CommandHandler("cancel", cancel, filters=staff_only & drafting),
        MessageHandler(staff_only & filters.TEXT & ~filters.COMMAND & drafting, draft_text),
        CallbackQueryHandler(announce_button, pattern=r"^a:"),
    ]


def _subs(context: ContextTypes.DEFAULT_TYPE) -> SubscriptionServices:
    found = subscription_services(context.bot_data)
    if found is None:
        raise RuntimeError("subscriptions are not installed")
    return found


def _t(svc: BotServices, lang: str, key: str, **values: str) -> str:
    return svc.dialog.locales.text(lang, key, **values)


async def announce(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/announce: a new draft; first, its topic."""
    svc, subs = services(context), _subs(context)
    message = update.effective_message
    if message is None:
        return
    note_outcome("staff_announce")
    lang = user_language(update, svc)
    topics = svc.dialog.settings.subscriptions.topics
    draft = Draft(secrets.token_urlsafe(6))
    subs.drafts[message.chat_id] = draft
    rows = []
    for key, topic in topics.items():
        count = sum((await asyncio.to_thread(subs.store.audience, key)).values())
        label = _t(svc, lang, "announce_topic_button", topic=topic.name(lang), count=str(count))
        rows.append([InlineKeyboardButton(label, callback_data=f"a:t:{draft.token}:{key}")])
    rows.append(
        [
            InlineKeyboardButton(
                _t(svc, lang, "announce_cancel_button"), callback_data=f"a:no:{draft.token}"
            )
        ]
    )
    await message.reply_text(
        _t(svc, lang, "announce_choose_topic"), reply_markup=InlineKeyboardMarkup(rows)
    )


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc, subs = services(context), _subs(context)
    message = update.effective_message
    if message is None:
        return
    subs.drafts.pop(message.chat_id, None)
    await message.reply_text(_t(svc, user_language(update, svc), "announce_cancelled"))


def message_html(message: Message) -> str:
    """The admin's text as Telegram HTML: their formatting if they used Telegram's, else
    the text as typed (HTML they wrote themselves)."""
    entities = message.entities or ()
    if any(entity.type in FORMATTING for entity in entities):
        return message.text_html
    return message.text or ""


async def draft_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The text of the language the draft waits for: checked, then the next language or
    the preview and the question whether to send it."""
    svc, subs = services(context), _subs(context)
    message = update.effective_message
    if message is None:
        return
    note_outcome("staff_announce")
    draft = subs.drafts[message.chat_id]
    lang = user_language(update, svc)
    settings = svc.dialog.settings
    if draft.topic is None or draft.waiting_for is None:
        return
    topic = settings.subscriptions.topics[draft.topic]
    body = message_html(message)
    problems = announcement_problems(svc.dialog.locales, topic, draft.waiting_for, body)
    if problems:
        listed = "\n".join(f"• {escape(problem)}" for problem in problems[:5])
        await message.reply_text(_t(svc, lang, "announce_text_problems", problems=listed))
        return
    draft.texts[draft.waiting_for] = body
    missing = [code for code in settings.languages if code not in draft.texts]
    if missing:
        draft.waiting_for = missing[0]
        await message.reply_text(_ask_text(svc, lang, missing[0]))
        return
    draft.waiting_for = None
    for code in settings.languages:
        language = _t(svc, code, "language_name")
        await message.reply_text(_t(svc, lang, "announce_preview", language=language))
        text = announcement_text(svc.dialog.locales, topic, code, draft.texts[code])
        try:
            await context.bot.send_message(message.chat_id, text, **SEND_OPTIONS)
        except BadRequest as error:
            # Telegram is the judge: nothing is stored until it took every preview.
            del draft.texts[code]
            draft.waiting_for = code
            refusal = _t(
                svc, lang, "announce_preview_refused", language=language, reason=escape(str(error))
            )
            await message.reply_text(refusal)
            return
    audience = await asyncio.to_thread(subs.store.audience, draft.topic)
    count = sum(audience.values())
    if count == 0:
        subs.drafts.pop(message.chat_id, None)
        await message.reply_text(_t(svc, lang, "announce_nobody", topic=escape(topic.name(lang))))
        return
    languages = ", ".join(f"{code}: {number}" for code, number in audience.items())
    buttons = [
        InlineKeyboardButton(
            _t(svc, lang, "announce_send_button"), callback_data=f"a:go:{draft.token}"
        ),
        InlineKeyboardButton(
            _t(svc, lang, "announce_cancel_button"), callback_data=f"a:no:{draft.token}"
        ),
    ]
    await message.reply_text(
        _t(
            svc,
            lang,
            "announce_confirm",
            topic=escape(topic.name(lang)),
            count=str(count),
            languages=languages,
        ),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )


def _ask_text(svc: BotServices, lang: str, code: str) -> str:
    return _t(svc, lang, "announce_ask_text", language=_t(svc, code, "language_name"))


async def announce_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The draft's buttons: topic, send, cancel. Only admins' presses count."""
    svc, subs = services(context), _subs(context)
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    if query.from_user.id not in svc.dialog.settings.telegram.admin_ids:
        await query.answer()
        return
    note_outcome("staff_announce")
    lang = user_language(update, svc)
    # a:<action>:<draft token>[:<topic>]
    _, action, rest = f"{query.data or ''}::".split(":", 2)
    token, _, key = rest.rstrip(":").partition(":")
    draft = subs.drafts.get(chat.id)
    await query.answer()
    if draft is None or draft.token != token:
        await _edit(query, _t(svc, lang, "announce_expired"))
        return
    if action == "no":
        subs.drafts.pop(chat.id, None)
        await _edit(query, _t(svc, lang, "announce_cancelled"))
    elif action == "t" and key in svc.dialog.settings.subscriptions.topics:
        draft.topic, draft.texts = key, {}
        draft.waiting_for = svc.dialog.settings.languages[0]
        await _edit(query, _ask_text(svc, lang, draft.waiting_for))
    elif action == "go" and draft.topic is not None and draft.waiting_for is None:
        subs.drafts.pop(chat.id, None)  # a second press finds no draft: one job only
        job = await asyncio.to_thread(
            subs.store.create_broadcast,
            draft.topic,
            draft.texts,
            requested_by=chat.id,
            requested_lang=lang,
            default_language=svc.dialog.settings.default_language,
        )
        sent = await _edit(query, _t(svc, lang, "announce_started", count=str(job.counts.total)))
        if sent is not None:
            await asyncio.to_thread(subs.store.set_status_message, job.id, sent)
        if subs.runner is not None:
            subs.runner.wake()


async def _edit(query: Any, text: str) -> int | None:
    """Replace the pressed message's text (and drop its buttons); its id, or None."""
    try:
        edited = await query.edit_message_text(text)
    except BadRequest:
        return None
    return edited.message_id if isinstance(edited, Message) else None


class ProgressNotifier:
    """Tells the admin who sent an announcement how it goes: one message edited as it
    progresses, then the final counts as a new message (which notifies them)."""

    def __init__(self, application: AnyApplication) -> None:
        self.application = application

    async def report(self, job: Broadcast, counts: BroadcastCounts, finished: bool) -> None:
        admin = job.requested_by
        if admin is None:
            return
        svc = services_in(self.application.bot_data)
        lang = svc.dialog.reply_language(
            chosen=svc.prefs.chosen_language(admin),
            detected=svc.prefs.recent_language(admin),
            hint=job.requested_lang,
        )
        bot = self.application.bot
        values = {
            "done": str(counts.done),
            "count": str(counts.total),
            "delivered": str(counts.delivered),
            "blocked": str(counts.blocked),
            "failed": str(counts.failed),
        }
        try:
            if finished:
                topic = svc.dialog.settings.subscriptions.topics.get(job.topic)
                name = topic.name(lang) if topic else job.topic
                await bot.send_message(
                    admin, _t(svc, lang, "announce_finished", topic=escape(name), **values)
                )
            elif job.status_message_id is not None:
                await bot.edit_message_text(
                    _t(svc, lang, "announce_progress", **values),
                    chat_id=admin,
                    message_id=job.status_message_id,
                )
        except TelegramError as error:  # progress is a courtesy; delivery goes on
            if "not modified" not in str(error):
                logger.info("could not tell the admin how the announcement goes: %s", error)

    async def refused(self, job: Broadcast, counts: BroadcastCounts, reason: str) -> None:
        """Telegram refused the job's first messages: the admin learns why, with the text."""
        admin = job.requested_by
        if admin is None:
            return
        svc = services_in(self.application.bot_data)
        lang = svc.dialog.reply_language(
            chosen=svc.prefs.chosen_language(admin),
            detected=svc.prefs.recent_language(admin),
            hint=job.requested_lang,
        )
        topic = svc.dialog.settings.subscriptions.topics.get(job.topic)
        body = job.texts.get(lang) or next(iter(job.texts.values()), "")
        text = _t(
            svc,
            lang,
            "announce_refused",
            topic=escape(topic.name(lang) if topic else job.topic),
            failed=str(counts.failed),
            reason=escape(reason),
            text=escape(shorten(body, KEPT_TEXT_CHARS)),
        )
        try:
            await self.application.bot.send_message(admin, text)
        except TelegramError as error:
            logger.error("could not tell the admin their announcement was refused: %s", error)
