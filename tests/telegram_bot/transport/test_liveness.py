"""Seen from outside: GET /healthz answers 200 while the bot works and 503 when its storage
fails or a handler is stuck; the systemd watchdog is pinged only while the update loop is
alive; READY=1 reaches systemd once the first getUpdates has been answered."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import tornado.netutil
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, MessageHandler, filters

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.service_notify import ServiceNotifier
from bot.storage.question_log import QuestionLog
from bot.telegram_bot.app import (
    TelegramApplication,
    build_application,
    knowledge_version,
    liveness_of,
    post_init,
    post_stop,
)
from bot.telegram_bot.transport.liveness import Liveness
from bot.telegram_bot.transport.webhook import make_server
from tests.conftest import FakeClock
from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiRequest, UpdateFactory, user

SECRET = "s3cret-for-tests"
SAFETY = 10.0  # bounds every wait; never reached when the code works
KEY = b"k" * 32


class SystemdSocket:
    """A stand-in for systemd's notify socket: every datagram with the time it came."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.received: list[tuple[float, str]] = []
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._socket.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(4096)
            except TimeoutError:
                continue
            self.received.append((time.monotonic(), data.decode()))

    def times_of(self, message: str) -> list[float]:
        return [when for when, text in self.received if text.startswith(message)]

    def heard(self, message: str) -> bool:
        """Whether `message` came (waiting a moment for the listening thread)."""
        deadline = time.monotonic() + SAFETY
        while not self.times_of(message) and time.monotonic() < deadline:
            time.sleep(0.01)
        return bool(self.times_of(message))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(SAFETY)
        self._socket.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[SystemdSocket]:
    listening = SystemdSocket(tmp_path / "notify")
    yield listening
    listening.close()


def notifier_for(systemd: SystemdSocket, watchdog_seconds: float) -> ServiceNotifier:
    return ServiceNotifier(
        {
            "NOTIFY_SOCKET": str(systemd.path),
            "WATCHDOG_USEC": str(int(watchdog_seconds * 1_000_000)),
            "WATCHDOG_PID": str(os.getpid()),
        }
    )


def build(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    fake_api: FakeBotApi,
    question_log: Any = None,
    liveness: Liveness | None = None,
) -> TelegramApplication:
    dialog, holder = knowledge
    return build_application(
        settings,
        TOKEN,
        dialog,
        holder,
        question_log=question_log,
        request=FakeBotApiRequest(fake_api),
        liveness=liveness,
    )


async def process(app: TelegramApplication, update: dict[str, Any]) -> None:
    parsed = Update.de_json(update, app.bot)
    await app.update_processor.process_update(parsed, app.process_update(parsed))


async def get_health(port: int) -> tuple[int, dict[str, Any]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), SAFETY)
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@contextlib.asynccontextmanager
async def webhook_server(app: TelegramApplication) -> AsyncIterator[int]:
    server = make_server(app, "/hooks/telegram", SECRET, liveness_of(app))
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    await app.start()
    try:
        yield int(sockets[0].getsockname()[1])
    finally:
        server.stop()
        await app.stop()
        await server.close_all_connections()


@contextlib.contextmanager
def immutable(*files: Path) -> Iterator[None]:
    """The files cannot be written, even by root (as on a file system remounted read-only).
    The -shm file stays writable: SQLite maps it into memory."""
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("making a file read-only for root needs chattr and root")
    subprocess.run(["chattr", "+i", *map(str, files)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=True)


async def test_healthz_is_200_then_503_when_the_database_becomes_read_only(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    fake_api: FakeBotApi,
    updates: UpdateFactory,
    tmp_path: Path,
) -> None:
    database = tmp_path / "state" / "questions.sqlite3"
    with QuestionLog(database, key=KEY) as log:
        app = build(settings, knowledge, fake_api, question_log=log)
        async with app:
            await post_init(app)
            async with webhook_server(app) as port:
                await process(app, {"update_id": 1, **updates.message("phone number")})
                assert log.flush()
                status, body = await get_health(port)
                assert status == 200, body
                assert body["status"] == "ok"
                assert body["storage"] == "ok"
                assert body["updates_handled"] == 1
                assert 0 <= body["last_update_handled_seconds_ago"] < SAFETY
                assert body["knowledge_base"] == knowledge_version(knowledge[1])
                assert body["knowledge_base"].startswith(f"{len(knowledge[1].current.knowledge)} ")

                wal = database.with_name(database.name + "-wal")
                with immutable(database, wal):
                    await process(app, {"update_id": 2, **updates.message("office address")})
                    assert not log.flush()
                    status, body = await get_health(port)
                    assert status == 503, body
                    assert body["storage"].startswith("failing: ")
                    assert "storage is failing" in body["status"]
                    assert len(fake_api.calls_of("sendMessage")) == 2  # still answering
                assert log.flush()  # writable again: healthy again
                status, body = await get_health(port)
                assert status == 200, body
            await post_stop(app)


async def test_healthz_is_503_while_a_stuck_handler_holds_updates_and_none_is_handled(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    fake_api: FakeBotApi,
    updates: UpdateFactory,
) -> None:
    clock = FakeClock()
    liveness = Liveness(stalled_after=60, clock=clock)
    app = build(settings, knowledge, fake_api, liveness=liveness)
    entered, release = asyncio.Event(), asyncio.Event()

    async def stuck(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Waits for ever (a call that never returns), without blocking the loop."""
        entered.set()
        await asyncio.wait_for(release.wait(), SAFETY)
        raise ApplicationHandlerStop

    app.add_handler(MessageHandler(filters.Regex("^stuck"), stuck), group=-1000)
    async with app, webhook_server(app) as port:
        held = asyncio.create_task(process(app, {"update_id": 1, **updates.message("stuck")}))
        await asyncio.wait_for(entered.wait(), SAFETY)
        clock.advance(59)
        assert (await get_health(port))[0] == 200  # slow, not yet stuck
        clock.advance(2)
        status, body = await get_health(port)
        assert status == 503, body
        assert body["status"] == "1 update(s) waiting and none handled for 61 s"
        release.set()
        await asyncio.wait_for(held, SAFETY)
        assert (await get_health(port))[0] == 200


async def test_the_watchdog_stops_pinging_while_a_handler_blocks_the_loop(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    fake_api: FakeBotApi,
    updates: UpdateFactory,
    systemd: SystemdSocket,
) -> None:
    # WatchdogSec=0.3: a ping every 0.1 s while all is well.
    liveness = Liveness(stalled_after=60, notifier=notifier_for(systemd, 0.3))
    app = build(settings, knowledge, fake_api, liveness=liveness)
    block_seconds = 1.0

    async def blocking(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A handler that blocks the event loop (synchronous work, a blocking call)."""
        time.sleep(block_seconds)  # noqa: ASYNC251 - the blocking call under test
        raise ApplicationHandlerStop

    app.add_handler(MessageHandler(filters.Regex("^block"), blocking), group=-1000)
    async with app:
        await post_init(app)  # starts feeding the watchdog
        await asyncio.sleep(0.5)
        blocked_from = time.monotonic()
        await process(app, {"update_id": 1, **updates.message("block the loop")})
        blocked_until = time.monotonic()
        await asyncio.sleep(0.5)
        await post_stop(app)
    pings = systemd.times_of("WATCHDOG=1")
    during = [when for when in pings if blocked_from + 0.05 < when < blocked_until - 0.05]
    assert during == []
    before = [when for when in pings if when < blocked_from]
    after = [when for when in pings if when > blocked_until]
    assert len(before) >= 3  # pinged while the loop was free
    assert len(after) >= 3  # and again once it was free again
    gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
    assert max(gaps) >= block_seconds - 0.1  # the one silence: the blocked loop
    assert sorted(gaps)[-2] < 0.5  # otherwise about every 0.1 s
    assert systemd.heard("STOPPING=1")


async def test_the_watchdog_stops_pinging_while_updates_wait_and_none_is_handled(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    fake_api: FakeBotApi,
    updates: UpdateFactory,
    systemd: SystemdSocket,
) -> None:
    liveness = Liveness(stalled_after=0.5, notifier=notifier_for(systemd, 0.3))
    app = build(settings, knowledge, fake_api, liveness=liveness)
    release = asyncio.Event()

    async def stuck(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Waits for something that does not come (the loop itself stays free)."""
        await asyncio.wait_for(release.wait(), SAFETY)
        raise ApplicationHandlerStop

    app.add_handler(MessageHandler(filters.Regex("^stuck"), stuck), group=-1000)
    async with app:
        await post_init(app)
        held = asyncio.create_task(process(app, {"update_id": 1, **updates.message("stuck")}))
        started = time.monotonic()
        await asyncio.sleep(1.5)
        released = time.monotonic()
        release.set()
        await asyncio.wait_for(held, SAFETY)
        await asyncio.sleep(0.5)
        await post_stop(app)
    pings = systemd.times_of("WATCHDOG=1")
    # Pinged during the first 0.5 s (slow, not stuck), silent from then until the release.
    assert [t for t in pings if started + 0.7 < t < released - 0.05] == []
    assert [t for t in pings if t < started + 0.4]
    assert [t for t in pings if t > released + 0.05]


async def test_ready_reaches_systemd_after_the_first_getupdates(
    tmp_path: Path, systemd: SystemdSocket
) -> None:
    from tests.fake_bot_api import FakeBotApiServer
    from tests.test_run_command import STOP_WITHIN, start_bot, write_config

    async with FakeBotApiServer() as server:
        config = write_config(tmp_path, server.base_url)
        process_ = await start_bot(config, {"NOTIFY_SOCKET": str(systemd.path)})
        try:
            for _ in range(int(60 / 0.05)):
                if systemd.times_of("READY=1") or process_.returncode is not None:
                    break
                await asyncio.sleep(0.05)
            assert systemd.times_of("READY=1")
            assert server.api.polls >= 1  # READY comes from a getUpdates that was answered
            server.api.add_update(
                UpdateFactory().message("what is your phone number", sender=user(3001, "en"))
            )
            await server.api.wait_for("sendMessage", 1, within=60)
        finally:
            if process_.returncode is None:
                process_.terminate()
            await asyncio.wait_for(process_.communicate(), STOP_WITHIN)
    assert process_.returncode == 0
    assert systemd.heard("STOPPING=1")
    ready = next(text for _, text in systemd.received if text.startswith("READY=1"))
    assert ready == "READY=1\nSTATUS=polling: getUpdates answered"


async def test_in_webhook_mode_ready_follows_set_webhook_and_healthz_answers(
    tmp_path: Path, systemd: SystemdSocket
) -> None:
    from tests.fake_bot_api import FakeBotApiServer
    from tests.test_run_command import STOP_WITHIN, free_port, start_bot, write_config

    port = free_port()
    async with FakeBotApiServer() as server:
        config = write_config(tmp_path, server.base_url, webhook_port=port)
        process_ = await start_bot(
            config,
            {"NOTIFY_SOCKET": str(systemd.path), "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-x"},
        )
        try:
            for _ in range(int(60 / 0.05)):
                if systemd.times_of("READY=1") or process_.returncode is not None:
                    break
                await asyncio.sleep(0.05)
            assert server.api.calls_of("setWebhook")
            ready = next(text for _, text in systemd.received if text.startswith("READY=1"))
            assert ready == f"READY=1\nSTATUS=webhook set, listening on 127.0.0.1:{port}"
            status, body = await get_health(port)
            assert status == 200, body
            assert body["ready"] is True
            assert body["storage"] == "ok"
            assert body["last_update_handled_seconds_ago"] is None  # none yet
        finally:
            if process_.returncode is None:
                process_.terminate()
            await asyncio.wait_for(process_.communicate(), STOP_WITHIN)
    assert process_.returncode == 0
