"""Dated answers: an entry past its `expires:` day is not served, from that moment on,
without a reload; `reviewed:` dates feed lint and the staff report."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, DatedAnswerSettings
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.core.knowledge import KnowledgeBaseError, load_knowledge_base
from bot.core.knowledge_state import KnowledgeHolder
from bot.staff.lint import lint_warnings
from bot.staff.report import build_report, render_report
from tests.factories import CONTACT_FAQ, make_settings, write_faq

TIRANA = ZoneInfo("Europe/Tirane")

CALLS_FAQ = """\
category:
  en: Calls
  sq: Thirrjet
entries:
  - id: call-18
    reviewed: 2025-05-13
    expires: 2025-06-13
    questions:
      en:
        - "Is Call No. 18 open?"
        - call 18 deadline
      sq:
        - "A është e hapur Thirrja nr. 18?"
        - afati i thirrjes 18
    answer:
      en: "Call No. 18 is open until 13 June 2025."
      sq: "Thirrja nr. 18 është e hapur deri më 13 qershor 2025."
    related: [calls-in-general]
  - id: calls-in-general
    reviewed: "2025-05-01"
    questions:
      en:
        - "How do calls for proposals work?"
        - calls for proposals
      sq:
        - "Si funksionojnë thirrjet për propozime?"
        - thirrjet për propozime
    answer:
      en: "Calls are published on the website."
      sq: "Thirrjet publikohen në faqe."
    related: [call-18]
"""

# 13 June 2025 ends at midnight in Tirana, which is 22:00 UTC in summer.
LAST_MOMENT = datetime(2025, 6, 13, 21, 59, 59, tzinfo=UTC)
EXPIRY = datetime(2025, 6, 13, 22, 0, tzinfo=UTC)


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _build(tmp_path: Path, clock: MovableClock) -> tuple[Dialog, KnowledgeHolder]:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"calls.yaml": CALLS_FAQ, "contact.yaml": CONTACT_FAQ})
    return build_dialog(settings, clock=clock)


def test_dates_are_read_from_the_yaml_and_an_entry_expires_at_midnight_in_tirana(
    tmp_path: Path,
) -> None:
    faq = write_faq(tmp_path / "faq", {"calls.yaml": CALLS_FAQ})
    knowledge = load_knowledge_base(faq, time_zone=TIRANA)
    call = knowledge.entry("call-18")
    assert call is not None
    assert call.reviewed == date(2025, 5, 13)
    assert call.expires == date(2025, 6, 13)
    assert call.expires_at == EXPIRY
    assert not call.is_expired(LAST_MOMENT)
    assert call.is_expired(EXPIRY)
    general = knowledge.entry("calls-in-general")
    assert general is not None
    assert general.reviewed == date(2025, 5, 1)  # quoted text works too
    assert general.expires_at is None
    assert not general.is_expired(EXPIRY + timedelta(days=999))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("13.6.2025", "expires"),
        ("next week", "expires"),
        ("2025-13-45", "date that does not exist"),
    ],
)
def test_a_date_that_is_not_one_is_refused_with_a_clear_message(
    tmp_path: Path, written: str, expected: str
) -> None:
    faq = write_faq(tmp_path / "faq", {"calls.yaml": CALLS_FAQ.replace("2025-06-13", written, 1)})
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(faq)
    assert expected in str(caught.value)
    assert "calls.yaml" in str(caught.value)


def test_the_bot_stops_answering_an_expired_entry_by_itself_without_a_reload(
    tmp_path: Path,
) -> None:
    clock = MovableClock(LAST_MOMENT)
    dialog, holder = _build(tmp_path, clock)
    served = holder.current
    before = dialog.reply_to_question("is call no. 18 open?")
    assert before.kind == "answer"
    assert before.entry_id == "call-18"

    clock.now = EXPIRY
    after = dialog.reply_to_question("is call no. 18 open?")
    assert holder.current is served  # nothing was reloaded
    assert after.entry_id != "call-18"
    assert all(b.action != "e:call-18" for row in after.buttons for b in row)
    assert "Call No. 18 is open" not in after.text


def test_once_an_entry_expires_the_matcher_decides_as_if_it_were_not_there(
    tmp_path: Path,
) -> None:
    clock = MovableClock(LAST_MOMENT)
    dialog, _holder = _build(tmp_path, clock)
    question = "how do calls work, is 18 open"
    before = dialog.reply_to_question(question)
    assert before.kind == "suggest"  # two entries too close to call
    assert [c.entry_id for c in before.match.candidates] == ["call-18", "calls-in-general"]

    clock.now = EXPIRY
    after = dialog.reply_to_question(question)
    assert (after.kind, after.entry_id) == ("answer", "calls-in-general")


def test_an_expired_entry_is_absent_from_buttons_topics_deep_links_and_inline_search(
    tmp_path: Path,
) -> None:
    clock = MovableClock(EXPIRY + timedelta(days=1))
    dialog, _holder = _build(tmp_path, clock)

    pressed = dialog.show_entry("call-18", "en")
    assert pressed.kind == "topics"
    assert "no longer available" in pressed.text
    deep_link = dialog.welcome("en", payload="call-18")
    assert deep_link.kind == "welcome"
    category = dialog.category("calls", 0, "en")
    assert [b.action for row in category.buttons for b in row if b.action.startswith("e:")] == [
        "e:calls-in-general"
    ]
    general = dialog.show_entry("calls-in-general", "en")
    assert all(b.action != "e:call-18" for row in general.buttons for b in row)
    assert "call-18" not in [r.entry_id for r in dialog.search("call 18 deadline", "en")]

    clock.now = LAST_MOMENT  # the same dialog, before expiry, serves it everywhere
    assert dialog.show_entry("call-18", "en").entry_id == "call-18"
    assert "call-18" in [r.entry_id for r in dialog.search("call 18 deadline", "en")]


def test_lint_warns_on_expired_and_long_unreviewed_entries_only(tmp_path: Path) -> None:
    clock = MovableClock(datetime(2025, 7, 1, tzinfo=UTC))
    _dialog, holder = _build(tmp_path, clock)
    faq_dir = tmp_path / "faq"
    dated = DatedAnswerSettings(review_after_days=45)

    warnings = lint_warnings(holder.current, faq_dir, dated=dated)
    messages = {w.entry_id: w.message for w in warnings}
    assert "expired on 2025-06-13" in messages["call-18"]
    assert "last reviewed on 2025-05-01, more than 45 days ago" in messages["calls-in-general"]
    assert all(w.severity == "warning" and w.line > 0 for w in warnings)
    # The expired entry's own questions no longer find it, but that is one warning, not more.
    assert [w.entry_id for w in warnings].count("call-18") == 1

    assert lint_warnings(holder.current, faq_dir, dated=dated, now=LAST_MOMENT) == []
    relaxed = DatedAnswerSettings(review_after_days=3650)
    assert [w.entry_id for w in lint_warnings(holder.current, faq_dir, dated=relaxed)] == [
        "call-18"
    ]


def test_the_staff_report_lists_expired_and_stale_entries(tmp_path: Path) -> None:
    clock = MovableClock(datetime(2025, 7, 1, tzinfo=UTC))
    _dialog, holder = _build(tmp_path, clock)
    report = build_report(
        [],
        holder.current,
        timedelta(days=30),
        now=clock.now,
        dated=DatedAnswerSettings(review_after_days=45),
    )
    assert [(d.entry_id, d.state) for d in report.dated] == [
        ("call-18", "expired"),
        ("calls-in-general", "stale"),
    ]
    table = render_report(report, "table")
    assert "call-18: expired 2025-06-13, no longer served (faq/calls.yaml:" in table
    assert "calls-in-general: last reviewed 2025-05-01" in table
    data = json.loads(render_report(report, "json"))
    assert data["dated"][0] == {
        "id": "call-18",
        "state": "expired",
        "reviewed": "2025-05-13",
        "expires": "2025-06-13",
    }
    assert "dated,call-18,expired,2025-06-13" in render_report(report, "csv")

    fresh = build_report([], holder.current, timedelta(days=30), now=LAST_MOMENT)
    assert fresh.dated == ()
    assert "Dated answers" not in render_report(fresh, "table")


def test_the_time_zone_and_review_period_come_from_config(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, dated_answers={"review_after_days": 90, "time_zone": "Europe/Rome"}
    )
    assert settings.dated_answers.review_after_days == 90
    assert settings.dated_answers.zone == ZoneInfo("Europe/Rome")
    with pytest.raises(ConfigError, match=r"dated_answers\.time_zone"):
        make_settings(tmp_path, dated_answers={"time_zone": "Mars/Olympus"})
    with pytest.raises(ConfigError, match=r"dated_answers\.review_after_days"):
        make_settings(tmp_path, dated_answers={"review_after_days": 0})
