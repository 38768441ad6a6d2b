"""Staff edit faq/ while the bot runs: good edits go live, broken ones never do."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.knowledge import Problem
from bot.core.knowledge_state import KnowledgeHolder, LoadedKnowledge, build_knowledge
from bot.staff.reloader import KnowledgeReloader, ReloadResult, is_faq_file
from tests.factories import make_settings, write_faq

ENTRY = """\
  - id: {id}
    questions:
      en:
        - "{question}"
      sq:
        - "{question_sq}"
    answer:
      en: "{version}: {answer}"
      sq: "{version}: {answer_sq}"
"""


def contact_faq(version: str, *, extra_entry: bool = False) -> str:
    """A small contact topic whose answers all name `version`."""
    entries = [
        (
            "office-address",
            "Where is your office?",
            "Ku ndodhet zyra?",
            "the office is in Tirana.",
            "zyra është në Tiranë.",
        ),
        (
            "phone-number",
            "What is your phone number?",
            "Cili është numri i telefonit?",
            "call us.",
            "na telefononi.",
        ),
    ]
    if extra_entry:
        entries.append(
            (
                "opening-hours",
                "When are you open?",
                "Kur jeni hapur?",
                "Monday to Friday.",
                "nga e hëna në të premte.",
            )
        )
    return "entries:\n" + "".join(
        ENTRY.format(
            id=entry_id,
            question=question,
            question_sq=question_sq,
            version=version,
            answer=answer,
            answer_sq=answer_sq,
        )
        for entry_id, question, question_sq, answer, answer_sq in entries
    )


BROKEN_YAML = """\
    entries:
      - id: office-address
        questions: [Where is your office?: yes
    """
MISSING_ANSWER = """\
    entries:
      - id: office-address
        questions:
          en:
            - "Where is your office?"
    """


class Calls:
    """Records what the reloader told the staff."""

    def __init__(self) -> None:
        self.reloaded: list[LoadedKnowledge] = []
        self.rejected: list[tuple[Problem, ...]] = []

    def on_reloaded(self, loaded: LoadedKnowledge) -> None:
        self.reloaded.append(loaded)

    def on_rejected(self, problems: tuple[Problem, ...]) -> None:
        self.rejected.append(problems)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"contact.yaml": contact_faq("Version A")})
    return settings


@pytest.fixture
def holder(settings: Settings) -> KnowledgeHolder:
    return KnowledgeHolder(build_knowledge(settings))


@pytest.fixture
def calls() -> Calls:
    return Calls()


def no_wait(_seconds: float) -> None:
    pass


def make_reloader(
    settings: Settings, holder: KnowledgeHolder, calls: Calls, **options: object
) -> KnowledgeReloader:
    return KnowledgeReloader(
        settings,
        holder,
        on_reloaded=calls.on_reloaded,
        on_rejected=calls.on_rejected,
        **({"sleep": no_wait} | options),  # type: ignore[arg-type]
    )


def edit(settings: Settings, text: str, name: str = "contact.yaml") -> None:
    write_faq(settings.faq_dir, {name: text})


def answer_to(holder: KnowledgeHolder, question: str) -> str:
    snapshot = holder.current
    match = snapshot.matcher.match(question)
    assert match.status == "answer", match
    entry = snapshot.knowledge.entry(match.entry_id or "")
    assert entry is not None
    return entry.answer("en")[0]


def test_a_valid_edit_is_loaded_and_served(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    reloader = make_reloader(settings, holder, calls)
    edit(settings, contact_faq("Version B", extra_entry=True))
    result = reloader.reload_now()
    assert result.status == "reloaded"
    assert holder.current is result.served
    assert answer_to(holder, "When are you open?") == "Version B: Monday to Friday."
    assert calls.reloaded == [result.served]
    assert calls.rejected == []


def test_a_broken_edit_is_rejected_and_the_old_version_keeps_answering(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    served_before = holder.current
    reloader = make_reloader(settings, holder, calls)
    edit(settings, MISSING_ANSWER)
    result = reloader.reload_now()
    assert result.status == "rejected"
    assert holder.current is served_before
    assert answer_to(holder, "Where is your office?") == "Version A: the office is in Tirana."
    [problems] = calls.rejected
    assert problems == result.problems
    assert any("contact.yaml:" in str(p) and "answer" in p.message for p in problems)
    assert all(p.line > 0 for p in problems)


def test_problems_are_logged_with_file_and_line(
    settings: Settings,
    holder: KnowledgeHolder,
    calls: Calls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    edit(settings, BROKEN_YAML)
    [problem] = make_reloader(settings, holder, calls).reload_now().problems
    assert problem.line > 0
    assert f"faq/contact.yaml:{problem.line}: error: YAML syntax error" in caplog.text


def test_fixing_the_file_brings_the_new_version_without_a_restart(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    reloader = make_reloader(settings, holder, calls)
    edit(settings, BROKEN_YAML)
    assert reloader.reload_now().status == "rejected"
    edit(settings, contact_faq("Version B"))
    assert reloader.reload_now().status == "reloaded"
    assert answer_to(holder, "Where is your office?") == "Version B: the office is in Tirana."
    assert len(calls.rejected) == 1
    assert len(calls.reloaded) == 1


def test_undoing_a_broken_edit_gives_the_all_clear(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    reloader = make_reloader(settings, holder, calls)
    assert reloader.reload_now().status == "reloaded"
    edit(settings, BROKEN_YAML)
    assert reloader.reload_now().status == "rejected"
    edit(settings, contact_faq("Version A"))
    assert reloader.reload_now().status == "reloaded"
    assert len(calls.reloaded) == 2


def test_the_same_problems_are_reported_once_not_on_every_save(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    reloader = make_reloader(settings, holder, calls)
    edit(settings, BROKEN_YAML)
    first = reloader.reload_now()
    edit(settings, BROKEN_YAML + "\n# saved again\n")
    repeat = reloader.reload_now()
    assert (first.reported, repeat.reported) == (True, False)
    assert len(calls.rejected) == 1

    edit(settings, MISSING_ANSWER)  # a different mistake is news
    assert reloader.reload_now().reported
    edit(settings, contact_faq("Version B"))
    reloader.reload_now()
    edit(settings, BROKEN_YAML)  # the first mistake again, after a good version: news again
    assert reloader.reload_now().reported
    assert len(calls.rejected) == 3


def test_a_file_caught_half_written_loads_once_the_save_completes(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    waits: list[float] = []

    def editor_finishes_saving(seconds: float) -> None:
        waits.append(seconds)
        edit(settings, contact_faq("Version B"))

    edit(settings, contact_faq("Version B")[:200])  # the editor has written part of the file
    reloader = make_reloader(settings, holder, calls, sleep=editor_finishes_saving)
    result = reloader.reload_now()
    assert result.status == "reloaded"
    assert calls.rejected == []
    assert len(waits) == 1
    assert answer_to(holder, "Where is your office?") == "Version B: the office is in Tirana."


def test_a_file_that_stays_broken_is_reported_after_one_short_wait(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    waits: list[float] = []
    reloader = make_reloader(settings, holder, calls, sleep=waits.append, settle_delay=1.0)
    edit(settings, BROKEN_YAML)
    assert reloader.reload_now().status == "rejected"
    assert waits == [1.0]
    assert len(calls.rejected) == 1


def test_saving_the_same_content_again_reloads_nothing(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    reloader = make_reloader(settings, holder, calls)
    assert reloader.reload_now().status == "reloaded"
    served = holder.current
    edit(settings, contact_faq("Version A"))
    assert reloader.reload_now().status == "unchanged"
    assert holder.current is served
    assert len(calls.reloaded) == 1


def test_a_failing_notification_does_not_undo_the_reload(
    settings: Settings, holder: KnowledgeHolder
) -> None:
    def unreachable(_loaded: LoadedKnowledge) -> None:
        raise ConnectionError("Telegram is unreachable")

    reloader = KnowledgeReloader(settings, holder, on_reloaded=unreachable, sleep=no_wait)
    edit(settings, contact_faq("Version B"))
    assert reloader.reload_now().status == "reloaded"
    assert answer_to(holder, "What is your phone number?") == "Version B: call us."


async def test_reload_from_the_event_loop_awaits_async_callbacks(
    settings: Settings, holder: KnowledgeHolder
) -> None:
    told: list[tuple[Problem, ...]] = []

    async def message_the_admins(problems: tuple[Problem, ...]) -> None:
        await asyncio.sleep(0)
        told.append(problems)

    reloader = KnowledgeReloader(settings, holder, on_rejected=message_the_admins, sleep=no_wait)
    edit(settings, BROKEN_YAML)
    result = await reloader.reload()
    assert result.status == "rejected"
    assert told == [result.problems]


@pytest.mark.parametrize(
    ("name", "watched"),
    [
        ("contact.yaml", True),
        ("grants.yml", True),
        ("notes.txt", False),
        ("contact.yaml~", False),
        (".contact.yaml.swp", False),
        (".#contact.yaml", False),
        ("#contact.yaml#", False),
    ],
)
def test_only_faq_files_are_watched_not_editor_backups(name: str, watched: bool) -> None:
    assert is_faq_file(f"/srv/bot/faq/{name}") is watched


async def test_the_watcher_picks_up_a_change_within_a_few_seconds(
    settings: Settings, holder: KnowledgeHolder
) -> None:
    reloaded = asyncio.Event()
    reloader = KnowledgeReloader(
        settings, holder, on_reloaded=lambda _loaded: reloaded.set(), sleep=no_wait
    )
    stop = asyncio.Event()
    watching = asyncio.create_task(reloader.watch(stop))
    try:
        # The watcher needs a moment to start, and a change made before it does is not seen:
        # save again (with new content) until it notices, for ten seconds at most.
        deadline = time.monotonic() + 10
        saves = 0
        while not reloaded.is_set() and time.monotonic() < deadline:
            saves += 1
            edit(settings, contact_faq(f"Version {saves}", extra_entry=True))
            try:
                await asyncio.wait_for(reloaded.wait(), timeout=1.5)
            except TimeoutError:
                continue
        assert reloaded.is_set()
        assert answer_to(holder, "When are you open?").endswith(": Monday to Friday.")
    finally:
        stop.set()
        await asyncio.wait_for(watching, timeout=10)


def test_questions_asked_during_reloads_are_answered_from_one_complete_version(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    versions = {
        "Version A": contact_faq("Version A"),
        "Version B": contact_faq("Version B", extra_entry=True),
    }
    entry_ids = {
        "Version A": {"office-address", "phone-number"},
        "Version B": {"office-address", "phone-number", "opening-hours"},
    }
    reloader = make_reloader(settings, holder, calls)
    problems: list[str] = []
    seen: set[str] = set()
    asked = 0
    stop = threading.Event()

    def ask_in_a_loop() -> None:
        nonlocal asked
        deadline = time.monotonic() + 60
        questions = ["Where is your office?", "What is your phone number?", "Kur jeni hapur?"]
        while not stop.is_set() and asked < 1_000_000 and time.monotonic() < deadline:
            try:
                snapshot = holder.current
                answers = {e.answer("en")[0].split(":")[0] for e in snapshot.knowledge}
                [version] = answers  # every answer of the snapshot is from one version
                if {e.id for e in snapshot.knowledge} != entry_ids[version]:
                    problems.append(f"{version} has entries {[e.id for e in snapshot.knowledge]}")
                match = snapshot.matcher.match(questions[asked % len(questions)])
                if match.entry_id is not None and snapshot.knowledge.entry(match.entry_id) is None:
                    problems.append(f"{version} answered with a missing entry {match.entry_id}")
                seen.add(version)
            except Exception as error:  # anything at all is a failure of the swap
                problems.append(repr(error))
            asked += 1

    def wait_for_two_more_questions() -> None:
        # Two: the second one surely started after the swap, so it saw the new version.
        target = asked + 2
        deadline = time.monotonic() + 10
        while asked < target and time.monotonic() < deadline:
            time.sleep(0.001)

    asker = threading.Thread(target=ask_in_a_loop)
    asker.start()
    try:
        results: list[ReloadResult] = []
        for _round in range(5):
            for text in (versions["Version B"], BROKEN_YAML, MISSING_ANSWER, versions["Version A"]):
                edit(settings, text)
                results.append(reloader.reload_now())
                wait_for_two_more_questions()
    finally:
        stop.set()
        asker.join(timeout=30)
    assert not asker.is_alive()
    assert problems == []
    assert seen == {"Version A", "Version B"}
    assert [r.status for r in results[:4]] == ["reloaded", "rejected", "rejected", "reloaded"]


def test_an_edit_of_the_synonyms_glossary_is_reloaded_with_the_knowledge_base(
    settings: Settings, holder: KnowledgeHolder, calls: Calls
) -> None:
    reloader = make_reloader(settings, holder, calls)
    assert holder.current.matcher.match("selia").best is None
    (settings.faq_dir / "synonyms.yaml").write_text(
        "synonyms:\n  - [office, selia]\n", encoding="utf-8"
    )
    result = reloader.reload_now()
    assert result.status == "reloaded"
    best = holder.current.matcher.match("selia").best
    assert best is not None
    assert best.entry_id == "office-address"
    assert [c.key for c in holder.current.knowledge.categories] == ["contact"]  # not a topic
    (settings.faq_dir / "synonyms.yaml").write_text(
        "synonyms:\n  - [office, selia]\n  - [selia, seli]\n", encoding="utf-8"
    )
    rejected = reloader.reload_now()
    assert rejected.status == "rejected"
    assert any("faq/synonyms.yaml:3" in str(p) for p in rejected.problems)
