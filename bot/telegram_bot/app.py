"""The Telegram adapter's composition root: builds the Application (handler table, error
handler, rate limiting, logging) and runs it by long polling or by webhook.

Only this package (bot.telegram_bot) imports `telegram`; the import contracts in
pyproject.toml keep it so. Tests build the same application with `build_application`,
pointed at a fake Bot API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlparse

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    SimpleUpdateProcessor,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import WEBHOOK_SECRET_ENV, ConfigError, Settings
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.core.knowledge import KnowledgeBaseError
from bot.core.knowledge_state import KnowledgeHolder
from bot.core.locales import LocaleError
from bot.staff.reloader import KnowledgeReloader
from bot.staff.report import QuestionSource
from bot.storage.audit import AuditStore
from bot.storage.database import StorageUnavailable
from bot.storage.learning_store import LearningStore
from bot.storage.outbox import OutboxStore
from bot.storage.stores import open_stores
from bot.storage.subscriptions import SubscriptionStore
from bot.storage.tickets import TicketStore
from bot.storage.user_prefs import UserPrefs
from bot.telegram_bot import admin, announcements, answering, faq_desk, handoff, privacy
from bot.telegram_bot.admin.commands import (
    StaffNotifier,
    set_admin_commands,
    tell_admins_about_the_question_log,
)
from bot.telegram_bot.shared import guards, handler_groups
from bot.telegram_bot.shared.addressing import ADDRESSED, NEW_MESSAGE
from bot.telegram_bot.shared.learning import install as install_learning
from bot.telegram_bot.shared.services import (
    SERVICES_KEY,
    BotServices,
    QuestionRecorder,
    services_in,
    tracking_outcome,
)
from bot.telegram_bot.transport import start_failures
from bot.telegram_bot.transport.delivery import DeliveryRateLimiter, default_rate_limiter
from bot.telegram_bot.transport.flood import FloodGuard
from bot.telegram_bot.transport.liveness import Liveness
from bot.telegram_bot.transport.log_privacy import (
    keep_token_out_of_logs,
    keep_update_content_out_of_logs,
)
from bot.telegram_bot.transport.outbox import Outbox
from bot.telegram_bot.transport.update_flow import (
    BoundedStopApplication,
    BoundedUpdateQueue,
    RoomForUpdates,
)
from bot.telegram_bot.transport.webhook import run_webhook

logger = logging.getLogger(__name__)

TelegramApplication: TypeAlias = Application[Any, ContextTypes.DEFAULT_TYPE, Any, Any, Any, Any]

# Only what the bot answers: no edited messages, member changes or channel posts.
# chat_member: who joins or leaves the staff group (membership follows at once);
# edited_message: a staff correction of a relayed reply.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
    Update.CHAT_MEMBER,
]
# Updates handled at once: one slow reply (a 429 wait, a slow network) must not hold up
# everyone else's answer. Answers are independent, so their order across users is free.
CONCURRENT_UPDATES = 64
# Updates in hand at once (queued or being handled), see update_flow: as many as are
# handled at once, so none waits long, and kill -9 loses at most this many.
UPDATES_IN_HAND = CONCURRENT_UPDATES
# A busy bot polls again once this many more updates fit, not for every single one.
POLL_BATCH = 8
# On SIGTERM, the updates in hand get this long to be answered; then the bot exits.
STOP_GRACE_SECONDS = 10.0
EXIT_OK, EXIT_USAGE = 0, 2
# Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and - as a webhook's secret token.
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
WATCH_FAQ_KEY, WATCHER_KEY = "watch_faq", "faq_watcher"
LIVENESS_KEY, WATCHDOG_KEY = "liveness", "watchdog_feeder"
OUTBOX_KEY = "outbox"
WATCHER_STOP_SECONDS = 5


# ----- which update goes where ------------------------------------------------------------


def add_handlers(application: TelegramApplication) -> None:
    """The handler table: each feature adds its own handlers; answering's catch-alls last."""
    # The flood gate runs before the answers: a flooding user's update stops there. Inline
    # queries too (with a larger allowance): each one is a search, and a script can send
    # thousands.
    application.add_handlers(
        [
            MessageHandler(NEW_MESSAGE & ADDRESSED & ~filters.StatusUpdate.ALL, guards.flood_gate),
            CallbackQueryHandler(guards.flood_gate),
            InlineQueryHandler(guards.flood_gate),
        ],
        group=handler_groups.FLOOD_GATE,
    )
    handoff.register(application)  # "Ask the agency", ticket replies, the staff group
    faq_desk.register(application)  # an admin's /faq, /edit ... (before answering's /faq)
    answering.register(application)  # the menu commands, "did you mean" picks
    privacy.register(application)  # /forget
    admin.register(application)  # /stats, /report, /learn ...
    announcements.register(application)  # /subscribe, /announce ...
    answering.register_catch_alls(application)
    application.add_error_handler(guards.on_error)


# ----- one log line per update ---------------------------------------------------------


class LoggedUpdateProcessor(SimpleUpdateProcessor):
    """Handles updates concurrently and logs one line for each: what became of it (the
    reply's kind, entry, score, language) and how long it took. Never the user or text.
    `liveness` hears when each update starts and ends (the watchdog, /healthz)."""

    def __init__(self, max_concurrent_updates: int, liveness: Liveness | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self.liveness = liveness

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()
        if self.liveness is not None:
            self.liveness.update_started()
        try:
            with tracking_outcome() as outcome:
                await coroutine
        finally:
            if self.liveness is not None:
                self.liveness.update_finished()
        milliseconds = (time.perf_counter() - started) * 1000
        update_id = update.update_id if isinstance(update, Update) else "-"
        score = "-" if outcome.score is None else f"{outcome.score:.0f}"
        # Group chatter the bot leaves alone would flood the log; it is counted at DEBUG.
        level = logging.DEBUG if outcome.kind == "ignored" else logging.INFO
        logger.log(
            level,
            "update %s: %s entry=%s score=%s lang=%s %.1f ms",
            update_id,
            outcome.kind,
            outcome.entry_id or "-",
            score,
            outcome.lang or "-",
            milliseconds,
        )


# ----- building and running ---------------------------------------------------------------


async def post_init(application: TelegramApplication) -> None:
    """Once connected: learn the bot's username (help text, deep links) and set the command
    menu, in the default language for everyone and in each language for its speakers."""
    svc = services_in(application.bot_data)
    svc.dialog = replace(svc.dialog, bot_username=application.bot.username)
    settings = svc.dialog.settings
    await application.bot.set_my_commands(bot_commands(svc.dialog, settings.default_language))
    for lang in settings.languages:
        await application.bot.set_my_commands(bot_commands(svc.dialog, lang), language_code=lang)
    await set_admin_commands(application.bot, svc)
    tell_admins_about_the_question_log(application.bot, svc)
    if application.bot_data.get(WATCH_FAQ_KEY) and svc.reloader is not None:
        stop = asyncio.Event()
        watcher = asyncio.create_task(svc.reloader.watch(stop), name="faq watcher")
        application.bot_data[WATCHER_KEY] = (stop, watcher)
    outbox = application.bot_data.get(OUTBOX_KEY)
    if isinstance(outbox, Outbox):
        outbox.start(application.bot)  # sends what a stopped or killed run still owed
    await handoff.start(application)
    await announcements.start(application)
    await faq_desk.start(application)
    liveness = liveness_of(application)
    if liveness is not None:
        stop_feeding = asyncio.Event()
        feeding = asyncio.create_task(
            liveness.keep_watchdog_fed(stop_feeding), name="systemd watchdog"
        )
        application.bot_data[WATCHDOG_KEY] = (stop_feeding, feeding)


async def post_stop(application: TelegramApplication) -> None:
    """Stop the background work: the watchdog's feeder, the hand-off's sweeper,
    announcements, the FAQ desk's reminders, the outbox worker (it finishes the item in
    hand), the FAQ watcher (it wakes within its polling step)."""
    liveness = liveness_of(application)
    if liveness is not None:
        liveness.notifier.stopping()
    feeding = application.bot_data.pop(WATCHDOG_KEY, None)
    if feeding is not None:
        feeding[0].set()
        await feeding[1]
    await handoff.stop(application)
    await announcements.stop(application)
    await faq_desk.stop(application)
    outbox = application.bot_data.get(OUTBOX_KEY)
    if isinstance(outbox, Outbox):
        await outbox.stop()
    running = application.bot_data.pop(WATCHER_KEY, None)
    if running is None:
        return
    stop, watcher = running
    stop.set()
    try:
        await asyncio.wait_for(watcher, WATCHER_STOP_SECONDS)
    except TimeoutError:
        logger.warning("the FAQ watcher did not stop within %d s", WATCHER_STOP_SECONDS)
    except Exception:
        logger.exception("the FAQ watcher failed")


def liveness_of(application: TelegramApplication) -> Liveness | None:
    """The bot's vital signs (see transport/liveness), for the watchdog and /healthz."""
    liveness = application.bot_data.get(LIVENESS_KEY)
    return liveness if isinstance(liveness, Liveness) else None


def knowledge_version(holder: KnowledgeHolder) -> str:
    """The knowledge base being served, as /healthz names it: size and when it was loaded."""
    loaded = holder.current
    when = datetime.fromtimestamp(loaded.loaded_at, UTC).isoformat(timespec="seconds")
    return f"{len(loaded.knowledge)} entries, loaded {when}"


def bot_commands(dialog: Dialog, lang: str) -> list[BotCommand]:
    return [BotCommand(name, text) for name, text in dialog.command_descriptions(lang)]


def build_application(
    settings: Settings,
    token: str,
    dialog: Dialog,
    holder: KnowledgeHolder,
    *,
    prefs: UserPrefs | None = None,
    question_log: QuestionRecorder | None = None,
    tickets: TicketStore | None = None,
    learning: LearningStore | None = None,
    flood: FloodGuard | None = None,
    request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    concurrent_updates: int = CONCURRENT_UPDATES,
    faq_dir: Path | None = None,
    watch_faq: bool = False,
    subscription_store: SubscriptionStore | None = None,
    stop_grace: float = STOP_GRACE_SECONDS,
    faq_audit: AuditStore | None = None,
    liveness: Liveness | None = None,
    outbox_store: OutboxStore | None = None,
) -> TelegramApplication:
    """The bot, ready to initialise and run. `request` replaces the HTTP transport (tests);
    `rate_limiter` defaults to DeliveryRateLimiter; `prefs` to memory-only preferences.
    /reload reads `faq_dir` (default: settings'); `watch_faq` also reloads it on every
    change while the bot runs. `subscription_store` keeps subscriptions and announcements
    (default: in memory, when config.yaml names topics). `faq_audit` keeps the admins'
    changes to faq/ from Telegram (without it, the FAQ desk refuses changes).
    On stop, updates in hand get `stop_grace` seconds. `outbox_store` keeps what is owed to
    other chats (default: in memory). Every sender of the bot draws on one rate budget."""
    keep_token_out_of_logs(token)
    keep_update_content_out_of_logs()
    # Opt in to python-telegram-bot's coming behaviour (durations as timedelta); without it,
    # PTB itself warns about deprecation each time Telegram answers 429 Too Many Requests.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    rate_limiter = rate_limiter or default_rate_limiter()
    budget = rate_limiter.budget if isinstance(rate_limiter, DeliveryRateLimiter) else None
    outbox = Outbox(outbox_store or OutboxStore(":memory:"), budget)
    update_queue = BoundedUpdateQueue(UPDATES_IN_HAND)
    if liveness is None:
        liveness = Liveness(
            stalled_after=settings.telegram.stalled_after_seconds,
            storage_problem=lambda: getattr(question_log, "problem", None),
            knowledge_version=lambda: knowledge_version(holder),
        )
    polling = RoomForUpdates(
        liveness.polling_request(request or HTTPXRequest()), update_queue, POLL_BATCH
    )
    builder = (
        ApplicationBuilder()
        .application_class(BoundedStopApplication)
        .update_queue(update_queue)
        .get_updates_request(polling)
        .token(token)
        .base_url(settings.telegram.base_url)
        .base_file_url(file_url(settings.telegram.base_url))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                # Answers carry their links as buttons; a preview would push the text away.
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                # A question deleted before its answer went out still gets the answer.
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(rate_limiter)
        .concurrent_updates(LoggedUpdateProcessor(concurrent_updates, liveness))
        .post_init(post_init)
        .post_stop(post_stop)
        # A start that fails after post_init (port in use, webhook refused) never "stops":
        # the FAQ watcher is stopped on shutdown then, or its thread holds the exit.
        .post_shutdown(post_stop)
    )
    if request is not None:
        builder = builder.request(request)
    application: TelegramApplication = builder.build()
    if isinstance(application, BoundedStopApplication):
        application.stop_grace = stop_grace
        application.stop_after_updates.append(outbox.stop)
    svc = BotServices(
        dialog=dialog,
        knowledge=holder,
        prefs=prefs or UserPrefs(None, secrets.token_bytes(32)),
        flood=flood or FloodGuard(settings.telegram.flood_limit_per_minute),
        question_log=question_log,
        question_source=question_log if isinstance(question_log, QuestionSource) else None,
    )
    notifier = StaffNotifier(application.bot, svc)
    svc.reloader = KnowledgeReloader(
        settings,
        holder,
        on_reloaded=notifier.on_reloaded,
        on_rejected=notifier.on_rejected,
        faq_dir=faq_dir,
    )
    application.bot_data[SERVICES_KEY] = svc
    application.bot_data[WATCH_FAQ_KEY] = watch_faq
    application.bot_data[LIVENESS_KEY] = liveness
    application.bot_data[OUTBOX_KEY] = outbox
    privacy.install(application, svc)
    handoff.install(application, tickets, outbox)  # needs a staff group in `handoff:`
    install_learning(application, learning)
    announcements.install(application, subscription_store, request=request)
    faq_desk.install(application, faq_audit, faq_dir)
    add_handlers(application)
    return application


def file_url(base_url: str) -> str:
    """Where files are downloaded from, beside the Bot API's address: Telegram serves
    https://api.telegram.org/bot<token>/ and /file/bot<token>/, a local Bot API server the
    same paths on its own host."""
    head, found, tail = base_url.rpartition("/bot")
    if not found:
        return "https://api.telegram.org/file/bot"
    return f"{head}/file/bot{tail}"


def webhook_secret_problem(secret: str | None) -> str | None:
    """Why the bot cannot start in webhook mode with this secret (None: it can)."""
    if not secret:
        return (
            f"telegram.mode is webhook, but {WEBHOOK_SECRET_ENV} is not set. Without it anyone "
            "who finds the webhook address could send the bot fake updates. Set it to a long "
            f"random string, for example:  export {WEBHOOK_SECRET_ENV}=$(openssl rand -hex 32)"
        )
    if not WEBHOOK_SECRET.match(secret):
        return (
            f"{WEBHOOK_SECRET_ENV} may only hold 1-256 characters A-Z, a-z, 0-9, _ and - "
            "(Telegram's rule for the secret token)"
        )
    return None


def webhook_arguments(settings: Settings, secret: str) -> dict[str, Any]:
    """How `webhook.run_webhook` listens for this configuration:
    locally on listen:port (a reverse proxy terminates HTTPS), at the public URL's path,
    accepting only requests that carry the secret."""
    webhook = settings.telegram.webhook
    if not webhook.url:
        raise ValueError("telegram.webhook.url is not set")
    return {
        "listen": webhook.listen,
        "port": webhook.port,
        "url_path": urlparse(webhook.url).path.lstrip("/"),
        "webhook_url": webhook.url,
        "secret_token": secret,
        "allowed_updates": ALLOWED_UPDATES,
    }


def run_telegram_bot(
    settings: Settings,
    token: str,
    faq_dir: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    debug: bool = False,
) -> int:
    """Run the bot until stopped (Ctrl-C, SIGTERM); returns the exit code. A failure to start
    (or to keep running) is told in plain lines without the token; `debug` adds the
    traceback (also without the token)."""
    environ = os.environ if environ is None else environ
    quiet = start_failures.QuietStart()
    network_loop = logging.getLogger(start_failures.QuietStart.LOGGER)
    if not debug:
        network_loop.addFilter(quiet)
    try:
        return _run_until_stopped(settings, token, faq_dir, environ)
    except (KnowledgeBaseError, ConfigError, LocaleError):
        raise  # the command line lists these problems itself
    except Exception as error:
        failure = start_failures.describe(error, settings, token)
        if debug:
            print(start_failures.formatted_traceback(error, token), file=sys.stderr)
        for line in failure.lines:
            print(start_failures.redact(line, token), file=sys.stderr)
        return failure.exit_code
    finally:
        network_loop.removeFilter(quiet)


StoreT = TypeVar("StoreT", bound=contextlib.AbstractContextManager[Any])  # enters as itself


def _optional_store(
    stack: contextlib.ExitStack, open_store: Callable[[], StoreT], feature: str
) -> StoreT | None:
    """A store that a feature needs, or None when its database cannot be opened (a full
    disk, a read-only or corrupt file): answering questions must not depend on it."""
    try:
        store = open_store()
        stack.enter_context(store)
    except (sqlite3.Error, OSError, StorageUnavailable) as error:
        logger.error("%s is off for this run: its database cannot be opened (%s)", feature, error)
        return None
    return store


def _run_until_stopped(
    settings: Settings, token: str, faq_dir: Path | None, environ: Mapping[str, str]
) -> int:
    webhook = settings.telegram.webhook
    secret = environ.get(WEBHOOK_SECRET_ENV, "").strip() or None
    if settings.telegram.mode == "webhook":
        problem = webhook_secret_problem(secret)
        if problem:
            print(f"Cannot start the bot: {problem}", file=sys.stderr)
            return EXIT_USAGE
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    dialog, holder = build_dialog(settings, faq_dir)
    # Never raises over the disk: a database that cannot be used is reported to the admins.
    with open_stores(settings, environ) as stores, contextlib.ExitStack() as more_stores:
        tickets = None
        if settings.handoff.enabled:
            tickets = _optional_store(
                more_stores, lambda: TicketStore.from_settings(settings, environ), "hand-off"
            )
        learning = _optional_store(
            more_stores, lambda: LearningStore(settings.question_log_path), "learning"
        )
        subscription_store = _optional_store(
            more_stores, lambda: SubscriptionStore(settings.question_log_path), "subscriptions"
        )
        faq_audit = _optional_store(
            more_stores, lambda: AuditStore(settings.question_log_path), "FAQ editing"
        )
        # Without it, what the bot owes the staff group is kept in memory for this run.
        outbox_store = _optional_store(
            more_stores, lambda: OutboxStore(settings.question_log_path), "the durable outbox"
        )
        application = build_application(
            settings,
            token,
            dialog,
            holder,
            prefs=stores.prefs,
            question_log=stores.question_log,
            tickets=tickets,
            learning=learning,
            faq_dir=faq_dir,
            watch_faq=True,
            subscription_store=subscription_store,
            faq_audit=faq_audit,
            outbox_store=outbox_store,
        )
        if settings.telegram.mode == "webhook" and secret is not None:
            logger.info("starting the bot (webhook on %s:%d)", webhook.listen, webhook.port)
            run_webhook(
                application,
                **webhook_arguments(settings, secret),
                liveness=liveness_of(application),
            )
        else:
            logger.info("starting the bot (long polling)")
            application.run_polling(allowed_updates=ALLOWED_UPDATES)
    return EXIT_OK
