"""/subscribe and /unsubscribe for users, and the wiring of announcements into the bot.

Users follow the topics of `subscriptions.topics` (config.yaml) with toggle buttons; the
welcome message (/start) offers it to those who follow nothing. Announcements reach them in
the language they use with the bot: the stored language follows their choice.

`install` (from build_application), `register` (from the handler table), `start` and `stop`
(from post_init and post_stop) are all the application needs to call; with no topics
configured they do nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.core.telegram_html import escape
from bot.storage.subscriptions import SubscriptionStore
from bot.telegram_bot.announcements import drafting
from bot.telegram_bot.announcements.broadcast import (
    SUBSCRIPTIONS_KEY,
    Broadcaster,
    BroadcastRunner,
    SubscriptionServices,
    broadcast_bot,
    subscription_services,
)
from bot.telegram_bot.shared import handler_groups
from bot.telegram_bot.shared.forgetting import add_forgetter
from bot.telegram_bot.shared.services import BotServices, note_outcome, services, services_in
from bot.telegram_bot.shared.services import user_language as language_of_user
from bot.telegram_bot.transport.delivery import budget_of

logger = logging.getLogger(__name__)

# Handler groups that run after the answer (group 0) of the same update.
OFFER_GROUP = handler_groups.AFTER_ANSWER
LANGUAGE_GROUP = handler_groups.AFTER_ANSWER_LATE
STOP_WITHIN_SECONDS = 10.0
MAX_OFFERS_REMEMBERED = 100_000

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Handler = BaseHandler[Update, ContextTypes.DEFAULT_TYPE, Any]


# ----- wiring -----------------------------------------------------------------------------


def install(
    application: AnyApplication,
    store: SubscriptionStore | None,
    *,
    request: BaseRequest | None = None,
) -> None:
    """Switch announcements on if config.yaml names topics (`store` None: kept in memory)."""
    svc = services_in(application.bot_data)
    settings = svc.dialog.settings
    if not settings.subscriptions.enabled:
        return
    broadcaster = Broadcaster(
        broadcast_bot(settings, application.bot.token, request, budget=budget_of(application.bot)),
        store or SubscriptionStore(":memory:"),
        settings,
        svc.dialog.locales,
    )
    subs = SubscriptionServices(
        store=broadcaster.store,
        broadcaster=broadcaster,
        maybe_subscribed=set(broadcaster.store.subscribers()),
    )
    notifier = drafting.ProgressNotifier(application)
    subs.runner = BroadcastRunner(broadcaster, notifier.report, notifier.refused)
    application.bot_data[SUBSCRIPTIONS_KEY] = subs

    async def forget_subscriptions(user_id: int) -> None:
        # /forget comes from a private chat, whose id is the user's.
        await asyncio.to_thread(subs.store.forget, user_id)
        subs.maybe_subscribed.discard(user_id)
        subs.offered.discard(user_id)

    add_forgetter(application, forget_subscriptions)


def register(application: AnyApplication) -> None:
    """Adds the handlers that follow an answer (the welcome's offer, the language), and
    those of the main group (call before answering's catch-alls)."""
    if subscription_services(application.bot_data) is None:
        return
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    application.add_handler(
        CommandHandler("start", offer_after_welcome, filters=private), group=OFFER_GROUP
    )
    application.add_handler(TypeHandler(Update, keep_language_current), group=LANGUAGE_GROUP)
    main_group: list[Handler] = [
        CommandHandler("subscribe", subscribe, filters=private),
        CommandHandler("unsubscribe", unsubscribe, filters=private),
        CallbackQueryHandler(subscription_button, pattern=r"^s:"),
        *drafting.handlers(application),
    ]
    application.add_handlers(main_group, group=handler_groups.ANSWERS)


async def start(application: AnyApplication) -> None:
    """Start delivering announcements in the background (and resume an interrupted one)."""
    subs = subscription_services(application.bot_data)
    if subs is None or subs.runner is None or subs.task is not None:
        return
    await subs.broadcaster.bot.initialize()
    subs.stop = asyncio.Event()
    subs.task = asyncio.create_task(subs.runner.run(subs.stop), name="announcements")


async def stop(application: AnyApplication) -> None:
    """Let the messages in flight finish (the rest stays queued for the next start)."""
    subs = subscription_services(application.bot_data)
    if subs is None or subs.task is None or subs.stop is None:
        return
    subs.stop.set()
    try:
        await asyncio.wait_for(subs.task, STOP_WITHIN_SECONDS)
    except TimeoutError:
        logger.warning("announcements did not stop within %.0f s", STOP_WITHIN_SECONDS)
    except Exception:
        logger.exception("the announcements task failed")
    subs.task = None
    await subs.broadcaster.bot.shutdown()


# ----- users ------------------------------------------------------------------------------


def _subs(context: ContextTypes.DEFAULT_TYPE) -> SubscriptionServices:
    found = subscription_services(context.bot_data)
    if found is None:
        raise RuntimeError("subscriptions are not installed")
    return found


def menu(
    svc: BotServices, following: frozenset[str], lang: str, header: str = "subscribe_prompt"
) -> tuple[str, InlineKeyboardMarkup]:
    """The topics as toggle buttons, and what the user follows now."""
    locales = svc.dialog.locales
    topics = svc.dialog.settings.subscriptions.topics
    names = [topic.name(lang) for key, topic in topics.items() if key in following]
    status = (
        locales.text(lang, "subscribe_following", topics=", ".join(map(escape, names)))
        if names
        else locales.text(lang, "subscribe_following_none")
    )
    rows = [
        [
            InlineKeyboardButton(
                locales.text(
                    lang,
                    "subscribe_topic_on" if key in following else "subscribe_topic_off",
                    topic=topic.name(lang),
                ),
                callback_data=f"s:t:{key}",
            )
        ]
        for key, topic in topics.items()
    ]
    if following:
        rows.append(
            [
                InlineKeyboardButton(
                    locales.text(lang, "unsubscribe_all_button"), callback_data="s:all"
                )
            ]
        )
    return f"{locales.text(lang, header)}\n\n{status}", InlineKeyboardMarkup(rows)


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe: the topics as toggle buttons."""
    svc, subs = services(context), _subs(context)
    message = update.effective_message
    if message is None:
        return
    note_outcome("subscribe")
    following = await asyncio.to_thread(subs.store.topics_of, message.chat_id)
    text, markup = menu(svc, following, language_of_user(update, svc))
    await message.reply_text(text, reply_markup=markup)


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe: stop every announcement at once; the buttons bring topics back."""
    svc, subs = services(context), _subs(context)
    message = update.effective_message
    if message is None:
        return
    note_outcome("unsubscribe")
    lang = language_of_user(update, svc)
    if not await asyncio.to_thread(subs.store.unsubscribe_all, message.chat_id):
        await message.reply_text(svc.dialog.locales.text(lang, "unsubscribe_none"))
        return
    text, markup = menu(svc, frozenset(), lang, header="unsubscribed_all")
    await message.reply_text(text, reply_markup=markup)


async def subscription_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic's toggle, 'stop all', or the welcome's offer."""
    svc, subs = services(context), _subs(context)
    query, chat = update.callback_query, update.effective_chat
    if query is None:
        return
    if chat is None or chat.type != ChatType.PRIVATE:
        await query.answer()
        return
    note_outcome("subscribe")
    lang = language_of_user(update, svc)
    store, locales = subs.store, svc.dialog.locales
    topics = svc.dialog.settings.subscriptions.topics
    action = query.data or ""
    header, toast = "subscribe_prompt", None
    if action.startswith("s:t:") and action[4:] in topics:
        key = action[4:]
        if key in await asyncio.to_thread(store.topics_of, chat.id):
            await asyncio.to_thread(store.unsubscribe, chat.id, key)
            toast = locales.text(lang, "subscribe_toast_off", topic=topics[key].name(lang))
        else:
            await asyncio.to_thread(store.subscribe, chat.id, key, lang)
            subs.maybe_subscribed.add(chat.id)
            toast = locales.text(lang, "subscribe_toast_on", topic=topics[key].name(lang))
    elif action == "s:all":
        await asyncio.to_thread(store.unsubscribe_all, chat.id)
        header = "unsubscribed_all"
    await query.answer(toast)
    following = await asyncio.to_thread(store.topics_of, chat.id)
    text, markup = menu(svc, following, lang, header=header)
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in error.message:
            await context.bot.send_message(chat.id, text, reply_markup=markup)


async def offer_after_welcome(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After /start's welcome: offer announcements, once, to someone who follows nothing.
    "Once" is remembered in memory only (nothing is stored about who did not subscribe)."""
    svc, subs = services(context), _subs(context)
    message = update.effective_message
    if message is None or context.args:  # a deep link to an answer: no offer in the way
        return
    chat_id = message.chat_id
    if chat_id in subs.offered or bool(await asyncio.to_thread(subs.store.topics_of, chat_id)):
        return
    if len(subs.offered) >= MAX_OFFERS_REMEMBERED:
        subs.offered.clear()
    subs.offered.add(chat_id)
    lang = language_of_user(update, svc)
    locales = svc.dialog.locales
    button = InlineKeyboardButton(
        locales.text(lang, "subscribe_offer_button"), callback_data="s:menu"
    )
    await message.reply_text(
        locales.text(lang, "subscribe_offer"), reply_markup=InlineKeyboardMarkup([[button]])
    )


async def keep_language_current(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A subscriber who now uses the bot in another language gets announcements in it."""
    subs = subscription_services(context.bot_data)
    chat = update.effective_chat
    if subs is None or chat is None or chat.id not in subs.maybe_subscribed:
        return
    lang = language_of_user(update, services(context))
    stored = await asyncio.to_thread(subs.store.language_of, chat.id)
    if stored is not None and stored != lang:
        await asyncio.to_thread(subs.store.set_language, chat.id, lang)
