"""Finds the entry a question is about. An index is built once per knowledge base.

PLACEHOLDER implementation (token_set_ratio linear scan) until the real matcher lands;
the public types and signatures below are the contract the dialog relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from bot.config import MatchingSettings
from bot.knowledge import KnowledgeBase
from bot.text import normalise

Status = Literal["answer", "suggest", "fallback"]
SmallTalk = Literal["greeting", "thanks", "goodbye"]


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float  # 0-100


@dataclass(frozen=True)
class Match:
    status: Status
    # answer: the answered entry first; suggest: the choices to offer; fallback: empty
    candidates: tuple[Candidate, ...]
    best: Candidate | None  # the top candidate even when nothing was answered
    lang: str | None  # the question's language as far as it can tell, else None
    smalltalk: SmallTalk | None = None  # a greeting or thanks rather than a question

    @property
    def entry_id(self) -> str | None:
        return self.candidates[0].entry_id if self.status == "answer" and self.candidates else None

    @property
    def score(self) -> float:
        return self.best.score if self.best else 0.0


class Matcher:
    def __init__(self, knowledge: KnowledgeBase, settings: MatchingSettings) -> None:
        self.knowledge = knowledge
        self.settings = settings
        self._choices: dict[tuple[str, str, int], str] = {}
        for entry in knowledge:
            for lang, variants in entry.questions.items():
                for index, variant in enumerate(variants):
                    self._choices[(entry.id, lang, index)] = normalise(variant)

    def rank(self, question: str, limit: int = 5) -> list[Candidate]:
        """Entries by score, best first (at most `limit`)."""
        query = normalise(question)
        best: dict[str, float] = {}
        for _choice, score, key in process.extract(
            query, self._choices, scorer=fuzz.token_set_ratio, limit=limit * 10
        ):
            best[key[0]] = max(best.get(key[0], 0.0), float(score))
        ranked = sorted(best.items(), key=lambda item: -item[1])[:limit]
        return [Candidate(entry_id, score) for entry_id, score in ranked]

    def match(self, question: str) -> Match:
        ranked = self.rank(question, self.settings.max_suggestions)
        if not ranked:
            return Match("fallback", (), None, None)
        best = ranked[0]
        settings = self.settings
        if best.score >= settings.answer_threshold and (
            len(ranked) < 2 or best.score - ranked[1].score > settings.ambiguity_margin
        ):
            return Match("answer", (best,), best, None)
        if best.score >= settings.suggest_threshold:
            return Match("suggest", tuple(ranked), best, None)
        return Match("fallback", (), best, None)
