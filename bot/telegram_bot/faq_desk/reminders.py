"""Reminders to the admins about dated answers: an entry that expires within a week (once
per entry, date and admin) and, once a week, the entries past `review_after_days`.

"Once" is kept in the audit tables (bot.storage.audit), so a restart sends nothing again. A
reminder is claimed before it is sent: a crash in between loses that one reminder rather
than sending it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from telegram.error import TelegramError

from bot.staff.faq_reminders import (
    expiring_not_expired,
    expiry_key,
    stale_entries,
    weekly_key,
)
from bot.telegram_bot.faq_desk import views
from bot.telegram_bot.faq_desk.state import desk_state
from bot.telegram_bot.shared.services import services_in

logger = logging.getLogger(__name__)

REMINDERS_KEY = "faq_reminders"
# Dates change once a day; an hourly look is soon enough and costs nothing.
CHECK_SECONDS = 3600
# The first look waits a little after the start: the admins' menu and notices go first.
FIRST_CHECK_SECONDS = 60


async def send_reminders(application: Any) -> int:
    """Tell each admin, in their language, what is due and was not told yet; returns how
    many messages were sent."""
    state = desk_state(application.bot_data)
    if state is None or state.desk.audit is None:
        return 0
    audit, svc = state.desk.audit, services_in(application.bot_data)
    loaded, now, today = svc.knowledge.current, state.desk.now(), state.desk.today()
    dated = svc.dialog.settings.dated_answers
    expiring = expiring_not_expired(loaded.knowledge, now, today)
    stale = stale_entries(
        loaded.knowledge, now, views.review_after(dated.review_after_days), dated.zone
    )
    sent = 0
    for admin_id in sorted(state.admin_ids):
        lang = svc.dialog.reply_language(
            chosen=svc.prefs.chosen_language(admin_id),
            detected=svc.prefs.recent_language(admin_id),
        )
        texts = []
        for entry in expiring:
            if await asyncio.to_thread(audit.claim_reminder, expiry_key(entry, admin_id)):
                assert entry.expires is not None
                name = Path(entry.file).name
                texts.append(
                    views.expiry_reminder(svc.dialog.locales, lang, entry, name, entry.expires)
                )
        if stale:
            claimed: bool = await asyncio.to_thread(
                audit.claim_reminder, weekly_key(today, admin_id)
            )
            if claimed:
                texts.append(
                    views.stale_reminder(svc.dialog.locales, lang, dated.review_after_days, stale)
                )
        for text in texts:
            try:
                await application.bot.send_message(admin_id, text)
                sent += 1
            except TelegramError as error:
                logger.warning("could not remind an admin of a dated answer: %s", error)
    return sent


async def start(application: Any) -> None:
    """Settle a change a kill -9 interrupted, then look for reminders every hour."""
    state = desk_state(application.bot_data)
    if state is None or state.desk.audit is None:
        return
    await asyncio.to_thread(state.desk.settle)

    async def every_hour() -> None:
        await asyncio.sleep(FIRST_CHECK_SECONDS)
        while True:
            try:
                await send_reminders(application)
            except Exception:  # the bot keeps answering; the next look tries again
                logger.exception("the dated-answer reminders failed; trying again in an hour")
            await asyncio.sleep(CHECK_SECONDS)

    application.bot_data[REMINDERS_KEY] = asyncio.create_task(every_hour(), name="reminders")


async def stop(application: Any) -> None:
    task = application.bot_data.pop(REMINDERS_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
