"""Checks a knowledge base beyond loading: confusable variants and the self-test.

Loading already rejects broken files (bot.core.knowledge); lint adds warnings that staff should
act on: missing translations, question variants so alike across two entries that they
confuse matching, and variants that do not find their own entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.config import DatedAnswerSettings
from bot.core.dated import dated_entries
from bot.core.knowledge import Problem
from bot.core.knowledge_state import LoadedKnowledge
from bot.core.text import normalise

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
    warnings.extend(_self_test(loaded))
    warnings.extend(_dated_warnings(loaded, dated or DatedAnswerSettings(), now))
    warnings.extend(_pending_link_warnings(loaded, pending_links))
    return sorted(set(warnings))


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
        if not first_line.startswith(SCHEMA_LINE):
            warnings.append(
                Problem(
                    f"{faq_dir.name}/{path.name}",
                    1,
                    "the first line should name the schema so editors check the file while you "
                    f"type: {SCHEMA_LINE}../bot/core/schema/faq.schema.json",
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


def _self_test(loaded: LoadedKnowledge) -> list[Problem]:
    warnings = []
    now = loaded.matcher.clock()
    for entry_id, _lang, text in _variants(loaded):
        entry = loaded.knowledge.entry(entry_id)
        assert entry is not None
        if entry.is_expired(now):
            continue  # not served any more: _dated_warnings says so
        match = loaded.matcher.match(text)
        if match.smalltalk is not None or match.entry_id == entry_id:
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
