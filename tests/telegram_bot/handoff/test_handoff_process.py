"""kill -9 in the middle of a hand-off: `python -m bot run` as a real process, killed right
after the user was told their question was received; the restarted bot still relays the
staff's answer to the user (the ticket and its route were on disk before the user was told).
"""

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

from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiServer, UpdateFactory, actions, user

REPO = Path(__file__).resolve().parents[3]
START_WITHIN = 60.0
STOP_WITHIN = 30.0
STAFF_GROUP = -1004444444444
ASKER = user(7001, "en", name="Teuta")
STAFF = user(7002, "sq", name="Besa")
QUESTION = "What time does the football match start tonight?"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        running.api.forums.add(STAFF_GROUP)
        running.api.members[STAFF_GROUP] = {STAFF["id"]: "member"}
        yield running


def write_config(tmp_path: Path, base_url: str) -> Path:
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["paths"]["faq"] = str(REPO / "faq")
    config["paths"]["question_log"] = str(tmp_path / "data" / "questions.sqlite3")
    config["telegram"]["base_url"] = base_url
    config["telegram"]["mode"] = "polling"
    config["handoff"]["staff_chat_id"] = STAFF_GROUP
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


async def start_bot(config: Path) -> asyncio.subprocess.Process:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"BOT_ADMIN_IDS", "QUESTION_LOG_KEY", "TELEGRAM_WEBHOOK_SECRET"}
    }
    environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "run",
        cwd=REPO,
        env=environ,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def ask_and_confirm(api: FakeBotApi, updates: UpdateFactory) -> None:
    api.add_update(updates.message(QUESTION, sender=ASKER))
    (fallback,) = await api.wait_for("sendMessage", 1, within=START_WITHIN)
    api.add_update(updates.callback("h:", on=fallback.result, sender=ASKER))
    confirmation = (await api.wait_for("sendMessage", 2))[-1]
    send = next(a for a in actions(confirmation.params) if a.startswith("hs:"))
    api.add_update(updates.callback(send, on=confirmation.result, sender=ASKER))
    (received,) = await api.wait_for("editMessageText", 1)
    assert "received" in received.params["text"]


async def test_a_route_survives_kill_9_right_after_the_user_was_told(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    config = write_config(tmp_path, server.base_url)
    process = await start_bot(config)
    try:
        await api.wait_for("setMyCommands", 3, within=START_WITHIN)
        await ask_and_confirm(api, updates)
        (topic,) = await api.wait_for("createForumTopic", 1)
        # The card follows "received" from the outbox; the kill comes once it is posted.
        await api.wait_for("sendMessage", 3)
        await asyncio.sleep(0.5)
    finally:
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.communicate(), STOP_WITHIN)
    assert process.returncode == -signal.SIGKILL

    process = await start_bot(config)
    try:
        await api.wait_for("setMyCommands", 6, within=START_WITHIN)
        thread = topic.result["message_thread_id"]
        staff_chat = {"id": STAFF_GROUP, "type": "supergroup", "title": "Staff", "is_forum": True}
        reply = updates.message(
            "Ndeshja nuk është punë e jona.",
            sender=STAFF,
            chat=staff_chat,
            message_thread_id=thread,
            is_topic_message=True,
        )
        api.add_update(reply)
        (copy,) = await api.wait_for("copyMessage", 1, within=START_WITHIN)
        assert copy.params["chat_id"] == ASKER["id"]
        assert copy.params["message_id"] == reply["message"]["message_id"]
        assert len(api.calls_of("createForumTopic")) == 1  # posted once, not again
    finally:
        if process.returncode is None:
            process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), STOP_WITHIN)
    assert process.returncode == 0, stderr.decode()
