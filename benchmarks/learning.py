"""One round of learning from users on CLINC150: accuracy before and after.

    python benchmarks/learning.py [--data PATH] [--min-users N ...]

The knowledge base is the one of benchmarks/clinc150.py (the first 10 training utterances
of each of the 150 intents). The 3,000 validation questions are split per intent: the even
ones (by position within the intent) are the round's users, the odd ones are held out.

The round: each even question is asked once by a different simulated user. When the bot
offers "did you mean" and the right entry is among the choices, the user picks it (it
never picks a wrong one, and never votes). What the bot would log - question, outcome,
score, the pick - goes through the same code as the live bot's log and
bot.staff.learning (signals, grouping, exclusions, `min_users`), and every suggested variant
is accepted: added to its entry, as the written YAML file would load. Then both halves are
asked again.

Reported, before and after, for the held-out half (questions never seen by the round) and
for the round's own questions: top-1 (the best-ranked entry is right, no threshold) and
answered right / wrong (an outright answer with config.yaml's thresholds); and the share of
out-of-scope questions (oos_val) not answered, which new variants must not spoil.
Also timed: one accept through the real path (YAML written to a temporary faq/, the whole
knowledge base loaded and linted from a copy, atomic rename) on this 1,500-variant base.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from clinc150 import DEFAULT_DATA, knowledge_base, load_data  # noqa: E402

from bot.config import LearningSettings, MatchingSettings, Settings, load_settings  # noqa: E402
from bot.core.knowledge import KnowledgeBase  # noqa: E402
from bot.core.knowledge_state import LoadedKnowledge  # noqa: E402
from bot.core.matcher import Matcher  # noqa: E402
from bot.staff.learning import Suggestion, collect_signals, suggest  # noqa: E402
from bot.storage.question_log import LoggedQuestion, clean_question_text  # noqa: E402

Pairs = list[tuple[str, str]]


@dataclass(frozen=True)
class Scores:
    top1: float
    right: float
    wrong: float


def scores(matcher: Matcher, pairs: Pairs) -> Scores:
    top1 = right = wrong = 0
    for question, intent in pairs:
        ranked = matcher.rank(question, 1)
        top1 += bool(ranked) and ranked[0].entry_id == intent
        match = matcher.match(question)
        if match.status == "answer":
            right += match.entry_id == intent
            wrong += match.entry_id != intent
    count = len(pairs)
    return Scores(top1 / count, right / count, wrong / count)


def oos_not_answered(matcher: Matcher, questions: Sequence[str]) -> float:
    answered = sum(matcher.match(q).status == "answer" for q in questions)
    return 1 - answered / len(questions)


def split(pairs: Pairs) -> tuple[Pairs, Pairs]:
    """Per intent, the 1st, 3rd, 5th... question for the round and the rest held out."""
    seen: dict[str, int] = {}
    round_half, held_out = [], []
    for question, intent in pairs:
        position = seen.get(intent, 0)
        seen[intent] = position + 1
        (round_half if position % 2 == 0 else held_out).append((question, intent))
    return round_half, held_out


def replay(matcher: Matcher, pairs: Pairs) -> tuple[list[LoggedQuestion], dict[str, str]]:
    """The log the round leaves: one user per question; picks of the right choice."""
    log: list[LoggedQuestion] = []
    choices: dict[str, str] = {}
    moment = datetime.now(UTC)
    for number, (question, intent) in enumerate(pairs):
        match = matcher.match(question)
        outcome = {"answer": "answer", "suggest": "suggest"}.get(match.status, "fallback")
        question_id = f"q{number}"
        log.append(
            LoggedQuestion(
                id=question_id,
                asked_at=moment,
                text=clean_question_text(question),
                lang="en",
                outcome=outcome,
                entry_id=match.entry_id if outcome == "answer" else None,
                score=match.score,
                user_hash=f"user{number}",
                channel="telegram",
            )
        )
        if outcome == "suggest" and intent in {c.entry_id for c in match.candidates}:
            choices[question_id] = intent
    return log, choices


def with_variants(knowledge: KnowledgeBase, accepted: Sequence[Suggestion]) -> KnowledgeBase:
    added: dict[str, list[str]] = {}
    for suggestion in accepted:
        if suggestion.kind == "variant" and suggestion.entry_id:
            added.setdefault(suggestion.entry_id, []).append(suggestion.text)
    entries = tuple(
        replace(e, questions={"en": (*e.questions["en"], *added.get(e.id, ()))})
        for e in knowledge.entries
    )
    return replace(knowledge, entries=entries)


def time_one_accept(settings: Settings, knowledge: KnowledgeBase, found: Suggestion) -> float:
    """Seconds for one accept through the real path, on the knowledge base as YAML."""
    from bot.staff.faq_writer import plan_variant, validate, write_atomically

    with tempfile.TemporaryDirectory(prefix="learning-bench-") as scratch:
        faq_dir = Path(scratch) / "faq"
        faq_dir.mkdir()
        document = {
            "category": {"en": "CLINC150"},
            "entries": [
                {
                    "id": e.id.replace("_", "-"),
                    "questions": {"en": list(e.questions["en"])},
                    "answer": {"en": e.id},
                }
                for e in knowledge.entries
            ],
        }
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=4096)
        (faq_dir / "clinc150.yaml").write_text(text, encoding="utf-8")
        live = replace(settings, faq_dir=faq_dir)
        assert found.entry_id is not None
        start = time.perf_counter()
        plan = plan_variant(faq_dir, found.entry_id.replace("_", "-"), "en", found.text)
        validate(live, faq_dir, plan)
        write_atomically(plan.path, plan.after)
        return time.perf_counter() - start


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--min-users", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args(argv)

    data = load_data(args.data)
    settings = load_settings()
    matching: MatchingSettings = settings.matching
    base = knowledge_base(data.intents)
    before = Matcher(base, matching)
    round_half, held_out = split(data.in_scope)
    log, choices = replay(before, round_half)
    picks = len(choices)
    offered = sum(q.outcome == "suggest" for q in log)
    print(
        f"CLINC150: {len(base.entries)} entries, "
        f"{sum(len(e.questions['en']) for e in base.entries)} variants; round {len(round_half)} "
        f"questions ({offered} got 'did you mean', the right entry was among the choices "
        f"for {picks}), held out {len(held_out)}; out of scope {len(data.out_of_scope)}"
    )
    rows = [("before", before, 0)]
    accepted_by: dict[int, list[Suggestion]] = {}
    for min_users in args.min_users:
        rules = LearningSettings(min_users=min_users)
        loaded = LoadedKnowledge(base, before)
        signals = collect_signals(log, choices, rules)
        started = time.perf_counter()
        found = suggest(signals, loaded, rules)
        elapsed = time.perf_counter() - started
        variants = [s for s in found if s.kind == "variant"]
        accepted_by[min_users] = variants
        print(
            f"min_users={min_users}: {len(variants)} variant suggestions "
            f"({len(found) - len(variants)} new-entry) in {elapsed:.2f} s"
        )
        after = Matcher(with_variants(base, variants), matching)
        rows.append((f"after, min_users={min_users}", after, len(variants)))

    print()
    print(
        "| | variants added | held out: top-1 | answered right | answered wrong "
        "| round's own: top-1 | answered right | answered wrong | out of scope not answered |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, matcher, added in rows:
        held, own = scores(matcher, held_out), scores(matcher, round_half)
        print(
            f"| {label} | {added} | {percent(held.top1)} | {percent(held.right)} | "
            f"{percent(held.wrong)} | {percent(own.top1)} | {percent(own.right)} | "
            f"{percent(own.wrong)} | {percent(oos_not_answered(matcher, data.out_of_scope))} |"
        )

    sample = next((v for vs in accepted_by.values() for v in vs), None)
    if sample is not None:
        timings = [time_one_accept(settings, base, sample) for _ in range(3)]
        print(
            f"\nOne accept through the real path (plan, load + lint a copy of faq/, atomic "
            f"write) on 1,500 variants: median {statistics.median(timings):.2f} s of 3"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
