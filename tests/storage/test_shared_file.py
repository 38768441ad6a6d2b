"""Two processes on one SQLite file, as the bot and an offline command (`report`, `learn`,
`announce`) share it: the command opening and closing its stores must never make the bot's
-wal file disappear under it (writes into a deleted -wal are lost at the next crash).

On Linux, closing any descriptor of a file drops every POSIX lock the process holds on it;
SQLite's locks are what tell a closing process that it is not the last user."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WITHIN = 30.0

# The bot's side: every store the bot opens on the file, then subscriptions written one per
# line of stdin, each acknowledged on stdout once committed.
BOT_LIKE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bot.storage.database import Database
    from bot.storage.learning_store import LearningStore
    from bot.storage.question_log import QuestionLog
    from bot.storage.subscriptions import SubscriptionStore
    from bot.storage.tickets import TicketStore

    path = Path(sys.argv[1])
    database = Database(path, key_source=lambda: b"shared-file-test-key-0123456789")
    log = QuestionLog(database)
    tickets = TicketStore(path, key=b"shared-file-test-key-0123456789")
    learning = LearningStore(path)
    subscriptions = SubscriptionStore(path)
    log.record_question("first", user_id=1, lang="en", outcome="answer")
    assert database.flush()
    print("ready", flush=True)
    for line in sys.stdin:
        chat = int(line)
        subscriptions.subscribe(chat, "calls", "en")
        print(f"acknowledged {chat}", flush=True)
    """
)

# An offline command's side: opens the stores a command opens, reads, closes, exits.
COMMAND_LIKE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bot.storage.database import Database
    from bot.storage.learning_store import LearningStore
    from bot.storage.question_log import QuestionLog
    from bot.storage.subscriptions import SubscriptionStore
    from bot.storage.tickets import TicketStore

    path = Path(sys.argv[1])
    with Database(path, key_source=lambda: b"shared-file-test-key-0123456789") as database:
        log = QuestionLog(database)
        with TicketStore(path, key=b"k" * 32), LearningStore(path), SubscriptionStore(path) as s:
            s.subscribers()
        assert database.flush()
    """
)


def deleted_files(pid: int, folder: Path) -> list[str]:
    """The files in `folder` that process `pid` still has open although they were deleted."""
    found = []
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(folder)) and target.endswith("(deleted)"):
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_a_command_beside_the_bot_leaves_its_wal_and_every_acknowledged_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "questions.sqlite3"
    with subprocess.Popen(
        [sys.executable, "-c", BOT_LIKE, str(path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as bot:
        try:
            assert bot.stdin is not None
            assert bot.stdout is not None
            assert bot.stdout.readline() == "ready\n"
            acknowledged = []
            for chat in range(1, 4):
                subprocess.run(
                    [sys.executable, "-c", COMMAND_LIKE, str(path)],
                    cwd=REPO,
                    check=True,
                    timeout=WITHIN,
                )
                assert deleted_files(bot.pid, path.parent) == []
                bot.stdin.write(f"{chat}\n")
                bot.stdin.flush()
                assert bot.stdout.readline() == f"acknowledged {chat}\n"
                acknowledged.append(chat)
            assert path.with_name(path.name + "-wal").exists()
            os.kill(bot.pid, signal.SIGKILL)
        finally:
            if bot.poll() is None:
                bot.kill()
            bot.wait(WITHIN)

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        kept = [row[0] for row in connection.execute("SELECT chat_id FROM subscribers")]
    finally:
        connection.close()
    assert sorted(kept) == acknowledged


def test_the_file_and_its_companions_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "questions.sqlite3"
    subprocess.run(
        [sys.executable, "-c", COMMAND_LIKE, str(path)], cwd=REPO, check=True, timeout=WITHIN
    )
    assert path.stat().st_mode & 0o777 == 0o600
    # A -wal file while a connection holds it open, as the bot does.
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x)")
        for suffix in ("-wal", "-shm"):
            assert path.with_name(path.name + suffix).stat().st_mode & 0o777 == 0o600
    finally:
        connection.close()
