"""Finds the entry a question is about, and decides whether to answer, suggest or give up.

The index (bot.core.search_index) is built once per knowledge base; a question only touches
the posting lists of its own words. The decision uses the thresholds in config.yaml
(`matching:`): a score at or above answer_threshold answers unless another entry is
within ambiguity_margin of it; from suggest_threshold the best entries are offered as
"did you mean" choices; below it the bot says it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.config import MatchingSettings
from bot.core.knowledge import KnowledgeBase
from bot.core.language import guess_language, is_function_word
from bot.core.search_index import SearchIndex
from bot.core.smalltalk import SmallTalk, read_small_talk
from bot.core.text import tokens

__all__ = ["Candidate", "Match", "Matcher", "SmallTalk", "Status"]

Status = Literal["answer", "suggest", "fallback"]

# Only the start of a very long message is matched: questions are short, and the cost of
# scoring grows with the number of words.
MAX_QUESTION_CHARS = 300
MAX_QUESTION_WORDS = 40


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


def utc_now() -> datetime:
    return datetime.now(UTC)


class Matcher:
    def __init__(
        self,
        knowledge: KnowledgeBase,
        settings: MatchingSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.knowledge = knowledge
        self.settings = settings
        self.clock = clock  # entries past their `expires:` day are left out, as if absent
        self._entry_ids = [entry.id for entry in knowledge]
        self._index = SearchIndex([entry.questions for entry in knowledge])
        self._dated = [entry for entry in knowledge if entry.expires_at is not None]

    def rank(self, question: str, limit: int = 5) -> list[Candidate]:
        """Entries by score for the whole message, best first (at most `limit`).

        Unlike `match`, small talk is not cut off: a greeting's words are unknown to the
        knowledge base and lower every entry's score alike, so the order hardly changes,
        and a knowledge base may well have entries about greetings or thanks.
        """
        return self._rank_words(_question_words(question), limit)

    def match(self, question: str) -> Match:
        """Answer, suggest or fall back, with the question's language and small talk."""
        text = question[:MAX_QUESTION_CHARS]
        words = _question_words(text)
        reading = read_small_talk(words)
        if reading.kind is not None:
            lang = reading.lang or guess_language(text, words, self._index.word_languages)
            return Match("answer", (), None, lang, reading.kind)
        words = reading.question
        lang = guess_language(text, words, self._index.word_languages) or reading.lang
        settings = self.settings
        ranked = self._rank_words(words, max(settings.max_suggestions, 2))
        if not ranked:
            return Match("fallback", (), None, lang)
        best = ranked[0]
        if best.score < 100 and all(is_function_word(word) for word in words):
            # "what is the", "si mund te": nothing to go on, whatever the scores say.
            return Match("fallback", (), best, lang)
        runner_up = ranked[1].score if len(ranked) > 1 else -1.0
        if best.score >= settings.answer_threshold and (
            best.score - runner_up > settings.ambiguity_margin
        ):
            return Match("answer", (best,), best, lang)
        if best.score >= settings.suggest_threshold:
            choices = tuple(
                candidate
                for candidate in ranked[: settings.max_suggestions]
                if candidate.score >= settings.suggest_threshold
            )
            return Match("suggest", choices, best, lang)
        return Match("fallback", (), best, lang)

    def _rank_words(self, words: list[str], limit: int) -> list[Candidate]:
        # Checked at every question, so an entry stops at its expiry without a reload.
        now = self.clock() if self._dated else None
        expired = {e.id for e in self._dated if now is not None and e.is_expired(now)}
        return [
            Candidate(self._entry_ids[scored.index], round(scored.score, 1))
            for scored in self._index.search(words, limit + len(expired))
            if self._entry_ids[scored.index] not in expired
        ][:limit]


def _question_words(question: str) -> list[str]:
    return tokens(question[:MAX_QUESTION_CHARS])[:MAX_QUESTION_WORDS]
