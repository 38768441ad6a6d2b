"""Entries marked `unknown:` (issue 23): the answer says honestly that a fact is missing; lint
lists the fact staff owe without failing `--strict`, the report counts such entries, and the
FAQ web export asks readers to contact the agency instead of publishing "I don't know"."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import Settings, load_settings
from bot.core.knowledge import KnowledgeBaseError
from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.core.locales import load_locales
from bot.staff.faq_export import faq_as_dict, faq_page
from bot.staff.lint import lint_warnings, unknown_fact_notes
from bot.staff.report import build_report, render_report
from bot.staff.report_html import render_html_report
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, settings_mapping, write_faq
from tests.web_pages import parse_page, text_of

HOURS_FAQ = """\
category:
  en: Opening
  sq: Orari
entries:
  - id: opening-hours
    unknown: "the office hours"
    questions:
      en: ["When is the office open?", opening hours]
      sq: ["Kur është e hapur zyra?", orari i zyrës]
    answer:
      en: "I don't know the office hours. Call {phone}."
      sq: "Nuk e di orarin e zyrës. Telefononi në {phone}."
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    write_faq(
        tmp_path / "faq",
        {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ, "hours.yaml": HOURS_FAQ},
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings_mapping(tmp_path / "faq")), encoding="utf-8")
    return path


@pytest.fixture
def settings(config: Path) -> Settings:
    return load_settings(config, environ={})


@pytest.fixture
def loaded(settings: Settings) -> LoadedKnowledge:
    return build_knowledge(settings)


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


def test_the_loader_keeps_the_fact_staff_owe_and_only_on_its_entry(
    loaded: LoadedKnowledge,
) -> None:
    assert loaded.knowledge.entry("opening-hours").unknown == "the office hours"
    assert loaded.knowledge.entry("office-address").unknown is None


def test_the_bot_still_gives_the_honest_answer(config: Path) -> None:
    _, out = run("--config", str(config), "ask", "--json", "when is the office open?")
    reply = json.loads(out)
    assert reply["id"] == "opening-hours"
    assert "I don't know the office hours" in reply["text"]


@pytest.mark.parametrize("value", ["", "   ", 3, ["hours"]])
def test_an_empty_or_non_text_unknown_is_refused_with_its_line(
    settings: Settings, value: object
) -> None:
    path = settings.faq_dir / "hours.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["entries"][0]["unknown"] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as raised:
        build_knowledge(settings)
    assert any("hours.yaml" in p.file and "unknown" in p.message for p in raised.value.problems)


def test_lint_lists_the_missing_facts_as_info_not_as_warnings(
    loaded: LoadedKnowledge, settings: Settings
) -> None:
    assert lint_warnings(loaded, settings.faq_dir) == []
    notes = unknown_fact_notes(loaded)
    assert [(n.entry_id, n.severity) for n in notes] == [("opening-hours", "info")]
    assert "the office hours" in notes[0].message
    assert notes[0].file.endswith("hours.yaml")
    assert notes[0].line > 0


def test_lint_strict_passes_and_prints_the_entries_that_wait_for_a_fact(config: Path) -> None:
    code, out = run("--config", str(config), "lint", "--strict")
    assert code == 0, out
    assert "[opening-hours] info: waits for a fact from staff: the office hours" in out
    assert "0 warning(s); 1 answer(s) wait for a fact from staff" in out


def test_the_report_counts_the_entries_that_wait_for_a_fact_in_every_format(
    loaded: LoadedKnowledge, settings: Settings
) -> None:
    from datetime import timedelta

    report = build_report([], loaded, timedelta(days=30))
    assert report.waiting_for_facts == (("opening-hours", "the office hours"),)
    table = render_report(report, "table")
    assert "Answers waiting for a fact from staff (unknown:): 1" in table
    assert "opening-hours: the office hours" in table
    assert json.loads(render_report(report, "json"))["waiting_for_facts"] == [
        {"id": "opening-hours", "fact": "the office hours"}
    ]
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert [(r["key"], r["label"]) for r in rows if r["section"] == "unknown"] == [
        ("opening-hours", "the office hours")
    ]
    page = render_html_report(report, load_locales(settings.languages), "en")
    assert "the office hours" in text_of(parse_page(page))


@pytest.mark.parametrize(
    ("lang", "honest", "ask"),
    [
        ("en", "I don't know", "The agency answers this question directly"),
        ("sq", "Nuk e di", "Këtë pyetje ia bëni drejtpërdrejt agjencisë"),
    ],
)
def test_the_web_page_asks_readers_to_contact_the_agency_instead_of_saying_i_dont_know(
    loaded: LoadedKnowledge, settings: Settings, lang: str, honest: str, ask: str
) -> None:
    page = faq_page(loaded.knowledge, settings, load_locales(settings.languages), lang, "bot")
    article = next(
        a
        for a in parse_page(page).iter()
        if a.tag.endswith("article") and a.get("id") == "opening-hours"
    )
    words = text_of(article)
    assert honest not in page
    assert ask in words
    assert "04 22 355 69" in words
    assert "info@amshc.gov.al" in words
    # the other entries keep their answers
    assert "Frosina Plaku" in page


def test_the_json_export_marks_such_entries_and_gives_the_same_text(
    loaded: LoadedKnowledge, settings: Settings
) -> None:
    data = faq_as_dict(loaded.knowledge, settings, "bot", load_locales(settings.languages))
    entries = {e["id"]: e for e in data["entries"]}
    hours = entries["opening-hours"]
    assert hours["ask_the_agency"] is True
    assert entries["office-address"]["ask_the_agency"] is False
    for lang in ("sq", "en"):
        assert "04 22 355 69" in hours["answers_text"][lang]
        assert "know" not in hours["answers_text"][lang].lower()
        assert "nuk e di" not in hours["answers_text"][lang].lower()
