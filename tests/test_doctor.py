"""python -m bot doctor: a healthy deployment is all green; each broken setup gives one red
line that says how to fix it, and exit code 1."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, settings_mapping, write_faq
from tests.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApiServer, UpdateFactory, user
from tests.namespace import namespace_unavailable, run_with_read_only

GOOD_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
GOOD_KEY = "4f1c0d8e9a7b6c5d4e3f2a1b0c9d8e7f"
PATH_ENVS = ("BOT_CONFIG", "BOT_FAQ_DIR", "BOT_STATE_DIR", "BOT_QUESTION_LOG", "TMPDIR")


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Code, content and state apart, as the README lays them out; the environment the
    service would have."""
    content = tmp_path / "content"
    write_faq(content / "faq", {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    config = content / "config.yaml"
    config.write_text(yaml.safe_dump(settings_mapping(content / "faq")), encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    environ = {
        "BOT_CONFIG": str(config),
        "BOT_STATE_DIR": str(tmp_path / "state"),
        "TMPDIR": str(tmp_path / "tmp"),
        "QUESTION_LOG_KEY": GOOD_KEY,
        "TELEGRAM_BOT_TOKEN": GOOD_TOKEN,
    }
    for name in (*PATH_ENVS, "QUESTION_LOG_KEY", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return environ


def doctor() -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(["doctor"], stdout=out, stderr=io.StringIO())
    return code, out.getvalue().splitlines()


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_a_deployment_laid_out_as_the_readme_says_is_all_green(
    deployment: dict[str, str],
) -> None:
    code, lines = doctor()
    assert code == 0, lines
    assert failures(lines) == []
    names = [line.split()[1].rstrip(":") for line in lines if line.startswith("ok")]
    assert names == [
        "config", "faq", "state", "FAQ", "temporary", "key", "database", "token",
    ]  # fmt: skip
    assert lines[-1] == "8 ok, 0 failed"
    assert f"{deployment['BOT_STATE_DIR']} is writable" in "\n".join(lines)


def test_a_missing_key_is_one_red_line_with_the_fix(
    deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUESTION_LOG_KEY")
    code, lines = doctor()
    assert code == 1
    [failure] = failures(lines)
    assert failure.startswith("FAIL  key: no QUESTION_LOG_KEY in the environment")
    assert "fix: put QUESTION_LOG_KEY=$(openssl rand -hex 32) in the service's EnvironmentFile" in (
        failure
    )


def test_a_key_file_beside_the_database_is_red(
    deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUESTION_LOG_KEY")
    state = Path(deployment["BOT_STATE_DIR"])
    state.mkdir()
    (state / "questions.sqlite3.key").write_text("0" * 64 + "\n")
    code, lines = doctor()
    assert code == 1
    [failure] = failures(lines)
    assert "beside the database" in failure
    assert "then delete the file" in failure


def test_a_malformed_token_is_red_and_never_printed(
    deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789-AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    code, lines = doctor()
    assert code == 1
    [failure] = failures(lines)
    assert failure.startswith("FAIL  token: TELEGRAM_BOT_TOKEN is not shaped like a bot token")
    assert "@BotFather" in failure
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in "\n".join(lines)


def test_a_broken_config_is_one_red_line_naming_the_key(
    deployment: dict[str, str],
) -> None:
    config = Path(deployment["BOT_CONFIG"])
    config.write_text(config.read_text() + "colour: blue\n")
    code, lines = doctor()
    assert code == 1
    [failure] = failures(lines)
    assert "colour" in failure


def doctor_in_namespace(read_only: list[Path], environ: dict[str, str]) -> tuple[int, list[str]]:
    reason = namespace_unavailable()
    if reason is not None:
        pytest.skip(f"the read-only folder is made with a mount namespace: {reason}")
    result = run_with_read_only(
        read_only, [sys.executable, "-m", "bot", "doctor"], env={**os.environ, **environ}
    )
    assert result.returncode != 97, result.stderr  # the mount itself failed
    return result.returncode, result.stdout.splitlines()


def test_an_unwritable_state_folder_is_one_red_line_with_the_fix(
    deployment: dict[str, str],
) -> None:
    state = Path(deployment["BOT_STATE_DIR"])
    state.mkdir()
    code, lines = doctor_in_namespace([state], deployment)
    assert code == 1, lines
    [failure] = failures(lines)
    assert failure.startswith(f"FAIL  state folder: {state} is not writable")
    assert "(Read-only file system)" in failure
    assert "ReadWritePaths=" in failure
    assert "BOT_STATE_DIR" in failure


def test_a_read_only_temporary_folder_is_one_red_line_with_the_fix(
    deployment: dict[str, str],
) -> None:
    temporary = Path(deployment["TMPDIR"])
    code, lines = doctor_in_namespace([temporary], deployment)
    assert code == 1, lines
    [failure] = failures(lines)
    assert failure.startswith(f"FAIL  temporary folder: {temporary} is not writable")
    assert "PrivateTmp=yes" in failure


async def doctor_online(environ: dict[str, str]) -> tuple[int, list[str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", "--online",
        env={**os.environ, **environ},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode().splitlines()


def pointed_at(deployment: dict[str, str], base_url: str) -> None:
    config = Path(deployment["BOT_CONFIG"])
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["telegram"] = {"base_url": base_url}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")


async def test_online_asks_telegram_who_the_token_belongs_to_and_about_the_webhook(
    deployment: dict[str, str],
) -> None:
    async with FakeBotApiServer() as server:
        pointed_at(deployment, server.base_url)
        server.api.add_update(UpdateFactory().message("hello", sender=user(5, "en")))
        code, lines = await doctor_online({**deployment, "TELEGRAM_BOT_TOKEN": TOKEN})
        assert code == 0, lines
        assert f"ok    telegram: the token belongs to @{BOT_USERNAME}" in lines
        assert "ok    webhook: none set (polling); 1 update(s) waiting" in lines
        assert server.api.calls_of("getMe")
        assert server.api.calls_of("getWebhookInfo")


async def test_online_says_telegram_rejects_a_wrong_token_without_printing_it(
    deployment: dict[str, str],
) -> None:
    wrong = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    async with FakeBotApiServer() as server:
        pointed_at(deployment, server.base_url)
        code, lines = await doctor_online({**deployment, "TELEGRAM_BOT_TOKEN": wrong})
    assert code == 1
    [failure] = failures(lines)
    assert failure.startswith("FAIL  telegram: Telegram rejects the token in TELEGRAM_BOT_TOKEN")
    assert "@BotFather" in failure
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in "\n".join(lines)
