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

import bot.storage.question_log as question_log_module
from bot.core.text import normalise
from bot.storage.database import Write
from bot.storage.question_log import (
    FeedbackCounts,
    QuestionLog,
    QuestionLogError,
    clean_question_text,
    key_path_for,
    load_or_create_key,
    mask_personal_data,
    queued_text,
)
from bot.storage.stores import open_stores
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


@pytest.mark.parametrize(
    "typed",
    ["arben\uff20gmail\uff0ecom", "ａｒｂｅｎ＠ｇｍａｉｌ．ｃｏｍ", "arben\ufe6bgmail.com"],
)
def test_full_width_and_small_form_e_mail_addresses_are_masked(typed: str) -> None:
    assert clean_question_text(f"write to {typed} please") == "write to <email> please"


def test_years_dates_and_amounts_stay_readable_for_reports() -> None:
    assert (
        clean_question_text("Grants 2023 2024: deadline 12.03.2024, up to 1 000 000 lekë?")
        == "grants 2023 2024 deadline 12.03.2024 up to 1 000 000 leke"
    )


def test_masking_keeps_the_rest_of_the_text_as_typed() -> None:
    assert mask_personal_data("Email: info@example.org, Ku është zyra?") == (
        "Email: <email>, Ku është zyra?"
    )


@pytest.mark.parametrize(
    "typed",
    ["O69 123 4567", "o69 123 4567", "O692345678", "+355 69 O23 4567".replace("O", "0")],
)
def test_a_phone_number_typed_with_the_letter_o_for_zero_is_masked(typed: str) -> None:
    assert clean_question_text(f"call me on {typed} please") == "call me on <phone> please"


@pytest.mark.parametrize(
    "typed",
    [
        "arben at gmail dot com",
        "arben.k at gmail dot com",
        "Arben AT Gmail DOT Com",
        "arben [at] gmail [dot] com",
        "arben(at)gmail.com",
        "arben (at) gmail (dot) com",
        "arben at gmail.com",
        "arben et gmail pika com",
        "arben @ gmail . com".replace(" . ", "."),
        "arben at mail dot example dot org",
    ],
)
def test_a_spelled_out_email_address_is_masked(typed: str) -> None:
    cleaned = clean_question_text(f"write to {typed} please")
    assert cleaned == "write to <email> please"


@pytest.mark.parametrize(
    "question",
    [
        "What time do you open at the weekend?",
        "Can I apply at the office in Tirana?",
        "Where do I sign up at AMSHC?",
        "Is the meeting at 9 dot 30 or at 10?",
        "Look at this. Com dhe mua?",
        "Ku mund të aplikoj? Zyra është në Tiranë, pika e dytë.",
        "What is the deadline for the 2024 call at the agency",
        "O sa mirë, faleminderit!",
    ],
)
def test_ordinary_questions_are_not_masked(question: str) -> None:
    cleaned = clean_question_text(question)
    assert "<" not in cleaned
    assert cleaned == " ".join(cleaned.split())  # normalised, nothing replaced
    assert len(cleaned.split()) == len(normalise(question).split())


def test_questions_are_masked_by_the_writer_thread_not_by_the_caller(
    log: QuestionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Masking a long message takes milliseconds: on the event loop it would stall every
    # other user's answer.
    masked_in: list[str] = []
    real = question_log_module.clean_question_text

    def recording(text: str) -> str:
        masked_in.append(threading.current_thread().name)
        return real(text)

    monkeypatch.setattr(question_log_module, "clean_question_text", recording)
    log.record_question("call 069 123 4567", user_id=1, lang="en", outcome="answer")
    assert masked_in == [] or threading.current_thread().name not in masked_in
    assert log.flush()
    assert masked_in
    assert threading.current_thread().name not in masked_in
    assert all_questions(log) == ["call <phone>"]


def test_a_question_longer_than_telegram_allows_is_cut_between_words_before_masking() -> None:
    text = "x" * 4090 + " 069 123 4567"
    assert queued_text(text) == "x" * 4090 + " 069"
    assert queued_text("short question") == "short question"


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


class StuckWrite(Write):
    """A write that holds the writer, as a stuck disk would, until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def prepare(self, key: bytes) -> None:
        self.entered.set()
        self.release.wait(30)

    def write(self, connection: sqlite3.Connection) -> None:
        pass


def test_a_full_queue_drops_writes_instead_of_making_users_wait(
    log_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = QuestionLog(log_path, key=KEY, clock=fixed_clock, queue_size=2)
    stuck = StuckWrite()
    log.database.submit(stuck)
    # The writer has taken its batch and is stuck in it: exactly two more fit in the queue,
    # whatever the timing (this test used to race with the writer's batching).
    assert stuck.entered.wait(10)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
            for number in range(10):
                log.record_question(f"question {number}", user_id=1, lang="en", outcome="answer")
        assert log.dropped == 8
        assert "queue is full" in caplog.text
    finally:
        stuck.release.set()
    assert log.flush()
    assert all_questions(log) == ["question 0", "question 1"]
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


def test_a_log_written_by_a_newer_version_of_the_bot_is_left_untouched_and_reported(
    log_path: Path,
) -> None:
    QuestionLog(log_path, key=KEY).close()
    connection = sqlite3.connect(log_path)
    with connection:
        connection.execute("INSERT INTO schema_version VALUES (99)")
    connection.close()
    with QuestionLog(log_path, key=KEY) as newer:
        assert newer.problem is not None
        assert "newer" in newer.problem
        newer.record_question("kept out", user_id=1, lang="en", outcome="answer")
        assert not newer.flush()
        with pytest.raises(QuestionLogError, match="newer"):
            newer.purge_expired()
    connection = sqlite3.connect(log_path)
    assert connection.execute("SELECT COUNT(*) FROM questions").fetchone() == (0,)
    connection.close()


def test_a_very_long_question_is_stored_shortened(log: QuestionLog) -> None:
    log.record_question("word " * 1000, user_id=1, lang="en", outcome="fallback")
    assert log.flush()
    [stored] = all_questions(log)
    assert 900 <= len(stored) <= 1000


def test_the_database_and_its_companion_files_are_readable_by_the_owner_only(
    log: QuestionLog, log_path: Path
) -> None:
    log.record_question("opening hours", user_id=1, lang="en", outcome="answer")
    assert log.flush()
    companions = [log_path.with_name(log_path.name + suffix) for suffix in ("-wal", "-shm")]
    for file in (log_path, *companions):
        assert file.exists(), file
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_database_left_readable_by_others_is_restricted_at_open(
    log_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    QuestionLog(log_path, key=KEY).close()
    log_path.chmod(0o644)
    with caplog.at_level(logging.WARNING), QuestionLog(log_path, key=KEY):
        assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert "readable by others" in caplog.text


def test_forget_user_deletes_that_users_questions_and_only_theirs(log: QuestionLog) -> None:
    for number in range(3):
        log.record_question(f"mine {number}", user_id=7, lang="en", outcome="answer")
    log.record_question("someone else's", user_id=8, lang="en", outcome="answer")
    # Not yet flushed: what is still queued is forgotten too.
    log.record_question("mine, still queued", user_id=7, lang="en", outcome="answer")
    assert log.forget_user(7) == 4
    assert all_questions(log) == ["someone else s"]
    assert log.forget_user(7) == 0


def test_a_warning_at_start_when_the_key_file_sits_beside_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    with caplog.at_level(logging.WARNING), open_stores(settings, environ={}):
        pass
    warnings = [r.getMessage() for r in caplog.records if "QUESTION_LOG_KEY" in r.getMessage()]
    assert len(warnings) == 1
    assert str(key_path_for(settings.question_log_path)) in warnings[0]
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING),
        open_stores(settings, environ={"QUESTION_LOG_KEY": "a key kept elsewhere, long enough"}),
    ):
        pass
    assert "QUESTION_LOG_KEY" not in caplog.text
