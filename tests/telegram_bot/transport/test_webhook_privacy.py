"""What reaches the log when Telegram's webhook delivers an update the bot cannot read: its
size and kind, never the user's text or ids (python-telegram-bot logs the whole body)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from tests.fake_bot_api import FakeBotApiServer, UpdateFactory, user
from tests.telegram_bot.test_end_to_end import WEBHOOK_SECRET, free_port, running_bot

SENDER = user(987654321, "en", name="Arbenxyz")
PRIVATE_TEXT = "my passport number is secret-passport-AB123"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


async def test_an_authenticated_update_that_cannot_be_read_is_logged_by_size_and_kind_only(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    updates: UpdateFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    # A message without its chat and date: python-telegram-bot cannot parse it.
    unreadable = {
        "update_id": 7,
        "message": {"message_id": 1, "text": PRIVATE_TEXT, "from": SENDER},
    }
    readable = {"update_id": 8, **updates.message("office address", sender=SENDER)}
    async with running_bot(settings, knowledge, server, webhook_port=port):
        url = f"http://127.0.0.1:{port}/telegram"
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=unreadable, headers=headers) as response:
                assert response.status == 400
            async with session.post(url, json=readable, headers=headers) as response:
                assert response.status == 200
        await server.api.wait_for("sendMessage", 1)  # the bot still answers
    # Everything at INFO and above, and all the webhook's own records (DEBUG included:
    # the Bot API's debug lines echo replies, which is what --debug is for).
    logged = "\n".join(
        record.getMessage() + (record.exc_text or "") + str(record.exc_info or "")
        for record in caplog.records
        if record.levelno >= logging.INFO or record.name == "telegram.ext.Updater"
    )
    assert "could not be read" in logged
    assert "kind message" in logged
    failure = next(r for r in caplog.records if "could not be read" in r.getMessage())
    assert failure.levelno == logging.CRITICAL
    assert failure.exc_info is None
    for private in ("secret-passport", "987654321", "Arbenxyz", "office address"):
        assert private not in logged, private
    assert caplog.text.count("webhook received") == 2
