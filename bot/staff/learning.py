"""Suggested question variants and new entries, from what users did with the bot's answers.

Pure: it reads logged questions, the "did you mean" choices users picked and the knowledge
base, and returns suggestions; storing decisions and writing files is done elsewhere
(bot.staff.learning_desk).

Signals that tie a user's question to an entry:
- the user picked that entry among the "did you mean" choices, and did not then vote 👎;
- the user voted 👍 on an answer the matcher was unsure of (scored below
  learning.confident_score).
An answer voted 👎 counts against its entry, and its wording is never suggested for it.

Similar wordings tied to the same entry (in one language) form a group; a group used by at
least learning.min_users different people (one person asking three times counts once)
becomes a suggested variant, worded as most of them did. Unanswered questions form groups
the same way; a group with no good candidate entry becomes a suggested new entry.

Never suggested: text with masked personal data (<email>, <phone>, <number>), a wording
that is already a variant after normalisation, one so close to another entry's variant that
it would take that entry's question (the check `lint` makes), and anything rejected before.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from bot.config import LearningSettings
from bot.core.knowledge_state import LoadedKnowledge
from bot.staff.lint import CONFUSABLE_SIMILARITY
from bot.staff.report import SIMILARITY_THRESHOLD, similarity
from bot.storage.question_log import (
    ANSWER,
    EMAIL_PLACEHOLDER,
    FALLBACK,
    NUMBER_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    SUGGEST,
    LoggedQuestion,
)

SuggestionKind = Literal["variant", "entry"]
SignalKind = Literal["choice", "thumbs_up"]
_PLACEHOLDERS = (EMAIL_PLACEHOLDER, PHONE_PLACEHOLDER, NUMBER_PLACEHOLDER)
# Up to this many wordings are shown with a suggestion (and kept in a draft entry).
SAMPLES = 3


@dataclass(frozen=True)
class Signal:
    """One user's question tied to an entry."""

    text: str
    lang: str
    entry_id: str
    user: str  # the keyed hash; "" when unknown (counted as one person)
    kind: SignalKind


@dataclass(frozen=True)
class Suggestion:
    id: str  # short and stable: the same wording for the same entry keeps its id
    kind: SuggestionKind
    entry_id: str | None  # None for a new entry
    lang: str
    text: str  # the wording to add, as users wrote it (masked and normalised by the log)
    users: int  # distinct people
    asked: int  # questions in the group
    samples: tuple[str, ...]  # the group's most used wordings, `text` first
    against: int = 0  # 👎 votes on the entry's answers in the period
    signals: Mapping[str, int] | None = None  # signal kind -> questions


@dataclass(frozen=True)
class Signals:
    positive: tuple[Signal, ...]
    against: Mapping[str, int]  # entry id -> 👎 votes
    refused: Mapping[str, frozenset[str]]  # entry id -> wordings voted 👎 on its answer
    unanswered: tuple[LoggedQuestion, ...]


def suggestion_id(kind: SuggestionKind, entry_id: str | None, lang: str, text: str) -> str:
    digest = hashlib.sha256(f"{kind}\0{entry_id or ''}\0{lang}\0{text}".encode()).hexdigest()
    return digest[:8]


def has_personal_data(text: str) -> bool:
    return any(placeholder in text for placeholder in _PLACEHOLDERS)


def collect_signals(
    questions: Iterable[LoggedQuestion],
    choices: Mapping[str, str],
    settings: LearningSettings,
) -> Signals:
    """Sort the log's questions into signals, votes against entries and unanswered ones."""
    positive: list[Signal] = []
    against: Counter[str] = Counter()
    refused: dict[str, set[str]] = defaultdict(set)
    unanswered: list[LoggedQuestion] = []
    for question in questions:
        if not question.text or has_personal_data(question.text):
            continue
        lang = question.lang or "?"
        user = question.user_hash or ""
        chosen = choices.get(question.id)
        if chosen is not None and question.outcome == SUGGEST and question.helpful is not False:
            positive.append(Signal(question.text, lang, chosen, user, "choice"))
        elif question.outcome == ANSWER and question.entry_id:
            if question.helpful is False:
                against[question.entry_id] += 1
                refused[question.entry_id].add(question.text)
            elif question.helpful and question.score < settings.confident_score:
                positive.append(Signal(question.text, lang, question.entry_id, user, "thumbs_up"))
        elif question.outcome == FALLBACK:
            unanswered.append(question)
    return Signals(
        tuple(positive),
        dict(against),
        {entry: frozenset(texts) for entry, texts in refused.items()},
        tuple(unanswered),
    )


@dataclass(frozen=True)
class _Group:
    wordings: tuple[str, ...]  # most used first
    users: int
    asked: int
    kinds: Mapping[str, int]


def _group(items: Sequence[tuple[str, str, str]]) -> list[_Group]:
    """Group (text, user, kind) items by similar wording; greedy and deterministic, as the
    report's clusters: the most used wordings first, each joining the group whose first
    wording it is most like, if alike enough."""
    users_of: dict[str, set[str]] = defaultdict(set)
    count_of: Counter[str] = Counter()
    kinds_of: dict[str, Counter[str]] = defaultdict(Counter)
    for text, user, kind in items:
        users_of[text].add(user)
        count_of[text] += 1
        kinds_of[text][kind] += 1
    wordings = sorted(count_of, key=lambda t: (-len(users_of[t]), -count_of[t], t))
    groups: list[list[str]] = []
    for text in wordings:
        best: list[str] | None = None
        best_score = SIMILARITY_THRESHOLD
        for group in groups:
            score = similarity(text, group[0])
            if score >= best_score and (best is None or score > best_score):
                best, best_score = group, score
        if best is None:
            groups.append([text])
        else:
            best.append(text)
    result = []
    for group in groups:
        kinds: Counter[str] = Counter()
        for text in group:
            kinds.update(kinds_of[text])
        result.append(
            _Group(
                wordings=tuple(group),
                users=len(set().union(*(users_of[t] for t in group))),
                asked=sum(count_of[t] for t in group),
                kinds=dict(kinds),
            )
        )
    return result


def _known_wordings(loaded: LoadedKnowledge) -> dict[str, str]:
    """Every variant after normalisation (with the glossary) -> its entry id."""
    glossary = loaded.knowledge.synonyms
    return {
        glossary.canonical_text(variant): entry.id
        for entry in loaded.knowledge
        for variants in entry.questions.values()
        for variant in variants
    }


def takes_over(loaded: LoadedKnowledge, entry_id: str, text: str) -> str | None:
    """The other entry whose question `text` would take (or lose to), if added to entry
    `entry_id`: one with a variant as alike as lint's confusable pairs. None if none."""
    glossary = loaded.knowledge.synonyms
    mine = glossary.canonical_text(text)
    for candidate in loaded.matcher.rank(text, 5):
        if candidate.entry_id == entry_id:
            continue
        rival = loaded.knowledge.entry(candidate.entry_id)
        if rival is None:
            continue
        theirs = [glossary.canonical_text(v) for vs in rival.questions.values() for v in vs]
        found = process.extractOne(mine, theirs, scorer=fuzz.ratio)
        if found is not None and found[1] >= CONFUSABLE_SIMILARITY:
            return rival.id
    return None


def suggest(
    signals: Signals,
    loaded: LoadedKnowledge,
    settings: LearningSettings,
    *,
    closed: Iterable[str] = (),
) -> list[Suggestion]:
    """The suggestions, most people first; `closed` ids (accepted or rejected) left out."""
    closed_ids = set(closed)
    known = _known_wordings(loaded)
    glossary = loaded.knowledge.synonyms
    suggestions: list[Suggestion] = []

    by_entry: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for signal in signals.positive:
        if loaded.knowledge.entry(signal.entry_id) is None:
            continue  # the entry was removed since
        if signal.text in signals.refused.get(signal.entry_id, frozenset()):
            continue
        by_entry[(signal.entry_id, signal.lang)].append((signal.text, signal.user, signal.kind))
    for (entry_id, lang), items in sorted(by_entry.items()):
        for group in _group(items):
            if group.users < settings.min_users:
                continue
            text = group.wordings[0]
            if glossary.canonical_text(text) in known:
                continue  # already a variant (of this entry or, worse, of another)
            identifier = suggestion_id("variant", entry_id, lang, text)
            if identifier in closed_ids or takes_over(loaded, entry_id, text) is not None:
                continue
            suggestions.append(
                Suggestion(
                    identifier,
                    "variant",
                    entry_id,
                    lang,
                    text,
                    group.users,
                    group.asked,
                    group.wordings[:SAMPLES],
                    signals.against.get(entry_id, 0),
                    group.kinds,
                )
            )

    by_lang: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for question in signals.unanswered:
        by_lang[question.lang or "?"].append((question.text, question.user_hash or "", "asked"))
    for lang, items in sorted(by_lang.items()):
        for group in _group(items):
            text = group.wordings[0]
            if group.users < settings.min_users or glossary.canonical_text(text) in known:
                continue
            identifier = suggestion_id("entry", None, lang, text)
            # Only what the bot still cannot answer: an edit since may have covered it.
            if identifier in closed_ids or loaded.matcher.match(text).status != "fallback":
                continue
            suggestions.append(
                Suggestion(
                    identifier,
                    "entry",
                    None,
                    lang,
                    text,
                    group.users,
                    group.asked,
                    group.wordings[:SAMPLES],
                    signals=group.kinds,
                )
            )
    return sorted(suggestions, key=lambda s: (s.kind != "variant", -s.users, -s.asked, s.id))
