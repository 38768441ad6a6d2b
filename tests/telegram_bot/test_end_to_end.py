"""The real bot against a fake Bot API server on 127.0.0.1, through the real HTTP stack.

The application is the one `python -m bot run` builds (HTTPXRequest, the delivery rate
limiter, concurrent updates); only its base_url points at tests/fake_bot_api.py's server.
Updates arrive by long polling or by webhook; every Bot API call the bot makes is checked by
the fake as Telegram would check it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.core.telegram_html import html_to_plain
from bot.telegram_bot.app import (
    ALLOWED_UPDATES,
    TelegramApplication,
    build_application,
    post_init,
    webhook_arguments,
)
from tests.fake_bot_api import (
    BOT_USERNAME,
    GROUP,
    TOKEN,
    FakeBotApi,
    FakeBotApiServer,
    UpdateFactory,
    actions,
    urls,
    user,
)

ENGLISH = user(2001, "en")
ALBANIAN = user(2002, "sq", name="Elira")
POLL_TIMEOUT = dt.timedelta(seconds=1)
WEBHOOK_SECRET = "e2e-secret_token-0123456789"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


@asynccontextmanager
async def running_bot(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    *,
    webhook_port: int | None = None,
    **options: Any,
) -> AsyncIterator[TelegramApplication]:
    """The bot started against `server`: long polling, or a webhook on `webhook_port`."""
    dialog, holder = knowledge
    telegram = replace(settings.telegram, base_url=server.base_url)
    if webhook_port is not None:
        webhook = replace(
            telegram.webhook, url="https://bot.example.org/telegram", port=webhook_port
        )
        telegram = replace(telegram, mode="webhook", webhook=webhook)
    live = replace(settings, telegram=telegram)
    application = build_application(live, TOKEN, dialog, holder, **options)
    assert application.updater is not None
    await application.initialize()
    try:
        await post_init(application)
        await application.start()
        if webhook_port is None:
            await application.updater.start_polling(
                timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
            )
        else:
            await application.updater.start_webhook(**webhook_arguments(live, WEBHOOK_SECRET))
        yield application
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()


def text_of(api: FakeBotApi, index: int = -1) -> str:
    return html_to_plain(api.sent_texts()[index])


async def settle(api: FakeBotApi, seconds: float = 0.3) -> None:
    """Give the bot a moment to make any further (unwanted) calls."""
    await asyncio.sleep(seconds)


# ----- long polling -----------------------------------------------------------------------


async def test_a_conversation_by_long_polling(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
) -> None:
    api = server.api
    async with running_bot(settings, knowledge, server):
        assert {c.params.get("language_code") for c in api.calls_of("setMyCommands")} == {
            None,
            "en",
            "sq",
        }
        api.add_update(updates.command("/start", sender=ALBANIAN))
        await api.wait_for("sendMessage", 1)
        assert "Përshëndetje" in text_of(api)

        api.add_update(updates.message("Where is your office?", sender=ENGLISH))
        await api.wait_for("sendMessage", 2)
        assert "Frosina Plaku" in text_of(api)
        answer = api.calls_of("sendMessage")[-1]

        api.add_update(updates.message("numri i telefonit", sender=ENGLISH))
        await api.wait_for("sendMessage", 3)
        assert "Na telefononi" in text_of(api)

        api.add_update(updates.callback("f:y:x1", on=answer.result, sender=ENGLISH))
        await api.wait_for("editMessageReplyMarkup", 1)

        api.add_update(updates.command("/topics", sender=ENGLISH))
        await api.wait_for("sendMessage", 4)
        topics = api.calls_of("sendMessage")[-1]
        api.add_update(updates.callback("c:documents:0", on=topics.result, sender=ENGLISH))
        (edit,) = await api.wait_for("editMessageText", 1)
        assert edit.params["message_id"] == topics.result["message_id"]

        # The last question was in Albanian, so the deep link opens in Albanian.
        api.add_update(updates.command("/start deadline-projects", sender=ENGLISH))
        await api.wait_for("sendMessage", 5)
        assert "31 mars" in text_of(api)

        api.add_update(updates.message("grant deadline", sender=ENGLISH))
        await api.wait_for("sendMessage", 6)
        assert "Did you mean" in text_of(api)

        api.add_update(updates.inline_query("office address", sender=ENGLISH))
        (inline,) = await api.wait_for("answerInlineQuery", 1)
        assert inline.params["results"][0]["id"] == "office-address"

        api.add_update(updates.command("/contact", sender=ENGLISH))
        await api.wait_for("sendVenue", 1)
        api.add_update(updates.sticker(sender=ENGLISH))
        await api.wait_for("sendMessage", 8)
        assert "text questions" in text_of(api)
        # Every call the bot made was one Telegram would accept.
        assert [c for c in api.calls if not c.ok] == []
        assert len(api.calls_of("answerCallbackQuery")) == 2


async def test_the_other_commands_and_a_suggestion_button_by_long_polling(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
) -> None:
    api = server.api
    async with running_bot(settings, knowledge, server):
        api.add_update(updates.command("/help", sender=ENGLISH))
        await api.wait_for("sendMessage", 1)
        assert "/topics" in text_of(api)

        api.add_update(updates.command("/register", sender=ENGLISH))
        (_, register) = await api.wait_for("sendMessage", 2)
        assert urls(register.params)

        api.add_update(updates.command("/faq", sender=ENGLISH))
        await api.wait_for("sendMessage", 3)
        assert "Choose a topic" in text_of(api)

        api.add_update(updates.message("grant deadline", sender=ENGLISH))
        offer = (await api.wait_for("sendMessage", 4))[-1]
        (pick,) = [a for a in actions(offer.params) if a.startswith("e:deadline-institutional:")]
        api.add_update(updates.callback(pick, on=offer.result, sender=ENGLISH))
        await api.wait_for("sendMessage", 5)
        assert "30 September" in text_of(api)

        api.add_update(updates.command("/language", sender=ENGLISH))
        menu = (await api.wait_for("sendMessage", 6))[-1]
        api.add_update(updates.callback("l:sq", on=menu.result, sender=ENGLISH))
        await api.wait_for("answerCallbackQuery", 2)
        api.add_update(updates.command("/contact", sender=ENGLISH))
        await api.wait_for("sendContact", 1)
        # The choice of Albanian holds against Telegram's English.
        assert "Tiranë" in html_to_plain(api.sent_texts()[-1])
        assert [c for c in api.calls if not c.ok] == []


async def test_in_a_group_only_mentions_are_answered_as_replies(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
) -> None:
    api = server.api
    async with running_bot(settings, knowledge, server):
        api.add_update(updates.message("Where is your office?", chat=GROUP))
        mention = api.add_update(
            updates.message(f"where is your office @{BOT_USERNAME}", chat=GROUP)
        )
        (sent,) = await api.wait_for("sendMessage", 1)
        await settle(api)
        assert len(api.calls_of("sendMessage")) == 1
        assert sent.params["reply_parameters"]["message_id"] == mention["message"]["message_id"]
        assert "Frosina Plaku" in text_of(api)


# ----- Telegram misbehaving ---------------------------------------------------------------


async def test_a_429_is_waited_out_and_the_reply_still_arrives(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
) -> None:
    api = server.api
    async with running_bot(settings, knowledge, server):
        api.fail_next("sendMessage", status=429, retry_after=1)
        api.add_update(updates.message("phone number", sender=ENGLISH))
        (delivered,) = await api.wait_for("sendMessage", 1)
        refused = api.calls_of("sendMessage", ok_only=False)[0]
        assert refused.status == 429
        assert delivered.at - refused.at >= 1.0
        assert "+355 4 22 355 69" in text_of(api)


async def test_a_500_is_retried_and_a_lasting_one_costs_one_reply_not_the_bot(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = server.api
    async with running_bot(settings, knowledge, server):
        api.fail_next("sendMessage", status=500)
        api.add_update(updates.message("phone number", sender=ENGLISH))
        await api.wait_for("sendMessage", 1)  # delivered on the retry

        api.fail_next("sendMessage", status=500, times=10)
        api.add_update(updates.message("office address", sender=ENGLISH))
        # 2 calls for the first reply, then the first try and two retries of the second
        await api.wait_for("sendMessage", 5, ok_only=False)
        await settle(api)
        assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)

        api.recover()
        api.add_update(updates.message("Where is your office?", sender=ALBANIAN))
        await api.wait_for("sendMessage", 2)
        assert "Frosina Plaku" in text_of(api)


async def test_a_user_who_blocked_the_bot_changes_nothing_for_the_next(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
) -> None:
    api = server.api
    async with running_bot(settings, knowledge, server):
        api.fail_next("sendMessage", status=403)
        api.add_update(updates.message("phone number", sender=ENGLISH))
        await api.wait_for("sendMessage", 1, ok_only=False)
        api.add_update(updates.message("phone number", sender=ALBANIAN))
        (delivered,) = await api.wait_for("sendMessage", 1)
        assert delivered.params["chat_id"] == ALBANIAN["id"]


async def test_a_flood_from_one_user_gets_one_notice_while_another_is_answered(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
) -> None:
    api = server.api
    limit = settings.telegram.flood_limit_per_minute
    async with running_bot(settings, knowledge, server):
        for _ in range(limit + 15):
            api.add_update(updates.message("phone number", sender=ENGLISH))
        api.add_update(updates.message("office address", sender=ALBANIAN))
        await api.wait_for("sendMessage", limit + 2, within=15)
        await settle(api, 0.5)
        to_flooder = [html_to_plain(t) for t in api.sent_texts(ENGLISH["id"])]
        assert len(to_flooder) == limit + 1
        assert sum("very quickly" in text for text in to_flooder) == 1
        assert len(api.sent_texts(ALBANIAN["id"])) == 1


# ----- webhook ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_accepts_only_updates_with_the_secret(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
) -> None:
    api = server.api
    port = free_port()
    async with running_bot(settings, knowledge, server, webhook_port=port):
        assert api.webhook is not None
        assert api.webhook["url"] == "https://bot.example.org/telegram"
        assert api.webhook["secret_token"] == WEBHOOK_SECRET
        url = f"http://127.0.0.1:{port}/telegram"
        forged = {"update_id": 1, **updates.message("phone number", sender=ENGLISH)}
        genuine = {"update_id": 2, **updates.message("office address", sender=ALBANIAN)}
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=forged) as response:
                assert response.status == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with session.post(url, json=forged, headers=headers) as response:
                assert response.status == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            async with session.post(url, json=genuine, headers=headers) as response:
                assert response.status == 200
        (sent,) = await api.wait_for("sendMessage", 1)
        await settle(api)
        assert sent.params["chat_id"] == ALBANIAN["id"]
        assert len(api.calls_of("sendMessage")) == 1


# ----- the token ---------------------------------------------------------------------------


async def test_the_token_appears_in_no_log_line(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api = server.api
    started = time.monotonic()
    async with running_bot(settings, knowledge, server) as application:
        # Defence in depth: even with the HTTP libraries' request lines let through, the
        # token is redacted.
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        api.fail_next("sendMessage", status=500)
        api.add_update(updates.message("phone number", sender=ENGLISH))
        api.add_update(updates.command("/help", sender=ENGLISH))
        await api.wait_for("sendMessage", 2)
        await application.bot.get_me()
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    assert time.monotonic() - started < 30
    text = caplog.text
    assert "<token>" in text  # httpx's request lines were there, redacted
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text
    for record in caplog.records:
        assert TOKEN.split(":")[1] not in record.getMessage()
