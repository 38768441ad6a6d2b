"""`python -m bot announce` as a script runs it: a process with the token in the environment,
delivering through the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.storage.subscriptions import SubscriptionStore
from tests.fake_bot_api import TOKEN, FakeBotApiServer

REPO = Path(__file__).resolve().parents[3]
TEXTS = {"sq": "<b>Thirrje e re</b> për OJF-të.", "en": "<b>New call</b> for NGOs."}


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


def setup(tmp_path: Path, base_url: str, texts: dict[str, str] = TEXTS) -> list[str]:
    """The config, texts and subscribers; returns the command's arguments."""
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["paths"]["faq"] = str(REPO / "faq")
    config["paths"]["question_log"] = str(tmp_path / "data" / "questions.sqlite3")
    config["telegram"]["base_url"] = base_url
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    for lang, text in texts.items():
        (tmp_path / f"{lang}.html").write_text(text, encoding="utf-8")
    with SubscriptionStore(tmp_path / "data" / "questions.sqlite3") as store:
        store.subscribe_many({1: "sq", 2: "en", 3: "en"}, "calls")
        store.subscribe(4, "news", "en")
    return [
        "--config",
        str(tmp_path / "config.yaml"),
        "announce",
        "--topic",
        "calls",
        "--sq-file",
        str(tmp_path / "sq.html"),
        "--en-file",
        str(tmp_path / "en.html"),
    ]


async def run(arguments: list[str], answer: str = "") -> tuple[int, str]:
    environ = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *arguments,
        cwd=REPO,
        env=environ,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(answer.encode()), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_announce_with_yes_delivers_and_reports_the_counts(
    tmp_path: Path, server: FakeBotApiServer
) -> None:
    code, output = await run([*setup(tmp_path, server.base_url), "--yes"])
    assert code == 0, output
    assert "New call for NGOs." in output  # the preview, as plain text
    assert "3 subscriber(s) (en: 2, sq: 1)" in output
    assert "done: 3 of 3 (delivered 3, blocked the bot 0, failed 0)" in output
    assert TOKEN not in output
    delivered = server.api.deliveries()
    assert [delivered[chat] for chat in (1, 2, 3, 4)] == [1, 1, 1, 0]
    assert server.api.sent_texts(1)[0].startswith(TEXTS["sq"])
    with SubscriptionStore(tmp_path / "data" / "questions.sqlite3") as store:
        assert store.unfinished() == []


async def test_without_yes_it_asks_and_sends_nothing_unless_told(
    tmp_path: Path, server: FakeBotApiServer
) -> None:
    code, output = await run(setup(tmp_path, server.base_url), answer="n\n")
    assert code == 1
    assert "Send it to 3 subscriber(s) now? [y/N]" in output
    assert "Nothing sent." in output
    assert server.api.deliveries() == {}


async def test_a_text_telegram_would_refuse_stops_it_before_anything_is_stored(
    tmp_path: Path, server: FakeBotApiServer
) -> None:
    arguments = setup(tmp_path, server.base_url, {"sq": "<b>Thirrje", "en": "A & B"})
    code, output = await run([*arguments, "--yes"])
    assert code == 1
    assert "--sq-file:" in output
    assert "--en-file:" in output
    assert server.api.deliveries() == {}
    with SubscriptionStore(tmp_path / "data" / "questions.sqlite3") as store:
        assert store.unfinished() == []


def test_an_unknown_topic_or_a_missing_token_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arguments = setup(tmp_path, "http://127.0.0.1:9/bot")
    stderr = io.StringIO()
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(arguments, stdout=io.StringIO(), stderr=stderr) == 2
    assert "TELEGRAM_BOT_TOKEN" in stderr.getvalue()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    wrong = [a if a != "calls" else "grants" for a in arguments]
    assert main(wrong, stdout=io.StringIO(), stderr=stderr) == 2
    assert "'grants' is not a topic of config.yaml (known: calls, news)" in stderr.getvalue()


REFUSED_BY_TELEGRAM = {
    "unquoted href": "<a href=https://amshc.gov.al/thirrje>Thirrja</a> e re.",
    "tg-emoji without emoji-id": "<tg-emoji>📣</tg-emoji> Thirrje e re.",
    "xml declaration": '<?xml version="1.0"?><b>Thirrje e re</b>',
}


@pytest.mark.parametrize("text", REFUSED_BY_TELEGRAM.values(), ids=REFUSED_BY_TELEGRAM.keys())
def test_html_telegram_refuses_is_refused_before_anything_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # Nothing may reach Telegram: the address is a closed port on this machine.
    arguments = setup(tmp_path, "http://127.0.0.1:9/bot", {"sq": text, "en": TEXTS["en"]})
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    stderr = io.StringIO()
    assert main([*arguments, "--yes"], stdout=io.StringIO(), stderr=stderr) == 1
    assert "Telegram would refuse the announcement" in stderr.getvalue()
    assert "--sq-file:" in stderr.getvalue()
    with SubscriptionStore(tmp_path / "data" / "questions.sqlite3") as store:
        assert store.unfinished() == []
        # The next job is the first: none was stored and deleted again.
        assert store.create_broadcast("calls", TEXTS, default_language="sq").id == 1
