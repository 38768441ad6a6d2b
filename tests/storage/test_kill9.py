"""kill -9 while the bot writes questions and language choices: the database opens cleanly
afterwards, every row is whole, and nothing a flush confirmed is missing."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.question_log import QuestionLog
from bot.storage.user_prefs import UserPrefs

REPO = Path(__file__).resolve().parents[2]
KEY = "kill-nine-test-key-0123456789"
# Kill moments, in seconds after the writer has confirmed its first commits: at once, and
# with batches in flight.
KILL_AFTER = (0.0, 0.05, 0.2)
WITHIN = 30.0

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bot.storage.database import Database
    from bot.storage.question_log import QuestionLog
    from bot.storage.user_prefs import UserPrefs

    database = Database(Path(sys.argv[1]), key_source=lambda: sys.argv[2].encode())
    log = QuestionLog(database)
    prefs = UserPrefs(database)
    for number in range(200_000):
        log.record_question(
            f"question {number} " + "about grants " * (number % 7),
            user_id=number % 500,
            lang="en",
            outcome="answer",
        )
        prefs.choose_language(number % 500, "sq" if number % 2 else "en")
        if number % 200 == 199:
            if database.flush():
                print(f"committed {number + 1}", flush=True)
    """
)


def run_and_kill(path: Path, delay: float) -> int:
    """Start the writer, kill it `delay` s after its first confirmed commit; how many
    questions it had confirmed."""
    confirmed = 0
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), KEY],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + WITHIN
            line = process.stdout.readline()
            assert line.startswith("committed"), line
            confirmed = int(line.split()[1])
            time.sleep(delay)
            os.kill(process.pid, signal.SIGKILL)
            for line in process.stdout:  # what it confirmed before the kill landed
                confirmed = int(line.split()[1])
                assert time.monotonic() < deadline
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(WITHIN)
    assert process.returncode == -signal.SIGKILL
    return confirmed


@pytest.mark.parametrize("delay", KILL_AFTER)
def test_kill_9_while_writing_leaves_a_clean_database(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "questions.sqlite3"
    confirmed = run_and_kill(path, delay)

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = connection.execute(
            "SELECT text, user_hash, outcome, lang, asked_at, channel FROM questions"
        ).fetchall()
        prefs = connection.execute("SELECT user_hash, lang, chosen_at FROM user_prefs").fetchall()
    finally:
        connection.close()
    assert len(rows) >= confirmed > 0
    whole = re.compile(r"question \d+( about grants){0,6}")
    for text, user_hash, outcome, lang, asked_at, channel in rows:
        assert whole.fullmatch(text), text
        assert re.fullmatch(r"[0-9a-f]{32}", user_hash)
        assert (outcome, lang, channel) == ("answer", "en", "telegram")
        assert asked_at
    numbers = sorted(int(text.split()[1]) for text, *_ in rows)
    assert numbers == list(range(len(numbers)))  # a prefix: no hole, nothing twice
    assert 0 < len(prefs) <= 500
    for user_hash, lang, chosen_at in prefs:
        assert re.fullmatch(r"[0-9a-f]{32}", user_hash)
        assert lang in {"sq", "en"}
        assert chosen_at

    # And the bot carries on with it.
    with Database(path, key_source=lambda: KEY.encode()) as database:
        log = QuestionLog(database)
        UserPrefs(database).choose_language(1, "sq")
        log.record_question("after the crash", user_id=1, lang="en", outcome="answer")
        assert database.problem is None
        assert database.flush()
