"""`python -m bot run` that cannot start, as an operator (or systemd) sees it: a real process
for each failure, against servers on 127.0.0.1 only. Each prints one or two plain lines -
what is wrong, what to do - exits non-zero, and never writes the token, in any form, in a
single byte of its output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fake_bot_api import TOKEN, FakeBotApiServer
from tests.test_run_command import REPO, write_config

WRONG_TOKEN = "987654321:AAWrongTokenForTestsOnly_zyxwvutsrqpo"
FINISH_WITHIN = 45.0
# A log line (timestamp first); everything else the bot prints is for the operator.
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} ")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A server on 127.0.0.1 that accepts connections and never answers: a timeout."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.read()
        writer.close()

    listening = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield listening.sockets[0].getsockname()[1]
    finally:
        listening.close()


async def run_bot(
    config: Path, token: str, *extra: str, secret: str | None = None
) -> tuple[int, bytes]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"BOT_ADMIN_IDS", "QUESTION_LOG_KEY", "TELEGRAM_WEBHOOK_SECRET"}
    }
    environ["TELEGRAM_BOT_TOKEN"] = token
    if secret:
        environ["TELEGRAM_WEBHOOK_SECRET"] = secret
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "run",
        *extra,
        cwd=REPO,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), FINISH_WITHIN)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stdout + stderr


def assert_no_token(output: bytes, token: str) -> None:
    secret = token.split(":", 1)[1]
    for form in (token, secret, token.replace(":", "%3A"), token.replace(":", "%3a")):
        assert form.encode() not in output, output.decode(errors="replace")


def operator_lines(output: bytes) -> list[str]:
    text = output.decode()
    return [line for line in text.splitlines() if line.strip() and not LOG_LINE.match(line)]


def webhook_config(config: dict[str, Any], port: int) -> None:
    config["telegram"]["mode"] = "webhook"
    config["telegram"]["webhook"] = {
        "url": "https://bot.example.al/telegram",
        "listen": "127.0.0.1",
        "port": port,
    }


def edited_config(tmp_path: Path, base_url: str, change: Callable[[dict[str, Any]], None]) -> Path:
    path = write_config(tmp_path, base_url)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(config)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


async def test_a_rejected_token_401(tmp_path: Path, server: FakeBotApiServer) -> None:
    code, output = await run_bot(write_config(tmp_path, server.base_url), WRONG_TOKEN)
    assert_no_token(output, WRONG_TOKEN)
    lines = operator_lines(output)
    assert lines == [
        f"Telegram (127.0.0.1:{server.base_url.split(':')[2].split('/')[0]}) rejected the bot "
        "token in TELEGRAM_BOT_TOKEN (Unauthorized).",
        lines[1],
    ]
    assert "@BotFather" in lines[1]
    assert code == 2


async def test_a_token_the_server_does_not_know_404(
    tmp_path: Path, server: FakeBotApiServer
) -> None:
    server.api.fail_next("getMe", status=404, description="Not Found")
    code, output = await run_bot(write_config(tmp_path, server.base_url), TOKEN)
    assert_no_token(output, TOKEN)
    lines = operator_lines(output)
    assert len(lines) == 2
    assert "rejected the bot token in TELEGRAM_BOT_TOKEN (Not Found)" in lines[0]
    assert code == 2


async def test_no_network_connection_refused(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/bot"
    code, output = await run_bot(write_config(tmp_path, base_url), TOKEN)
    assert_no_token(output, TOKEN)
    lines = operator_lines(output)
    assert len(lines) == 2
    assert lines[0].startswith("Cannot reach Telegram at 127.0.0.1:")
    assert "network connection" in lines[1]
    assert code == 1


async def test_telegram_not_answering_a_timeout(tmp_path: Path) -> None:
    async with silent_server() as port:
        config = write_config(tmp_path, f"http://127.0.0.1:{port}/bot")
        code, output = await run_bot(config, TOKEN)
    assert_no_token(output, TOKEN)
    lines = operator_lines(output)
    assert len(lines) == 2
    assert "did not answer in time" in lines[0]
    assert code == 1


async def test_the_webhook_port_in_use(tmp_path: Path, server: FakeBotApiServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = edited_config(tmp_path, server.base_url, lambda c: webhook_config(c, port))
        code, output = await run_bot(config, TOKEN, secret="s3cret-for-tests")
    assert_no_token(output, TOKEN)
    lines = operator_lines(output)
    assert len(lines) == 2
    assert f"127.0.0.1:{port}: the port is in use by another program" in lines[0]
    assert "telegram.webhook.port" in lines[1]
    assert code == 2


async def test_a_webhook_address_telegram_refuses(tmp_path: Path, server: FakeBotApiServer) -> None:
    server.api.fail_next(
        "setWebhook",
        status=400,
        description="Bad Request: bad webhook: Failed to resolve host: Name or service not known",
    )
    port = free_port()
    config = edited_config(tmp_path, server.base_url, lambda c: webhook_config(c, port))
    code, output = await run_bot(config, TOKEN, secret="s3cret-for-tests")
    assert_no_token(output, TOKEN)
    lines = operator_lines(output)
    assert len(lines) == 2
    assert "Telegram refused the webhook address https://bot.example.al/telegram" in lines[0]
    assert "telegram.webhook.url" in lines[1]
    assert code == 2


async def test_a_webhook_address_that_is_not_https(
    tmp_path: Path, server: FakeBotApiServer
) -> None:
    def plain_http(config: dict[str, Any]) -> None:
        webhook_config(config, free_port())
        config["telegram"]["webhook"]["url"] = "http://bot.example.al/telegram"

    code, output = await run_bot(
        edited_config(tmp_path, server.base_url, plain_http), TOKEN, secret="s3cret-for-tests"
    )
    assert_no_token(output, TOKEN)
    [line] = operator_lines(output)
    assert "telegram.webhook.url: 'http://bot.example.al/telegram' is not a public https://" in line
    assert code == 2


async def test_an_unreadable_faq_folder(tmp_path: Path, server: FakeBotApiServer) -> None:
    def nowhere(config: dict[str, Any]) -> None:
        config["paths"]["faq"] = str(tmp_path / "no-faq-here")

    code, output = await run_bot(edited_config(tmp_path, server.base_url, nowhere), TOKEN)
    assert_no_token(output, TOKEN)
    lines = operator_lines(output)
    assert len(lines) == 2
    assert "no such folder" in lines[1]
    assert code == 1


async def test_with_debug_the_traceback_is_shown_without_the_token(
    tmp_path: Path, server: FakeBotApiServer
) -> None:
    code, output = await run_bot(write_config(tmp_path, server.base_url), WRONG_TOKEN, "--debug")
    assert_no_token(output, WRONG_TOKEN)
    text = output.decode()
    assert "Traceback (most recent call last)" in text
    assert "InvalidToken" in text
    assert "<token>" in text  # PTB's message names the token; it is redacted
    assert operator_lines(output)[-2].startswith("Telegram (127.0.0.1:")
    assert code == 2
