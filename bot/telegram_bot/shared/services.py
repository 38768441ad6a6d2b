"""What every feature of the Telegram adapter shares: the bot's services (kept once in
`application.bot_data`), the language to answer a user in, and what became of each update
(one log line each, see app.LoggedUpdateProcessor)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from telegram import Update
from telegram.ext import ContextTypes

from bot.core.dialog import Dialog, Reply
from bot.core.knowledge_state import KnowledgeHolder
from bot.staff.reloader import KnowledgeReloader
from bot.staff.report import QuestionSource
from bot.storage.tickets import TicketStore
from bot.storage.user_prefs import UserPrefs
from bot.telegram_bot.transport.flood import FloodGuard

logger = logging.getLogger(__name__)

SERVICES_KEY = "services"


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
    tickets: TicketStore | None = None  # the hand-off's tickets when it is on, for reports
    # Told of every question answered in words (update, question id, text, reply).
    question_listeners: list[Callable[[Update, str, str, Reply], None]] = field(
        default_factory=list
    )
    # Offered every reply before it is sent, each may return it changed (the FAQ desk adds
    # "✏️ Edit" under the answers admins get): features extend others' replies through here.
    reply_decorators: list[Callable[[Update, Reply], Reply]] = field(default_factory=list)


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
