"""Editing faq/ in place: one value changed and every other byte kept, a new file's changes
summarised, conflicts noticed, and every write recorded and undone byte for byte."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.staff.faq_edit_desk import FaqEditDesk
from bot.staff.faq_editing import (
    EditConflict,
    EditRefused,
    summarise_change,
    with_answer,
    with_reviewed,
)
from bot.storage.audit import AuditStore
from tests.conftest import TEST_FAQ
from tests.factories import CONTACT_FAQ, make_settings, write_faq

DAY = date(2026, 12, 8)

STYLES = """\
# Staff notes at the top stay.
category: {en: Styles, sq: Stilet}
entries:
  - id: block   # a comment after the id
    questions: {en: [block answer], sq: [pergjigje blloku]}
    answer:
      sq: |
        Rreshti i parë
        rreshti i dytë

      en: >-
        folded
        text
    # a comment between keys
    links: [map]
  - {id: flow, questions: {en: [flow answer]}, answer: {en: 'single quoted', sq: "dyfish"}}
"""


def test_a_block_answer_is_replaced_and_the_blank_line_and_comments_after_it_stay() -> None:
    after = with_answer(STYLES, "block", "sq", 'E re: ë dhe ç, "thonjëza"', DAY)

    assert after == STYLES.replace(
        "      sq: |\n        Rreshti i parë\n        rreshti i dytë\n",
        '      sq: "E re: ë dhe ç, \\"thonjëza\\""\n',
    ).replace(
        "  - id: block   # a comment after the id\n",
        "  - id: block   # a comment after the id\n    reviewed: 2026-12-08\n",
    )


def test_an_answer_in_a_flow_mapping_is_replaced_in_place() -> None:
    after = with_answer(STYLES, "flow", "en", "two\nlines", DAY)

    assert after == STYLES.replace(
        "{id: flow, questions: {en: [flow answer]}, answer: {en: 'single quoted',",
        "{id: flow, reviewed: 2026-12-08, questions: {en: [flow answer]}, "
        'answer: {en: "two\\nlines",',
    )


def test_an_existing_reviewed_date_is_replaced_not_added_twice() -> None:
    once = with_reviewed(STYLES, "block", date(2020, 1, 1))
    twice = with_reviewed(once, "block", DAY)

    assert twice == once.replace("reviewed: 2020-01-01", "reviewed: 2026-12-08")


def test_windows_line_ends_are_kept() -> None:
    crlf = CONTACT_FAQ.replace("\n", "\r\n")

    after = with_reviewed(crlf, "phone-number", DAY)

    assert after == crlf.replace(
        "  - id: phone-number\r\n", "  - id: phone-number\r\n    reviewed: 2026-12-08\r\n"
    )


def test_an_entry_or_language_that_is_not_there_is_refused() -> None:
    with pytest.raises(EditRefused, match="no entry 'missing'"):
        with_answer(STYLES, "missing", "en", "text", DAY)
    with pytest.raises(EditRefused, match="no answer in 'de'"):
        with_answer(STYLES, "block", "de", "text", DAY)


def test_the_summary_names_the_entries_added_removed_and_changed() -> None:
    after = CONTACT_FAQ.replace("Call us on {phone}", "Ring us on {phone}").replace(
        "  - id: office-address", "  - id: office-address-new"
    )

    changes = summarise_change(CONTACT_FAQ, after, "en")

    assert [(c.kind, c.entry_id, c.question) for c in changes] == [
        ("added", "office-address-new", "Where is your office?"),
        ("changed", "phone-number", "What is your phone number?"),
        ("removed", "office-address", "Where is your office?"),
    ]
    assert changes[1].fields == ("answer",)
    assert changes[1].answer.startswith("Ring us on {phone}")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    loaded = make_settings(tmp_path)
    write_faq(loaded.faq_dir, TEST_FAQ)
    return loaded


def test_undo_is_refused_when_the_file_was_edited_since(settings: Settings) -> None:
    with AuditStore(None) as audit:
        desk = FaqEditDesk(settings, audit)
        path = settings.faq_dir / "contact.yaml"
        change_id = desk.apply(desk.plan_reviewed("phone-number"), "Drita (7001)")
        edited = path.read_bytes() + b"# a note added over SSH\n"
        path.write_bytes(edited)

        with pytest.raises(EditConflict) as refused:
            desk.undo(change_id, "Drita (7001)")

        assert "+# a note added over SSH" in refused.value.diff
        assert path.read_bytes() == edited


def test_a_change_interrupted_before_the_file_was_replaced_is_settled_as_abandoned(
    settings: Settings,
) -> None:
    """kill -9 between recording a change and replacing the file: the next use finds the
    file as it was and says so in the trail; one interrupted after the rename is applied."""
    path = settings.faq_dir / "contact.yaml"
    before = path.read_bytes()
    with AuditStore(settings.question_log_path) as audit:
        desk = FaqEditDesk(settings, audit)
        plan = desk.plan_reviewed("phone-number")
        audit.begin("reviewed", path, plan.before, plan.after, plan.diff, changed_by="x")
        second = desk.plan_reviewed("office-address")
        written = audit.begin(
            "reviewed", path, second.before, second.after, second.diff, changed_by="x"
        )
        path.write_bytes(second.after)
    with AuditStore(settings.question_log_path) as reopened:
        FaqEditDesk(settings, reopened).settle()
        states = {r.id: r.state for r in reopened.history()}
    assert states == {written - 1: "abandoned", written: "applied"}
    assert path.read_bytes() != before


def test_a_reminder_is_claimed_once_across_reopening_the_database(tmp_path: Path) -> None:
    database = tmp_path / "questions.sqlite3"
    with AuditStore(database) as audit:
        assert audit.claim_reminder("expires:call-18:2026-12-11:7001")
        assert not audit.claim_reminder("expires:call-18:2026-12-11:7001")
    with AuditStore(database, clock=lambda: datetime(2027, 1, 1, tzinfo=UTC)) as reopened:
        assert not reopened.claim_reminder("expires:call-18:2026-12-11:7001")
        assert reopened.claim_reminder("expires:call-18:2026-12-20:7001")  # a new date
