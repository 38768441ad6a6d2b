"""Checks a knowledge base beyond loading: confusable variants, thieves and the self-test.

Loading already rejects broken files (bot.core.knowledge); lint adds warnings that staff should
act on: missing translations, question variants so alike across two entries that they
confuse matching, and variants that do not find their own entry. Two findings are errors
(`python -m bot lint` exits 1): a variant that takes over another entry's variant (that
question now gets the wrong answer, or a choice instead of its answer), and a synonym group
that makes two entries' variants the same question.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.config import DatedAnswerSettings
from bot.core.dated import dated_entries
from bot.core.knowledge import Entry, Problem, display_name
from bot.core.knowledge_state import LoadedKnowledge
from bot.core.language import is_function_word
from bot.core.matcher import Candidate, Match
from bot.core.synonyms import SYNONYMS_FILE
from bot.core.text import normalise
from bot.staff.drafts import draft_count, drafts_path
from bot.staff.near_duplicates import close_pairs, connected

SCHEMA_LINE = "# yaml-language-server: $schema="
# Two variants of different entries this alike (0-100, rapidfuzz ratio on normalised text)
# are reported: the matcher cannot tell such entries apart from those words.
CONFUSABLE_SIMILARITY = 92


def lint_warnings(
    loaded: LoadedKnowledge,
    faq_dir: Path,
    *,
    dated: DatedAnswerSettings | None = None,
    pending_links: frozenset[str] = frozenset(),
    now: datetime | None = None,
    affected_by: str | None = None,
) -> list[Problem]:
    """Every warning for an already-loaded knowledge base, sorted by file and line.

    `dated` (config.yaml's dated_answers) and `now` (default: the matcher's clock) flag
    expired and long-unreviewed entries; `pending_links` names links without an address.
    `affected_by` (a question just added) limits the self-test to the questions that one
    can change: those sharing a subject word with it, and their near twins.
    """
    warnings = list(loaded.knowledge.warnings)
    warnings.extend(_schema_line_warnings(faq_dir))
    tested = _self_test(loaded, faq_dir, affected_by)
    warnings.extend(_synonym_collisions(loaded, tested.reported))
    warnings.extend(_joined_questions(loaded, faq_dir))
    warnings.extend(_answered_after_all(loaded, faq_dir))
    warnings.extend(tested.problems)
    warnings.extend(_dated_warnings(loaded, dated or DatedAnswerSettings(), now))
    warnings.extend(_pending_link_warnings(loaded, pending_links))
    warnings.extend(_draft_warnings(faq_dir))
    return sorted(set(warnings))


def _draft_warnings(faq_dir: Path) -> list[Problem]:
    count = draft_count(faq_dir)
    if not count:
        return []
    drafts = drafts_path(faq_dir)
    return [
        Problem(
            display_name(drafts, faq_dir),
            0,
            f"{count} draft {'entry waits' if count == 1 else 'entries wait'} for an answer; "
            "the bot does not serve drafts: write the answer and move each into a topic file",
            severity="warning",
        )
    ]


def _dated_warnings(
    loaded: LoadedKnowledge, dated: DatedAnswerSettings, now: datetime | None
) -> list[Problem]:
    review_after = timedelta(days=dated.review_after_days)
    moment = now or loaded.matcher.clock()
    warnings = []
    for item in dated_entries(loaded.knowledge, moment, review_after, dated.zone):
        if item.state == "expired":
            message = (
                f"expired on {item.expires}: the bot no longer gives this answer; update it "
                "and its expires: date, or remove the entry"
            )
        else:
            message = (
                f"last reviewed on {item.reviewed}, more than {dated.review_after_days} days "
                "ago: check the answer against the facts and update reviewed:"
            )
        warnings.append(Problem(item.file, item.line, message, item.entry_id, "warning"))
    return warnings


def _pending_link_warnings(loaded: LoadedKnowledge, pending_links: frozenset[str]) -> list[Problem]:
    warnings = []
    for entry in loaded.knowledge:
        unset = sorted(pending_links.intersection(entry.links))
        if unset and not entry.answers_until_link_set:
            warnings.append(
                Problem(
                    entry.file,
                    entry.line,
                    f"the link {unset[0]!r} has no address yet in config.yaml, so its button "
                    "opens another page: add answer_until_link_set saying what it opens",
                    entry.id,
                    "warning",
                )
            )
    return warnings


def _schema_line_warnings(faq_dir: Path) -> list[Problem]:
    warnings = []
    for path in sorted(faq_dir.glob("*.y*ml")):
        first_line = path.read_text(encoding="utf-8").split("\n", 1)[0]
        schema = "synonyms" if path.name == SYNONYMS_FILE else "faq"
        if not first_line.startswith(SCHEMA_LINE):
            warnings.append(
                Problem(
                    f"{faq_dir.name}/{path.name}",
                    1,
                    "the first line should name the schema so editors check the file while you "
                    f"type: {SCHEMA_LINE}../bot/core/schema/{schema}.schema.json",
                    severity="warning",
                )
            )
    return warnings


def _variants(loaded: LoadedKnowledge) -> list[tuple[str, str, str]]:
    """(entry id, language, variant) for every question variant."""
    return [
        (entry.id, lang, variant)
        for entry in loaded.knowledge
        for lang, variants in entry.questions.items()
        for variant in variants
    ]


def _joined_questions(loaded: LoadedKnowledge, faq_dir: Path) -> list[Problem]:
    """Questions with " - " inside: most often two list items joined into one, because the
    second line is indented one space further than the first ("- ku te parkoj" over
    " - parkim te zyra" reads as the single question "ku te parkoj - parkim te zyra")."""
    lines: dict[str, dict[str, list[int]]] = {}
    warnings = []
    for entry_id, _lang, text in _variants(loaded):
        if " - " not in text:
            continue
        entry = _entry_of(loaded, entry_id)
        first = text.split(" - ", 1)[0].strip()
        line = _variant_line(entry, first, faq_dir, lines)
        if line == entry.line:
            line = _variant_line(entry, text, faq_dir, lines)
        warnings.append(
            Problem(
                entry.file,
                line,
                f"question {text!r} contains ' - ': if these are two questions, start the "
                "second on its own line with '- ' exactly under the first one's '- ' (one "
                "space further in joins them into one question)",
                entry_id,
                "warning",
            )
        )
    return warnings


def _synonym_collisions(
    loaded: LoadedKnowledge, reported: frozenset[tuple[str, str]] = frozenset()
) -> list[Problem]:
    """Variants of two entries that only the glossary makes the same question (unless
    both are `reported` already, as (entry id, variant), by the self-test)."""
    glossary = loaded.knowledge.synonyms
    if not glossary:
        return []
    seen: dict[str, tuple[str, str, str]] = {}  # canonical text -> (entry id, variant, normalised)
    errors = []
    for entry_id, _lang, text in _variants(loaded):
        folded = normalise(text)
        canonical = glossary.canonical_text(text)
        other = seen.setdefault(canonical, (entry_id, text, folded))
        other_id, other_text, other_folded = other
        if (
            other_id == entry_id
            or other_folded == folded
            or {(entry_id, text), (other_id, other_text)} <= reported
        ):
            continue  # the same entry, or the same words anyway (the confusable check)
        groups = {
            group
            for word in set(folded.split()) ^ set(other_folded.split())
            if (group := glossary.group_of(word)) is not None
        }
        where = ", ".join(
            sorted(f"{g.file}:{g.line} ({', '.join(g.words[:3])}, ...)" for g in groups)
        )
        entry = loaded.knowledge.entry(entry_id)
        assert entry is not None
        errors.append(
            Problem(
                entry.file,
                entry.line,
                f"question {text!r} and {other_text!r} of entry {other_id!r} are the same "
                f"question once the synonyms are read ({where or SYNONYMS_FILE}): the bot "
                "cannot tell the entries apart; reword a question or split the group",
                entry_id,
            )
        )
    return errors


def _answered_after_all(loaded: LoadedKnowledge, faq_dir: Path) -> list[Problem]:
    """Words listed as not in the knowledge base that an entry's questions now use."""
    glossary = loaded.knowledge.synonyms
    if not glossary.not_in_base:
        return []
    used: dict[str, str] = {}  # normalised word -> an entry whose questions use it
    for entry_id, _lang, text in _variants(loaded):
        for word in normalise(text).split():
            used.setdefault(word, entry_id)
    path = faq_dir / SYNONYMS_FILE
    lines = path.read_text(encoding="utf-8").split("\n") if path.is_file() else []
    warnings = []
    for word in glossary.not_in_base:
        folded = normalise(word)
        if folded not in used:
            continue
        line = next(
            (
                n
                for n, text in enumerate(lines, 1)
                if text.strip().lstrip("- ").strip("\"'") == word
            ),
            1,
        )
        warnings.append(
            Problem(
                f"{faq_dir.name}/{SYNONYMS_FILE}",
                line,
                f"not_in_base: {word!r} is used by the questions of entry {used[folded]!r}, "
                "so it no longer counts here; remove it from the list",
                severity="warning",
            )
        )
    return warnings


def _variant_line(
    entry: Entry, text: str, faq_dir: Path, cache: dict[str, dict[str, list[int]]]
) -> int:
    """The line of one question variant in its entry's file (the entry's line if not found)."""
    items = cache.get(entry.file)
    if items is None:
        items = {}
        try:
            lines = (faq_dir.parent / entry.file).read_text(encoding="utf-8").split("\n")
        except OSError:
            lines = []
        for number, line in enumerate(lines, start=1):
            item = line.strip()
            if item.startswith("- "):
                items.setdefault(item[2:].strip().strip("\"'"), []).append(number)
        cache[entry.file] = items
    return next((n for n in items.get(text, ()) if n >= entry.line), entry.line)


def _thief(
    loaded: LoadedKnowledge, entry_id: str, text: str, match: Match, ranked: list[Candidate]
) -> tuple[Entry, str, bool] | None:
    """The other entry, and its variant, that takes `text` away from entry `entry_id`:
    the entry answered instead, or one ranked as high that has a variant this alike.
    The bool tells whether it answered outright."""
    margin = loaded.matcher.settings.ambiguity_margin
    own = next((c.score for c in ranked if c.entry_id == entry_id), 0.0)
    answered = match.status == "answer" and match.entry_id not in (None, entry_id)
    rival = (
        match.entry_id
        if answered
        else next(
            (c.entry_id for c in ranked if c.entry_id != entry_id and c.score >= own - margin),
            None,
        )
    )
    thief = loaded.knowledge.entry(rival) if rival else None
    if thief is None:
        return None
    glossary = loaded.knowledge.synonyms
    mine = glossary.canonical_text(text)
    theirs = {glossary.canonical_text(v): v for vs in thief.questions.values() for v in vs}
    found = process.extractOne(mine, list(theirs), scorer=fuzz.ratio)
    if found is None:
        return None
    variant = theirs[found[0]]
    if answered or found[1] >= CONFUSABLE_SIMILARITY:
        return thief, variant, answered
    return None


class _SelfTest:
    """Asks every question variant and reports those that do not find their own entry.

    Each distinct text is matched once. Variants almost the same as another entry's are
    reported once per pair: as an error when one takes the other's question, else as a
    warning that the bot cannot tell them apart. A variant that only its own entry has
    (as the index reads it), with no such twin, is answered by its entry without a search.
    """

    def __init__(self, loaded: LoadedKnowledge, faq_dir: Path) -> None:
        self.loaded = loaded
        self.faq_dir = faq_dir
        self.lines: dict[str, dict[str, list[int]]] = {}
        self._matches: dict[str, tuple[Match, list[Candidate]]] = {}

    def match(self, text: str) -> tuple[Match, list[Candidate]]:
        key = normalise(text)
        found = self._matches.get(key)
        if found is None:
            found = (self.loaded.matcher.match(text), self.loaded.matcher.rank(text, 3))
            self._matches[key] = found
        return found

    def entry(self, entry_id: str) -> Entry:
        entry = self.loaded.knowledge.entry(entry_id)
        assert entry is not None
        return entry

    def takeover(
        self, thief: Entry, variant: str, victim: Entry, text: str, answered: bool
    ) -> Problem:
        line = _variant_line(thief, variant, self.faq_dir, self.lines)
        victim_line = _variant_line(victim, text, self.faq_dir, self.lines)
        outcome = "gets its answer" if answered else "gets a choice instead of its answer"
        return Problem(
            thief.file,
            line,
            f"question {variant!r} takes over {text!r} of entry {victim.id!r} at "
            f"{victim.file}:{victim_line}: that question now {outcome}; every "
            "question must still find its own entry: reword or remove one",
            thief.id,
        )

    def group(self, members: list[tuple[str, str, str]]) -> Problem:
        """One report for variants of different entries that are (almost) the same: an
        error when one entry takes the others' question, else a warning."""
        ids = [entry_id for entry_id, _, _ in members]
        for victim_id, _, text in members:
            match, ranked = self.match(text)
            if match.smalltalk is not None or match.entry_id == victim_id:
                continue
            answered = match.status == "answer" and match.entry_id in ids
            thief_id = (
                match.entry_id
                if answered
                else next((c.entry_id for c in ranked if c.entry_id in ids), None)
            )
            if thief_id is None or thief_id == victim_id:
                continue
            thief_member = members[ids.index(thief_id)]
            others = [m for m in members if m[0] not in (thief_id, victim_id)]
            problem = self.takeover(
                self.entry(thief_id), thief_member[2], self.entry(victim_id), text, answered
            )
            return _and_more(problem, others)
        (entry_id, _, text), (other_id, _, other_text) = members[0], members[1]
        entry = self.entry(entry_id)
        problem = Problem(
            entry.file,
            entry.line,
            f"question {text!r} is almost the same as {other_text!r} of entry "
            f"{other_id!r}: the bot cannot tell them apart; reword or remove one",
            entry_id,
            "warning",
        )
        return _and_more(problem, members[2:])

    def alone(self, entry: Entry, text: str) -> Problem | None:
        """The report for a variant with no twin in another entry, if it fails."""
        matcher = self.loaded.matcher
        if matcher.exact_entry(text) == entry.id:
            return None
        match, ranked = self.match(text)
        if match.smalltalk is not None or match.entry_id == entry.id:
            return None
        taken = _thief(self.loaded, entry.id, text, match, ranked)
        if taken is not None:
            thief, variant, answered = taken
            return self.takeover(thief, variant, entry, text, answered)
        if match.status == "answer" and match.entry_id:
            found = f"finds entry {match.entry_id!r} instead (score {match.score:.0f})"
        elif match.status == "suggest":
            offered = ", ".join(c.entry_id for c in match.candidates)
            found = f"is not answered directly; the bot offers a choice of {offered}"
        else:
            found = "finds nothing"
        return Problem(
            entry.file,
            entry.line,
            f"question {text!r} {found}; make it more specific or add variants",
            entry.id,
            "warning",
        )


@dataclass(frozen=True)
class _Tested:
    problems: list[Problem]
    reported: frozenset[tuple[str, str]]  # (entry id, variant) named in a group's report


def _self_test(loaded: LoadedKnowledge, faq_dir: Path, affected_by: str | None = None) -> _Tested:
    now = loaded.matcher.clock()
    variants = [
        v for v in _variants(loaded) if not _entry_of(loaded, v[0]).is_expired(now)
    ]  # an expired entry is not served any more: _dated_warnings says so
    if affected_by is not None:
        glossary = loaded.knowledge.synonyms
        subject = {
            word
            for word in glossary.canonical_text(affected_by).split()
            if not is_function_word(word)
        }
        variants = [
            v for v in variants if subject.intersection(glossary.canonical_text(v[2]).split())
        ]
    # Identical texts are one text: CLINC150 x10 has each ten times.
    same_text: dict[str, list[int]] = {}
    for index, (_, _, text) in enumerate(variants):
        same_text.setdefault(normalise(text), []).append(index)
    texts = list(same_text)
    pairs = [
        (same_text[texts[i]][0], same_text[texts[j]][0])
        for i, j in close_pairs(texts, CONFUSABLE_SIMILARITY)
    ] + [(group[0], other) for group in same_text.values() for other in group[1:]]
    test = _SelfTest(loaded, faq_dir)
    groups = [
        group for group in connected(pairs) if len({variants[index][0] for index in group}) > 1
    ]
    problems = [test.group([variants[i] for i in group]) for group in groups]
    twins = {index for group in groups for index in group}
    for index, (entry_id, _lang, text) in enumerate(variants):
        if index not in twins:
            problem = test.alone(_entry_of(loaded, entry_id), text)
            if problem is not None:
                problems.append(problem)
    reported = frozenset((variants[i][0], variants[i][2]) for i in twins)
    return _Tested(problems, reported)


def _and_more(problem: Problem, others: list[tuple[str, str, str]]) -> Problem:
    """The problem, naming the other entries of its group that have the same question."""
    if not others:
        return problem
    names = ", ".join(dict.fromkeys(repr(entry_id) for entry_id, _, _ in others))
    return replace(problem, message=f"{problem.message} (also in entries {names})")


def _entry_of(loaded: LoadedKnowledge, entry_id: str) -> Entry:
    entry = loaded.knowledge.entry(entry_id)
    assert entry is not None
    return entry


def unknown_fact_notes(loaded: LoadedKnowledge) -> list[Problem]:
    """The entries marked `unknown:`, as info (not warnings: `lint --strict` passes).

    Each names the fact staff still owe; until they supply it, the answer says honestly
    that it is not known and gives the contacts.
    """
    return sorted(
        Problem(
            entry.file,
            entry.line,
            f"waits for a fact from staff: {entry.unknown}",
            entry.id,
            "info",
        )
        for entry in loaded.knowledge
        if entry.unknown
    )
