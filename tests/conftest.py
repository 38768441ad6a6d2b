"""Shared fixtures: a small bilingual knowledge base with its settings and dialog, and the
Telegram bot wired to the fake Bot API (tests/fake_bot_api.py)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.config import Settings, settings_from_mapping
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.storage.database import Database
from bot.storage.user_prefs import UserPrefs
from bot.telegram_bot.app import TelegramApplication, build_application, post_init
from bot.telegram_bot.transport.flood import FloodGuard
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, settings_mapping, write_faq
from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiRequest, UpdateFactory

# Two entries close enough that "grant deadline" is a 'did you mean' between them.
DEADLINES_FAQ = """\
category:
  en: Deadlines
  sq: Afatet
entries:
  - id: deadline-projects
    questions:
      en: ["When is the deadline for project grants?", "project grant deadline"]
      sq: ["Kur është afati për grantet e projekteve?", "afati i granteve te projekteve"]
    answer:
      en: "Project grant applications close on 31 March."
      sq: "Aplikimet për grantet e projekteve mbyllen më 31 mars."
    related: [deadline-institutional]
  - id: deadline-institutional
    questions:
      en: ["When is the deadline for institutional grants?", "institutional grant deadline"]
      sq: ["Kur është afati për grantet institucionale?", "afati i granteve institucionale"]
    answer:
      en: "Institutional grant applications close on 30 September."
      sq: "Aplikimet për grantet institucionale mbyllen më 30 shtator."
"""
# More entries than fit on one page of a topic, to exercise paging.
DOCUMENTS = ("statute", "court decision", "annual report", "budget", "board list", "tax record")
DOCUMENTS_FAQ = "category: {en: Documents, sq: Dokumentet}\nentries:\n" + "".join(
    f"  - id: doc-{i}\n"
    f"    questions: {{en: ['Do I need the {name}?'], sq: ['A duhet {name}?']}}\n"
    f"    answer: {{en: 'Yes, the {name} is needed.', sq: 'Po, {name} nevojitet.'}}\n"
    for i, name in enumerate((*DOCUMENTS, "bank statement"))
)
TEST_FAQ = {
    "contact.yaml": CONTACT_FAQ,
    "grants.yaml": GRANTS_FAQ,
    "deadlines.yaml": DEADLINES_FAQ,
    "documents.yaml": DOCUMENTS_FAQ,
}
COORDINATES = {"latitude": 41.3275, "longitude": 19.8189}


class FakeClock:
    """A monotonic clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings over a small knowledge base in sq and en (with the office's coordinates)."""
    mapping: dict[str, Any] = settings_mapping(tmp_path / "faq")
    mapping["agency"]["coordinates"] = COORDINATES
    loaded = settings_from_mapping(mapping, base_dir=tmp_path)
    write_faq(loaded.faq_dir, TEST_FAQ)
    return loaded


@pytest.fixture
def knowledge(settings: Settings) -> tuple[Dialog, KnowledgeHolder]:
    return build_dialog(settings)


@pytest.fixture
def dialog(knowledge: tuple[Dialog, KnowledgeHolder]) -> Dialog:
    return knowledge[0]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
def updates() -> UpdateFactory:
    return UpdateFactory()


class RecordingQuestionLog:
    """Stands in for bot.storage.question_log.QuestionLog: keeps what it is told, in memory."""

    def __init__(self) -> None:
        self.questions: list[dict[str, Any]] = []
        self.votes: list[tuple[str, bool, int | None]] = []

    def record_question(
        self,
        text: str,
        *,
        user_id: int | None,
        lang: str | None,
        outcome: str,
        entry_id: str | None = None,
        score: float = 0.0,
        channel: str = "telegram",
    ) -> str:
        question_id = f"q{len(self.questions) + 1}"
        self.questions.append(
            {
                "id": question_id,
                "text": text,
                "user_id": user_id,
                "lang": lang,
                "outcome": outcome,
                "entry_id": entry_id,
                "score": score,
                "channel": channel,
            }
        )
        return question_id

    def record_feedback(
        self, question_id: str, helpful: bool, *, user_id: int | None = None
    ) -> None:
        self.votes.append((question_id, helpful, user_id))


@pytest.fixture
def question_log() -> RecordingQuestionLog:
    return RecordingQuestionLog()


@pytest.fixture
def prefs(tmp_path: Path) -> Iterator[UserPrefs]:
    path = tmp_path / "data" / "questions.sqlite3"
    with Database(path, key_source=lambda: b"k" * 32) as database:
        yield UserPrefs(database)


@pytest.fixture
async def app(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    fake_api: FakeBotApi,
    prefs: UserPrefs,
    clock: FakeClock,
    question_log: RecordingQuestionLog,
) -> AsyncIterator[TelegramApplication]:
    """The bot on the in-process fake: initialised (getMe) and post_init run, not polling."""
    dialog, holder = knowledge
    application = build_application(
        settings,
        TOKEN,
        dialog,
        holder,
        prefs=prefs,
        question_log=question_log,
        flood=FloodGuard(settings.telegram.flood_limit_per_minute, clock=clock),
        request=FakeBotApiRequest(fake_api),
    )
    async with application:
        await post_init(application)
        yield application


Handle = Callable[[dict[str, Any]], Awaitable[None]]


@pytest.fixture
def handle(app: TelegramApplication) -> Handle:
    """Process one update (a dict as Telegram sends it) as the running bot would: through
    its update processor, handlers and error handler."""
    update_ids = itertools.count(1)

    async def process(update: dict[str, Any]) -> None:
        parsed = Update.de_json({"update_id": next(update_ids), **update}, app.bot)
        await app.update_processor.process_update(parsed, app.process_update(parsed))

    return process
