"""Staff commands in Telegram (/stats, /unanswered, /report, /reload) and the admins' notices when
an edit of faq/ is loaded or rejected.

Admins are the Telegram user ids of `telegram.admin_ids` (config.yaml or BOT_ADMIN_IDS).
The handler table registers these commands for admins' private chats only, so to anyone
else they do not exist: an unknown command, answered like any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import timedelta
from typing import Protocol, runtime_checkable

from telegram import Bot, BotCommand, BotCommandScopeChat, InputFile, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.core.knowledge import Problem
from bot.core.knowledge_state import LoadedKnowledge
from bot.staff.reloader import ReloadResult
from bot.staff.report import (
    SUMMARY_PERIOD,
    Report,
    build_report,
    parse_since,
    stats_summary,
    unanswered_summary,
)
from bot.staff.report_html import render_html_report
from bot.telegram_bot.admin.staff_notices import (
    question_log_notice,
    reload_notice,
    staff_command_descriptions,
)
from bot.telegram_bot.shared.learning import reload_requester
from bot.telegram_bot.shared.services import BotServices, note_outcome, services, user_language

logger = logging.getLogger(__name__)

# The admin whose /reload is running: they get the outcome as the command's reply, so the
# notice to all admins skips them rather than telling them twice.
_requested_by: ContextVar[int | None] = ContextVar("reload_requested_by", default=None)


# ----- commands -----------------------------------------------------------------------


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: the questions of the last SUMMARY_PERIOD in a few lines."""
    note_outcome("staff_stats")
    await _reply_with_report(update, context, stats_summary)


async def unanswered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unanswered: the largest groups of questions the bot had no answer to."""
    note_outcome("staff_unanswered")
    await _reply_with_report(update, context, unanswered_summary)


async def _reply_with_report(
    update: Update, context: ContextTypes.DEFAULT_TYPE, summarise: Callable[[Report, str], str]
) -> None:
    svc = services(context)
    message = update.effective_message
    if message is None:
        return
    lang = user_language(update, svc)
    if svc.question_source is None:
        await message.reply_text(svc.dialog.locales.text(lang, "staff_no_log"))
        return
    # Reading and clustering a week of questions takes a moment: not on the event loop.
    report = await asyncio.to_thread(
        build_report,
        svc.question_source,
        svc.knowledge.current,
        SUMMARY_PERIOD,
        tickets=svc.tickets,
    )
    await message.reply_text(summarise(report, lang))


# The period of /report without an argument: long enough for the charts to show a trend.
REPORT_PERIOD = timedelta(days=30)


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/report [period]: the HTML report with charts, as a file (the same page as
    `python -m bot report --format html`)."""
    note_outcome("staff_report")
    svc = services(context)
    message = update.effective_message
    if message is None:
        return
    lang = user_language(update, svc)
    if svc.question_source is None:
        await message.reply_text(svc.dialog.locales.text(lang, "staff_no_log"))
        return
    try:
        period = parse_since(context.args[0]) if context.args else REPORT_PERIOD
    except ValueError:
        await message.reply_text(svc.dialog.locales.text(lang, "html_report_bad_period"))
        return
    built = await asyncio.to_thread(
        build_report, svc.question_source, svc.knowledge.current, period
    )
    page = await asyncio.to_thread(render_html_report, built, svc.dialog.locales, lang)
    start, end = (moment.strftime("%Y-%m-%d") for moment in (built.since, built.until))
    await message.reply_document(
        InputFile(page.encode("utf-8"), filename=f"report-{start}-{end}.html"),
        caption=svc.dialog.locales.text(lang, "html_report_caption", start=start, end=end),
    )


async def reload_faq(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload: load faq/ now; the reply says whether it is served or what is wrong (even
    when the problems are the same as last time, which the notices do not repeat)."""
    svc = services(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or svc.reloader is None:
        return
    note_outcome("staff_reload")
    with _requested(user.id):
        result = await svc.reloader.reload()
    await message.reply_text(reload_notice(svc.dialog.locales, result, user_language(update, svc)))


@contextmanager
def _requested(user_id: int) -> Iterator[None]:
    token = _requested_by.set(user_id)
    try:
        yield
    finally:
        _requested_by.reset(token)


# ----- notices to all admins ------------------------------------------------------------


class StaffNotifier:
    """The reloader's callbacks: tell every admin (in their language) what became of an
    edit. An admin who cannot be reached (never started the bot, blocked it) is logged and
    skipped; the others still hear."""

    def __init__(self, bot: Bot, svc: BotServices) -> None:
        self._bot = bot
        self._svc = svc

    async def on_reloaded(self, loaded: LoadedKnowledge) -> None:
        await self._tell_admins(ReloadResult("reloaded", loaded))

    async def on_rejected(self, problems: tuple[Problem, ...]) -> None:
        served = self._svc.knowledge.current
        await self._tell_admins(ReloadResult("rejected", served, problems, reported=True))

    async def on_question_log_health(self, problem: str | None) -> None:
        """The question log stopped working (`problem`) or works again (None)."""
        locales = self._svc.dialog.locales
        await self._send(
            lambda lang: question_log_notice(locales, problem, lang), "the question log", None
        )

    async def _tell_admins(self, result: ReloadResult) -> None:
        locales = self._svc.dialog.locales
        await self._send(
            lambda lang: reload_notice(locales, result, lang), "the FAQ reload", _requested_by.get()
        )

    async def _send(self, text_in: Callable[[str], str], about: str, skip: int | None) -> None:
        for admin_id in sorted(self._svc.dialog.settings.telegram.admin_ids):
            if admin_id == skip:
                continue
            requester = reload_requester.get()
            if requester is not None and requester[0] == admin_id:
                lang = requester[1]  # the language they are using with the bot right now
            else:
                lang = self._svc.dialog.reply_language(
                    chosen=self._svc.prefs.chosen_language(admin_id),
                    detected=self._svc.prefs.recent_language(admin_id),
                )
            try:
                await self._bot.send_message(admin_id, text_in(lang))
            except TelegramError as error:
                logger.warning("could not tell an admin about %s: %s", about, error)


@runtime_checkable
class HealthReporting(Protocol):
    """A store that says when it stops working (bot.storage.database.Database)."""

    def add_health_listener(self, listener: Callable[[str | None], None]) -> None: ...


def tell_admins_about_the_question_log(bot: Bot, svc: BotServices) -> None:
    """Tell every admin once when the question log stops working, and once when it works
    again. The log reports from its writer thread; the notice is sent on the event loop."""
    source = svc.question_log
    if not isinstance(source, HealthReporting):
        return
    loop = asyncio.get_running_loop()
    notifier = StaffNotifier(bot, svc)
    sending: set[asyncio.Task[None]] = set()

    def send(problem: str | None) -> None:
        task = loop.create_task(notifier.on_question_log_health(problem))
        sending.add(task)
        task.add_done_callback(sending.discard)

    def heard(problem: str | None) -> None:
        with suppress(RuntimeError):  # the loop is closed: the bot has stopped
            loop.call_soon_threadsafe(send, problem)

    source.add_health_listener(heard)


# ----- the admins' command menu -----------------------------------------------------------


async def set_admin_commands(bot: Bot, svc: BotServices) -> None:
    """Give each admin's private chat the full menu: everyone's commands and the staff's.
    Telegram refuses this for an admin who has not started the bot yet; that is logged."""
    dialog = svc.dialog
    for admin_id in sorted(dialog.settings.telegram.admin_ids):
        scope = BotCommandScopeChat(admin_id)
        try:
            for lang in (None, *dialog.settings.languages):
                shown = lang or dialog.settings.default_language
                staff = [
                    BotCommand(name, text)
                    for name, text in staff_command_descriptions(
                        dialog.locales,
                        shown,
                        announcements=dialog.settings.subscriptions.enabled,
                    )
                ]
                everyone = [
                    BotCommand(name, text) for name, text in dialog.command_descriptions(shown)
                ]
                await bot.set_my_commands([*everyone, *staff], scope=scope, language_code=lang)
        except TelegramError as error:
            logger.info("no staff command menu for an admin yet (%s); /start the bot first", error)
