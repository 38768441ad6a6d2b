"""A backup taken while another process logs 1,000 questions is whole (SQLite's integrity
check), is the database at one moment (the questions logged before it, in order, with no
gap), and a restore brings back every question logged before the backup began."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bot.storage.backup import backup_database, restore_database

KEY = "4f1c0d8e9a7b6c5d4e3f2a1b0c9d8e7f"
QUESTIONS = 1000
# Logs QUESTIONS questions, committing every 10, and prints how many are committed.
LOGGER = f"""
import sys
from pathlib import Path
from bot.storage.question_log import QuestionLog

with QuestionLog(Path(sys.argv[1]), key={KEY.encode()!r}) as log:
    for number in range({QUESTIONS}):
        log.record_question(f"question {{number}}", user_id=number, lang="en", outcome="answer")
        if number % 10 == 9:
            assert log.flush()
            print(number + 1, flush=True)
"""


def logged_numbers(database: Path) -> list[int]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT text FROM questions").fetchall()
    finally:
        connection.close()
    return sorted(int(text.split()[1]) for (text,) in rows)


def test_a_backup_while_1000_questions_are_logged_is_whole_and_restores_them(
    tmp_path: Path,
) -> None:
    database = tmp_path / "state" / "questions.sqlite3"
    with subprocess.Popen(
        [sys.executable, "-c", LOGGER, str(database)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as logger:
        assert logger.stdout is not None
        committed_before = 0
        deadline = time.monotonic() + 60
        while committed_before < 300 and time.monotonic() < deadline:
            committed_before = int(logger.stdout.readline())
        backup = backup_database(database, tmp_path / "backups").path
        rest = logger.stdout.read()
        assert logger.wait(timeout=60) == 0
    assert rest.split()[-1] == str(QUESTIONS)  # the logging went on during the backup

    in_backup = logged_numbers(backup)
    assert len(in_backup) >= committed_before
    assert in_backup == list(range(len(in_backup)))  # one moment: a prefix, no gap
    assert len(in_backup) < QUESTIONS  # taken while questions were still being logged

    restored = tmp_path / "restored" / "questions.sqlite3"
    restore_database(backup, restored)
    assert logged_numbers(restored)[:committed_before] == list(range(committed_before))
    connection = sqlite3.connect(restored)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()
