"""The question report as a web page: the numbers of the JSON report, charts that render in
a browser, user text shown as text, in the staff's language, with or without pygal."""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.config import load_settings
from bot.core.dated import DatedEntry
from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.core.locales import Locales, load_locales
from bot.staff.report import Report, build_report, render_report
from bot.staff.report_html import SECTIONS, Section, Texts, render_html_report
from bot.storage.question_log import LoggedQuestion, QuestionLog
from bot.storage.tickets import TicketStats
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, make_settings, settings_mapping, write_faq
from tests.web_pages import (
    SVG,
    XHTML,
    elements,
    ids_are_unique,
    open_in_chromium,
    parse_page,
    table_rows,
    text_of,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
_ids = iter(range(1_000_000))


def asked(
    text: str,
    outcome: str,
    *,
    entry_id: str | None = None,
    lang: str | None = "en",
    user: str = "user-1",
    days_ago: float = 1,
    helpful: bool | None = None,
) -> LoggedQuestion:
    return LoggedQuestion(
        id=f"q{next(_ids)}",
        asked_at=NOW - timedelta(days=days_ago),
        text=text,
        lang=lang,
        outcome=outcome,
        entry_id=entry_id,
        score=0.0,
        user_hash=user,
        channel="telegram",
        helpful=helpful,
    )


# Known contents over a week: every outcome, two languages and an unknown one, votes both
# ways, a user's hostile text, and an entry that is no longer in the FAQ.
LOG = [
    asked("how do i register an ngo", "fallback", user="u1", days_ago=1),
    asked("how do i register an ngo", "fallback", user="u2", days_ago=2),
    asked("how to register ngo", "fallback", user="u3", days_ago=3),
    asked("ku mund te paguaj taksen", "fallback", lang="sq", user="u4", days_ago=3),
    asked(HOSTILE, "fallback", user="u5", days_ago=4),
    asked("telephone number of the office", "suggest", entry_id="office-address", days_ago=2),
    asked("where is your office", "answer", entry_id="office-address", helpful=False),
    asked("office address", "answer", entry_id="office-address", helpful=True, days_ago=2),
    asked("ku ndodhet zyra", "answer", entry_id="office-address", lang="sq", days_ago=5),
    asked("adresa e zyres", "answer", entry_id="office-address", lang="sq", days_ago=6),
    asked("phone number", "answer", entry_id="phone-number", helpful=False, days_ago=6),
    asked("old question", "answer", entry_id="removed-entry", lang=None, days_ago=4),
    asked("hello", "smalltalk", user="u2", days_ago=1),
]


@pytest.fixture
def knowledge(tmp_path: Path) -> LoadedKnowledge:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    return build_knowledge(settings)


@pytest.fixture
def locales() -> Locales:
    return load_locales(("sq", "en"))


@pytest.fixture
def report(knowledge: LoadedKnowledge) -> Report:
    return build_report(LOG, knowledge, timedelta(days=7), now=NOW)


def json_of(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_report(report, "json"))
    return data


def chart_values(svg: Any) -> list[str]:
    """The values pygal wrote for each point (its tooltips' text)."""
    return [
        (desc.text or "")
        for desc in svg.iter(f"{SVG}desc")
        if (desc.get("class") or "").split() == ["value"]
    ]


def charts(tree: Any) -> dict[str, Any]:
    """Section key -> its chart's <svg>."""
    found = {}
    for section in elements(tree, "section"):
        svgs = list(section.iter(f"{SVG}svg"))
        if svgs:
            found[section.get("data-section")] = svgs[0]
    return found


# ----- one model, several renderers ---------------------------------------------------------


def test_every_number_on_the_page_is_that_of_the_json_report(
    report: Report, locales: Locales
) -> None:
    data = json_of(report)
    tree = parse_page(render_html_report(report, locales, "en"))

    summary = {dd.get("data-key"): text_of(dd) for dd in elements(tree, "dd")}
    assert summary == {
        "questions": str(data["questions"]),
        "people": str(data["people"]),
        "answer": str(data["outcomes"]["answer"]),
        "suggest": str(data["outcomes"]["suggest"]),
        "fallback": str(data["outcomes"]["fallback"]),
        "fallback_share": f"{data['fallback_share']:.0%}",
    }
    assert summary["questions"] == "13"  # the known contents, not just agreement

    per_day = table_rows(tree, "per-day")
    outcomes = ["answer", "suggest", "fallback", "smalltalk"]
    assert per_day == [
        [day["date"], *(str(day["outcomes"].get(o, 0)) for o in outcomes), str(total["questions"])]
        for day, total in zip(data["per_day_outcomes"], data["per_day"], strict=True)
    ]

    entries = table_rows(tree, "most-asked")
    assert [[row[0].split(":")[0], *row[1:]] for row in entries] == [
        [e["id"], str(e["asked"]), str(e["helpful"]), str(e["not_helpful"])]
        for e in data["entries"]
    ]
    assert table_rows(tree, "languages") == [
        [{"en": "English", "sq": "Shqip", "?": "Unknown"}[row["lang"]], str(row["questions"])]
        for row in data["per_language"]
    ]
    for key in ("unanswered", "low_confidence"):
        rows = table_rows(tree, key.replace("_", "-"))
        assert [(int(r[0]), r[1]) for r in rows] == [
            (group["count"], " ".join(group["samples"])) for group in data[key]
        ]
    unhelpful = [e for e in data["entries"] if e["not_helpful"]]
    assert [r[0].split(":")[0] for r in table_rows(tree, "unhelpful")] == [
        e["id"] for e in sorted(unhelpful, key=lambda e: (-e["not_helpful"], e["helpful"], e["id"]))
    ]
    assert [r[0].split(":")[0] for r in table_rows(tree, "never-asked")] == data["never_asked"]


def test_the_charts_draw_the_numbers_of_the_json_report(report: Report, locales: Locales) -> None:
    data = json_of(report)
    drawn = charts(parse_page(render_html_report(report, locales, "en")))
    assert set(drawn) == {"per-day", "answered-share", "most-asked", "feedback", "languages"}

    per_day_total = sum(int(float(v)) for v in chart_values(drawn["per-day"]) if v)
    assert per_day_total == data["questions"]
    asked = sorted(str(e["asked"]) for e in data["entries"] if e["asked"])
    assert sorted(chart_values(drawn["most-asked"])) == asked
    expected_shares = []
    for day in data["per_day_outcomes"]:
        counts = day["outcomes"]
        real = sum(counts.get(o, 0) for o in ("answer", "suggest", "fallback"))
        if real:
            expected_shares.append(f"{counts.get('answer', 0) / real:.0%}")
    assert chart_values(drawn["answered-share"]) == expected_shares
    voted = [e for e in data["entries"] if e["helpful"] or e["not_helpful"]]
    assert sorted(chart_values(drawn["feedback"])) == sorted(
        str(n) for e in voted for n in (e["helpful"], e["not_helpful"])
    )
    assert len(voted) == 2
    assert sorted(chart_values(drawn["languages"])) == sorted(
        str(row["questions"]) for row in data["per_language"]
    )


# ----- safe and self-contained --------------------------------------------------------------


def test_a_users_html_is_shown_as_text_never_run(report: Report, locales: Locales) -> None:
    page = render_html_report(report, locales, "en")
    tree = parse_page(page)
    assert elements(tree, "script") == []
    assert elements(tree, "img") == []
    cells = [text_of(td) for td in elements(tree, "td")]
    assert HOSTILE in cells
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" not in page  # escaped once
    assert "&lt;script&gt;" in page


def test_the_page_is_valid_html_and_loads_nothing_from_outside(
    report: Report, locales: Locales
) -> None:
    page = render_html_report(report, locales, "en")
    tree = parse_page(page)  # strict: fails on any parse error
    assert ids_are_unique(tree) == []
    html_element = tree if tree.tag == f"{XHTML}html" else tree.find(f"{XHTML}html")
    assert html_element is not None
    assert html_element.get("lang") == "en"
    assert [a.get("href", "")[:1] for a in elements(tree, "a")] == ["#"] * len(elements(tree, "a"))
    assert elements(tree, "link") == []
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    policies = [
        m.get("content", "")
        for m in elements(tree, "meta")
        if m.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policies == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:"]
    assert any(m.get("name") == "viewport" for m in elements(tree, "meta"))
    assert "@media print" in page


def test_the_page_comes_in_the_staffs_language(report: Report, locales: Locales) -> None:
    tree = parse_page(render_html_report(report, locales, "sq"))
    headings = [text_of(h) for h in elements(tree, "h1") + elements(tree, "h2")]
    assert headings[0] == "Raporti i pyetjeve"
    assert "Pyetje në ditë, sipas rezultatit" in headings
    assert "Pyetje pa përgjigje, të grupuara" in headings
    english = parse_page(render_html_report(report, locales, "en"))
    english_headings = {text_of(h) for h in elements(english, "h2")}
    assert not english_headings & set(headings)


def test_without_pygal_the_page_has_its_tables_and_says_how_to_get_the_charts(
    report: Report, locales: Locales, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pygal", None)  # import pygal now fails
    tree = parse_page(render_html_report(report, locales, "en"))
    assert list(tree.iter(f"{SVG}svg")) == []
    (note,) = [p for p in elements(tree, "p") if p.get("id") == "charts-missing"]
    assert "pip install" in text_of(note)
    assert len(table_rows(tree, "per-day")) == 8
    assert elements(tree, "details") == []  # no chart: the numbers are shown, not folded


def test_a_period_without_questions_says_so(knowledge: LoadedKnowledge, locales: Locales) -> None:
    empty = build_report([], knowledge, timedelta(days=7), now=NOW)
    tree = parse_page(render_html_report(empty, locales, "en"))
    assert list(tree.iter(f"{SVG}svg")) == []
    empty_notes = [text_of(p) for p in elements(tree, "p") if p.get("class") == "empty"]
    assert empty_notes.count("Nothing in this period.") >= 3


def test_a_new_section_is_one_function_added_to_the_list(
    report: Report, locales: Locales, monkeypatch: pytest.MonkeyPatch
) -> None:
    def tickets(report: Report, t: Texts) -> Section:
        return Section("tickets", "Tickets", empty=f"{report.questions} questions, no tickets")

    monkeypatch.setattr("bot.staff.report_html.SECTIONS", [*SECTIONS, tickets])
    tree = parse_page(render_html_report(report, locales, "en"))
    (section,) = [s for s in elements(tree, "section") if s.get("data-section") == "tickets"]
    assert "13 questions, no tickets" in text_of(section)
    assert "#tickets" in [a.get("href") for a in elements(tree, "a")]


def test_expired_and_stale_entries_are_listed_for_staff_to_check(
    report: Report, locales: Locales
) -> None:
    dated = (
        DatedEntry("call-18", "expired", date(2026, 1, 5), date(2026, 3, 1), "faq/news.yaml", 12),
        DatedEntry("office-hours", "stale", date(2024, 2, 1), None, "faq/contact.yaml", 40),
    )
    tree = parse_page(render_html_report(replace(report, dated=dated), locales, "en"))
    (section,) = [s for s in elements(tree, "section") if s.get("data-section") == "dated"]
    cells = [text_of(td) for td in elements(section, "td")]
    assert cells == [
        "call-18",
        "expired on 2026-03-01, no longer given",
        "faq/news.yaml:12",
        "office-hours",
        "last reviewed on 2024-02-01",
        "faq/contact.yaml:40",
    ]
    plain = parse_page(render_html_report(report, locales, "en"))
    assert "dated" not in [s.get("data-section") for s in elements(plain, "section")]


def test_tickets_handed_to_staff_are_counted_when_the_hand_off_is_on(
    report: Report, locales: Locales
) -> None:
    stats = TicketStats(opened=4, answered=3, median_first_reply=timedelta(hours=2, minutes=5))
    tree = parse_page(render_html_report(replace(report, tickets=stats), locales, "en"))
    (section,) = [s for s in elements(tree, "section") if s.get("data-section") == "tickets"]
    assert [text_of(td) for td in elements(section, "td")] == ["4", "3", "2 h 05 min"]
    plain = parse_page(render_html_report(report, locales, "en"))
    assert "tickets" not in [s.get("data-section") for s in elements(plain, "section")]


# ----- the command line -----------------------------------------------------------------------


def test_report_format_html_writes_the_page_in_the_chosen_language(tmp_path: Path) -> None:
    write_faq(tmp_path / "faq", {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings_mapping(tmp_path / "faq")), encoding="utf-8")
    settings = load_settings(config, environ={})
    with QuestionLog.from_settings(settings, environ={}) as log:
        log.record_question(HOSTILE, user_id=1, lang="en", outcome="fallback")
        log.record_question(
            "office address", user_id=2, lang="sq", outcome="answer", entry_id="office-address"
        )

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["--config", str(config), "report", *argv], stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    code, page, _ = run("--format", "html", "--lang", "sq", "--since", "7d")
    assert code == 0
    tree = parse_page(page)
    assert text_of(elements(tree, "h1")[0]) == "Raporti i pyetjeve"
    assert {dd.get("data-key"): text_of(dd) for dd in elements(tree, "dd")}["questions"] == "2"
    code, _, err = run("--format", "html", "--lang", "de")
    assert code == 2
    assert "--lang de" in err


# ----- in a real browser ------------------------------------------------------------------------


def test_the_report_renders_in_chromium_with_its_charts_and_no_console_errors(
    report: Report, locales: Locales, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html_report(report, locales, "en"), encoding="utf-8")
    view = open_in_chromium(page)
    assert view.console == []
    dom = parse_page_loosely(view.dom)
    drawn = [svg for svg in dom.iter(f"{SVG}svg") if "chart" in (svg.get("class") or "")]
    assert len(drawn) == 5
    for svg in drawn:
        shapes = [e for e in svg.iter() if e.tag in (f"{SVG}rect", f"{SVG}path")]
        assert len(shapes) > 3, svg.get("aria-label")
    text = text_of(dom)
    assert "Question report" in text
    assert HOSTILE in text
    assert "how do i register an ngo" in text


def test_the_browser_check_notices_a_page_that_loads_or_runs_something(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html lang=en><head><title>x</title><meta http-equiv="
        '"Content-Security-Policy" content="default-src \'none\'"></head><body>'
        '<img src="http://127.0.0.1:9/chart.png" alt="chart"><script>1</script></body></html>',
        encoding="utf-8",
    )
    assert len(open_in_chromium(page).console) == 2


def parse_page_loosely(dom: str) -> Any:
    import html5lib

    return html5lib.parse(dom, namespaceHTMLElements=True)
