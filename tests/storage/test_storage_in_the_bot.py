"""The question log never takes answering down: the real bot (python-telegram-bot against the
fake Bot API) with its real stores, when the database cannot be used at start, is deleted
while running, or (as `python -m bot run`, a process) the disk is full. Users get their
answers, the admins hear once that the log is broken and once that it works again, and what
was asked meanwhile is logged after all."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import resource
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.config import Settings, settings_from_mapping
from bot.core.assembly import build_dialog
from bot.core.telegram_html import html_to_plain
from bot.storage.keys import key_path_for
from bot.storage.question_log import QuestionLog
from bot.storage.stores import Stores, open_stores
from bot.telegram_bot.app import TelegramApplication, build_application, post_init
from tests.conftest import TEST_FAQ
from tests.factories import settings_mapping, write_faq
from tests.fake_bot_api import (
    TOKEN,
    FakeBotApi,
    FakeBotApiRequest,
    FakeBotApiServer,
    UpdateFactory,
    user,
)
from tests.storage.test_database_health import read_only
from tests.test_run_command import REPO, START_WITHIN, STOP_WITHIN, write_config

ADMIN = user(7101, "en", name="Staff")
CITIZEN = user(1101, "en")
WAIT_SECONDS = 10.0
RETRY_SECONDS = 0.05
# The admins' notices (in the default language, Albanian) start with these.
BROKEN, WORKS = "⚠️", "✅"


@pytest.fixture
def staff_settings(tmp_path: Path) -> Settings:
    mapping: dict[str, Any] = settings_mapping(tmp_path / "faq")
    mapping["telegram"] = {"admin_ids": [ADMIN["id"]]}
    loaded = settings_from_mapping(mapping, base_dir=tmp_path)
    write_faq(loaded.faq_dir, TEST_FAQ)
    return loaded


Process = Callable[[dict[str, Any]], Any]


@asynccontextmanager
async def running_bot(
    settings: Settings, fake_api: FakeBotApi
) -> AsyncIterator[tuple[Stores, Process]]:
    """The bot as run_telegram_bot composes it (open_stores), on the in-process fake."""
    dialog, holder = build_dialog(settings)
    with open_stores(settings, environ={}, retry_seconds=RETRY_SECONDS) as stores:
        application: TelegramApplication = build_application(
            settings,
            TOKEN,
            dialog,
            holder,
            prefs=stores.prefs,
            question_log=stores.question_log,
            request=FakeBotApiRequest(fake_api),
        )
        update_ids = itertools.count(1)

        async def process(update: dict[str, Any]) -> None:
            parsed = Update.de_json({"update_id": next(update_ids), **update}, application.bot)
            await application.update_processor.process_update(
                parsed, application.process_update(parsed)
            )

        async with application:
            await post_init(application)
            yield stores, process


async def notices(fake_api: FakeBotApi, count: int) -> list[str]:
    """The admin's messages once there are `count` of them (fails after WAIT_SECONDS)."""
    await sent_to(fake_api, ADMIN["id"], count, WAIT_SECONDS)
    return [html_to_plain(text) for text in fake_api.sent_texts(ADMIN["id"])]


async def sent_to(fake_api: FakeBotApi, chat_id: int, count: int, within: float) -> None:
    """Wait until `count` messages went to `chat_id`; fails after `within` seconds."""
    deadline = time.monotonic() + within
    while len(fake_api.sent_texts(chat_id)) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, fake_api.sent_texts(chat_id)
        with contextlib.suppress(AssertionError):
            await fake_api.wait_for(
                "sendMessage", len(fake_api.calls_of("sendMessage")) + 1, within=remaining
            )


async def ask(process: Process, updates: UpdateFactory, fake_api: FakeBotApi, text: str) -> str:
    await process(updates.message(text, sender=CITIZEN))
    return html_to_plain(fake_api.sent_texts(CITIZEN["id"])[-1])


def logged_texts(log: QuestionLog) -> list[str]:
    connection = sqlite3.connect(log.path)
    try:
        return [row[0] for row in connection.execute("SELECT text FROM questions ORDER BY rowid")]
    finally:
        connection.close()


def break_key(settings: Settings) -> Callable[[], None]:
    key_file = key_path_for(settings.question_log_path)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text("", encoding="ascii")
    return key_file.unlink


def corrupt_database(settings: Settings) -> Callable[[], None]:
    path = settings.question_log_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"garbage, not a database " * 100)
    return path.unlink


@pytest.mark.parametrize(
    ("breaks", "said"),
    [(break_key, "key file is empty"), (corrupt_database, "not a database")],
    ids=["empty key", "corrupt"],
)
async def test_a_broken_question_log_at_start_does_not_stop_the_answers(
    staff_settings: Settings,
    fake_api: FakeBotApi,
    updates: UpdateFactory,
    breaks: Callable[[Settings], Callable[[], None]],
    said: str,
) -> None:
    repair = breaks(staff_settings)
    async with running_bot(staff_settings, fake_api) as (stores, process):
        assert "Call us on" in await ask(process, updates, fake_api, "What is your phone number?")
        assert "Call us on" in await ask(process, updates, fake_api, "phone number please")
        (problem,) = await notices(fake_api, 1)
        assert problem.startswith(BROKEN)
        assert said in problem
        assert stores.question_log.problem is not None
        repair()
        _, recovered = await notices(fake_api, 2)
        assert recovered.startswith(WORKS)
        assert stores.database.flush()
        assert logged_texts(stores.question_log) == [
            "what is your phone number",
            "phone number please",
        ]
    assert len(fake_api.sent_texts(ADMIN["id"])) == 2


async def test_a_read_only_question_log_at_start_does_not_stop_the_answers(
    staff_settings: Settings, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    QuestionLog(staff_settings.question_log_path, key=b"k" * 32).close()
    with read_only(staff_settings.question_log_path):
        async with running_bot(staff_settings, fake_api) as (_, process):
            assert "Call us on" in await ask(process, updates, fake_api, "phone number")
            (problem,) = await notices(fake_api, 1)
            assert problem.startswith(BROKEN)
    assert len(fake_api.sent_texts(ADMIN["id"])) == 1


async def test_a_question_log_deleted_while_running_is_recreated(
    staff_settings: Settings, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    async with running_bot(staff_settings, fake_api) as (stores, process):
        await ask(process, updates, fake_api, "phone number")
        assert stores.database.flush()
        path = stores.database.path
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink()
        assert "Call us on" in await ask(process, updates, fake_api, "phone number again")
        assert stores.database.flush()
        assert logged_texts(stores.question_log) == ["phone number again"]
        problem, recovered = await notices(fake_api, 2)
        assert problem.startswith(BROKEN)
        assert "deleted" in problem
        assert recovered.startswith(WORKS)


# ----- the process -------------------------------------------------------------------------


def full_disk() -> None:
    """In the bot's process: no file may grow (as on a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


async def test_python_m_bot_run_answers_on_a_full_disk_without_a_traceback(
    tmp_path: Path, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        config = write_config(tmp_path, server.base_url)
        environ = {
            key: value
            for key, value in os.environ.items()
            if key not in {"QUESTION_LOG_KEY", "TELEGRAM_WEBHOOK_SECRET"}
        }
        environ.update(TELEGRAM_BOT_TOKEN=TOKEN, BOT_ADMIN_IDS=str(ADMIN["id"]))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(config),
            "run",
            cwd=REPO,
            env=environ,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=full_disk,
        )
        try:
            api = server.api
            api.add_update(updates.message("what is your phone number", sender=CITIZEN))
            await sent_to(api, CITIZEN["id"], 1, START_WITHIN)
            assert "04 22 355 69" in api.sent_texts(CITIZEN["id"])[0]
            await sent_to(api, ADMIN["id"], 1, START_WITHIN)
            assert "File too large" in api.sent_texts(ADMIN["id"])[0]
        finally:
            if process.returncode is None:
                process.terminate()
            stdout, stderr = await asyncio.wait_for(process.communicate(), STOP_WITHIN)
    output = (stdout + stderr).decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert output.count("cannot be written") == 1, output
