"""The question log keeps what reports need and nothing that identifies a person."""

from __future__ import annotations

import logging
import sqlite3
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage.question_log import (
    FeedbackCounts,
    QuestionLog,
    QuestionLogError,
    clean_question_text,
    key_path_for,
    load_or_create_key,
    mask_personal_data,
)
from tests.factories import make_settings

KEY = b"a test key that is long enough"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "questions.sqlite3"


@pytest.fixture
def log(log_path: Path) -> Iterator[QuestionLog]:
    with QuestionLog(log_path, key=KEY, clock=fixed_clock) as question_log:
        yield question_log


def database_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as they lie on disk."""
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(file.read_bytes() for file in files if file.exists())


def all_questions(log: QuestionLog) -> list[str]:
    return [q.text for q in log.questions(since=NOW - timedelta(days=3650))]


# ----- personal data -------------------------------------------------------------------


def test_the_users_id_name_and_username_never_reach_the_database_file(
    log: QuestionLog, log_path: Path
) -> None:
    # The log's API takes no name or username at all; the id is hashed before queueing.
    log.record_question(
        "Where is the office of the agency?", user_id=123456789, lang="en", outcome="answer"
    )
    assert log.flush()
    written = database_bytes(log_path)
    assert b"where is the office of the agency" in written  # the bytes are readable at all
    for personal in (b"123456789", b"Arben", b"arben", b"arben_k"):
        assert personal not in written
    log.close()
    assert b"123456789" not in database_bytes(log_path)


def test_an_email_address_and_a_phone_number_in_a_question_never_reach_the_database_file(
    log: QuestionLog, log_path: Path
) -> None:
    log.record_question(
        "Write to me at arben.k@gmail.com or call 069 123 4567, my NIPT is L12345678A",
        user_id=1,
        lang="en",
        outcome="fallback",
    )
    assert log.flush()
    written = database_bytes(log_path)
    for personal in (b"arben", b"gmail", b"069 123", b"4567", b"12345678"):
        assert personal not in written
    assert all_questions(log) == ["write to me at <email> or call <phone> my nipt is <number>"]


@pytest.mark.parametrize(
    "typed",
    [
        "069 123 4567",
        "+355 69 123 4567",
        "04 22 355 69",
        "0692345678",
        "00355 69 234 5678",
        "(04) 2235569",
        "069-123-4567",
        "069, 123, 4567",
        "069_123_4567",
    ],
)
def test_albanian_phone_numbers_are_masked_in_any_usual_form(typed: str) -> None:
    assert clean_question_text(f"call me on {typed} please") == "call me on <phone> please"


@pytest.mark.parametrize(
    "typed",
    ["12345", "L12345678A", "AL47 2121 1009 0000 0002 3569 8741", "1234 5678 9012"],
)
def test_identity_tax_and_bank_numbers_are_masked(typed: str) -> None:
    assert "<number>" in clean_question_text(f"my number is {typed}")
    assert not any(char.isdigit() for char in clean_question_text(typed).replace("al47", ""))


def test_years_dates_and_amounts_stay_readable_for_reports() -> None:
    assert (
        clean_question_text("Grants 2023 2024: deadline 12.03.2024, up to 1 000 000 lekë?")
        == "grants 2023 2024 deadline 12.03.2024 up to 1 000 000 leke"
    )


def test_masking_keeps_the_rest_of_the_text_as_typed() -> None:
    assert mask_personal_data("Email: info@example.org, Ku është zyra?") == (
        "Email: <email>, Ku është zyra?"
    )


# ----- the user's hash -----------------------------------------------------------------


def test_a_generated_key_is_kept_private_and_gives_the_same_hash_after_a_restart(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    with QuestionLog.from_settings(settings, environ={}) as first:
        first.record_question("hello", user_id=42, lang="en", outcome="smalltalk")
    key_file = key_path_for(settings.question_log_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with QuestionLog.from_settings(settings, environ={}) as second:
        second.record_question("hello again", user_id=42, lang="en", outcome="smalltalk")
        second.record_question("hi", user_id=43, lang="en", outcome="smalltalk")
        assert second.flush()
        hashes = [q.user_hash for q in second.questions(since=datetime.now(UTC) - timedelta(1))]
    assert hashes[0] == hashes[1] != hashes[2]


def test_the_key_from_the_environment_is_used_and_no_key_file_is_written(
    log_path: Path,
) -> None:
    environment = {"QUESTION_LOG_KEY": "a secret from the environment"}
    assert load_or_create_key(key_path_for(log_path), environment) == (
        b"a secret from the environment"
    )
    assert not key_path_for(log_path).exists()


# ----- retention -----------------------------------------------------------------------


def test_retention_deletes_old_questions_and_keeps_recent_ones(log: QuestionLog) -> None:
    log.record_question(
        "old", user_id=1, lang="en", outcome="answer", asked_at=NOW - timedelta(days=200)
    )
    log.record_question(
        "recent", user_id=1, lang="en", outcome="answer", asked_at=NOW - timedelta(days=10)
    )
    assert log.purge_older_than(180) == 1
    assert all_questions(log) == ["recent"]


def test_expired_questions_are_deleted_when_the_log_opens(log_path: Path) -> None:
    with QuestionLog(log_path, key=KEY, clock=fixed_clock, retention_days=365) as log:
        log.record_question(
            "asked last year",
            user_id=1,
            lang="en",
            outcome="answer",
            asked_at=NOW - timedelta(days=300),
        )
        log.record_question(
            "asked this week",
            user_id=1,
            lang="en",
            outcome="answer",
            asked_at=NOW - timedelta(days=3),
        )
    with QuestionLog(log_path, key=KEY, clock=fixed_clock, retention_days=180) as reopened:
        assert all_questions(reopened) == ["asked this week"]


# ----- feedback ------------------------------------------------------------------------


def test_feedback_is_stored_against_the_question_it_answers(log: QuestionLog) -> None:
    first = log.record_question(
        "opening hours", user_id=1, lang="en", outcome="answer", entry_id="opening-hours", score=80
    )
    second = log.record_question(
        "where is the office", user_id=2, lang="en", outcome="answer", entry_id="address", score=90
    )
    log.record_feedback(second, helpful=False)
    assert log.flush()
    assert log.question(first) is not None
    assert log.question(first).helpful is None  # type: ignore[union-attr]
    assert log.question(second).helpful is False  # type: ignore[union-attr]
    assert log.feedback_counts(since=NOW - timedelta(days=1)) == {
        "address": FeedbackCounts(helpful=0, not_helpful=1)
    }


def test_a_second_vote_on_the_same_answer_replaces_the_first(log: QuestionLog) -> None:
    asked = log.record_question("fees", user_id=1, lang="en", outcome="answer", entry_id="fees")
    log.record_feedback(asked, helpful=False)
    log.record_feedback(asked, helpful=True)
    assert log.flush()
    assert log.feedback_counts(since=NOW - timedelta(days=1)) == {
        "fees": FeedbackCounts(helpful=1, not_helpful=0)
    }


def test_a_vote_by_someone_other_than_the_asker_is_ignored(log: QuestionLog) -> None:
    asked = log.record_question("fees", user_id=1, lang="en", outcome="answer", entry_id="fees")
    log.record_feedback(asked, helpful=False, user_id=2)
    log.record_feedback(asked, helpful=True, user_id=1)
    log.record_feedback("no-such-id", helpful=False)
    assert log.flush()
    assert log.question(asked).helpful is True  # type: ignore[union-attr]


def test_a_question_id_fits_in_telegram_callback_data_right_away(log: QuestionLog) -> None:
    asked = log.record_question("fees", user_id=1, lang="en", outcome="answer")
    assert 8 <= len(asked) <= 12
    assert len(f"f:y:{asked}".encode()) <= 64
    assert asked.replace("-", "").replace("_", "").isalnum()


# ----- writing without blocking --------------------------------------------------------


def test_questions_recorded_from_several_threads_all_land(log: QuestionLog) -> None:
    def ask_many(thread_number: int) -> None:
        for number in range(250):
            log.record_question(
                f"question {thread_number} {number}",
                user_id=thread_number,
                lang="en",
                outcome="answer",
            )

    threads = [threading.Thread(target=ask_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert log.flush()
    assert len(set(all_questions(log))) == 1000
    assert log.dropped == 0


def test_close_writes_everything_still_queued(log_path: Path) -> None:
    log = QuestionLog(log_path, key=KEY, clock=fixed_clock)
    ids = [
        log.record_question(f"question {n}", user_id=n, lang="sq", outcome="fallback")
        for n in range(500)
    ]
    log.close()
    with QuestionLog(log_path, key=KEY, clock=fixed_clock) as reopened:
        assert {q.id for q in reopened.questions(since=NOW - timedelta(days=1))} == set(ids)


def test_a_full_queue_drops_writes_instead_of_making_users_wait(
    log_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = QuestionLog(log_path, key=KEY, clock=fixed_clock, queue_size=2)
    # Another connection holds the write lock, so the writer is stuck on its first batch.
    blocker = sqlite3.connect(log_path)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with caplog.at_level(logging.WARNING, logger="bot.storage.question_log"):
            for number in range(10):
                log.record_question(f"question {number}", user_id=1, lang="en", outcome="answer")
        assert log.dropped >= 7
        assert "queue is full" in caplog.text
    finally:
        blocker.rollback()
        blocker.close()
    assert log.flush()
    assert len(all_questions(log)) == 10 - log.dropped
    log.close()


# ----- the database file ---------------------------------------------------------------


def test_the_database_and_its_folder_are_created_on_first_run_in_wal_mode(
    log: QuestionLog, log_path: Path
) -> None:
    assert log_path.is_file()
    connection = sqlite3.connect(log_path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    finally:
        connection.close()


def test_a_log_written_by_a_newer_version_of_the_bot_is_refused(log_path: Path) -> None:
    QuestionLog(log_path, key=KEY).close()
    connection = sqlite3.connect(log_path)
    with connection:
        connection.execute("INSERT INTO schema_version VALUES (99)")
    connection.close()
    with pytest.raises(QuestionLogError, match="newer"):
        QuestionLog(log_path, key=KEY)


def test_a_very_long_question_is_stored_shortened(log: QuestionLog) -> None:
    log.record_question("word " * 1000, user_id=1, lang="en", outcome="fallback")
    assert log.flush()
    [stored] = all_questions(log)
    assert 900 <= len(stored) <= 1000
