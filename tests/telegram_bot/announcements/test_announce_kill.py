"""The bot killed with SIGKILL in the middle of a 2,000-recipient announcement, then started
again: every subscriber gets it, and only the messages in flight at the kill may arrive twice
(counted and printed). The bot runs as `python -m bot run` in a process of its own against
the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.storage.subscriptions import SubscriptionStore
from bot.telegram_bot.announcements.broadcast import IN_FLIGHT
from tests.fake_bot_api import TOKEN, FakeBotApiServer, UpdateFactory
from tests.telegram_bot.announcements.subscription_helpers import (
    ADMIN,
    announce,
    messages_to,
    wait_until,
)

REPO = Path(__file__).resolve().parents[3]
# The running bot sends announcements within its one rate budget (29 a second): 600 take
# about 20 s, and the kill still comes a third of the way in.
SUBSCRIBERS = 600
TEXTS = {"sq": "Thirrje e re për propozime.", "en": "A new call for proposals."}
START_WITHIN = 60.0


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


def write_config(tmp_path: Path, base_url: str) -> Path:
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["paths"]["faq"] = str(REPO / "faq")
    config["paths"]["question_log"] = str(tmp_path / "data" / "questions.sqlite3")
    config["telegram"].update(base_url=base_url, mode="polling", admin_ids=[ADMIN["id"]])
    # Fast, so that the test is: the limiter is the same, only its rate differs.
    config["subscriptions"]["messages_per_second"] = 500
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


async def start_bot(config: Path, server: FakeBotApiServer) -> asyncio.subprocess.Process:
    environ = {k: v for k, v in os.environ.items() if k not in {"BOT_ADMIN_IDS"}}
    environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    polls = server.api.polls
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "run",
        cwd=REPO,
        env=environ,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await wait_until(lambda: server.api.polls > polls, within=START_WITHIN)
    return process


async def test_a_broadcast_killed_midway_resumes_and_reaches_everyone_once(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    config = write_config(tmp_path, server.base_url)
    chats = {100_000 + n: ("sq" if n % 2 else "en") for n in range(SUBSCRIBERS)}
    with SubscriptionStore(tmp_path / "data" / "questions.sqlite3") as store:
        store.subscribe_many(chats, "calls")
    api = server.api
    bot = await start_bot(config, server)
    try:
        await announce(api, updates, "calls", TEXTS)
        already = len(api.calls_of("sendMessage"))
        await api.wait_for("sendMessage", already + SUBSCRIBERS // 3, within=120)
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        before_restart = sum(api.deliveries()[c] for c in chats)
        with SubscriptionStore(tmp_path / "data" / "questions.sqlite3") as store:
            (job,) = store.unfinished()
            in_flight = store.in_flight(job)
        assert before_restart < SUBSCRIBERS, "the broadcast finished before the kill"

        bot = await start_bot(config, server)
        await wait_until(
            lambda: (
                all(api.deliveries()[c] for c in chats)
                and len(messages_to(api, ADMIN["id"]))
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
    with SubscriptionStore(tmp_path / "data" / "questions.sqlite3") as store:
        assert store.unfinished() == []
        counts = store.counts(job)
    print(
        f"\nkilled after {before_restart} of {SUBSCRIBERS} delivered; {in_flight} in flight at "
        f"the kill; {counts.resent - in_flight} send(s) timed out; {duplicates} duplicate(s)"
    )
    assert all(delivered[c] >= 1 for c in chats)  # no one missed it
    assert in_flight <= IN_FLIGHT
    # Only what was in flight at the kill (or timed out, on a loaded machine) came twice.
    assert duplicates <= counts.resent
    assert counts.resent >= in_flight
    assert counts.delivered == SUBSCRIBERS
    texts = {int(c.params["chat_id"]): str(c.params["text"]) for c in api.calls_of("sendMessage")}
    assert all(texts[chat].startswith(TEXTS[lang]) for chat, lang in chats.items())
    assert f"Delivered: <b>{SUBSCRIBERS}</b>" in str(messages_to(api, ADMIN["id"])[-1].params)
