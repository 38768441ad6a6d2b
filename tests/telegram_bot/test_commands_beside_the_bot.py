"""Offline commands (`report`, `learn`, `announce --yes`) run beside `python -m bot run`, as
staff do on the server, then the bot killed with SIGKILL: every write the bot acknowledged
is there after the restart, its -wal file was never deleted under it, and a broadcast
killed mid-way after those commands reaches everyone, twice only for what was in flight.

The bot runs in a process of its own against the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.subscriptions import SubscriptionStore
from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiServer, UpdateFactory, user
from tests.telegram_bot.announcements.subscription_helpers import (
    ADMIN,
    announce,
    messages_to,
    wait_until,
)
from tests.telegram_bot.announcements.test_announce_kill import REPO, start_bot, write_config

# The running bot sends announcements within its one rate budget (29 a second): 600 take
# about 20 s, and the kill still comes a third of the way in.
SUBSCRIBERS = 600
NEWS_READERS = 3
IN_FLIGHT_AT_MOST = 4  # what the bot may have sent but not yet marked when it is killed
TEXTS = {"sq": "Thirrje e re për propozime.", "en": "A new call for proposals."}
COMMAND_WITHIN = 120.0

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


def deleted_files(pid: int, folder: Path) -> list[str]:
    """The files in `folder` that process `pid` still has open although they were deleted."""
    found = []
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(folder)) and target.endswith("(deleted)"):
            found.append(target)
    return found


async def run_command(config: Path, *arguments: str) -> int:
    """`python -m bot --config CONFIG ARGUMENTS...` to its end; its exit status."""
    environ = {k: v for k, v in os.environ.items() if k != "BOT_ADMIN_IDS"}
    environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        *arguments,
        cwd=REPO,
        env=environ,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), COMMAND_WITHIN)


async def subscribe(api: FakeBotApi, updates: UpdateFactory, reader: dict[str, object]) -> None:
    """The reader follows the news topic; returns once the bot acknowledged it (its toast)."""
    chat = int(str(reader["id"]))
    api.add_update(updates.command("/subscribe", sender=reader))
    await wait_until(lambda: messages_to(api, chat), within=60)
    menu = messages_to(api, chat)[-1]
    answered = len(api.calls_of("answerCallbackQuery"))
    api.add_update(updates.callback("s:t:news", on=menu.result, sender=reader))
    answers = await api.wait_for("answerCallbackQuery", answered + 1, within=60)
    assert "News" in str(answers[-1].params.get("text")), answers[-1].params


async def test_offline_commands_beside_the_bot_then_sigkill_lose_nothing(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    config = write_config(tmp_path, server.base_url)
    data = tmp_path / "data"
    database = data / "questions.sqlite3"
    chats = {100_000 + n: ("sq" if n % 2 else "en") for n in range(SUBSCRIBERS)}
    news = {200_000 + n: "en" for n in range(NEWS_READERS)}
    with SubscriptionStore(database) as store:
        store.subscribe_many(chats, "calls")
        store.subscribe_many(news, "news")
    for code, text in TEXTS.items():
        (tmp_path / f"{code}.html").write_text(f"<b>{text}</b>", encoding="utf-8")
    commands = [
        ("report", "--since", "7d"),
        ("learn",),
        ("learn", "--format", "json"),
        (
            "announce",
            "--topic",
            "news",
            "--yes",
            *(f"--{code}-file={tmp_path / f'{code}.html'}" for code in TEXTS),
        ),
    ]
    api = server.api
    acknowledged: list[int] = []
    bot = await start_bot(config, server)
    try:
        for number, command in enumerate(commands):
            status = await run_command(config, *command)
            assert status == 0, command
            assert deleted_files(bot.pid, data) == [], command
            reader = user(300_000 + number, "en", name=f"Reader {number}")
            await subscribe(api, updates, reader)
            acknowledged.append(int(str(reader["id"])))
            assert deleted_files(bot.pid, data) == [], command
        assert sum(api.deliveries()[c] for c in news) == NEWS_READERS

        await announce(api, updates, "calls", TEXTS)
        already = len(api.calls_of("sendMessage"))
        await api.wait_for("sendMessage", already + SUBSCRIBERS // 3, within=120)
        assert deleted_files(bot.pid, data) == []
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        before_restart = sum(api.deliveries()[c] for c in chats)
        assert before_restart < SUBSCRIBERS, "the broadcast finished before the kill"
        with SubscriptionStore(database) as store:
            for chat in acknowledged:
                assert store.topics_of(chat) == {"news"}, chat
            (job,) = store.unfinished()
            in_flight = store.in_flight(job)

        bot = await start_bot(config, server)
        await wait_until(
            lambda: (
                all(api.deliveries()[c] for c in chats)
                and "Delivered" in str(messages_to(api, ADMIN["id"])[-1].params["text"])
            ),
            within=120,
            every=0.25,
        )
    finally:
        if bot.returncode is None:
            bot.terminate()
        await asyncio.wait_for(bot.wait(), 30)
    assert bot.returncode == 0

    delivered = api.deliveries()
    duplicates = sum(delivered[c] - 1 for c in chats)
    with SubscriptionStore(database) as store:
        assert store.unfinished() == []
        counts = store.counts(job)
        assert all(store.topics_of(chat) == {"news"} for chat in acknowledged)
    print(
        f"\nkilled after {before_restart} of {SUBSCRIBERS} delivered; {in_flight} in flight; "
        f"{duplicates} duplicate(s)"
    )
    assert all(delivered[c] >= 1 for c in chats)  # no one missed it
    assert in_flight <= IN_FLIGHT_AT_MOST
    assert duplicates <= counts.resent
    assert counts.delivered == SUBSCRIBERS
