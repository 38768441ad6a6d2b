"""30 users send /forget at the same moment to `python -m bot run` (a real process against the
fake Bot API server on 127.0.0.1): each is told it is done, every question they asked is gone
from the log, and the admins hear no alarm about the database."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fake_bot_api import FakeBotApiServer, UpdateFactory, user
from tests.telegram_bot.announcements.subscription_helpers import ADMIN, messages_to, wait_until
from tests.telegram_bot.announcements.test_announce_kill import start_bot, write_config

USERS = [user(40_000 + n, "en", name=f"User {n}") for n in range(30)]
QUESTION = "How do I apply for a grant?"
DONE = "Done: I deleted your questions"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


def logged_questions(database: Path) -> int:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM questions").fetchone()[0])
    finally:
        connection.close()


async def test_thirty_concurrent_forgets_all_delete_and_raise_no_alarm(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    config = write_config(tmp_path, server.base_url)
    database = tmp_path / "data" / "questions.sqlite3"
    api = server.api
    bot = await start_bot(config, server)
    try:
        for asker in USERS:
            api.add_update(updates.message(QUESTION, sender=asker))
        await wait_until(lambda: all(messages_to(api, u["id"]) for u in USERS), within=60)
        await wait_until(lambda: logged_questions(database) == len(USERS), within=30)
        to_admin = len(messages_to(api, ADMIN["id"]))

        for asker in USERS:
            api.add_update(updates.command("/forget", sender=asker))
        await wait_until(lambda: all(len(messages_to(api, u["id"])) == 2 for u in USERS), within=60)
        replies = [str(messages_to(api, u["id"])[-1].params["text"]) for u in USERS]
        assert [r for r in replies if not r.startswith(DONE)] == []
        assert logged_questions(database) == 0
        # A moment for an alarm that would follow a failed commit.
        api.add_update(updates.message(QUESTION, sender=USERS[0]))
        await wait_until(lambda: len(messages_to(api, USERS[0]["id"])) == 3, within=30)
        await wait_until(lambda: logged_questions(database) == 1, within=30)
        assert messages_to(api, ADMIN["id"])[to_admin:] == []
    finally:
        if bot.returncode is None:
            bot.terminate()
        await bot.wait()
    assert bot.returncode == 0
