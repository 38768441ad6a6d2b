"""/forget empties the -wal file with a checkpoint; the writes after it must still commit
(an unread checkpoint statement left in progress made the next commit fail)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.storage.database import Database
from bot.storage.question_log import QuestionLog
from bot.storage.subscriptions import SubscriptionStore

KEY = b"checkpoint-test-key-0123456789"


def test_writes_queued_behind_a_forget_commit(tmp_path: Path) -> None:
    problems: list[str | None] = []
    with Database(tmp_path / "questions.sqlite3", key_source=lambda: KEY) as database:
        database.add_health_listener(problems.append)
        log = QuestionLog(database)
        for user_id in range(5):
            log.record_question("How do I apply?", user_id=user_id, lang="en", outcome="answer")
        assert database.flush()
        with ThreadPoolExecutor(max_workers=6) as pool:
            for user_id in range(5):
                # The writer busy for a moment, so that the forget's checkpoint and the next
                # question are handled in one batch, as under load.
                assert log.forget_user(user_id) == 1
                busy = pool.submit(database.call, lambda *_: time.sleep(0.2))
                time.sleep(0.05)
                # What /forget does last, with the next question queued right behind it.
                emptied = pool.submit(database.checkpoint)
                time.sleep(0.05)
                log.record_question("And now?", user_id=user_id + 100, lang="en", outcome="answer")
                busy.result(10)
                emptied.result(10)
                assert database.flush()
        assert database.problem is None
        with database.reader() as reader:
            assert reader.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 5
    assert problems == []


def test_a_store_commits_after_its_checkpoint(tmp_path: Path) -> None:
    with SubscriptionStore(tmp_path / "questions.sqlite3") as store:
        store.subscribe(1, "calls", "en")
        store.forget(1)
        store.subscribe(2, "calls", "en")
        assert store.subscribers() == {2: "en"}
