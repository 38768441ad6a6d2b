"""A database that cannot be used never stops the bot: the problem is said once (log line,
health listeners), writes wait in memory, and everything is written once the problem is
gone. Each way the file can fail, at start and while running."""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.storage.database import Database
from bot.storage.keys import key_path_for, load_or_create_key
from bot.storage.question_log import QuestionLog
from tests.factories import CONTACT_FAQ, settings_mapping, write_faq
from tests.test_cli import run

KEY = b"a test key that is long enough"


class Heard:
    """A health listener that keeps what it hears."""

    def __init__(self) -> None:
        self.events: list[str | None] = []

    def __call__(self, problem: str | None) -> None:
        self.events.append(problem)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "questions.sqlite3"


def count_questions(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM questions").fetchone()[0])
    finally:
        connection.close()


def texts(log: QuestionLog) -> list[str]:
    return [q.text for q in log.questions(since=datetime.now(UTC) - timedelta(days=1))]


def ask(log: QuestionLog, text: str) -> None:
    log.record_question(text, user_id=1, lang="en", outcome="answer")


@contextlib.contextmanager
def read_only(file: Path) -> Iterator[None]:
    """The file as a user without write permission sees it. Root ignores permissions, so
    as root the file is made immutable as well."""
    file.chmod(0o444)
    immutable = os.geteuid() == 0
    if immutable:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: no way to make a file read-only")
        subprocess.run(["chattr", "+i", str(file)], check=True)
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(file)], check=True)
        file.chmod(0o600)


@contextlib.contextmanager
def no_room_to_write(limit: int = 0) -> Iterator[None]:
    """Files cannot grow past `limit` bytes, as on a full disk (RLIMIT_FSIZE: writes fail
    with EFBIG instead of ENOSPC; the bot handles both the same way)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_read_only_database_at_start_is_reported_once_and_written_when_writable(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    QuestionLog(path, key=KEY).close()
    heard = Heard()
    with read_only(path), caplog.at_level(logging.WARNING):
        log = QuestionLog(path, key=KEY)
        log.add_health_listener(heard)
        assert log.problem is not None
        ask(log, "asked while read-only")
        assert not log.flush()
        assert not log.flush()  # tried again, still failing: not said again
        assert len(heard.events) == 1
        assert heard.events[0] is not None
    try:
        assert log.flush()  # writable again
        assert texts(log) == ["asked while read only"]
    finally:
        log.close()
    assert heard.events[-1] is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is None  # one clear line, no traceback


def test_closing_a_log_that_still_cannot_write_says_what_is_lost(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    QuestionLog(path, key=KEY).close()
    with read_only(path), caplog.at_level(logging.WARNING):
        with QuestionLog(path, key=KEY) as log:
            ask(log, "never written")
        assert "1 writes could not be saved" in caplog.text


def test_a_corrupt_database_is_reported_and_a_replaced_one_is_used(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just garbage " * 200)
    heard = Heard()
    with caplog.at_level(logging.ERROR), QuestionLog(path, key=KEY) as log:
        log.add_health_listener(heard)
        assert log.problem is not None
        assert "not a database" in log.problem
        ask(log, "asked while corrupt")
        assert not log.flush()
        path.rename(path.with_name("questions.sqlite3.corrupt"))  # what staff would do
        assert log.flush()
        assert texts(log) == ["asked while corrupt"]
    assert heard.events == [heard.events[0], None]
    assert sum("cannot be written" in r.getMessage() for r in caplog.records) == 1


def test_a_database_deleted_before_start_with_its_wal_left_behind_starts_afresh(
    path: Path,
) -> None:
    with QuestionLog(path, key=KEY) as log:
        ask(log, "before")
        assert log.flush()
        saved = {suffix: path.with_name(path.name + suffix).read_bytes() for suffix in ("-wal",)}
    path.unlink()
    for suffix, content in saved.items():
        path.with_name(path.name + suffix).write_bytes(content)
    with QuestionLog(path, key=KEY) as log:
        assert log.problem is None
        ask(log, "after")
        assert log.flush()
        assert texts(log) == ["after"]


def test_a_database_deleted_while_running_is_recreated_and_nothing_new_is_lost(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    heard = Heard()
    with caplog.at_level(logging.WARNING), QuestionLog(path, key=KEY) as log:
        log.add_health_listener(heard)
        ask(log, "before the deletion")
        assert log.flush()
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        ask(log, "after the deletion")
        assert log.flush()
        assert texts(log) == ["after the deletion"]
    assert count_questions(path) == 1
    assert heard.events[-1] is None
    assert "deleted or replaced" in (heard.events[0] or "")
    assert "deleted or replaced" in caplog.text


def test_an_empty_key_file_is_reported_and_a_new_key_is_made_once_it_is_removed(
    path: Path,
) -> None:
    key_file = key_path_for(path)
    key_file.parent.mkdir(parents=True)
    key_file.write_text("", encoding="ascii")
    key_file.chmod(0o600)
    heard = Heard()
    database = Database(path, key_source=lambda: load_or_create_key(key_file, environ={}))
    with database, QuestionLog(database, owns_database=False) as log:
        log.add_health_listener(heard)
        assert log.problem is not None
        assert "key file is empty" in log.problem
        ask(log, "asked without a key")
        assert not log.flush()
        key_file.unlink()
        assert log.flush()
        assert texts(log) == ["asked without a key"]
    assert key_file.read_text(encoding="ascii").strip()
    assert heard.events == [heard.events[0], None]


def test_a_full_disk_at_start_is_reported_and_writes_land_once_there_is_room(
    path: Path,
) -> None:
    key_file = key_path_for(path)
    heard = Heard()
    with no_room_to_write():
        database = Database(path, key_source=lambda: load_or_create_key(key_file, environ={}))
        log = QuestionLog(database, owns_database=False)
        log.add_health_listener(heard)
        assert log.problem is not None
        ask(log, "asked on a full disk")
        assert not log.flush()
        assert not key_file.exists() or key_file.read_text(encoding="ascii").strip()
    try:
        assert log.flush()
        assert texts(log) == ["asked on a full disk"]
    finally:
        database.close()
    assert heard.events == [heard.events[0], None]


def test_a_disk_that_fills_up_while_running_keeps_the_writes_until_there_is_room(
    path: Path,
) -> None:
    heard = Heard()
    with QuestionLog(path, key=KEY) as log:
        log.add_health_listener(heard)
        ask(log, "first")
        assert log.flush()
        sizes = [
            file.stat().st_size for file in path.parent.iterdir() if file.name.startswith(path.name)
        ]
        with no_room_to_write(max(sizes)):
            for number in range(200):
                ask(log, f"question {number} " + "words " * 40)
            assert not log.flush()
        assert len(heard.events) == 1
        assert log.flush()
        assert len(texts(log)) == 201
    assert heard.events[-1] is None


def test_the_report_command_on_a_corrupt_log_says_so_in_one_line(tmp_path: Path) -> None:
    write_faq(tmp_path / "faq", {"contact.yaml": CONTACT_FAQ})
    database = tmp_path / "data" / "questions.sqlite3"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings_mapping(tmp_path / "faq", database)), "utf-8")
    database.parent.mkdir()
    database.write_bytes(b"garbage, not a database " * 100)
    code, _, err = run("--config", str(config), "report")
    assert code == 1
    assert err.strip().splitlines() == ["Cannot read the question log: file is not a database"]
