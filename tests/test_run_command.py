"""`python -m bot run` as an operator starts it: a real process with the token in the
environment and `telegram.base_url` pointing at the fake Bot API server on 127.0.0.1.

This covers the composition the other tests build by hand (question log, language
preferences, FAQ watcher, logging) and a clean stop on SIGTERM, as systemd sends it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.telegram_bot.app import UPDATES_IN_HAND
from tests.fake_bot_api import TOKEN, FakeBotApiServer, UpdateFactory, user

REPO = Path(__file__).resolve().parent.parent
START_WITHIN = 60.0
STOP_WITHIN = 30.0
ENGLISH = user(3001, "en", name="Operator")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


def write_config(tmp_path: Path, base_url: str, webhook_port: int | None = None) -> Path:
    """The project's config.yaml, with the data in `tmp_path` and the fake's address."""
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["paths"]["faq"] = str(REPO / "faq")
    config["paths"]["question_log"] = str(tmp_path / "data" / "questions.sqlite3")
    config["telegram"]["base_url"] = base_url
    config["telegram"]["mode"] = "polling"
    if webhook_port is not None:
        config["telegram"]["mode"] = "webhook"
        config["telegram"]["webhook"] = {
            "url": "https://bot.example.org/hooks/telegram",
            "listen": "127.0.0.1",
            "port": webhook_port,
        }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def bot_environment() -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"BOT_ADMIN_IDS", "QUESTION_LOG_KEY", "TELEGRAM_WEBHOOK_SECRET"}
    }
    environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    return environ


async def start_bot(
    config: Path, extra_environ: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """`python -m bot run` with the token in its environment, output kept for reading."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "run",
        cwd=REPO,
        env={**bot_environment(), **(extra_environ or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_the_bot_runs_answers_logs_the_question_and_stops_cleanly_on_sigterm(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    config = write_config(tmp_path, server.base_url)
    process = await start_bot(config)
    try:
        api = server.api
        await api.wait_for("setMyCommands", 3, within=START_WITHIN)
        api.add_update(updates.message("what is your phone number", sender=ENGLISH))
        (answer,) = await api.wait_for("sendMessage", 1, within=START_WITHIN)
        assert "04 22 355 69" in answer.params["text"]  # from config.yaml, via a placeholder
    finally:
        if process.returncode is None:
            process.terminate()
        stdout, stderr = await asyncio.wait_for(process.communicate(), STOP_WITHIN)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert TOKEN not in log
    assert TOKEN.split(":", 1)[1] not in log
    assert re.search(r"update \d+: answer entry=phone score=[\d.]+ lang=en", log), log
    database = tmp_path / "data" / "questions.sqlite3"
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM questions").fetchone()
    assert count == 1
    assert str(ENGLISH["id"]).encode() not in database.read_bytes()


# ----- a backlog: what is fetched is answered, or stays with Telegram -------------------

BACKLOG = 600
ANSWERED_BEFORE_STOP = 80


def queue_backlog(server: FakeBotApiServer, updates: UpdateFactory) -> dict[int, int]:
    """BACKLOG questions, each from a user of their own; update_id -> chat id."""
    chats = {}
    for n in range(BACKLOG):
        sender = user(500_000 + n, "en")
        queued = server.api.add_update(updates.message("what is your phone number", sender=sender))
        chats[int(queued["update_id"])] = int(sender["id"])
    return chats


def confirmed_unanswered(server: FakeBotApiServer, chats: dict[int, int]) -> list[int]:
    """Updates the bot confirmed to Telegram (fetched past them) but never answered."""
    answered = {int(call.params["chat_id"]) for call in server.api.calls_of("sendMessage")}
    confirmed = [uid for uid in chats if uid < server.api.confirmed_below]
    return [uid for uid in confirmed if chats[uid] not in answered]


async def test_kill_9_under_a_backlog_loses_at_most_the_updates_in_hand(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    chats = queue_backlog(server, updates)
    process = await start_bot(write_config(tmp_path, server.base_url))
    try:
        await server.api.wait_for("sendMessage", ANSWERED_BEFORE_STOP, within=START_WITHIN)
    finally:
        process.kill()
        await asyncio.wait_for(process.communicate(), STOP_WITHIN)
    lost = confirmed_unanswered(server, chats)
    # Before the backlog was fetched as fast as Telegram gave it: some 500 were lost here.
    assert len(lost) <= UPDATES_IN_HAND
    assert (
        server.api.confirmed_below <= len(server.api.calls_of("sendMessage")) + 2 * UPDATES_IN_HAND
    )


async def test_sigterm_under_a_backlog_stops_fetching_answers_what_it_holds_and_exits_0(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    chats = queue_backlog(server, updates)
    process = await start_bot(write_config(tmp_path, server.base_url))
    try:
        await server.api.wait_for("sendMessage", ANSWERED_BEFORE_STOP, within=START_WITHIN)
    finally:
        answered_before = len(server.api.calls_of("sendMessage"))
        process.terminate()
        stdout, stderr = await asyncio.wait_for(process.communicate(), STOP_WITHIN)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    answered_after = len(server.api.calls_of("sendMessage")) - answered_before
    # Before, it went on through the whole backlog (some 500 answers, at 30 a second).
    assert answered_after <= UPDATES_IN_HAND
    assert confirmed_unanswered(server, chats) == []  # what it fetched, it answered
    assert server.api.confirmed_below < BACKLOG  # the rest waits for the next start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_in_webhook_mode_the_bot_sets_its_webhook_answers_and_stops_on_sigterm(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    port, secret = free_port(), "webhook-secret-for-tests"
    config = write_config(tmp_path, server.base_url, webhook_port=port)
    process = await start_bot(config, {"TELEGRAM_WEBHOOK_SECRET": secret})
    try:
        api = server.api
        (hook,) = await api.wait_for("setWebhook", 1, within=START_WITHIN)
        assert hook.params["secret_token"] == secret
        update = {"update_id": 1, **updates.message("what is your phone number", sender=ENGLISH)}
        for _ in range(int(START_WITHIN / 0.1)):  # until the server listens
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        body = json.dumps(update).encode()
        writer.write(
            (
                "POST /hooks/telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\n"
                f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        status = await asyncio.wait_for(reader.readline(), START_WITHIN)
        writer.close()
        assert b" 200 " in status
        (answer,) = await api.wait_for("sendMessage", 1, within=START_WITHIN)
        assert "04 22 355 69" in answer.params["text"]
    finally:
        if process.returncode is None:
            process.terminate()
        stdout, stderr = await asyncio.wait_for(process.communicate(), STOP_WITHIN)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert secret not in log
