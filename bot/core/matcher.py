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
from bot.core.albanian import LANGUAGE_NEUTRAL, standard_albanian
from bot.core.knowledge import KnowledgeBase
from bot.core.language import (
    WordLanguages,
    guess_language,
    is_function_word,
    stem_albanian,
    stem_english,
)
from bot.core.search_index import SearchIndex
from bot.core.smalltalk import SmallTalk, read_small_talk
from bot.core.synonyms import word_stems
from bot.core.text import typed_words

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
    # The share (0-1) of the question's subject words the entry's questions use too
    # (bot.core.search_index.ScoredEntry.evidence).
    evidence: float = 1.0
    shared: int = 0  # the question's subject words the entry's questions use
    unknown: int = 0  # the question's subject words the knowledge base lacks
    specificity: float = 1.0  # how few entries use the rarest shared subject word (0-1)


@dataclass(frozen=True)
class Match:
    status: Status
    # answer: the answered entry first; suggest: the choices to offer; fallback: empty
    candidates: tuple[Candidate, ...]
    best: Candidate | None  # the top candidate even when nothing was answered
    lang: str | None  # the question's language as far as it can tell, else None
    smalltalk: SmallTalk | None = None  # a greeting or thanks rather than a question
    # Words of the question the knowledge base has nothing for (no variant, inflection,
    # typo or synonym): what the bot does not know about, when it does not answer.
    unknown: tuple[str, ...] = ()

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
        # Variants are indexed as the glossary reads them (faq/synonyms.yaml): each synonym
        # as its group's first word, as questions are read before they are searched.
        self._glossary = glossary = knowledge.synonyms
        self._index = SearchIndex(
            [
                {
                    lang: [glossary.canonical_text(v) for v in variants] if glossary else variants
                    for lang, variants in entry.questions.items()
                }
                for entry in knowledge
            ]
        )
        self._word_languages = WordLanguages(
            {
                lang: [
                    standard_albanian(typed_words(variant))
                    for entry in knowledge
                    for variant in entry.questions.get(lang, ())
                ]
                for lang in {lang for entry in knowledge for lang in entry.questions}
            }
        )
        self._dated = [entry for entry in knowledge if entry.expires_at is not None]
        # Pairs of entries that give the same answer (`covers:`), in both orders.
        self._covering = frozenset(
            pair
            for entry in knowledge
            for covered in entry.covers
            for pair in ((entry.id, covered), (covered, entry.id))
        )
        # For `other_institutions`: the words each entry's questions use, as stems.
        self._entry_stems = (
            {
                entry.id: word_stems([v for vs in entry.questions.values() for v in vs])
                for entry in knowledge
            }
            if glossary.other_institutions
            else {}
        )

    def rank(self, question: str, limit: int = 5) -> list[Candidate]:
        """Entries by score for the whole message, best first (at most `limit`).

        Unlike `match`, small talk is not cut off: a greeting's words are unknown to the
        knowledge base and lower every entry's score alike, so the order hardly changes,
        and a knowledge base may well have entries about greetings or thanks.
        """
        return self._rank_words(_question_words(question)[1], limit)

    def match(self, question: str) -> Match:
        """Answer, suggest or fall back, with the question's language and small talk."""
        text = question[:MAX_QUESTION_CHARS]
        typed, words = _question_words(text)
        reading = read_small_talk(words)
        if reading.kind is not None:
            clues = self._language_clues(typed, words)
            lang = reading.lang or guess_language(text, clues, self._word_languages)
            return Match("answer", (), None, lang, reading.kind)
        start = _start_of(reading.question, words)  # after a greeting ("hi, where are you")
        words = reading.question
        clues = self._language_clues(typed[start : start + len(words)], words)
        lang = guess_language(text, clues, self._word_languages) or reading.lang
        settings = self.settings
        read = self._read_synonyms(words)
        ranked = self._rank_read(read, settings.max_suggestions + 2)
        unknown = self._unknown_words(read)
        if not ranked:
            return Match("fallback", (), None, lang, unknown=unknown)
        best = ranked[0]
        if best.score < 100 and any(
            self._glossary.is_not_in_base(word) and self._index.resolve(word).confidence < 1
            for word in read
        ):
            # About a subject staff listed as not in the knowledge base (faq/synonyms.yaml):
            # the nearest entry would be a confident wrong answer.
            return Match("fallback", (), best, lang, unknown=unknown)
        if best.score < 100 and not all(
            self._entry_names(best.entry_id, word)
            for word in read
            if self._glossary.names_other_institution(word)
        ):
            # Another institution's phone or address is not the agency's: only an entry
            # about that institution (registration at court) may answer.
            return Match("fallback", (), best, lang, unknown=unknown)
        if best.score < 100 and all(is_function_word(word) for word in words):
            # "what is the", "ku jeni ju": too little to answer on, whatever the scores
            # say; but an entry that stands out ("ku jeni ju": the address) is offered.
            standouts = self._choices(ranked, min_evidence=0.0)
            if standouts:
                return Match("suggest", standouts, best, lang, unknown=unknown)
            return Match("fallback", (), best, lang, unknown=unknown)
        # Entries as close as this are a choice, unless they give the same answer
        # (`covers:` in faq/): then the better one is simply the answer.
        too_close = [
            c
            for c in ranked[1:]
            if best.score - c.score <= settings.ambiguity_margin
            and not self._same_answer(best.entry_id, c.entry_id)
        ]
        if (
            best.score >= settings.answer_threshold
            and self._has_evidence_to_answer(best)
            and not too_close
        ):
            return Match("answer", (best,), best, lang, unknown=unknown)
        choices = self._choices(ranked, settings.suggest_min_evidence)
        if choices:
            return Match("suggest", choices, best, lang, unknown=unknown)
        return Match("fallback", (), best, lang, unknown=unknown)

    def _choices(self, ranked: list[Candidate], min_evidence: float) -> tuple[Candidate, ...]:
        """The "did you mean" choices: good enough, with evidence, one per answer."""
        settings = self.settings
        choices: list[Candidate] = []
        for candidate in ranked:
            if (
                len(choices) < settings.max_suggestions
                and candidate.score >= settings.suggest_threshold
                and candidate.evidence >= min_evidence
                and not any(self._same_answer(c.entry_id, candidate.entry_id) for c in choices)
            ):
                choices.append(candidate)
        return tuple(choices)

    def exact_entry(self, question: str) -> str | None:
        """The one served entry that has `question` as a variant, as the index reads it.

        None when no entry or several have it, or it is small talk. Such a question scores
        100 for its entry and less for any other that has no variant almost the same (lint
        finds those pairs), so `match` answers it with that entry: lint's self-test skips
        the search for it."""
        _typed, words = _question_words(question)
        reading = read_small_talk(words)
        if reading.kind is not None or reading.question != words:
            return None
        found = self._index.exact_entries(self._read_synonyms(words))
        if len(found) != 1:
            return None
        entry_id = self._entry_ids[found[0]]
        entry = self.knowledge.entry(entry_id)
        if entry is None or (entry.expires_at is not None and entry.is_expired(self.clock())):
            return None
        return entry_id

    def _same_answer(self, first: str, second: str) -> bool:
        """Whether one of the two entries declares that it gives the other's answer."""
        return (first, second) in self._covering

    def _has_evidence_to_answer(self, candidate: Candidate) -> bool:
        """Whether the entry shares enough of the question's subject to be its answer.

        Function words ("how do i", "si", "ku") never count. A question with words the
        knowledge base never uses that shares a single subject word with the entry ("how
        do i register my car": "register") needs that word to carry a larger share."""
        settings = self.settings
        if candidate.evidence < settings.answer_min_evidence:
            return False
        lone_word = candidate.unknown >= 1 and candidate.shared <= 1
        return not lone_word or candidate.specificity >= settings.lone_word_min_specificity

    def _entry_names(self, entry_id: str, word: str) -> bool:
        stems = self._entry_stems.get(entry_id, frozenset())
        return stem_albanian(word) in stems or stem_english(word) in stems

    def _rank_words(self, words: list[str], limit: int) -> list[Candidate]:
        return self._rank_read(self._read_synonyms(words), limit)

    def _rank_read(self, read: list[str], limit: int) -> list[Candidate]:
        # Checked at every question, so an entry stops at its expiry without a reload.
        now = self.clock() if self._dated else None
        expired = {e.id for e in self._dated if now is not None and e.is_expired(now)}
        return [
            Candidate(
                self._entry_ids[scored.index],
                round(scored.score, 1),
                scored.evidence,
                scored.shared,
                scored.unknown,
                scored.specificity,
            )
            for scored in self._index.search(read, limit + len(expired))
            if self._entry_ids[scored.index] not in expired
        ][:limit]

    def _language_clues(self, typed: list[str], words: list[str]) -> list[str]:
        """The words that tell the language. Chat abbreviations ("tel", "nr") and glossary
        words ("email", "ojf") are written alike in both languages: they tell nothing."""
        glossary = self._glossary
        return [
            word
            for was, word in zip(typed, words, strict=True)
            if was not in LANGUAGE_NEUTRAL and not glossary.has(word)
        ]

    def _read_synonyms(self, words: list[str]) -> list[str]:
        """Words as the glossary reads them. A word the index does not know that is an
        unlisted form or a typo of a glossary word ("fondeve", "imeil") is read as its
        group too: the index cannot catch it, since it holds the group's first word only."""
        glossary = self._glossary
        if not glossary:
            return words
        read = glossary.canonical_words(words)
        return [
            word
            if glossary.is_head(word) or self._index.resolve(word).term is not None
            else glossary.nearest_head(word) or word
            for word in read
        ]

    def _unknown_words(self, read: list[str]) -> tuple[str, ...]:
        """The words the knowledge base has nothing for, in a question read for synonyms."""
        return tuple(
            dict.fromkeys(
                word
                for word in read
                if not is_function_word(word)
                and not word.isdigit()
                and self._index.resolve(word).term is None
            )
        )


def _start_of(part: list[str], words: list[str]) -> int:
    """Where the slice `part` of `words` starts (small talk cuts only the two ends)."""
    for start in range(len(words) - len(part) + 1):
        if words[start : start + len(part)] == part:
            return start
    return 0


def _question_words(question: str) -> tuple[list[str], list[str]]:
    """The words as typed (folded) and as read (bot.core.albanian), one for one."""
    typed = typed_words(question[:MAX_QUESTION_CHARS])[:MAX_QUESTION_WORDS]
    return typed, standard_albanian(typed)
