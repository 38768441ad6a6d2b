"""Reports on the question log: what to add to the FAQ, what is asked, what did not help.

Pure functions over logged questions: `build_report` gathers the numbers into a `Report`,
`render_report` writes it as a table, CSV or JSON for `python -m bot report`, and
`stats_summary` / `unanswered_summary` write the short Telegram HTML messages for the
admins' /stats and /unanswered.

Unanswered and low-confidence questions are grouped by similarity (the same question asked
in slightly different words), most frequent first, each with the entry that comes closest:
a group with a weak closest entry needs a new entry; a group with a good one needs its
wordings added as question variants of that entry.
"""

from __future__ import annotations

import csv
import heapq
import html
import io
import json
import re
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from rapidfuzz import fuzz

from bot.config import DatedAnswerSettings
from bot.core.dated import DatedEntry, dated_entries
from bot.core.knowledge_state import LoadedKnowledge
from bot.core.locales import Locales
from bot.storage.question_log import ANSWER, FALLBACK, SUGGEST, LoggedQuestion
from bot.storage.tickets import TicketStats

ReportFormat = Literal["table", "csv", "json"]
FORMATS: tuple[ReportFormat, ...] = ("table", "csv", "json")

# Two questions belong to one group when their similarity (0-100, see `similarity`) is at
# least this. Raise it for smaller, tighter groups; lower it to merge more loosely related
# wordings. 77 keeps "how do i register an ngo" with "how to register ngo" (83) but apart
# from "how do i close an ngo" (75).
SIMILARITY_THRESHOLD = 77.0
SAMPLES_PER_CLUSTER = 3
# The closest entry of a group is looked up (a search each) for this many of the largest
# groups: more than any summary shows; the long tail of one-off wordings goes without.
CLOSEST_FOR_LARGEST = 200
# Telegram rejects messages over 4096 characters; stay clear of it.
TELEGRAM_MESSAGE_LIMIT = 4000
TABLE_WIDTH = 80
# The period of the admins' /stats and /unanswered.
SUMMARY_PERIOD = timedelta(days=7)

_SINCE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_DAYS_PER_UNIT = {"hours": 1 / 24, "days": 1, "weeks": 7}
MAX_SINCE_DAYS = 3650


def parse_since(text: str) -> timedelta:
    """A period such as "30d", "12h" or "2w" (hours, days, weeks)."""
    match = _SINCE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a period: write a number and h, d or w, for example 30d, 12h or 2w"
        )
    number, unit = int(match.group(1)), _UNITS[match.group(2).lower()]
    # Compared as a count of days: a huge number overflows timedelta and the calendar.
    if number * _DAYS_PER_UNIT[unit] > MAX_SINCE_DAYS:
        raise ValueError(
            f"{text!r} is too long: at most {MAX_SINCE_DAYS}d, the longest a question log "
            "keeps questions (question_log.retention_days)"
        )
    return timedelta(**{unit: number})


# ----- the report ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """Questions asked in similar words."""

    count: int
    samples: tuple[str, ...]  # up to three distinct wordings, most frequent first
    languages: tuple[str, ...]  # most frequent first
    last_asked: datetime
    closest_entry_id: str | None = None  # the entry the first sample comes closest to
    closest_score: float | None = None
    # The entry the knowledge base answers the first sample with now (an edit since it
    # was asked): listed still, and marked, so staff see the gap is closed.
    answered_now: str | None = None


@dataclass(frozen=True)
class EntryUsage:
    entry_id: str
    titles: Mapping[str, str]  # language -> the entry's first question; empty if removed
    asked: int  # times its answer was given
    helpful: int
    not_helpful: int

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or next(iter(self.titles.values()), self.entry_id)


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    questions: int
    people: int  # distinct user hashes
    outcomes: Mapping[str, int]  # "answer", "suggest", "fallback", "smalltalk", ...
    per_day: tuple[tuple[date, int], ...]  # every day of the period, UTC
    per_language: tuple[tuple[str, int], ...]  # most frequent first; "?" when unknown
    entries: tuple[EntryUsage, ...]  # most asked first
    never_asked: tuple[str, ...]  # entries of the knowledge base nobody was given
    unanswered: tuple[Cluster, ...]  # fallback: nothing matched
    low_confidence: tuple[Cluster, ...]  # suggest: "did you mean" was offered
    # Entries past their expires: day (no longer served) or not reviewed for too long.
    dated: tuple[DatedEntry, ...] = ()
    # every day of the period, UTC: outcome -> questions (the HTML report's charts)
    per_day_outcomes: tuple[tuple[date, Mapping[str, int]], ...] = ()
    tickets: TicketStats | None = None  # questions handed to staff; None: hand-off is off
    # Entry id -> language -> its first question, for the entries named by id only
    # (never_asked), so staff read what each is about.
    titles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def title(self, entry_id: str, lang: str) -> str:
        found = self.titles.get(entry_id) or {}
        return found.get(lang) or next(iter(found.values()), "")

    # Entries marked `unknown:` in faq/: (entry id, the fact staff still owe), by id.
    waiting_for_facts: tuple[tuple[str, str], ...] = ()

    @property
    def fallback_share(self) -> float:
        """Share of real questions (answered, suggested or not) that went unanswered."""
        asked = sum(self.outcomes.get(kind, 0) for kind in (ANSWER, SUGGEST, FALLBACK))
        return self.outcomes.get(FALLBACK, 0) / asked if asked else 0.0

    @property
    def negative_feedback(self) -> tuple[EntryUsage, ...]:
        """Entries with "not helpful" votes, the most such votes first."""
        voted = [usage for usage in self.entries if usage.not_helpful]
        return tuple(sorted(voted, key=lambda u: (-u.not_helpful, u.helpful, u.entry_id)))


@runtime_checkable
class QuestionSource(Protocol):
    """Anything that lists logged questions, such as the QuestionLog."""

    def questions(self, since: datetime, until: datetime | None = None) -> list[LoggedQuestion]: ...


@runtime_checkable
class TicketSource(Protocol):
    """Anything that counts hand-off tickets, such as the TicketStore."""

    def stats(self, since: datetime, until: datetime | None = None) -> TicketStats: ...


def build_report(
    source: QuestionSource | Iterable[LoggedQuestion],
    knowledge: LoadedKnowledge | None,
    since: timedelta,
    now: datetime | None = None,
    *,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    dated: DatedAnswerSettings | None = None,
    tickets: TicketSource | None = None,
) -> Report:
    """The report over questions asked in the `since` period up to `now` (UTC).

    With a knowledge base it also lists expired and stale entries, by `dated` (config.yaml's
    dated_answers; default: its defaults), as of `now`.
    """
    until = now or datetime.now(UTC)
    start = until - since
    if isinstance(source, QuestionSource):
        asked = source.questions(start, until)
    else:
        asked = [q for q in source if start <= q.asked_at < until]

    outcomes = Counter(q.outcome for q in asked)
    languages = Counter(q.lang or "?" for q in asked)
    days = Counter(q.asked_at.astimezone(UTC).date() for q in asked)
    day_outcomes: dict[date, Counter[str]] = {}
    for q in asked:
        day_outcomes.setdefault(q.asked_at.astimezone(UTC).date(), Counter())[q.outcome] += 1
    first_day, last_day = start.astimezone(UTC).date(), until.astimezone(UTC).date()
    per_day = tuple(
        (first_day + timedelta(days=n), days[first_day + timedelta(days=n)])
        for n in range((last_day - first_day).days + 1)
    )
    entries = _entry_usage(asked, knowledge)
    shown = {usage.entry_id for usage in entries if usage.asked}
    never_asked = tuple(e.id for e in knowledge.knowledge if e.id not in shown) if knowledge else ()
    dated = dated or DatedAnswerSettings()
    to_check = (
        dated_entries(
            knowledge.knowledge, until, timedelta(days=dated.review_after_days), dated.zone
        )
        if knowledge
        else []
    )
    return Report(
        since=start,
        until=until,
        questions=len(asked),
        people=len({q.user_hash for q in asked if q.user_hash}),
        outcomes=dict(sorted(outcomes.items(), key=lambda item: (-item[1], item[0]))),
        per_day=per_day,
        per_language=tuple(sorted(languages.items(), key=lambda item: (-item[1], item[0]))),
        entries=entries,
        never_asked=never_asked,
        unanswered=cluster_questions(
            [q for q in asked if q.outcome == FALLBACK], knowledge, similarity_threshold
        ),
        low_confidence=cluster_questions(
            [q for q in asked if q.outcome == SUGGEST], knowledge, similarity_threshold
        ),
        dated=tuple(to_check),
        waiting_for_facts=tuple(
            sorted((e.id, e.unknown) for e in knowledge.knowledge if e.unknown) if knowledge else ()
        ),
        per_day_outcomes=tuple(
            (day, dict(sorted(day_outcomes.get(day, Counter()).items()))) for day, _ in per_day
        ),
        tickets=tickets.stats(start, until) if tickets is not None else None,
        titles=_titles(knowledge, never_asked),
    )


def _titles(
    knowledge: LoadedKnowledge | None, entry_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for entry_id in entry_ids:
        entry = knowledge.knowledge.entry(entry_id) if knowledge else None
        if entry is not None:
            found[entry_id] = {lang: entry.title(lang) for lang in entry.questions}
    return found


def _entry_usage(
    asked: Sequence[LoggedQuestion], knowledge: LoadedKnowledge | None
) -> tuple[EntryUsage, ...]:
    # With "suggest" and "fallback" the entry is only the best guess, not what was shown.
    shown = Counter(
        q.entry_id for q in asked if q.entry_id and q.outcome not in (SUGGEST, FALLBACK)
    )
    helpful = Counter(q.entry_id for q in asked if q.entry_id and q.helpful is True)
    not_helpful = Counter(q.entry_id for q in asked if q.entry_id and q.helpful is False)
    usage = []
    for entry_id in set(shown) | set(helpful) | set(not_helpful):
        entry = knowledge.knowledge.entry(entry_id) if knowledge else None
        titles = {lang: entry.title(lang) for lang in entry.questions} if entry else {}
        usage.append(
            EntryUsage(entry_id, titles, shown[entry_id], helpful[entry_id], not_helpful[entry_id])
        )
    return tuple(sorted(usage, key=lambda u: (-u.asked, u.entry_id)))


def similarity(first: str, second: str) -> float:
    """How alike two normalised questions are, 0-100.

    token_set_ratio alone scores 100 whenever one question's words are a subset of the
    other's ("ku" and "ku eshte zyra"); averaging it with token_sort_ratio, which counts
    every word, keeps such pairs apart while reordered wordings still score high.
    """
    return (fuzz.token_set_ratio(first, second) + fuzz.token_sort_ratio(first, second)) / 2


def cluster_questions(
    questions: Sequence[LoggedQuestion],
    knowledge: LoadedKnowledge | None = None,
    threshold: float = SIMILARITY_THRESHOLD,
    *,
    closest_for: int | None = CLOSEST_FOR_LARGEST,
) -> tuple[Cluster, ...]:
    """Group questions by similarity, most frequent group first.

    Greedy and deterministic: distinct wordings are taken most frequent first (then
    alphabetically), and each joins the group whose first wording it is most similar to,
    if at least `threshold`, or starts a new group. Comparing with the first wording only
    keeps groups from drifting along a chain of small differences.

    To scale to a large log, a wording is compared only with the few groups most likely
    to take it (see `_Candidates`), not with every group. The closest entry is looked up
    for the `closest_for` largest groups (None: all of them).
    """
    by_text: dict[str, list[LoggedQuestion]] = {}
    for question in questions:
        if question.text:
            by_text.setdefault(question.text, []).append(question)
    wordings = sorted(by_text, key=lambda text: (-len(by_text[text]), text))
    groups: list[list[str]] = []
    candidates = _Candidates()
    for text in wordings:
        features = _features(text)
        best_group: list[str] | None = None
        best_score = threshold
        for number in candidates.likeliest(features):
            group = groups[number]
            score = similarity(text, group[0])
            if score >= best_score and (best_group is None or score > best_score):
                best_group, best_score = group, score
        if best_group is None:
            candidates.add(len(groups), features)
            groups.append([text])
        else:
            best_group.append(text)

    clusters = []
    for group in groups:
        members = [q for text in group for q in by_text[text]]
        languages = Counter(q.lang or "?" for q in members)
        clusters.append(
            Cluster(
                count=len(members),
                samples=tuple(group[:SAMPLES_PER_CLUSTER]),
                languages=tuple(
                    lang for lang, _ in sorted(languages.items(), key=lambda i: (-i[1], i[0]))
                ),
                last_asked=max(q.asked_at for q in members),
            )
        )
    clusters.sort(key=lambda c: (-c.count, c.samples[0]))
    if knowledge is None:
        return tuple(clusters)
    looked_up = len(clusters) if closest_for is None else closest_for
    for number, cluster in enumerate(clusters[:looked_up]):
        closest = knowledge.matcher.rank(cluster.samples[0], 1)
        if closest:
            clusters[number] = replace(
                cluster,
                closest_entry_id=closest[0].entry_id,
                closest_score=round(closest[0].score, 1),
                answered_now=knowledge.matcher.match(cluster.samples[0]).entry_id,
            )
    return tuple(clusters)


# A wording's features: the first and the last four letters of each of its words. Wordings
# of one group nearly always share one ("regjistrim" and "regjistrimi", "register" and
# "regster"); wordings that share none cannot be alike enough to meet the threshold.
_FEATURE_LETTERS = 4
# Each feature remembers the first groups that have it, at most this many: those are the
# largest, as groups are started most frequent wording first. A wording is compared with
# at most CANDIDATE_GROUPS groups, those sharing most features with it. Together they make
# grouping linear in the number of wordings (about 30,000 distinct ones a second) where
# comparing every wording with every group took minutes for a busy week.
FEATURE_GROUPS = 48
CANDIDATE_GROUPS = 12


def _features(text: str) -> set[str]:
    words = text.split()
    return {"<" + w[:_FEATURE_LETTERS] for w in words} | {
        ">" + w[-_FEATURE_LETTERS:] for w in words
    }


class _Candidates:
    """Which groups a new wording may join: an index from features to groups."""

    def __init__(self) -> None:
        self._groups_with: dict[str, list[int]] = {}

    def add(self, group: int, features: set[str]) -> None:
        for feature in features:
            having = self._groups_with.setdefault(feature, [])
            if len(having) < FEATURE_GROUPS:
                having.append(group)

    def likeliest(self, features: set[str]) -> list[int]:
        """The groups sharing most features with a wording, oldest first among them."""
        shared: Counter[int] = Counter()
        for feature in features:
            shared.update(self._groups_with.get(feature, ()))
        best = heapq.nsmallest(CANDIDATE_GROUPS, shared.items(), key=lambda i: (-i[1], i[0]))
        return sorted(group for group, _ in best)


# ----- interface texts -----------------------------------------------------------------

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "report_title": "Question report",
        "period_days": "last {days} days",
        "period_hours": "last {hours} hours",
        "questions_from_people": "Questions: {questions} from {people} people",
        "outcomes": (
            "Answered: {answered} · did you mean: {suggested} · not answered: {fallback} ({share})"
        ),
        "languages": "Languages: {languages}",
        "most_asked": "Most asked: {entries}",
        "most_unhelpful": "Most often not helpful: {entries}",
        "votes": "{no} of {votes}",
        "no_questions": "No questions in the {period}.",
        "unanswered_title": "Unanswered questions, {period}",
        "unanswered_top": "the {shown} largest of {groups} groups",
        "unanswered_hint": (
            "Add an entry to faq/ for each, or add these wordings to the closest entry."
        ),
        "nothing_unanswered": "Nothing went unanswered in the {period}.",
        "also": "also",
        "closest": "closest",
        "answered_now": "now answered by {entry}",
        "none": "none",
        "stats_more": "/unanswered lists what the bot could not answer.",
        "table_unanswered": "Unanswered questions (nothing matched), most frequent first",
        "table_low_confidence": 'Low-confidence questions ("did you mean" offered)',
        "column_count": "Count",
        "column_questions": "Questions asked",
        "table_entries": "Entries by how often their answer was given",
        "column_given": "Given",
        "column_helpful": "Helpful",
        "column_not_helpful": "Not",
        "column_entry": "Entry",
        "table_unhelpful": 'Entries with "not helpful" votes',
        "table_never_asked": "Never asked",
        "table_per_day": "Questions per day (UTC)",
        "table_per_week": "Questions per week (UTC; each week from its Monday)",
        "table_per_month": "Questions per month (UTC)",
        "table_per_language": "Questions per language",
        "table_outcomes": "Outcomes",
        "table_removed": "(no longer in the FAQ)",
        "table_dated": "Dated answers to check (faq/: reviewed:, expires:)",
        "dated_expired": "expired {day}, no longer served",
        "dated_stale": "last reviewed {day}",
        "table_waiting_for_facts": "Answers waiting for a fact from staff (unknown:): {count}",
        "tickets": (
            "Handed to staff: {opened} · answered: {answered} · median time to the first"
            " reply: {median}"
        ),
    },
    "sq": {
        "report_title": "Raporti i pyetjeve",
        "period_days": "{days} ditët e fundit",
        "period_hours": "{hours} orët e fundit",
        "questions_from_people": "Pyetje: {questions} nga {people} persona",
        "outcomes": (
            "Me përgjigje: {answered} · me sugjerime: {suggested} · pa përgjigje: {fallback}"
            " ({share})"
        ),
        "languages": "Gjuhët: {languages}",
        "most_asked": "Më të kërkuarat: {entries}",
        "most_unhelpful": "Më shpesh jo të dobishme: {entries}",
        "votes": "{no} nga {votes}",
        "no_questions": "Asnjë pyetje në {period}.",
        "unanswered_title": "Pyetje pa përgjigje, {period}",
        "unanswered_top": "{shown} grupet më të mëdha nga {groups}",
        "unanswered_hint": (
            "Shtoni një hyrje në faq/ për secilin grup, ose shtojini këto formulime hyrjes"
            " më të afërt."
        ),
        "nothing_unanswered": "Asnjë pyetje pa përgjigje në {period}.",
        "also": "edhe",
        "closest": "më e afërta",
        "answered_now": "tani merr përgjigje nga {entry}",
        "none": "asnjë",
        "stats_more": "/unanswered tregon pyetjet pa përgjigje.",
        "table_unanswered": "Pyetje pa përgjigje (asgjë nuk u përputh), më të shpeshtat së pari",
        "table_low_confidence": "Pyetje ku boti nuk ishte i sigurt (u ofrua “Mos doni të pyesni”)",
        "column_count": "Herë",
        "column_questions": "Pyetjet e bëra",
        "table_entries": "Hyrjet sipas numrit të herëve që u dha përgjigjja e tyre",
        "column_given": "Herë",
        "column_helpful": "Po",
        "column_not_helpful": "Jo",
        "column_entry": "Hyrja",
        "table_unhelpful": "Hyrje me vota “jo e dobishme”",
        "table_never_asked": "Asnjëherë të kërkuara",
        "table_per_day": "Pyetje në ditë (UTC)",
        "table_per_week": "Pyetje në javë (UTC; çdo javë nga e hëna)",
        "table_per_month": "Pyetje në muaj (UTC)",
        "table_per_language": "Pyetje sipas gjuhës",
        "table_outcomes": "Rezultatet",
        "table_removed": "(nuk është më në FAQ)",
        "table_dated": "Përgjigje me datë për t'u kontrolluar (faq/: reviewed:, expires:)",
        "dated_expired": "skadoi më {day}, nuk jepet më",
        "dated_stale": "kontrolluar për herë të fundit më {day}",
        "table_waiting_for_facts": "Përgjigje që presin një fakt nga stafi (unknown:): {count}",
        "tickets": (
            "Dërguar stafit: {opened} · me përgjigje: {answered} · mediana e kohës deri te"
            " përgjigjja e parë: {median}"
        ),
    },
}
_LOCALES = Locales(_TEXTS, fallback_language="en")


def _t(lang: str, key: str, **values: object) -> str:
    return _LOCALES.text(lang, key, **{name: str(value) for name, value in values.items()})


def _period(report: Report, lang: str) -> str:
    length = report.until - report.since
    if length >= timedelta(days=2) and length % timedelta(days=1) == timedelta(0):
        return _t(lang, "period_days", days=length // timedelta(days=1))
    return _t(lang, "period_hours", hours=round(length / timedelta(hours=1)))


def _percent(share: float) -> str:
    return f"{share:.0%}"


def _tickets_line(report: Report, lang: str) -> str | None:
    """Hand-off tickets: opened, answered, median wait for the first staff reply."""
    tickets = report.tickets
    if tickets is None:
        return None
    return _t(
        lang,
        "tickets",
        opened=tickets.opened,
        answered=tickets.answered,
        median=_duration(tickets.median_first_reply),
    )


def _duration(length: timedelta | None) -> str:
    if length is None:
        return "–"
    minutes = round(length.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


# ----- Telegram summaries --------------------------------------------------------------


def stats_summary(report: Report, lang: str) -> str:
    """A few lines of Telegram HTML for the admins' /stats (build the report over
    SUMMARY_PERIOD)."""
    period = _period(report, lang)
    tickets = _tickets_line(report, lang)
    if not report.questions:
        text = _t(lang, "no_questions", period=period)
        return f"{text}\n{html.escape(tickets)}" if tickets is not None else text
    lines = [
        f"<b>{html.escape(_t(lang, 'report_title'))}, {html.escape(period)}</b>",
        html.escape(
            _t(lang, "questions_from_people", questions=report.questions, people=report.people)
        ),
        html.escape(
            _t(
                lang,
                "outcomes",
                answered=report.outcomes.get(ANSWER, 0),
                suggested=report.outcomes.get(SUGGEST, 0),
                fallback=report.outcomes.get(FALLBACK, 0),
                share=_percent(report.fallback_share),
            )
        ),
        html.escape(
            _t(lang, "languages", languages=", ".join(f"{c} {n}" for c, n in report.per_language))
        ),
    ]
    top = [u for u in report.entries if u.asked][:3]
    if top:
        listed = ", ".join(f"{_short(u.title(lang), 40)} ({u.asked})" for u in top)
        lines.append(html.escape(_t(lang, "most_asked", entries=listed)))
    unhelpful = report.negative_feedback[:3]
    if unhelpful:
        listed = ", ".join(
            f"{_short(u.title(lang), 40)} "
            f"({_t(lang, 'votes', no=u.not_helpful, votes=u.helpful + u.not_helpful)})"
            for u in unhelpful
        )
        lines.append(html.escape(_t(lang, "most_unhelpful", entries=listed)))
    if tickets is not None:
        lines.append(html.escape(tickets))
    if report.unanswered:
        lines.append(html.escape(_t(lang, "stats_more")))
    return "\n".join(lines)


def unanswered_summary(report: Report, lang: str, limit: int = 5) -> str:
    """The largest groups of unanswered questions, in Telegram HTML, for /unanswered."""
    period = _period(report, lang)
    if not report.unanswered:
        return html.escape(_t(lang, "nothing_unanswered", period=period))
    shown = report.unanswered[:limit]
    title = _t(lang, "unanswered_title", period=period)
    top = _t(lang, "unanswered_top", shown=len(shown), groups=len(report.unanswered))
    text = f"<b>{html.escape(title)}</b>\n{html.escape(top)}"
    for number, cluster in enumerate(shown, start=1):
        lines = [
            f"{number}. <b>{cluster.count}×</b> {html.escape(_short(cluster.samples[0], 100))}"
        ]
        if cluster.samples[1:]:
            others = "; ".join(_short(sample, 60) for sample in cluster.samples[1:])
            lines.append(f"   {html.escape(_t(lang, 'also'))}: {html.escape(others)}")
        closest = _closest_label(cluster)
        if closest:
            lines.append(f"   {html.escape(_t(lang, 'closest'))}: {html.escape(closest)}")
        if cluster.answered_now:
            marked = _t(lang, "answered_now", entry=cluster.answered_now)
            lines.append(f"   ✓ {html.escape(marked)}")
        block = "\n".join(lines)
        if len(text) + len(block) + 200 > TELEGRAM_MESSAGE_LIMIT:
            break
        text += "\n\n" + block
    return text + "\n\n" + html.escape(_t(lang, "unanswered_hint"))


def _closest_label(cluster: Cluster) -> str:
    if cluster.closest_entry_id is None or cluster.closest_score is None:
        return ""
    return f"{cluster.closest_entry_id} ({cluster.closest_score:.0f})"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


# ----- rendering for the command line --------------------------------------------------


def render_report(report: Report, fmt: ReportFormat, lang: str = "en") -> str:
    """The report as an 80-column table, a CSV sheet or one JSON object."""
    if fmt == "table":
        return _render_table(report, lang)
    if fmt == "csv":
        return _render_csv(report, lang)
    if fmt == "json":
        return json.dumps(report_as_dict(report), ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _render_table(report: Report, lang: str) -> str:
    period = _period(report, lang)
    start = report.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    end = report.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    out = [f"{_t(lang, 'report_title')}, {period}: {start} – {end} UTC", "=" * TABLE_WIDTH]
    out.append(_t(lang, "questions_from_people", questions=report.questions, people=report.people))
    out.append(
        _t(
            lang,
            "outcomes",
            answered=report.outcomes.get(ANSWER, 0),
            suggested=report.outcomes.get(SUGGEST, 0),
            fallback=report.outcomes.get(FALLBACK, 0),
            share=_percent(report.fallback_share),
        )
    )
    tickets = _tickets_line(report, lang)
    if tickets is not None:
        out.append(tickets)
    out.extend(_clusters_table(report.unanswered, _t(lang, "table_unanswered"), lang))
    out.extend(_clusters_table(report.low_confidence, _t(lang, "table_low_confidence"), lang))

    out.extend(_heading(_t(lang, "table_entries")))
    out.append(_entry_header(lang))
    for usage in report.entries:
        out.append(_entry_row(usage, lang))
    if report.never_asked:
        label = f"{_t(lang, 'table_never_asked')}: "
        named = [
            f"{entry_id} ({report.title(entry_id, lang)})"
            if report.title(entry_id, lang)
            else entry_id
            for entry_id in report.never_asked
        ]
        out.extend(
            textwrap.wrap(
                ", ".join(named),
                TABLE_WIDTH,
                initial_indent="  " + label,
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        )
    if report.negative_feedback:
        out.extend(_heading(_t(lang, "table_unhelpful")))
        out.append(_entry_header(lang))
        out.extend(_entry_row(usage, lang) for usage in report.negative_feedback)

    if report.dated:
        out.extend(_heading(_t(lang, "table_dated")))
        out.extend(f"  {_dated_label(item, lang)}" for item in report.dated)

    if report.waiting_for_facts:
        count = len(report.waiting_for_facts)
        out.extend(_heading(_t(lang, "table_waiting_for_facts", count=count)))
        out.extend(f"  {entry_id}: {fact}" for entry_id, fact in report.waiting_for_facts)

    out.extend(_heading(_t(lang, "table_outcomes")))
    out.extend(f"  {count:>6}  {outcome}" for outcome, count in report.outcomes.items())
    out.extend(_heading(_t(lang, "table_per_language")))
    out.extend(f"  {count:>6}  {code}" for code, count in report.per_language)
    heading, rows = _questions_over_time(report.per_day)
    out.extend(_heading(_t(lang, heading)))
    busiest = max((count for _, count in rows), default=0)
    bar_width = TABLE_WIDTH - 22
    for label, count in rows:
        bar = "#" * (round(count / busiest * bar_width) if busiest else 0)
        out.append(f"  {label:<10}  {count:>6}  {bar}".rstrip())
    return "\n".join(out) + "\n"


# A long period read one line per day is thousands of lines ("--since 3650d"): past these
# many days the table counts weeks (from Monday), past a year months.
MAX_DAY_ROWS = 60
MAX_WEEK_ROWS_DAYS = 366


def _questions_over_time(per_day: Sequence[tuple[date, int]]) -> tuple[str, list[tuple[str, int]]]:
    """The per-day counts as table rows: (heading key, [(label, count)])."""
    if len(per_day) <= MAX_DAY_ROWS:
        return "table_per_day", [(day.isoformat(), count) for day, count in per_day]
    if len(per_day) <= MAX_WEEK_ROWS_DAYS:
        heading = "table_per_week"

        def label(day: date) -> str:
            return (day - timedelta(days=day.weekday())).isoformat()
    else:
        heading = "table_per_month"

        def label(day: date) -> str:
            return f"{day.year:04d}-{day.month:02d}"

    totals: dict[str, int] = {}
    for day, count in per_day:
        key = label(day)
        totals[key] = totals.get(key, 0) + count
    return heading, list(totals.items())


def _dated_label(item: DatedEntry, lang: str) -> str:
    if item.state == "expired":
        state = _t(lang, "dated_expired", day=item.expires)
    else:
        state = _t(lang, "dated_stale", day=item.reviewed)
    return f"{item.entry_id}: {state} ({item.file}:{item.line})"


def _heading(title: str) -> list[str]:
    return ["", title, "-" * min(len(title), TABLE_WIDTH)]


def _clusters_table(clusters: Sequence[Cluster], title: str, lang: str) -> list[str]:
    lines = _heading(title)
    if not clusters:
        return [*lines, "  " + _t(lang, "none")]
    lines.append(f"  {_t(lang, 'column_count'):>5}  {_t(lang, 'column_questions')}")
    text_width = TABLE_WIDTH - 9
    for cluster in clusters:
        lines.append(f"  {cluster.count:>5}  {_short(cluster.samples[0], text_width)}")
        lines.extend(f"         {_short(sample, text_width)}" for sample in cluster.samples[1:])
        closest = _closest_label(cluster)
        if closest:
            lines.append(f"         → {_t(lang, 'closest')}: {_short(closest, text_width - 14)}")
        if cluster.answered_now:
            lines.append(f"         ✓ {_t(lang, 'answered_now', entry=cluster.answered_now)}")
    return lines


def _entry_header(lang: str) -> str:
    return (
        f"  {_t(lang, 'column_given'):>5}  {_t(lang, 'column_helpful'):>7}"
        f"  {_t(lang, 'column_not_helpful'):>3}  {_t(lang, 'column_entry')}"
    )


def _entry_row(usage: EntryUsage, lang: str) -> str:
    title = usage.title(lang) if usage.titles else _t(lang, "table_removed")
    label = _short(f"{usage.entry_id}: {title}", TABLE_WIDTH - 29)
    return f"  {usage.asked:>5}  {usage.helpful:>7}  {usage.not_helpful:>3}  {label}"


CSV_COLUMNS = (
    "section",
    "key",
    "label",
    "value",
    "helpful",
    "not_helpful",
    "closest_entry",
    "closest_score",
    "samples",
)


def _render_csv(report: Report, lang: str) -> str:
    """One sheet: every row names its section, so a spreadsheet can filter by it."""
    rows: list[dict[str, object]] = [
        {"section": "summary", "key": "since", "label": report.since.isoformat()},
        {"section": "summary", "key": "until", "label": report.until.isoformat()},
        {"section": "summary", "key": "questions", "value": report.questions},
        {"section": "summary", "key": "people", "value": report.people},
        {"section": "summary", "key": "fallback_share", "value": round(report.fallback_share, 4)},
    ]
    if report.tickets is not None:
        rows.extend(
            {"section": "tickets", "key": key, "value": value}
            for key, value in _tickets_dict(report.tickets).items()
        )
    rows.extend(
        {"section": "outcome", "key": outcome, "value": count}
        for outcome, count in report.outcomes.items()
    )
    rows.extend(
        {"section": "day", "key": day.isoformat(), "value": count} for day, count in report.per_day
    )
    rows.extend(
        {"section": "language", "key": code, "value": count} for code, count in report.per_language
    )
    rows.extend(
        {
            "section": "entry",
            "key": usage.entry_id,
            "label": usage.title(lang) if usage.titles else "",
            "value": usage.asked,
            "helpful": usage.helpful,
            "not_helpful": usage.not_helpful,
        }
        for usage in report.entries
    )
    rows.extend({"section": "never_asked", "key": entry_id} for entry_id in report.never_asked)
    rows.extend(
        {
            "section": "dated",
            "key": item.entry_id,
            "label": item.state,
            "value": str(item.expires if item.state == "expired" else item.reviewed),
        }
        for item in report.dated
    )
    rows.extend(
        {"section": "unknown", "key": entry_id, "label": fact}
        for entry_id, fact in report.waiting_for_facts
    )
    for section, clusters in (
        ("unanswered", report.unanswered),
        ("low_confidence", report.low_confidence),
    ):
        rows.extend(
            {
                "section": section,
                "key": number,
                "label": cluster.samples[0],
                "value": cluster.count,
                "closest_entry": cluster.closest_entry_id or "",
                "closest_score": "" if cluster.closest_score is None else cluster.closest_score,
                "samples": " | ".join(cluster.samples),
            }
            for number, cluster in enumerate(clusters, start=1)
        )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _spreadsheet_safe(value) for key, value in row.items()})
    return buffer.getvalue()


def _spreadsheet_safe(value: object) -> object:
    # A cell starting with = + - or @ is a formula to a spreadsheet; texts come from users
    # and staff, so such a cell is written as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def report_as_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data (one object)."""

    def cluster(c: Cluster) -> dict[str, Any]:
        return {
            "count": c.count,
            "samples": list(c.samples),
            "languages": list(c.languages),
            "last_asked": c.last_asked.isoformat(),
            "closest_entry": c.closest_entry_id,
            "closest_score": c.closest_score,
        }

    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "questions": report.questions,
        "people": report.people,
        "fallback_share": round(report.fallback_share, 4),
        "outcomes": dict(report.outcomes),
        "per_day": [{"date": d.isoformat(), "questions": n} for d, n in report.per_day],
        "per_day_outcomes": [
            {"date": d.isoformat(), "outcomes": dict(c)} for d, c in report.per_day_outcomes
        ],
        "per_language": [{"lang": code, "questions": n} for code, n in report.per_language],
        "entries": [
            {
                "id": u.entry_id,
                "titles": dict(u.titles),
                "asked": u.asked,
                "helpful": u.helpful,
                "not_helpful": u.not_helpful,
            }
            for u in report.entries
        ],
        "never_asked": list(report.never_asked),
        "dated": [
            {
                "id": item.entry_id,
                "state": item.state,
                "reviewed": item.reviewed.isoformat() if item.reviewed else None,
                "expires": item.expires.isoformat() if item.expires else None,
            }
            for item in report.dated
        ],
        "waiting_for_facts": [
            {"id": entry_id, "fact": fact} for entry_id, fact in report.waiting_for_facts
        ],
        "unanswered": [cluster(c) for c in report.unanswered],
        "low_confidence": [cluster(c) for c in report.low_confidence],
        "tickets": _tickets_dict(report.tickets) if report.tickets is not None else None,
    }


def _tickets_dict(tickets: TicketStats) -> dict[str, Any]:
    median = tickets.median_first_reply
    return {
        "opened": tickets.opened,
        "answered": tickets.answered,
        "median_first_reply_seconds": None if median is None else round(median.total_seconds()),
    }
