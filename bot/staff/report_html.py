"""The question report as one self-contained web page, with charts.

Another renderer of the same `Report` that `python -m bot report --format json` writes:
every number on the page is read from it. The page needs no network and runs no script (a
Content-Security-Policy says so to the browser); it reads on a phone and prints on paper.

The page is a list of sections, each built by one function of `SECTIONS` from the report:
a heading, an optional chart, an optional table and a line for when there is nothing to
show. A new kind of data in the report gets its section by adding a function there.

Charts are drawn by pygal (bot/staff/report_charts.py): pure Python, light enough to be an
ordinary dependency. Without pygal the page still has every table and says how to get the
charts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.locales import Locales
from bot.staff.report import Cluster, EntryUsage, Report
from bot.staff.report_charts import PALETTE, Chart, Series, chart_svg, charts_available
from bot.storage.question_log import ANSWER, FALLBACK, SUGGEST

# Outcomes in the order staff read them; any other outcome a later version logs (such as a
# hand-over to staff) follows, named by its locale text "html_outcome_<name>" if there is one.
OUTCOME_ORDER = (ANSWER, SUGGEST, FALLBACK, "smalltalk")
# Okabe-Ito colours, as the charts' palette; each outcome keeps its colour in every chart.
OUTCOME_COLOURS = {
    ANSWER: "#009E73",
    SUGGEST: "#E69F00",
    FALLBACK: "#D55E00",
    "smalltalk": "#999999",
}
OTHER_COLOURS = PALETTE
HELPFUL_COLOUR, NOT_HELPFUL_COLOUR = "#009E73", "#D55E00"
# Bars beyond this many make a chart unreadable on a phone; the tables list them all.
TOP_ENTRIES = 10
TITLE_WIDTH = 48


# ----- the page as data ----------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str | int | float, ...], ...]
    numeric: tuple[bool, ...] = ()  # per column: right-aligned numbers
    collapsed: bool = False  # the chart above shows the same numbers; the table is on demand


@dataclass(frozen=True)
class Section:
    key: str  # the anchor, and data-section for tests and style sheets
    title: str
    intro: str = ""
    chart: Chart | None = None
    table: Table | None = None
    empty: str = ""  # shown instead of chart and table when there is nothing to show
    notes: tuple[str, ...] = field(default_factory=tuple)


class Texts:
    """The page's texts in one language, from the locale files."""

    def __init__(self, locales: Locales, lang: str) -> None:
        self.locales = locales
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        return self.locales.text(self.lang, key, **{k: str(v) for k, v in values.items()})

    def optional(self, key: str) -> str | None:
        table = self.locales.texts.get(self.lang) or {}
        return table.get(key)

    def outcome(self, outcome: str) -> str:
        return self.optional(f"html_outcome_{outcome}") or outcome

    def language(self, code: str) -> str:
        if code == "?":
            return self("html_language_unknown")
        names = self.locales.texts.get(code)
        return names["language_name"] if names and "language_name" in names else code


SectionBuilder = Callable[[Report, Texts], Section | None]


def _ordered_outcomes(report: Report) -> list[str]:
    seen = set(report.outcomes)
    for _, counts in report.per_day_outcomes:
        seen.update(counts)
    known = [o for o in OUTCOME_ORDER if o in seen]
    return known + sorted(seen - set(known))


def _outcome_colours(outcomes: Sequence[str]) -> dict[str, str]:
    others = iter(OTHER_COLOURS * (len(outcomes) // len(OTHER_COLOURS) + 1))
    return {o: OUTCOME_COLOURS.get(o) or next(others) for o in outcomes}


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _entry_label(usage: EntryUsage, t: Texts) -> str:
    title = usage.title(t.lang) if usage.titles else t("html_removed_entry")
    return f"{usage.entry_id}: {title}"


def _short(text: str, width: int = TITLE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _percent(share: float) -> str:
    return f"{share:.0%}"


def answered_share(counts: Mapping[str, int]) -> float | None:
    """Answered among real questions (answered, "did you mean", not answered); None when
    there were none."""
    asked = sum(counts.get(kind, 0) for kind in (ANSWER, SUGGEST, FALLBACK))
    return counts.get(ANSWER, 0) / asked if asked else None


# ----- the sections --------------------------------------------------------------------


def per_day_section(report: Report, t: Texts) -> Section:
    outcomes = _ordered_outcomes(report)
    colours = _outcome_colours(outcomes)
    days = tuple(day.isoformat() for day, _ in report.per_day_outcomes)
    rows: tuple[tuple[str | int, ...], ...] = tuple(
        (day.isoformat(), *(counts.get(o, 0) for o in outcomes), sum(counts.values()))
        for day, counts in report.per_day_outcomes
    )
    chart = Chart(
        "stacked_bar",
        t("html_per_day_heading"),
        days,
        tuple(
            Series(
                t.outcome(o),
                tuple(float(c.get(o, 0)) for _, c in report.per_day_outcomes),
                colours[o],
            )
            for o in outcomes
        ),
    )
    return Section(
        "per-day",
        t("html_per_day_heading"),
        chart=chart if report.questions else None,
        table=Table(
            (t("html_col_date"), *(t.outcome(o) for o in outcomes), t("html_col_total")),
            rows,
            (False, *(True for _ in outcomes), True),
            collapsed=True,
        )
        if report.questions
        else None,
        empty="" if report.questions else t("html_nothing"),
    )


def answered_share_section(report: Report, t: Texts) -> Section | None:
    shares = tuple(answered_share(counts) for _, counts in report.per_day_outcomes)
    if all(share is None for share in shares):
        return None
    days = tuple(day.isoformat() for day, _ in report.per_day_outcomes)
    return Section(
        "answered-share",
        t("html_share_heading"),
        intro=t("html_share_intro"),
        chart=Chart(
            "line",
            t("html_share_heading"),
            days,
            (Series(t("html_outcome_answer"), shares, OUTCOME_COLOURS[ANSWER]),),
            percent=True,
        ),
        table=Table(
            (t("html_col_date"), t("html_col_share")),
            tuple((day, _percent(s)) for day, s in zip(days, shares, strict=True) if s is not None),
            (False, True),
            collapsed=True,
        ),
    )


def most_asked_section(report: Report, t: Texts) -> Section:
    asked = [u for u in report.entries if u.asked]
    top = asked[:TOP_ENTRIES]
    return Section(
        "most-asked",
        t("html_most_asked_heading"),
        chart=Chart(
            "hbar",
            t("html_most_asked_heading"),
            tuple(_short(_entry_label(u, t)) for u in top),
            (Series(t("html_col_given"), tuple(float(u.asked) for u in top), "#0072B2"),),
        )
        if top
        else None,
        table=_entries_table(report.entries, t, collapsed=True) if report.entries else None,
        empty="" if top else t("html_nothing"),
    )


def feedback_section(report: Report, t: Texts) -> Section | None:
    voted = [u for u in report.entries if u.helpful or u.not_helpful]
    if not voted:
        return None
    top = sorted(voted, key=lambda u: (-(u.helpful + u.not_helpful), u.entry_id))[:TOP_ENTRIES]
    return Section(
        "feedback",
        t("html_feedback_heading"),
        chart=Chart(
            "stacked_hbar",
            t("html_feedback_heading"),
            tuple(_short(_entry_label(u, t)) for u in top),
            (
                Series(t("html_helpful"), tuple(float(u.helpful) for u in top), HELPFUL_COLOUR),
                Series(
                    t("html_not_helpful"),
                    tuple(float(u.not_helpful) for u in top),
                    NOT_HELPFUL_COLOUR,
                ),
            ),
        ),
    )


def languages_section(report: Report, t: Texts) -> Section | None:
    if not report.per_language:
        return None
    palette = iter(OTHER_COLOURS * (len(report.per_language) // len(OTHER_COLOURS) + 1))
    return Section(
        "languages",
        t("html_languages_heading"),
        chart=Chart(
            "pie",
            t("html_languages_heading"),
            tuple(t.language(code) for code, _ in report.per_language),
            tuple(
                Series(t.language(code), (float(count),), next(palette))
                for code, count in report.per_language
            ),
        ),
        table=Table(
            (t("html_col_language"), t("html_col_count")),
            tuple((t.language(code), count) for code, count in report.per_language),
            (False, True),
            collapsed=True,
        ),
    )


def _clusters_table(clusters: Sequence[Cluster], t: Texts) -> Table:
    return Table(
        (
            t("html_col_count"),
            t("html_col_questions"),
            t("html_col_languages"),
            t("html_col_closest"),
            t("html_col_last_asked"),
        ),
        tuple(
            (
                cluster.count,
                "\n".join(cluster.samples),
                ", ".join(t.language(code) for code in cluster.languages),
                _closest_cell(cluster, t),
                _day(cluster.last_asked),
            )
            for cluster in clusters
        ),
        (True, False, False, False, False),
    )


def _closest_cell(cluster: Cluster, t: Texts) -> str:
    if cluster.closest_entry_id is None:
        return ""
    cell = f"{cluster.closest_entry_id} ({cluster.closest_score or 0:.0f})"
    if cluster.answered_now:
        cell += "\n✓ " + t("html_answered_now", entry=cluster.answered_now)
    return cell


def unanswered_section(report: Report, t: Texts) -> Section:
    return Section(
        "unanswered",
        t("html_unanswered_heading"),
        intro=t("html_unanswered_intro") if report.unanswered else "",
        table=_clusters_table(report.unanswered, t) if report.unanswered else None,
        empty="" if report.unanswered else t("html_nothing"),
    )


def low_confidence_section(report: Report, t: Texts) -> Section:
    return Section(
        "low-confidence",
        t("html_low_confidence_heading"),
        table=_clusters_table(report.low_confidence, t) if report.low_confidence else None,
        empty="" if report.low_confidence else t("html_nothing"),
    )


def _entries_table(entries: Sequence[EntryUsage], t: Texts, *, collapsed: bool = False) -> Table:
    return Table(
        (t("html_col_entry"), t("html_col_given"), t("html_helpful"), t("html_not_helpful")),
        tuple((_entry_label(u, t), u.asked, u.helpful, u.not_helpful) for u in entries),
        (False, True, True, True),
        collapsed=collapsed,
    )


def unhelpful_section(report: Report, t: Texts) -> Section:
    voted = report.negative_feedback
    return Section(
        "unhelpful",
        t("html_unhelpful_heading"),
        table=_entries_table(voted, t) if voted else None,
        empty="" if voted else t("html_nothing"),
    )


def never_asked_section(report: Report, t: Texts) -> Section:
    return Section(
        "never-asked",
        t("html_never_asked_heading"),
        table=Table(
            (t("html_col_entry"),),
            tuple((_named(report, entry_id, t),) for entry_id in report.never_asked),
        )
        if report.never_asked
        else None,
        empty="" if report.never_asked else t("html_nothing"),
    )


def _named(report: Report, entry_id: str, t: Texts) -> str:
    title = report.title(entry_id, t.lang)
    return f"{entry_id}: {title}" if title else entry_id


def tickets_section(report: Report, t: Texts) -> Section | None:
    """Questions handed to staff (present only when the hand-off is switched on)."""
    stats = report.tickets
    if stats is None:
        return None
    median = stats.median_first_reply
    waited = "–" if median is None else _duration(median)
    return Section(
        "tickets",
        t("html_tickets_heading"),
        table=Table(
            (t("html_tickets_opened"), t("html_tickets_answered"), t("html_tickets_median")),
            ((stats.opened, stats.answered, waited),),
            (True, True, True),
        ),
    )


def _duration(length: timedelta) -> str:
    minutes = round(length.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def dated_section(report: Report, t: Texts) -> Section | None:
    """Entries past their expires: day or not reviewed for too long (dated answers)."""
    if not report.dated:
        return None
    return Section(
        "dated",
        t("html_dated_heading"),
        table=Table(
            (t("html_col_entry"), t("html_col_state"), t("html_col_file")),
            tuple(
                (
                    item.entry_id,
                    t("html_dated_expired", day=item.expires)
                    if item.state == "expired"
                    else t("html_dated_stale", day=item.reviewed),
                    f"{item.file}:{item.line}",
                )
                for item in report.dated
            ),
        ),
    )


def waiting_for_facts_section(report: Report, t: Texts) -> Section | None:
    """Entries marked `unknown:`: the facts staff still owe, counted."""
    if not report.waiting_for_facts:
        return None
    return Section(
        "waiting-for-facts",
        t("html_waiting_for_facts_heading", count=len(report.waiting_for_facts)),
        table=Table(
            (t("html_col_entry"), t("html_col_fact")),
            tuple((entry_id, fact) for entry_id, fact in report.waiting_for_facts),
        ),
    )


# In page order. Later parts of the report (tickets, suggested variants, stale entries)
# add their builder here; a builder returning None leaves its section out.
SECTIONS: list[SectionBuilder] = [
    per_day_section,
    answered_share_section,
    most_asked_section,
    feedback_section,
    languages_section,
    unanswered_section,
    low_confidence_section,
    unhelpful_section,
    never_asked_section,
    tickets_section,
    dated_section,
    waiting_for_facts_section,
]


def report_sections(report: Report, t: Texts) -> list[Section]:
    return [section for build in SECTIONS if (section := build(report, t)) is not None]


# ----- the page -------------------------------------------------------------------------

STYLE = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #5a5a5a; --line: #d8d8d8;
  --paper: #ffffff; --band: #f4f6f8; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; padding-top: .5rem;
  border-top: 2px solid var(--line); }
.period, .note, footer { color: var(--muted); }
.note { background: var(--band); padding: .5rem .75rem; border-left: 4px solid var(--accent); }
nav ol { padding-left: 1.25rem; columns: 2 14rem; }
dl.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));
  gap: .5rem; margin: 1rem 0; }
dl.summary div { background: var(--band); border-radius: .5rem; padding: .5rem .75rem; }
dl.summary dt { font-size: .85rem; color: var(--muted); }
dl.summary dd { margin: 0; font-size: 1.5rem; font-weight: 600; }
figure { margin: .5rem 0; }
svg.chart { width: 100%; height: auto; display: block; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .95rem; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem;
  border-bottom: 1px solid var(--line); }
th { background: var(--band); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .sample { display: block; }
td .sample + .sample { color: var(--muted); }
summary { cursor: pointer; color: var(--accent); }
footer { font-size: .85rem; padding: 2rem 1rem; }
@media print {
  body { font-size: 11pt; }
  nav, summary { display: none; }
  h2 { break-after: avoid; }
  figure, tr, dl.summary div { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

# The page may load nothing and run nothing: a browser enforces it, and reports any attempt.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_html_report(
    report: Report,
    locales: Locales,
    lang: str,
    *,
    generated_at: datetime | None = None,
    charts: bool | None = None,
) -> str:
    """The whole report as one HTML document (text); `charts=False` leaves them out, None
    draws them when pygal is installed."""
    t = Texts(locales, lang)
    draw = charts_available() if charts is None else charts
    sections = report_sections(report, t)
    moment = (generated_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    title = t("html_report_title")
    period = t("html_report_period", start=_day(report.since), end=_day(report.until))
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{_attr(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        f"<title>{_text(title)}, {_text(period)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_text(title)}</h1>",
        f'<p class="period">{_text(period)}</p>',
        "</header>",
        "<main>",
        _summary(report, t),
    ]
    if not draw:
        out.append(f'<p class="note" id="charts-missing">{_text(t("html_charts_missing"))}</p>')
    out.append(_contents(sections, t))
    out.extend(_section(section, t, draw) for section in sections)
    out += [
        "</main>",
        f"<footer><p>{_text(t('html_report_generated', moment=moment))}</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"


def _summary(report: Report, t: Texts) -> str:
    items = [
        ("questions", t("html_questions"), str(report.questions)),
        ("people", t("html_people"), str(report.people)),
        (ANSWER, t("html_outcome_answer"), str(report.outcomes.get(ANSWER, 0))),
        (SUGGEST, t("html_outcome_suggest"), str(report.outcomes.get(SUGGEST, 0))),
        (FALLBACK, t("html_outcome_fallback"), str(report.outcomes.get(FALLBACK, 0))),
        ("fallback_share", t("html_unanswered_share"), _percent(report.fallback_share)),
    ]
    cells = "".join(
        f'<div><dt>{_text(label)}</dt><dd data-key="{_attr(key)}">{_text(value)}</dd></div>'
        for key, label, value in items
    )
    heading = _text(t("html_summary_heading"))
    return f'<h2 id="summary">{heading}</h2>\n<dl class="summary">{cells}</dl>'


def _contents(sections: Sequence[Section], t: Texts) -> str:
    links = "".join(f'<li><a href="#{_attr(s.key)}">{_text(s.title)}</a></li>' for s in sections)
    return (
        f'<nav aria-labelledby="contents"><h2 id="contents">{_text(t("html_contents"))}</h2>'
        f"<ol>{links}</ol></nav>"
    )


def _section(section: Section, t: Texts, draw: bool) -> str:
    parts = [
        f'<section id="{_attr(section.key)}" data-section="{_attr(section.key)}">',
        f"<h2>{_text(section.title)}</h2>",
    ]
    if section.intro:
        parts.append(f"<p>{_text(section.intro)}</p>")
    if section.empty:
        parts.append(f'<p class="empty">{_text(section.empty)}</p>')
    if section.chart is not None and draw:
        parts.append(f"<figure>{chart_svg(section.chart)}</figure>")
    if section.table is not None:
        table = _table(section.table, section.key)
        if section.table.collapsed and section.chart is not None and draw:
            table = f"<details><summary>{_text(t('html_show_numbers'))}</summary>{table}</details>"
        parts.append(table)
    parts.extend(f'<p class="note">{_text(note)}</p>' for note in section.notes)
    parts.append("</section>")
    return "\n".join(parts)


def _table(table: Table, key: str) -> str:
    numeric = table.numeric or tuple(False for _ in table.columns)
    head = "".join(
        f'<th scope="col"{" class=num" if num else ""}>{_text(column)}</th>'
        for column, num in zip(table.columns, numeric, strict=True)
    )
    body = []
    for row in table.rows:
        cells = []
        for value, num in zip(row, numeric, strict=True):
            if num:
                cells.append(f'<td class="num">{_text(str(value))}</td>')
            else:
                lines = str(value).split("\n")
                inner = (
                    "\n".join(f'<span class="sample">{_text(line)}</span>' for line in lines)
                    if len(lines) > 1
                    else _text(lines[0])
                )
                cells.append(f"<td>{inner}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table data-table="{_attr(key)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str) -> str:
    # User text may hold control characters, which are not allowed in an HTML document.
    return html.escape(_CONTROL.sub("\ufffd", value), quote=False)


def _attr(value: str) -> str:
    return html.escape(_CONTROL.sub("\ufffd", value), quote=True)
