"""/report: admins get the HTML report with charts as a file in Telegram; no one else does.

The real python-telegram-bot application with a real question log; its Bot API calls go to
the fake (in-process, and once over HTTP on 127.0.0.1, where the file travels as
multipart/form-data as it does to Telegram).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.config import Settings, settings_from_mapping
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.core.telegram_html import html_to_plain
from bot.storage.question_log import QuestionLog
from bot.telegram_bot.app import TelegramApplication, build_application, post_init
from tests.conftest import TEST_FAQ, Handle
from tests.factories import settings_mapping, write_faq
from tests.fake_bot_api import (
    TOKEN,
    FakeBotApi,
    FakeBotApiRequest,
    FakeBotApiServer,
    UpdateFactory,
    user,
)
from tests.telegram_bot.test_end_to_end import running_bot
from tests.web_pages import SVG, elements, parse_page, text_of

ADMIN = user(7001, "en", name="Staff")
ALBANIAN_ADMIN = user(7002, "sq", name="Stafi")
CITIZEN = user(1001, "en")
QUESTIONS = ("phone number", "Where is your office?", "can I park my <b>bicycle</b> there")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Overrides conftest's: the same small FAQ, with two admins."""
    mapping: dict[str, Any] = settings_mapping(tmp_path / "faq")
    mapping["telegram"] = {"admin_ids": [ADMIN["id"], ALBANIAN_ADMIN["id"]]}
    loaded = settings_from_mapping(mapping, base_dir=tmp_path)
    write_faq(loaded.faq_dir, TEST_FAQ)
    return loaded


@pytest.fixture
def log(tmp_path: Path) -> Iterator[QuestionLog]:
    with QuestionLog(tmp_path / "data" / "questions.sqlite3", key=b"k" * 32) as opened:
        yield opened


def make_app(settings: Settings, fake_api: FakeBotApi, log: QuestionLog | None) -> Any:
    dialog, holder = build_dialog(settings)
    return build_application(
        settings, TOKEN, dialog, holder, question_log=log, request=FakeBotApiRequest(fake_api)
    )


@pytest.fixture
async def staff_app(
    settings: Settings, fake_api: FakeBotApi, log: QuestionLog
) -> AsyncIterator[TelegramApplication]:
    application = make_app(settings, fake_api, log)
    async with application:
        await post_init(application)
        yield application


@pytest.fixture
def handle_staff(staff_app: TelegramApplication) -> Handle:
    update_ids = itertools.count(1)

    async def process(update: dict[str, Any]) -> None:
        parsed = Update.de_json({"update_id": next(update_ids), **update}, staff_app.bot)
        await staff_app.update_processor.process_update(parsed, staff_app.process_update(parsed))

    return process


async def ask_questions(handle: Handle, updates: UpdateFactory, log: QuestionLog) -> None:
    for text in QUESTIONS:
        await handle(updates.message(text, sender=CITIZEN))
    assert log.flush()


async def test_report_sends_the_admin_the_html_report_as_a_file(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi, log: QuestionLog
) -> None:
    await ask_questions(handle_staff, updates, log)
    await handle_staff(updates.command("/report", sender=ADMIN))
    (document,) = fake_api.documents(ADMIN["id"])
    assert document.filename.startswith("report-")
    assert document.filename.endswith(".html")
    tree = parse_page(document.content.decode("utf-8"))
    assert text_of(elements(tree, "h1")[0]) == "Question report"
    summary = {dd.get("data-key"): text_of(dd) for dd in elements(tree, "dd")}
    assert summary["questions"] == "3"
    assert len(list(tree.iter(f"{SVG}svg"))) >= 3  # the charts came along
    page_text = text_of(tree)
    assert "can i park my b bicycle b there" in page_text  # unanswered, as the log keeps it
    (call,) = fake_api.calls_of("sendDocument")
    assert "Open the file in a web browser" in call.params["caption"]


async def test_report_comes_in_the_admins_language_for_the_period_asked(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi, log: QuestionLog
) -> None:
    await ask_questions(handle_staff, updates, log)
    await handle_staff(updates.command("/report 2w", sender=ALBANIAN_ADMIN))
    (document,) = fake_api.documents(ALBANIAN_ADMIN["id"])
    tree = parse_page(document.content.decode("utf-8"))
    assert text_of(elements(tree, "h1")[0]) == "Raporti i pyetjeve"
    (period,) = [p for p in elements(tree, "p") if p.get("class") == "period"]
    first, last = text_of(period).split(" (UTC)")[0].split(" – ")
    assert (date_of(last) - date_of(first)).days == 14


async def test_report_with_a_period_it_cannot_read_says_how_to_write_one(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle_staff(updates.command("/report forever", sender=ADMIN))
    assert fake_api.documents() == []
    (reply,) = fake_api.sent_texts(ADMIN["id"])
    assert "/report 30d" in html_to_plain(reply)


async def test_to_anyone_but_an_admin_report_is_just_an_unknown_command(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi, log: QuestionLog
) -> None:
    await ask_questions(handle_staff, updates, log)
    await handle_staff(updates.command("/nosuchcommand", sender=CITIZEN))
    await handle_staff(updates.command("/report", sender=CITIZEN))
    assert fake_api.documents() == []
    unknown, report = fake_api.sent_texts(CITIZEN["id"])[-2:]
    assert report == unknown


async def test_the_admins_menu_offers_report(
    staff_app: TelegramApplication, fake_api: FakeBotApi
) -> None:
    menus = fake_api.calls_of("setMyCommands")
    admin_menus = [c for c in menus if (c.params.get("scope") or {}).get("type") == "chat"]
    assert admin_menus
    for call in admin_menus:
        assert "report" in {c["command"] for c in call.params["commands"]}
    for call in menus:
        if call not in admin_menus:
            assert "report" not in {c["command"] for c in call.params["commands"]}


async def test_without_a_question_log_report_says_there_is_nothing_to_report(
    settings: Settings, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    application = make_app(settings, fake_api, None)
    async with application:
        await post_init(application)
        parsed = Update.de_json(
            {"update_id": 1, **updates.command("/report", sender=ADMIN)}, application.bot
        )
        await application.process_update(parsed)
    assert fake_api.documents() == []
    assert [html_to_plain(t) for t in fake_api.sent_texts(ADMIN["id"])] == [
        "The question log is switched off, so there is nothing to report."
    ]


async def test_the_report_file_travels_over_http_as_telegram_receives_it(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    log: QuestionLog,
    updates: UpdateFactory,
) -> None:
    async with (
        FakeBotApiServer() as server,
        running_bot(settings, knowledge, server, question_log=log),
    ):
        server.api.add_update(updates.message("phone number", sender=CITIZEN))
        await server.api.wait_for("sendMessage")
        assert log.flush()
        server.api.add_update(updates.command("/report", sender=ADMIN))
        (call,) = await server.api.wait_for("sendDocument")
    (document,) = server.api.documents(ADMIN["id"])
    assert call.ok
    assert document.mimetype == "text/html"
    tree = parse_page(document.content.decode("utf-8"))
    assert {dd.get("data-key"): text_of(dd) for dd in elements(tree, "dd")}["questions"] == "1"


def date_of(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)
