"""`python -m bot history` (the audit trail of changes from Telegram), and `learn`'s
messages: a draft is never said to be served, a read-only data folder is one plain line."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import load_settings
from bot.staff.faq_edit_desk import FaqEditDesk
from bot.storage.audit import AuditStore
from bot.storage.question_log import QuestionLog
from tests.conftest import TEST_FAQ
from tests.factories import settings_mapping, write_faq


@pytest.fixture
def config(tmp_path: Path) -> Path:
    write_faq(tmp_path / "faq", TEST_FAQ)
    mapping = settings_mapping(tmp_path / "faq", tmp_path / "data" / "questions.sqlite3")
    (tmp_path / "data").mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return path


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_history_lists_who_changed_which_file_and_with_diff_what(config: Path) -> None:
    settings = load_settings(config, environ={})
    code, out, _ = run("--config", str(config), "history")
    assert (code, out.startswith("No changes from Telegram yet")) == (0, True)
    with AuditStore(settings.question_log_path) as audit:
        desk = FaqEditDesk(settings, audit)
        desk.apply(desk.plan_reviewed("phone-number"), "Drita (7001)")

    code, out, err = run("--config", str(config), "history", "--diff")

    assert code == 0, err
    first, *diff = out.splitlines()
    assert first.startswith("#1  ")
    assert "reviewed  contact.yaml [phone-number]  by Drita (7001)  (applied)" in first
    assert diff[0] == "--- a/contact.yaml"
    assert any(line.startswith("+    reviewed: 20") for line in diff)


def test_accepting_a_draft_does_not_say_a_running_bot_serves_it(config: Path) -> None:
    settings = load_settings(config, environ={})
    with QuestionLog.from_settings(settings, environ={}) as log:
        for user in (1, 2, 3):
            log.record_question(
                "can i get a job at the agency", user_id=user, lang="en", outcome="fallback"
            )
    code, listing, _ = run("--config", str(config), "learn", "--format", "json")
    (suggestion,) = [s for s in json.loads(listing) if s["kind"] == "entry"]

    code, out, err = run("--config", str(config), "learn", "--accept", str(suggestion["id"]))

    assert code == 0, err
    assert "serves it" not in out
    assert "the bot never serves drafts" in out


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """The folder as a user without write permission sees it (root ignores permissions, so
    as root it is made immutable)."""
    as_root = shutil.which("chattr") is not None and Path("/proc/self").stat().st_uid == 0
    if as_root:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_learn_on_a_read_only_data_folder_says_so_in_one_line(config: Path) -> None:
    data = config.parent / "data"
    with read_only_folder(data):
        code, _, err = run("--config", str(config), "learn")

    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("learn: cannot write ")
    assert str(data) in lines[0]


def test_terminal_chat_keeps_the_chosen_language_after_one_albanian_question(
    config: Path,
) -> None:
    """/language English, then a question in Albanian (answered in Albanian), then /contact:
    the contact card is in English, as the choice says."""
    code, out, _ = run(
        "--config", str(config), "chat", stdin="/language\n2\nku ndodhet zyra\n/contact\n"
    )

    assert code == 0
    *_, albanian_answer, contact = [block for block in out.split("\n\n") if block.strip()]
    assert "Zyra jonë ndodhet" in albanian_answer
    assert contact.startswith("Agency for the Support of Civil Society (ASCS)")
    assert "from abroad" in contact
    assert "Agjencia" not in contact


_KILLED_EDIT = """
import os, signal, sys
from pathlib import Path
from bot.config import load_settings
from bot.staff import faq_edit_desk
from bot.staff.faq_writer import write_atomically
from bot.storage.audit import AuditStore

settings = load_settings(sys.argv[1], environ={})
moment = sys.argv[2]

def write_then_die(path: Path, data: bytes) -> None:
    if moment == "after":
        write_atomically(path, data)
    os.kill(os.getpid(), signal.SIGKILL)

faq_edit_desk.write_atomically = write_then_die
desk = faq_edit_desk.FaqEditDesk(settings, AuditStore(settings.question_log_path))
desk.apply(desk.plan_reviewed("phone-number"), "Drita (7001)")
"""


@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_kill_9_during_a_telegram_edit_is_settled_by_what_the_file_holds(
    config: Path, moment: str
) -> None:
    settings = load_settings(config, environ={})
    path = settings.faq_dir / "contact.yaml"
    before = path.read_bytes()
    repo = Path(__file__).resolve().parent.parent
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED_EDIT), str(config), moment],
        env={**os.environ, "PYTHONPATH": str(repo)},
        cwd=repo,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()

    code, out, err = run("--config", str(config), "history")  # settles it first

    assert code == 0, err
    if moment == "before":
        assert path.read_bytes() == before
        assert "(abandoned)" in out
    else:
        assert path.read_bytes() != before
        assert "(applied)" in out
        with AuditStore(settings.question_log_path) as audit:
            (record,) = audit.history()
            FaqEditDesk(settings, audit).undo(record.id, "Gent (7002)")
        assert path.read_bytes() == before
