"""Users' language choices: kept across restarts in the bot's database, without Telegram ids."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.keys import hash_user
from bot.storage.question_log import QuestionLog
from bot.storage.stores import open_stores
from bot.storage.user_prefs import UserPrefs, user_prefs_path
from tests.factories import make_settings

KEY = b"a-test-key-of-32-bytes-0123456789"


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "questions.sqlite3"


def open_database(path: Path, key: bytes = KEY) -> Database:
    return Database(path, key_source=lambda: key)


@pytest.fixture
def database(database_path: Path) -> Iterator[Database]:
    with open_database(database_path) as opened:
        yield opened


def stored_rows(path: Path) -> list[tuple[str, str]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT user_hash, lang FROM user_prefs").fetchall()
    finally:
        connection.close()


def test_a_choice_survives_a_restart_and_the_database_holds_no_user_id(
    database_path: Path,
) -> None:
    with open_database(database_path) as database:
        UserPrefs(database).choose_language(987654321, "en")
    with open_database(database_path) as database:
        again = UserPrefs(database)
        assert again.chosen_language(987654321) == "en"
        assert again.chosen_language(123) is None
    assert stored_rows(database_path) == [(hash_user(KEY, 987654321), "en")]
    assert b"987654321" not in database_path.read_bytes()


def test_a_new_choice_replaces_the_row_instead_of_adding_one(
    database: Database, database_path: Path
) -> None:
    prefs = UserPrefs(database)
    for lang in ("en", "sq", "en", "sq"):
        prefs.choose_language(42, lang)
    assert database.flush()
    assert stored_rows(database_path) == [(hash_user(KEY, 42), "sq")]


def test_a_choice_holds_at_once_before_it_is_written(database: Database) -> None:
    prefs = UserPrefs(database)
    prefs.choose_language(42, "en")
    assert prefs.chosen_language(42) == "en"  # no flush: straight from memory


def test_another_key_does_not_find_the_choice(database_path: Path) -> None:
    with open_database(database_path) as database:
        UserPrefs(database).choose_language(42, "en")
    with open_database(database_path, b"another key") as database:
        assert UserPrefs(database).chosen_language(42) is None


def test_preferences_and_the_question_log_share_one_database_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with open_stores(settings, environ={"QUESTION_LOG_KEY": "k" * 32}) as stores:
        stores.prefs.choose_language(42, "en")
        stores.question_log.record_question("hello", user_id=42, lang="en", outcome="smalltalk")
        assert stores.database.flush()
    files = sorted(path.name for path in settings.question_log_path.parent.iterdir())
    assert files == [settings.question_log_path.name]
    assert len(stored_rows(settings.question_log_path)) == 1


def test_forget_removes_the_choice_in_memory_and_on_disk(
    database: Database, database_path: Path
) -> None:
    prefs = UserPrefs(database)
    prefs.choose_language(42, "en")
    prefs.choose_language(43, "sq")
    prefs.note_language(42, "en")
    assert database.flush()
    prefs.forget(42)
    assert prefs.chosen_language(42) is None
    assert prefs.recent_language(42) is None
    assert database.flush()
    assert stored_rows(database_path) == [(hash_user(KEY, 43), "sq")]
    assert UserPrefs(database).chosen_language(42) is None


# ----- the old JSON file -----------------------------------------------------------------


def write_old_file(path: Path, languages: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "languages": languages}), encoding="utf-8")


def test_the_old_json_file_is_imported_once_then_renamed(database_path: Path) -> None:
    old_file = user_prefs_path(database_path)
    write_old_file(old_file, {hash_user(KEY, 42): "en", hash_user(KEY, 43): "sq"})
    with open_database(database_path) as database:
        prefs = UserPrefs(database, legacy_file=old_file)
        assert prefs.chosen_language(42) == "en"
        assert prefs.chosen_language(43) == "sq"
        prefs.choose_language(42, "sq")
    assert not old_file.exists()
    assert old_file.with_name("user_prefs.json.imported").exists()
    # A second start does not import again (the newer choice stands).
    with open_database(database_path) as database:
        assert UserPrefs(database, legacy_file=old_file).chosen_language(42) == "sq"


def test_a_malformed_old_file_is_set_aside_and_the_bot_starts(
    database_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old_file = user_prefs_path(database_path)
    old_file.parent.mkdir(parents=True)
    old_file.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING), open_database(database_path) as database:
        prefs = UserPrefs(database, legacy_file=old_file)
        assert database.problem is None
        assert prefs.chosen_language(42) is None
        prefs.choose_language(42, "sq")
        assert database.flush()
    assert "cannot import the old language choices" in caplog.text
    assert old_file.with_name("user_prefs.json.unreadable").exists()
    assert stored_rows(database_path) == [(hash_user(KEY, 42), "sq")]


# ----- when the database cannot be written ----------------------------------------------


def test_a_choice_that_cannot_be_saved_still_holds_and_is_saved_once_it_can(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    database_path = blocker / "questions.sqlite3"
    with open_database(database_path) as database:
        prefs = UserPrefs(database)
        assert database.problem is not None
        prefs.choose_language(42, "en")
        assert prefs.chosen_language(42) == "en"
        assert not database.flush()
        blocker.unlink()
        assert database.flush()
    assert stored_rows(database_path) == [(hash_user(KEY, 42), "en")]


def test_the_language_last_written_in_is_remembered_for_recent_users_only() -> None:
    prefs = UserPrefs(None, KEY, recent_users=3)
    for user_id in range(5):
        prefs.note_language(user_id, "sq")
    assert prefs.recent_language(4) == "sq"
    assert prefs.recent_language(0) is None


def test_the_log_and_the_preferences_keep_their_own_schema_versions(database: Database) -> None:
    UserPrefs(database)
    QuestionLog(database)
    assert database.flush()
    with database.reader() as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert {"schema_version", "user_prefs_version", "questions", "user_prefs"} <= tables
        for table in ("user_prefs_version", "schema_version"):
            versions = connection.execute(f"SELECT version FROM {table}").fetchall()
            assert [tuple(row) for row in versions] == [(1,)]
