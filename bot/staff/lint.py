"""Checks a knowledge base beyond loading: confusable variants, thieves and the self-test.

Loading already rejects broken files (bot.core.knowledge); lint adds warnings that staff should
act on: missing translations, question variants so alike across two entries that they
confuse matching, and variants that do not find their own entry. Two findings are errors
(`python -m bot lint` exits 1): a variant that takes over another entry's variant (that
question now gets the wrong answer, or a choice instead of its answer), and a synonym group
that makes two entries' variants the same question.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.config import DatedAnswerSettings
from bot.core.dated import dated_entries
from bot.core.knowledge import Entry, Problem, display_name
from bot.core.knowledge_state import LoadedKnowledge
from bot.core.synonyms import SYNONYMS_FILE
from bot.core.text import normalise
from bot.staff.drafts import draft_count, drafts_path

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
) -> list[Problem]:
    """Every warning for an already-loaded knowledge base, sorted by file and line.

    `dated` (config.yaml's dated_answers) and `now` (default: the matcher's clock) flag
    expired and long-unreviewed entries; `pending_links` names links without an address.
    """
    warnings = list(loaded.knowledge.warnings)
    warnings.extend(_schema_line_warnings(faq_dir))
    warnings.extend(_confusable_variants(loaded))
    warnings.extend(_synonym_collisions(loaded))
    warnings.extend(_answered_after_all(loaded, faq_dir))
    warnings.extend(_self_test(loaded, faq_dir))
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


def _confusable_variants(loaded: LoadedKnowledge) -> list[Problem]:
    variants = _variants(loaded)
    normalised = [normalise(text) for _, _, text in variants]
    choices = dict(enumerate(normalised))
    warnings = []
    for i, (entry_id, _lang, text) in enumerate(variants):
        if not normalised[i]:
            continue
        alike = process.extract(
            normalised[i],
            choices,
            scorer=fuzz.ratio,
            score_cutoff=CONFUSABLE_SIMILARITY,
            limit=None,
        )
        for _choice, _score, j in alike:
            other_id, _other_lang, other_text = variants[j]
            if j > i and other_id != entry_id:
                entry = loaded.knowledge.entry(entry_id)
                assert entry is not None
                warnings.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f"question {text!r} is almost the same as {other_text!r} of entry "
                        f"{other_id!r}: the bot cannot tell them apart; reword or remove one",
                        entry_id,
                        "warning",
                    )
                )
    return warnings


def _synonym_collisions(loaded: LoadedKnowledge) -> list[Problem]:
    """Variants of two entries that only the glossary makes the same question."""
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
        if other_id == entry_id or other_folded == folded:
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


def _variant_line(entry: Entry, text: str, faq_dir: Path, cache: dict[str, list[str]]) -> int:
    """The line of one question variant in its entry's file (the entry's line if not found)."""
    if entry.file not in cache:
        try:
            cache[entry.file] = (
                (faq_dir.parent / entry.file).read_text(encoding="utf-8").split("\n")
            )
        except OSError:
            cache[entry.file] = []
    for number, line in enumerate(cache[entry.file], start=1):
        if number < entry.line:
            continue
        item = line.strip()
        if item.startswith("- ") and item[2:].strip().strip("\"'") == text:
            return number
    return entry.line


def _thief(loaded: LoadedKnowledge, entry_id: str, text: str) -> tuple[Entry, str, bool] | None:
    """The other entry, and its variant, that takes `text` away from entry `entry_id`:
    the entry answered instead, or one ranked as high that has a variant this alike.
    The bool tells whether it answered outright."""
    match = loaded.matcher.match(text)
    margin = loaded.matcher.settings.ambiguity_margin
    ranked = loaded.matcher.rank(text, 3)
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


def _self_test(loaded: LoadedKnowledge, faq_dir: Path) -> list[Problem]:
    warnings = []
    lines: dict[str, list[str]] = {}
    now = loaded.matcher.clock()
    for entry_id, _lang, text in _variants(loaded):
        entry = loaded.knowledge.entry(entry_id)
        assert entry is not None
        if entry.is_expired(now):
            continue  # not served any more: _dated_warnings says so
        match = loaded.matcher.match(text)
        if match.smalltalk is not None or match.entry_id == entry_id:
            continue
        taken = _thief(loaded, entry_id, text)
        if taken is not None:
            thief, variant, answered = taken
            line = _variant_line(thief, variant, faq_dir, lines)
            victim_line = _variant_line(entry, text, faq_dir, lines)
            outcome = "gets its answer" if answered else "gets a choice instead of its answer"
            warnings.append(
                Problem(
                    thief.file,
                    line,
                    f"question {variant!r} takes over {text!r} of entry {entry_id!r} at "
                    f"{entry.file}:{victim_line}: that question now {outcome}; every "
                    "question must still find its own entry: reword or remove one",
                    thief.id,
                )
            )
            continue
        if match.status == "answer" and match.entry_id:
            found = f"finds entry {match.entry_id!r} instead (score {match.score:.0f})"
        elif match.status == "suggest":
            offered = ", ".join(c.entry_id for c in match.candidates)
            found = f"is not answered directly; the bot offers a choice of {offered}"
        else:
            found = "finds nothing"
        warnings.append(
            Problem(
                entry.file,
                entry.line,
                f"question {text!r} {found}; make it more specific or add variants",
                entry_id,
                "warning",
            )
        )
    return warnings


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
