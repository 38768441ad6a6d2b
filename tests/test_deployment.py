"""Done when: the bot runs under the service unit's file-system rules (everything read-only
but its state folder, the content folder and the backups; a /tmp of its own), as systemd
would run it, against the fake Bot API on 127.0.0.1. It starts and tells systemd it is
ready, answers a question, and the operator's commands under the same rules accept a learned
variant, make the HTML report and a backup, and find the setup healthy (doctor)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fake_bot_api import TOKEN, FakeBotApiServer, UpdateFactory, user
from tests.namespace import namespace_unavailable, under_unit_rules
from tests.telegram_bot.transport.test_liveness import SystemdSocket

REPO = Path(__file__).resolve().parent.parent
START_WITHIN = 60.0
STOP_WITHIN = 30.0
KEY = "4f1c0d8e9a7b6c5d4e3f2a1b0c9d8e7f"


@pytest.fixture
def server_folders() -> Iterator[dict[str, Path]]:
    """content/ (config.yaml and faq/), state/ and backups/, as on a server. Outside /tmp:
    the service gets a /tmp of its own, which would hide them."""
    reason = namespace_unavailable()
    if reason is not None:
        pytest.skip(f"the unit's file-system rules need a mount namespace: {reason}")
    root = Path(tempfile.mkdtemp(prefix="ascs-deploy-test-", dir="/var/tmp"))
    try:
        folders = {name: root / name for name in ("content", "state", "backups")}
        for folder in folders.values():
            folder.mkdir(mode=0o700)
        yield folders
    finally:
        shutil.rmtree(root)


def write_content(content: Path, base_url: str) -> Path:
    shutil.copytree(REPO / "faq", content / "faq")
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["paths"]["faq"] = "faq"
    config["telegram"]["base_url"] = base_url
    config["telegram"]["mode"] = "polling"
    path = content / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def environment(folders: dict[str, Path], config: Path) -> dict[str, str]:
    """The unit's Environment= and EnvironmentFile=, nothing from the test's own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_CONFIG": str(config),
        "BOT_STATE_DIR": str(folders["state"]),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "QUESTION_LOG_KEY": KEY,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def command(folders: dict[str, Path], environ: dict[str, str], *args: str) -> str:
    """`python -m bot ARGS` under the unit's rules; its output (it must succeed)."""
    writable = [folders["state"], folders["content"], folders["backups"]]
    result = subprocess.run(
        under_unit_rules(writable, [sys.executable, "-m", "bot", *args]),
        env=environ,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 98, "the root file system was not read-only"
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


async def test_the_bot_runs_under_the_units_file_system_rules(
    server_folders: dict[str, Path],
) -> None:
    folders = server_folders
    updates = UpdateFactory()
    async with FakeBotApiServer() as server:
        config = write_content(folders["content"], server.base_url)
        environ = environment(folders, config)
        # Users' choices that make a suggestion to accept (three people, one wording).
        command(folders, environ, "demo", str(folders["state"]))
        systemd = SystemdSocket(folders["state"] / "notify")
        writable = [folders["state"], folders["content"], folders["backups"]]
        bot = await asyncio.create_subprocess_exec(
            *under_unit_rules(writable, [sys.executable, "-m", "bot", "run"]),
            env={**environ, "NOTIFY_SOCKET": str(systemd.path)},
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            for _ in range(int(START_WITHIN / 0.05)):
                if systemd.times_of("READY=1") or bot.returncode is not None:
                    break
                await asyncio.sleep(0.05)
            assert systemd.times_of("READY=1"), "the bot never told systemd it was ready"
            server.api.add_update(
                updates.message("what is your phone number", sender=user(3001, "en"))
            )
            (answer,) = await server.api.wait_for("sendMessage", 1, within=START_WITHIN)
            assert "04 22 355 69" in answer.params["text"]

            listed = await asyncio.to_thread(command, folders, environ, "learn")
            suggestion = next(
                line.split()[0] for line in listed.splitlines() if "office-hours" in line
            )
            accepted = await asyncio.to_thread(
                command, folders, environ, "learn", "--accept", suggestion
            )
            assert "deri ne cfare ore punon agjencia" in accepted
            faq_text = (folders["content"] / "faq" / "contact.yaml").read_text(encoding="utf-8")
            assert "deri ne cfare ore punon agjencia" in faq_text

            page = await asyncio.to_thread(command, folders, environ, "report", "--format", "html")
            assert page.lstrip().lower().startswith("<!doctype html>")
            made = await asyncio.to_thread(
                command, folders, environ, "backup", str(folders["backups"])
            )
            assert "integrity check ok" in made
            health = await asyncio.to_thread(command, folders, environ, "doctor")
            assert "0 failed" in health
        finally:
            if bot.returncode is None:
                bot.terminate()
            stdout, stderr = await asyncio.wait_for(bot.communicate(), STOP_WITHIN)
            systemd.close()
    log = (stdout + stderr).decode()
    assert bot.returncode == 0, log
    assert "Read-only file system" not in log
    backup = next(folders["backups"].iterdir())
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as connection:
        (questions,) = connection.execute("SELECT COUNT(*) FROM questions").fetchone()
    assert questions > 300  # the demo's questions and the one asked in Telegram
