"""`python -m bot learn`: suggestions from the log, accepted into faq/, rejected, undone."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import Settings, load_settings
from bot.core.assembly import build_dialog
from bot.core.knowledge_state import build_knowledge
from bot.staff.learning_desk import LearnError, LearningDesk
from bot.storage.learning_store import LearningStore
from bot.storage.question_log import QuestionLog
from tests.conftest import TEST_FAQ
from tests.factories import settings_mapping, write_faq

REPO = Path(__file__).resolve().parent.parent
WORDING = "deadline for grants"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    write_faq(tmp_path / "faq", TEST_FAQ)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings_mapping(tmp_path / "faq")), encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def users_pick(settings: Settings, text: str, entry_id: str, users: range) -> None:
    """Each user asks `text`, is offered a choice and picks `entry_id`."""
    with (
        QuestionLog.from_settings(settings, environ={}) as log,
        LearningStore(settings.question_log_path) as store,
    ):
        for user in users:
            question_id = log.record_question(
                text, user_id=user, lang="en", outcome="suggest", score=59
            )
            store.record_choice(question_id, entry_id)


def listed(config: Path) -> list[dict[str, object]]:
    code, out, err = run("--config", str(config), "learn", "--format", "json")
    assert code == 0, err
    found: list[dict[str, object]] = json.loads(out)
    return found


def test_accepting_a_suggestion_writes_it_and_the_question_is_answered(config: Path) -> None:
    settings = load_settings(config, environ={})
    users_pick(settings, WORDING, "deadline-projects", range(1, 4))
    path = settings.faq_dir / "deadlines.yaml"
    before = path.read_bytes()
    dialog, _ = build_dialog(settings)
    assert dialog.reply_to_question(WORDING).kind == "suggest"

    (suggestion,) = listed(config)
    assert (suggestion["entry"], suggestion["text"], suggestion["users"]) == (
        "deadline-projects",
        WORDING,
        3,
    )
    code, table, _ = run("--config", str(config), "learn")
    assert code == 0
    assert f"{suggestion['id']}" in table
    assert WORDING in table

    code, out, err = run("--config", str(config), "learn", "--accept", str(suggestion["id"]))

    assert code == 0, err
    assert f'"{WORDING}"]' in out  # the diff
    assert path.read_bytes() != before
    reply = build_dialog(settings)[0].reply_to_question(WORDING)
    assert (reply.kind, reply.entry_id) == ("answer", "deadline-projects")
    assert listed(config) == []  # accepted: not suggested again


def test_undo_restores_the_file_byte_for_byte(config: Path) -> None:
    settings = load_settings(config, environ={})
    users_pick(settings, WORDING, "deadline-projects", range(1, 4))
    path = settings.faq_dir / "deadlines.yaml"
    before = path.read_bytes()
    (suggestion,) = listed(config)
    assert run("--config", str(config), "learn", "--accept", str(suggestion["id"]))[0] == 0

    code, out, _ = run("--config", str(config), "learn", "--undo")

    assert code == 0
    assert "back as it was" in out
    # The diff shows what undo did: the accepted wording taken out, not put in.
    changed = [line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert any(line.startswith("-") and WORDING in line for line in changed)
    assert not any(line.startswith("+") and WORDING in line for line in changed)
    assert path.read_bytes() == before
    # Undone, the suggestion is open again; a second undo has nothing to revert.
    assert [s["id"] for s in listed(config)] == [suggestion["id"]]
    code, _, err = run("--config", str(config), "learn", "--undo")
    assert code == 1
    assert "nothing to undo" in err


def test_undo_refuses_when_staff_edited_the_file_since(config: Path) -> None:
    settings = load_settings(config, environ={})
    users_pick(settings, WORDING, "deadline-projects", range(1, 4))
    (suggestion,) = listed(config)
    run("--config", str(config), "learn", "--accept", str(suggestion["id"]))
    path = settings.faq_dir / "deadlines.yaml"
    edited = path.read_bytes() + b"# a note by staff\n"
    path.write_bytes(edited)

    code, _, err = run("--config", str(config), "learn", "--undo")

    assert code == 1
    assert "edited after" in err
    assert path.read_bytes() == edited


def test_a_rejected_suggestion_is_not_offered_again_and_nothing_is_written(
    config: Path,
) -> None:
    settings = load_settings(config, environ={})
    users_pick(settings, WORDING, "deadline-projects", range(1, 4))
    files = {p: p.read_bytes() for p in settings.faq_dir.iterdir()}
    (suggestion,) = listed(config)

    code, out, _ = run("--config", str(config), "learn", "--reject", str(suggestion["id"]))

    assert code == 0
    assert "will not be suggested again" in out
    assert listed(config) == []
    users_pick(settings, WORDING, "deadline-projects", range(4, 8))  # more people, same wording
    assert listed(config) == []
    assert {p: p.read_bytes() for p in settings.faq_dir.iterdir()} == files
    code, _, err = run("--config", str(config), "learn", "--accept", str(suggestion["id"]))
    assert code == 1
    assert "no open suggestion" in err


def test_a_variant_that_would_break_lint_is_refused_and_the_file_kept(config: Path) -> None:
    settings = load_settings(config, environ={})
    path = settings.faq_dir / "deadlines.yaml"
    before = path.read_bytes()
    with (
        QuestionLog.from_settings(settings, environ={}) as log,
        LearningStore(settings.question_log_path) as store,
    ):
        loaded = build_knowledge(settings)
        desk = LearningDesk(settings, store, log, lambda: loaded)
        with pytest.raises(LearnError, match="lint"):
            desk.add_question(
                "deadline-projects", "en", "When is the deadline for institutional grants?", "t"
            )
        assert store.last_applied() is None
    assert path.read_bytes() == before


def test_a_new_entry_is_drafted_where_lint_reports_it(config: Path) -> None:
    settings = load_settings(config, environ={})
    with QuestionLog.from_settings(settings, environ={}) as log:
        for user in (1, 2, 3):
            log.record_question(
                "can i get a job at the agency", user_id=user, lang="en", outcome="fallback"
            )
    (suggestion,) = listed(config)
    assert suggestion["kind"] == "entry"

    code, _, err = run("--config", str(config), "learn", "--accept", str(suggestion["id"]))

    assert code == 0, err
    drafts = yaml.safe_load((settings.faq_dir / "drafts" / "new-entries.yaml").read_text())
    assert drafts["drafts"][0]["questions"] == {"en": ["can i get a job at the agency"]}
    assert build_knowledge(settings).knowledge.entry(drafts["drafts"][0]["id"]) is None
    code, out, _ = run("--config", str(config), "lint")
    assert "1 draft entry" in out


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from bot.config import load_settings
from bot.core.knowledge_state import build_knowledge
from bot.staff import learning_desk
from bot.staff.faq_writer import write_atomically
from bot.storage.learning_store import LearningStore
from bot.storage.question_log import QuestionLog

settings = load_settings(sys.argv[1], environ={})
moment = sys.argv[2]

def write_then_die(path: Path, data: bytes) -> None:
    if moment == "after":
        write_atomically(path, data)
    os.kill(os.getpid(), signal.SIGKILL)

learning_desk.write_atomically = write_then_die
log = QuestionLog.from_settings(settings, environ={})
store = LearningStore(settings.question_log_path)
loaded = build_knowledge(settings)
desk = learning_desk.LearningDesk(settings, store, log, lambda: loaded)
desk.accept(desk.suggestions()[0].id, "cli")
"""


@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_kill_9_during_accept_is_settled_by_what_the_file_holds(
    config: Path, moment: str
) -> None:
    settings = load_settings(config, environ={})
    users_pick(settings, WORDING, "deadline-projects", range(1, 4))
    path = settings.faq_dir / "deadlines.yaml"
    before = path.read_bytes()
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    script = textwrap.dedent(_KILLED_WRITER)

    child = subprocess.run(
        [sys.executable, "-c", script, str(config), moment],
        env=environ,
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    suggestions = listed(config)  # settles the interrupted change first
    if moment == "before":
        assert path.read_bytes() == before  # nothing written, and offered again
        assert len(suggestions) == 1
        assert run("--config", str(config), "learn", "--undo")[0] == 1
    else:
        assert path.read_bytes() != before  # written: counted as accepted, and undoable
        assert suggestions == []
        assert run("--config", str(config), "learn", "--undo")[0] == 0
        assert path.read_bytes() == before
