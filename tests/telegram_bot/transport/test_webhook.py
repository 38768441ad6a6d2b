"""The webhook server on 127.0.0.1: the secret and the size are checked before the body is
read, a real update is answered, and a body that is not one is refused without logging it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
import tornado.netutil

from bot.telegram_bot.app import TelegramApplication
from bot.telegram_bot.transport.webhook import MAX_UPDATE_BYTES, SECRET_HEADER, make_server
from tests.fake_bot_api import FakeBotApi, UpdateFactory, user

SECRET = "s3cret-for-tests"
PATH = "/hooks/telegram"
SAFETY = 10.0  # bounds every wait; never reached when the code works
HUGE = 90 * 1024 * 1024


@pytest.fixture
async def port(app: TelegramApplication) -> AsyncIterator[int]:
    """The bot's webhook server, listening on a free port of 127.0.0.1."""
    server = make_server(app, PATH, SECRET)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    await app.start()
    try:
        yield int(sockets[0].getsockname()[1])
    finally:
        server.stop()
        await app.stop()
        await server.close_all_connections()


async def send_headers(port: int, secret: str, length: int) -> bytes:
    """Send a POST's headers only (no body) and read the status line of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            (
                f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"{SECRET_HEADER}: {secret}\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), SAFETY)
    finally:
        writer.close()


async def post(port: int, body: bytes, secret: str = SECRET) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            (
                f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"{SECRET_HEADER}: {secret}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), SAFETY)
    finally:
        writer.close()


async def test_a_request_without_the_secret_is_refused_before_its_body_is_read(
    port: int,
) -> None:
    # Before, the server waited for all 90 MB before it looked at the secret.
    assert b" 403 " in await send_headers(port, "wrong", HUGE)
    assert b" 403 " in await send_headers(port, "", HUGE)


async def test_a_body_larger_than_an_update_is_refused_before_it_is_read(port: int) -> None:
    status = await send_headers(port, SECRET, MAX_UPDATE_BYTES + 1)
    assert b" 413 " in status or status == b""  # refused, or the connection closed


async def test_an_update_with_the_secret_is_answered(
    port: int, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    update = {"update_id": 1, **updates.message("phone number", sender=user(42, "en"))}
    assert b" 200 " in await post(port, json.dumps(update).encode())
    (answer,) = await fake_api.wait_for("sendMessage", 1, within=SAFETY)
    assert int(answer.params["chat_id"]) == 42


async def test_a_body_that_is_not_an_update_is_refused_and_not_logged(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"update_id": "x", "message": "my phone is 069 123 4567"'
    assert b" 400 " in await post(port, body)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "bytes" in logged or "byte" in logged
    assert "069 123 4567" not in logged
