"""Paths from the environment, the run command's refusal of unwritable folders, backup and
restore from the command line, and the demo."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import load_settings
from bot.storage.instance_lock import hold_instance_lock
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, settings_mapping, write_faq
from tests.namespace import namespace_unavailable, run_with_read_only

GOOD_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
KEY = "4f1c0d8e9a7b6c5d4e3f2a1b0c9d8e7f"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_CONFIG", "BOT_FAQ_DIR", "BOT_STATE_DIR", "BOT_QUESTION_LOG", "TMPDIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUESTION_LOG_KEY", KEY)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    write_faq(tmp_path / "faq", {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings_mapping(tmp_path / "faq")), encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_every_path_can_come_from_the_environment(config: Path, tmp_path: Path) -> None:
    environ = {
        "BOT_CONFIG": str(config),
        "BOT_FAQ_DIR": str(tmp_path / "content" / "faq"),
        "BOT_STATE_DIR": str(tmp_path / "state"),
    }
    settings = load_settings(environ=environ)
    assert settings.source == config
    assert settings.faq_dir == tmp_path / "content" / "faq"
    assert settings.question_log_path == tmp_path / "state" / "questions.sqlite3"
    # The database file itself wins over the state folder.
    environ["BOT_QUESTION_LOG"] = str(tmp_path / "elsewhere" / "log.sqlite3")
    assert load_settings(environ=environ).question_log_path == (
        tmp_path / "elsewhere" / "log.sqlite3"
    )


def test_without_environment_the_paths_are_those_of_config_yaml(config: Path) -> None:
    settings = load_settings(config, environ={})
    assert settings.faq_dir == config.parent / "faq"
    assert settings.question_log_path == config.parent / "questions.sqlite3"


def test_run_refuses_to_start_in_one_line_when_the_state_folder_cannot_be_written(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("BOT_STATE_DIR", str(blocker / "state"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    code, out, err = run("--config", str(config), "run")
    assert code == 2  # RestartPreventExitStatus=2: systemd does not retry in vain
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"Cannot start: the state folder (database) {blocker / 'state'} is not")
    assert "BOT_STATE_DIR" in err


def test_run_refuses_to_start_while_a_restore_holds_the_state_folder(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    database = tmp_path / "questions.sqlite3"
    with hold_instance_lock(database, "a restore"):
        code, _, err = run("--config", str(config), "run")
    assert code == 1  # worth retrying: systemd's Restart=on-failure starts it again later
    assert "a restore (pid" in err


def make_log(database: Path, questions: int) -> None:
    from bot.storage.question_log import QuestionLog

    with QuestionLog(database, key=KEY.encode()) as log:
        for number in range(questions):
            log.record_question(f"question {number}", user_id=number, lang="en", outcome="answer")
        assert log.flush()


def question_count(database: Path) -> int:
    connection = sqlite3.connect(database)
    try:
        return int(connection.execute("SELECT count(*) FROM questions").fetchone()[0])
    finally:
        connection.close()


def test_backup_keeps_the_newest_and_restore_brings_a_backup_back(
    config: Path, tmp_path: Path
) -> None:
    database = tmp_path / "questions.sqlite3"
    make_log(database, 3)
    backups = tmp_path / "backups"
    # Names carry the second: older backups are made to look older.
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (backups / f"questions-{stamp}.sqlite3").parent.mkdir(exist_ok=True)
        (backups / f"questions-{stamp}.sqlite3").write_bytes(database.read_bytes())
    (backups / "notes.txt").write_text("not a backup")
    code, out, err = run("--config", str(config), "backup", str(backups), "--keep", "2")
    assert code == 0, err
    assert "integrity check ok" in out
    kept = sorted(p.name for p in backups.iterdir())
    assert len(kept) == 3  # two backups and the unrelated file
    assert "notes.txt" in kept
    assert "questions-20260103T000000Z.sqlite3" in kept
    newest = backups / max(name for name in kept if name.startswith("questions-"))
    assert (newest.stat().st_mode & 0o077) == 0  # private, like the database

    make_log(database, 2)  # questions asked after the backup
    assert question_count(database) == 5
    code, out, err = run("--config", str(config), "restore", str(newest))
    assert code == 0, err
    assert question_count(database) == 3
    assert "kept as" in out
    replaced = next(tmp_path.glob("questions.sqlite3.before-restore-*"))
    assert question_count(replaced) == 5  # nothing lost by a wrong restore


def test_restore_refuses_while_the_bot_runs_and_changes_nothing(
    config: Path, tmp_path: Path
) -> None:
    database = tmp_path / "questions.sqlite3"
    make_log(database, 3)
    backups = tmp_path / "backups"
    assert run("--config", str(config), "backup", str(backups))[0] == 0
    make_log(database, 1)
    before = database.read_bytes()
    with hold_instance_lock(database, "the bot"):
        code, _, err = run("--config", str(config), "restore", str(next(backups.iterdir())))
    assert code == 1
    assert "the database is in use by the bot (pid" in err
    assert "stop the bot first" in err
    assert database.read_bytes() == before
    assert question_count(database) == 4


def test_restore_refuses_a_file_that_is_not_a_database(config: Path, tmp_path: Path) -> None:
    database = tmp_path / "questions.sqlite3"
    make_log(database, 1)
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database at all" * 100)
    code, _, err = run("--config", str(config), "restore", str(broken))
    assert code == 1
    assert "not a usable SQLite database" in err
    assert question_count(database) == 1


def test_backup_without_a_database_says_so(config: Path, tmp_path: Path) -> None:
    code, _, err = run("--config", str(config), "backup", str(tmp_path / "backups"))
    assert code == 1
    assert "no database at" in err
    assert not (tmp_path / "questions.sqlite3").exists()


def test_demo_then_report_html_and_learn_work_without_any_user(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = tmp_path / "demo"
    code, out, _ = run("--config", str(config), "demo", str(demo))
    assert code == 0
    assert "BOT_QUESTION_LOG=" in out
    monkeypatch.setenv("BOT_QUESTION_LOG", str(demo / "questions.sqlite3"))
    # The project's own FAQ, which the demo's questions are about.
    code, out, err = run("report", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["questions"] > 300  # 30 days of questions, all in the default 30d
    code, page, err = run("report", "--format", "html")
    assert code == 0, err
    assert page.lstrip().lower().startswith("<!doctype html>")
    code, out, err = run("learn")
    assert code == 0, err
    assert "office-hours" in out
    assert "deri ne cfare ore punon agjencia" in out


def test_restore_refuses_a_database_that_is_not_the_bots(config: Path, tmp_path: Path) -> None:
    database = tmp_path / "questions.sqlite3"
    make_log(database, 1)
    other = tmp_path / "other.sqlite3"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE invoices (id INTEGER)")
    connection.commit()
    connection.close()
    code, _, err = run("--config", str(config), "restore", str(other))
    assert code == 1
    assert "not a backup of the bot's database" in err
    assert question_count(database) == 1


def test_run_refuses_a_read_only_state_folder_in_one_line(config: Path, tmp_path: Path) -> None:
    reason = namespace_unavailable()
    if reason is not None:
        pytest.skip(f"the read-only folder is made with a mount namespace: {reason}")
    state = tmp_path / "state"
    state.mkdir()
    environ = {
        **os.environ,
        "BOT_CONFIG": str(config),
        "BOT_STATE_DIR": str(state),
        "TELEGRAM_BOT_TOKEN": GOOD_TOKEN,
    }
    result = run_with_read_only([state], [sys.executable, "-m", "bot", "run"], env=environ)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert f"the state folder (database) {state} is not writable (Read-only file system)" in (
        result.stderr
    )
