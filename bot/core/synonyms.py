"""The synonyms glossary staff edit (faq/synonyms.yaml): words that mean the same for matching.

A group lists words or phrases that the matcher must treat as one ("ojf, ojq, shoqatë,
NGO"), in one language or across languages. Both the entries' question variants and the
users' questions are read with every word or phrase of a group replaced by the group's
first one (canonicalisation), so "imell" finds the variants written with "email" and
"NGO" those written with "OJF". Words are compared folded and normalised (bot.core.text),
so "shoqatë" and "shoqate", "osht" and "është" are the same word; inflected forms are
listed as words of their own ("shoqata", "shoqatën"), since a stemmer would guess.

The same file lists, under `not_in_base`, subjects people ask the agency about that the
knowledge base does not answer: a question about one of them gets the honest "I don't know
this, ask the agency" rather than the nearest entry's answer, which would be wrong with
confidence ("how do I register an NGO at court" is not the NGO database). A word there is
ignored once an entry's question uses it.

Under `other_institutions` it lists words that name other institutions (a court, the tax
office, a ministry): a question that names one is answered only by an entry whose own
questions name it too. "numri i telefonit të gjykatës" is not the agency's phone number,
while "si regjistrohet OJF-ja në gjykatë" is the entry about registering at court.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.core.language import stem_albanian, stem_english
from bot.core.search_index import MIN_TYPO_LENGTH, TYPO_CUTOFF
from bot.core.text import normalise
from bot.core.yaml_files import Problem, parse_file, schema_problems

SYNONYMS_FILE = "synonyms.yaml"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "synonyms.schema.json"


@dataclass(frozen=True)
class SynonymGroup:
    words: tuple[str, ...]  # as staff wrote them
    file: str = ""
    line: int = 0

    @property
    def head(self) -> str:
        """The token every word of the group is read as: the first word, normalised."""
        return "".join(normalise(self.words[0]).split())


@dataclass(frozen=True)
class Glossary:
    groups: tuple[SynonymGroup, ...] = ()
    not_in_base: tuple[str, ...] = ()  # subjects the knowledge base does not answer
    other_institutions: tuple[str, ...] = ()  # answered only by entries that name them
    _phrases: dict[tuple[str, ...], str] = field(default_factory=dict, repr=False, compare=False)
    _longest: int = field(default=0, repr=False, compare=False)
    _heads: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _by_stem: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _nearest: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)
    _missing_stems: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _institution_stems: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        phrases: dict[tuple[str, ...], str] = {}
        for group in self.groups:
            for word in group.words:
                phrase = tuple(normalise(word).split())
                if phrase:
                    phrases.setdefault(phrase, group.head)
        object.__setattr__(self, "_phrases", phrases)
        object.__setattr__(self, "_longest", max(map(len, phrases), default=0))
        object.__setattr__(self, "_heads", frozenset(phrases.values()))
        by_stem: dict[str, str] = {}
        for phrase, head in phrases.items():
            if len(phrase) == 1:
                for stem in (stem_albanian(phrase[0]), stem_english(phrase[0])):
                    by_stem.setdefault(stem, head)
        object.__setattr__(self, "_by_stem", by_stem)
        object.__setattr__(
            self,
            "_missing_stems",
            frozenset(
                stem
                for word in self.not_in_base
                for folded in normalise(word).split()
                for stem in (stem_albanian(folded), stem_english(folded))
            ),
        )

        object.__setattr__(self, "_institution_stems", word_stems(self.other_institutions))

    def __bool__(self) -> bool:
        return bool(self._phrases or self._missing_stems or self._institution_stems)

    def names_other_institution(self, word: str) -> bool:
        """Whether a normalised word is (a form of) one listed under `other_institutions`."""
        return bool(self._institution_stems) and bool(
            {stem_albanian(word), stem_english(word)} & self._institution_stems
        )

    def is_not_in_base(self, word: str) -> bool:
        """Whether a normalised word is (a form of) a subject listed under `not_in_base`."""
        return bool(self._missing_stems) and (
            stem_albanian(word) in self._missing_stems or stem_english(word) in self._missing_stems
        )

    def canonical_words(self, words: Sequence[str]) -> list[str]:
        """Normalised words with each glossary word or phrase replaced by its group's head;
        the longest phrase wins ("poste elektronike" before "poste")."""
        if not self._phrases:
            return list(words)
        result: list[str] = []
        position = 0
        while position < len(words):
            for size in range(min(self._longest, len(words) - position), 0, -1):
                head = self._phrases.get(tuple(words[position : position + size]))
                if head is not None:
                    result.append(head)
                    position += size
                    break
            else:
                result.append(words[position])
                position += 1
        return result

    def has(self, word: str) -> bool:
        """Whether a normalised word is one of the glossary's words (or a group's head)."""
        return (word,) in self._phrases or word in self._heads

    def is_head(self, word: str) -> bool:
        return word in self._heads

    def nearest_head(self, word: str) -> str | None:
        """The head of the group `word` is an unlisted inflection or a typo of, if any:
        same stem ("fondeve" ~ "fonde"), or as alike as the index's typo reading."""
        if word in self._nearest:
            return self._nearest[word]
        head = self._by_stem.get(stem_albanian(word)) or self._by_stem.get(stem_english(word))
        if head is None and len(word) >= MIN_TYPO_LENGTH and not word.isdigit():
            singles = [phrase[0] for phrase in self._phrases if len(phrase) == 1]
            found = process.extractOne(word, singles, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
            if found is not None:
                head = self._phrases[(found[0],)]
        if len(self._nearest) >= 20_000:  # bounded: questions bring ever new words
            self._nearest.clear()
        self._nearest[word] = head
        return head

    def canonical_text(self, text: str) -> str:
        return " ".join(self.canonical_words(normalise(text).split()))

    def group_of(self, word: str) -> SynonymGroup | None:
        phrase = tuple(normalise(word).split())
        head = self._phrases.get(phrase)
        return next((g for g in self.groups if g.head == head), None) if head else None


def word_stems(texts: Sequence[str]) -> frozenset[str]:
    """The Albanian and English stems of every word of `texts`, normalised."""
    return frozenset(
        stem
        for text in texts
        for word in normalise(text).split()
        for stem in (stem_albanian(word), stem_english(word))
    )


@cache
def synonyms_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def load_glossary(path: Path, name: str) -> tuple[Glossary, list[Problem]]:
    """The glossary in `path` (none if the file does not exist) and its problems.

    Errors: YAML or schema errors, a word in two groups (which group would it mean?).
    Warnings: a group of one word, which does nothing.
    """
    if not path.is_file():
        return Glossary(), []
    parsed = parse_file(path, name)
    problems = list(parsed.problems)
    if not problems and parsed.data is None:
        problems.append(Problem(name, 1, "the file is empty; it needs 'synonyms:'"))
    if not problems:
        problems.extend(schema_problems(parsed, synonyms_schema()))
    if any(p.severity == "error" for p in problems):
        return Glossary(), problems
    groups_node = _value_of(parsed.root, "synonyms")
    groups: list[SynonymGroup] = []
    first_seen: dict[tuple[str, ...], int] = {}
    for index, words in enumerate(parsed.data.get("synonyms") or []):
        node = groups_node.value[index] if groups_node is not None else None
        line = node.start_mark.line + 1 if node is not None else 1
        kept = []
        for word in words:
            phrase = tuple(normalise(word).split())
            if not phrase:
                problems.append(Problem(name, line, f"{word!r} has no letters or digits"))
                continue
            if phrase in first_seen and first_seen[phrase] != line:
                problems.append(
                    Problem(
                        name,
                        line,
                        f"{word!r} is also in the group on line {first_seen[phrase]}: a word "
                        "can be in one group only; merge the groups or remove it from one",
                    )
                )
                continue
            first_seen[phrase] = line
            kept.append(word)
        if len(words) == 1:
            problems.append(
                Problem(
                    name,
                    line,
                    f"the group {words[0]!r} has one word only, so it changes nothing; add "
                    "the words that mean the same or remove the group",
                    severity="warning",
                )
            )
        if kept:
            groups.append(SynonymGroup(tuple(kept), name, line))
    missing = tuple(str(word) for word in parsed.data.get("not_in_base") or [])
    others = tuple(str(word) for word in parsed.data.get("other_institutions") or [])
    return Glossary(tuple(groups), missing, others), problems


def _value_of(root: Any, key: str) -> Any:
    """The YAML node under `key` of a mapping node, for line numbers."""
    for key_node, value_node in getattr(root, "value", []):
        if getattr(key_node, "value", None) == key:
            return value_node
    return None
