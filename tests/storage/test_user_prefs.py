"""Users' language choices: kept across restarts, without Telegram ids in the file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.storage.user_prefs import UserPrefs, user_prefs_path

KEY = b"a-test-key-of-32-bytes-0123456789"


def test_a_choice_survives_a_restart_and_the_file_holds_no_user_id(tmp_path: Path) -> None:
    path = tmp_path / "data" / "user_prefs.json"
    UserPrefs(path, KEY).choose_language(987654321, "en")
    again = UserPrefs(path, KEY)
    assert again.chosen_language(987654321) == "en"
    assert again.chosen_language(123) is None
    assert "987654321" not in path.read_text(encoding="utf-8")


def test_another_key_does_not_find_the_choice(tmp_path: Path) -> None:
    path = tmp_path / "user_prefs.json"
    UserPrefs(path, KEY).choose_language(42, "en")
    assert UserPrefs(path, b"another key").chosen_language(42) is None


def test_a_broken_file_is_reported_and_the_bot_starts_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "user_prefs.json"
    path.write_text("{not json", encoding="utf-8")
    prefs = UserPrefs(path, KEY)
    assert prefs.chosen_language(42) is None
    assert "starting afresh" in caplog.text
    prefs.choose_language(42, "sq")
    assert UserPrefs(path, KEY).chosen_language(42) == "sq"


def test_a_choice_that_cannot_be_saved_still_holds_until_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    prefs = UserPrefs(blocker / "user_prefs.json", KEY)
    with caplog.at_level(logging.WARNING):
        prefs.choose_language(42, "en")
    assert prefs.chosen_language(42) == "en"
    assert "cannot save" in caplog.text


def test_the_language_last_written_in_is_remembered_for_recent_users_only() -> None:
    prefs = UserPrefs(None, KEY, recent_users=3)
    for user_id in range(5):
        prefs.note_language(user_id, "sq")
    assert prefs.recent_language(4) == "sq"
    assert prefs.recent_language(0) is None


def test_the_file_lives_next_to_the_question_log(tmp_path: Path) -> None:
    log = tmp_path / "data" / "questions.sqlite3"
    assert user_prefs_path(log) == tmp_path / "data" / "user_prefs.json"
