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

import html
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Message

from bot.staff.learning_desk import Accepted, LearnError, LearningDesk
from bot.storage.learning_store import LearningStore
from bot.telegram_bot.shared.replies import callback_answer
from bot.telegram_bot.shared.services import BotServices, services_in

logger = logging.getLogger(__name__)

LEARNING_KEY = "learning"
DIFF_CHARS = 2500


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


# ----- users' picks ---------------------------------------------------------------------


# ----- /learn ---------------------------------------------------------------------------


def staff_text(svc: BotServices, lang: str, key: str, **values: str) -> str:
    return svc.dialog.locales.text(lang, key, **values)


async def refused(
    svc: BotServices, lang: str, query: CallbackQuery, message: Message, error: LearnError
) -> None:
    """An alert, and the whole reason (lint's findings can be long) as a message."""
    refused = staff_text(svc, lang, "learn_refused", reason=html.escape(str(error)[:DIFF_CHARS]))
    await query.answer(callback_answer(refused), show_alert=True)
    await message.reply_text(refused)


def accepted_text(svc: BotServices, lang: str, accepted: Accepted) -> str:
    diff = accepted.diff
    if len(diff) > DIFF_CHARS:
        diff = diff[: DIFF_CHARS - 1] + "…"
    key = "learn_accepted" if accepted.suggestion.kind == "variant" else "learn_drafted"
    return staff_text(
        svc,
        lang,
        key,
        id=accepted.suggestion.id,
        file=html.escape(accepted.path.name),
        diff=html.escape(diff),
    )


# Who asked, through learning, for the reload going on (their id and the language they
# use): the admins' "reloaded" notice reaches them in that language, not the default one.
reload_requester: ContextVar[tuple[int, str] | None] = ContextVar("reload_requester", default=None)


async def served_now(svc: BotServices, requester: tuple[int, str] | None = None) -> None:
    """Reload at once rather than wait for the watcher: the next question gets it.
    `requester`: the admin who caused it and their language."""
    if svc.reloader is not None:
        token = reload_requester.set(requester)
        try:
            await svc.reloader.reload()
        finally:
            reload_requester.reset(token)


# ----- hand-off tickets --------------------------------------------------------------------
