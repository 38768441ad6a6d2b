"""kill -9 with replies waiting in the outbox: `python -m bot run` as a real process. The
staff group refuses every post (429), the user replies ten times, the bot is killed; the
restarted bot delivers every reply, none lost, and none twice beyond what was in flight."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path

from tests.fake_bot_api import FakeBotApiServer, UpdateFactory
from tests.telegram_bot.handoff.test_handoff_process import (
    ASKER,
    STAFF_GROUP,
    START_WITHIN,
    STOP_WITHIN,
    ask_and_confirm,
    start_bot,
    write_config,
)
from tests.telegram_bot.handoff.test_handoff_process import server as server  # a fixture

REPLIES = 10


def queued_replies(database: Path) -> int:
    """Replies stored in the outbox, as another process sees the file."""
    with sqlite3.connect(database) as db:
        try:
            rows = db.execute("SELECT payload FROM outbox_items").fetchall()
        except sqlite3.OperationalError:  # not created yet
            return 0
    return sum(len(json.loads(row[0]).get("parts", [])) for row in rows)


async def test_replies_waiting_in_the_outbox_survive_kill_9_and_are_sent_once(
    tmp_path: Path, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    config = write_config(tmp_path, server.base_url)
    database = tmp_path / "data" / "questions.sqlite3"
    process = await start_bot(config)
    try:
        await api.wait_for("setMyCommands", 3, within=START_WITHIN)
        await ask_and_confirm(api, updates)
        confirmation = api.calls_of("sendMessage")[1].result
        await api.wait_for("sendMessage", 3)  # the card
        api.fail_chat(STAFF_GROUP, status=429, times=100_000, retry_after=1)
        for n in range(REPLIES):
            reply_to = {**confirmation, "chat": {"id": ASKER["id"], "type": "private"}}
            api.add_update(updates.message(f"Reply number {n}.", sender=ASKER, reply_to=reply_to))
        for _ in range(300):
            if queued_replies(database) == REPLIES:
                break
            await asyncio.sleep(0.05)
        assert queued_replies(database) == REPLIES
    finally:
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.communicate(), STOP_WITHIN)

    api.stop_failing_chat(STAFF_GROUP)
    process = await start_bot(config)
    try:
        for _ in range(600):
            texts = [str(c.params["text"]) for c in api.calls_of("sendMessage")]
            if all(any(f"Reply number {n}." in t for t in texts) for n in range(REPLIES)):
                break
            await asyncio.sleep(0.1)
        to_staff = [
            str(c.params["text"])
            for c in api.calls_of("sendMessage")
            if c.params.get("chat_id") == STAFF_GROUP
        ]
        for n in range(REPLIES):
            # Every reply arrived; none twice (none had been accepted before the kill).
            assert sum(f"Reply number {n}." in text for text in to_staff) == 1
        assert queued_replies(database) == 0
    finally:
        if process.returncode is None:
            process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), STOP_WITHIN)
    assert process.returncode == 0, stderr.decode()
