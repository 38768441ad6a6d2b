"""The subscriptions and announcement jobs in SQLite: what is kept, what is forgotten, and
what a crash leaves behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.storage.question_log import QuestionLog
from bot.storage.subscriptions import (
    LEASE,
    SubscriptionStore,
    SubscriptionStoreError,
    _now,
    this_process,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SubscriptionStore]:
    with SubscriptionStore(tmp_path / "data" / "questions.sqlite3") as opened:
        yield opened


def test_topics_are_switched_on_and_off_and_the_chat_id_goes_with_the_last(
    store: SubscriptionStore,
) -> None:
    store.subscribe(11, "calls", "sq")
    store.subscribe(11, "news", "sq")
    store.subscribe(12, "calls", "en")
    assert store.topics_of(11) == {"calls", "news"}
    assert store.audience("calls") == {"en": 1, "sq": 1}
    store.unsubscribe(11, "calls")
    assert store.topics_of(11) == {"news"}
    assert store.language_of(11) == "sq"
    store.unsubscribe(11, "news")
    assert store.topics_of(11) == frozenset()
    assert store.language_of(11) is None
    assert store.subscribers() == {12: "en"}


def test_unsubscribing_cancels_the_announcements_not_yet_sent(store: SubscriptionStore) -> None:
    store.subscribe_many({1: "en", 2: "en", 3: "sq", 4: "en"}, "calls")
    store.subscribe(2, "news", "en")
    calls = store.create_broadcast("calls", {"en": "New call"}).id
    news = store.create_broadcast("news", {"en": "News"}).id
    assert store.mark_sending(calls, 4)  # on its way already: it stays
    store.unsubscribe(1, "calls")
    store.unsubscribe(2, "news")  # another topic: the call still reaches chat 2
    store.unsubscribe_all(3)
    store.unsubscribe_all(4)
    assert [r.chat_id for r in store.pending(calls, 10)] == [2]
    assert store.counts(calls).total == 2
    assert store.pending(news, 10) == []
    assert store.counts(news).total == 0
    # A sender that took chat 1 from the queue before it left does not send to it.
    assert not store.mark_sending(calls, 1)
    assert store.mark_sending(calls, 2, sent_before=4)
    store.mark_sent(calls, 2)
    assert store.finish(calls).delivered == 2


def test_only_the_chat_id_the_topics_and_the_language_are_stored(
    store: SubscriptionStore, tmp_path: Path
) -> None:
    store.subscribe(4242, "calls", "en")
    assert store.path is not None
    with sqlite3.connect(store.path) as db:
        columns = {
            table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            for table in ("subscribers", "subscriber_topics")
        }
    assert columns == {
        "subscribers": ["chat_id", "lang"],
        "subscriber_topics": ["chat_id", "topic"],
    }


def test_an_announcement_goes_to_the_subscribers_of_its_topic_at_the_time_it_is_made(
    store: SubscriptionStore,
) -> None:
    store.subscribe(1, "calls", "sq")
    store.subscribe(2, "calls", "en")
    store.subscribe(3, "news", "en")
    store.subscribe(4, "calls", "de")  # a language the announcement has no text for
    job = store.create_broadcast("calls", {"sq": "Thirrje", "en": "A call"}, default_language="sq")
    store.subscribe(5, "calls", "en")  # too late for this one
    assert job.counts.total == 3
    recipients = {r.chat_id: r.lang for r in store.pending(job.id, 100)}
    assert recipients == {1: "sq", 2: "en", 4: "sq"}
    assert job.texts == {"sq": "Thirrje", "en": "A call"}


def test_a_restart_sends_again_what_was_in_flight_and_counts_it(store: SubscriptionStore) -> None:
    store.subscribe_many(dict.fromkeys(range(1, 6), "en"), "calls")
    job = store.create_broadcast("calls", {"en": "Hello"}).id
    store.mark_sending(job, 1)
    store.mark_sent(job, 1)
    store.mark_sending(job, 2)  # the process dies here
    assert store.in_flight(job) == 1
    assert store.recover(job) == 1
    assert store.in_flight(job) == 0
    assert {r.chat_id for r in store.pending(job, 10)} == {2, 3, 4, 5}
    assert store.counts(job).resent == 1


def test_a_sender_records_its_last_delivery_with_its_next_send(store: SubscriptionStore) -> None:
    store.subscribe_many({1: "en", 2: "en"}, "calls")
    job = store.create_broadcast("calls", {"en": "Hello"}).id
    store.mark_sending(job, 1)
    store.mark_sending(job, 2, sent_before=1)  # one transaction: 1 sent, 2 going out
    assert store.in_flight(job) == 1
    assert store.counts(job).delivered == 1
    assert store.recover(job) == 1  # only 2 can have arrived without being recorded


def test_a_finished_job_keeps_its_counts_and_forgets_its_chat_ids(
    store: SubscriptionStore,
) -> None:
    store.subscribe_many({1: "en", 2: "en", 3: "sq", 4: "sq"}, "calls")
    job = store.create_broadcast("calls", {"en": "Hi", "sq": "Tung"}).id
    store.mark_sent(job, 1)
    store.mark_blocked(job, 2)
    store.mark_failed(job, 3)
    with pytest.raises(ValueError, match="1 recipient"):
        store.finish(job)
    store.mark_sent(job, 4)
    counts = store.finish(job)
    assert (counts.total, counts.delivered, counts.blocked, counts.failed) == (4, 2, 1, 1)
    assert store.counts(job) == counts
    assert store.pending(job, 10) == []
    assert store.path is not None
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM broadcast_recipients").fetchone()[0] == 0
    assert store.unfinished() == []


def test_a_user_who_blocked_the_bot_is_unsubscribed(store: SubscriptionStore) -> None:
    store.subscribe(7, "calls", "en")
    store.subscribe(7, "news", "en")
    job = store.create_broadcast("calls", {"en": "Hi"}).id
    store.mark_blocked(job, 7)
    assert store.topics_of(7) == frozenset()
    assert store.language_of(7) is None


def test_forget_removes_the_subscriptions_and_the_place_in_pending_announcements(
    store: SubscriptionStore,
) -> None:
    store.subscribe_many({1: "en", 2: "en"}, "calls")
    job = store.create_broadcast("calls", {"en": "Hi"}).id
    store.forget(1)
    assert store.topics_of(1) == frozenset()
    assert [r.chat_id for r in store.pending(job, 10)] == [2]
    assert store.counts(job).total == 1


def test_forget_leaves_the_chat_id_in_no_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite3"
    chat = 987654321
    with SubscriptionStore(path) as opened:
        opened.subscribe(chat, "calls", "en")
        with sqlite3.connect(path) as other:  # another store's checkpoint, as in the bot
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        opened.forget(chat)
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        main_alone = tmp_path / "main-alone.sqlite3"
        main_alone.write_bytes(path.read_bytes())
        with sqlite3.connect(main_alone) as copy:
            assert copy.execute("SELECT * FROM subscribers").fetchall() == []


def test_the_language_follows_the_user(store: SubscriptionStore) -> None:
    store.subscribe(1, "calls", "sq")
    store.set_language(1, "en")
    assert store.language_of(1) == "en"
    store.set_language(99, "en")  # not subscribed: nothing is stored
    assert store.language_of(99) is None


def test_one_process_delivers_a_job_at_a_time(store: SubscriptionStore) -> None:
    store.subscribe(1, "calls", "en")
    first = store.create_broadcast("calls", {"en": "one"}).id
    second = store.create_broadcast("calls", {"en": "two"}).id
    assert store.claim("elsewhere:1") == first
    # Another live process holds a job: nobody else starts one (together they would
    # exceed Telegram's limits).
    assert store.claim("elsewhere:2") is None
    assert store.claim("elsewhere:1") == first  # the owner renews
    later = _now() + LEASE + timedelta(seconds=1)
    assert store.claim("elsewhere:2", now=later) == first  # a silent owner's lease ran out
    store.release(first, "elsewhere:2")
    assert store.claim(this_process()) == first
    assert second in store.unfinished()


def test_a_job_whose_owner_died_on_this_machine_is_taken_over_at_once(
    store: SubscriptionStore,
) -> None:
    store.subscribe(1, "calls", "en")
    job = store.create_broadcast("calls", {"en": "one"}).id
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = this_process().rpartition(":")[0]
    assert store.claim(f"{host}:{dead.pid}") == job
    assert store.claim(this_process()) == job


def test_it_shares_the_question_logs_file(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite3"
    with QuestionLog(path, key=b"k" * 32) as log, SubscriptionStore(path) as store:
        log.record_question("where is the office", user_id=1, lang="en", outcome="answer")
        store.subscribe(1, "calls", "en")
        assert log.flush()
        assert len(log.questions(_now() - timedelta(days=1))) == 1
    with SubscriptionStore(path) as reopened:
        assert reopened.topics_of(1) == {"calls"}


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite3"
    SubscriptionStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO subscriptions_schema_version (version) VALUES (99)")
    with pytest.raises(SubscriptionStoreError, match="newer than this bot understands"):
        SubscriptionStore(path)


KILLED_WRITER = """
import sys
from bot.storage.subscriptions import SubscriptionStore
store = SubscriptionStore(sys.argv[1])
store.subscribe_many({n: "en" for n in range(1, 501)}, "calls")
print("ready", flush=True)
while True:
    job = store.create_broadcast("calls", {"en": "Hi"}).id
    for recipient in store.pending(job, 50):
        store.mark_sending(job, recipient.chat_id)
        store.mark_sent(job, recipient.chat_id)
"""


def test_a_kill_9_leaves_whole_jobs_only(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == b"ready"
    time.sleep(0.5)
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    writer.stdout.close()
    with SubscriptionStore(path) as store:
        jobs = store.unfinished()
        assert jobs, "the writer made no job before it was killed"
        for job in jobs:
            counts = store.counts(job)
            assert counts.total == 500
            assert counts.delivered + counts.pending == 500
            assert store.in_flight(job) <= 1
