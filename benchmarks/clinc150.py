"""The matcher on CLINC150, side by side with two baselines: accuracy, speed and memory.

    python benchmarks/clinc150.py [--data PATH] [--quick] [--check] [--write]

The knowledge base is the first 10 training utterances of each of the 150 intents (150
entries, 1,500 question variants); the validation split asks the questions (3,000 in
scope), and its out-of-scope part (oos_val, 100) checks that the bot does not answer what
the knowledge base does not cover. Nothing here uses the test split.

Baselines:
- rapidfuzz: `process.extractOne(q, variants, scorer=fuzz.WRatio,
  processor=utils.default_process)`, the best variant's entry;
- TF-IDF: character 3-5-gram TF-IDF vectors (within words), the nearest variant by cosine,
  written in pure Python with an inverted index.
Their thresholds are tuned on the same validation data: the lowest score that leaves at
least 90% of the out-of-scope questions unanswered. The matcher's own thresholds are read
from config.yaml.

Speed and memory are measured at 1,500, 15,000 and 150,000 variants (the knowledge base
copied with renamed entries), each size in a fresh subprocess: index build time, time per
question (the matcher's `match`, and the rapidfuzz baseline interleaved with it in the
same loop), and the process's peak resident memory (`resource.getrusage().ru_maxrss`).

--check exits with status 1 unless top-1 >= 70%, out-of-scope not answered >= 90%, p99
< 1 ms at 1,500 variants and < 5 ms at 15,000.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the bot package importable
    sys.path.insert(0, str(REPO))

from rapidfuzz import fuzz, process, utils  # noqa: E402

from bot.config import MatchingSettings, load_settings  # noqa: E402
from bot.core.knowledge import Entry, KnowledgeBase  # noqa: E402
from bot.core.language import stem_albanian, stem_english  # noqa: E402
from bot.core.matcher import Matcher  # noqa: E402
from bot.core.text import char_ngrams, tokens  # noqa: E402


def char_3_to_5_grams(word: str) -> list[str]:
    """The baseline's n-grams: 3 to 5 characters within a word padded by spaces, as
    scikit-learn's analyzer='char_wb', ngram_range=(3, 5)."""
    padded = f" {word} "
    return [padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)]


DEFAULT_DATA = REPO.parent / "shared" / "data" / "clinc150" / "clinc150_train_val.json"
RESULTS = REPO / "benchmarks" / "results" / "clinc150.md"
VARIANTS_PER_INTENT = 10  # a realistic number of variants for staff to write
OOS_NOT_ANSWERED_TARGET = 0.90


@dataclass(frozen=True)
class SpeedPlan:
    copies: int  # of the 1,500-variant knowledge base
    questions: int  # timed for the matcher in each pass
    rapidfuzz_every: int  # rapidfuzz scans every variant, so it is sampled when large
    passes: int


SPEED_PLAN = (SpeedPlan(1, 3100, 5, 3), SpeedPlan(10, 3100, 30, 3), SpeedPlan(100, 620, 20, 1))
QUICK_SPEED_PLAN = (SpeedPlan(1, 3100, 20, 3), SpeedPlan(10, 1000, 50, 3))
CHECKS = {"top1": 0.70, "oos_not_answered": 0.90, "p99_ms_1500": 1.0, "p99_ms_15000": 5.0}

Pairs = list[tuple[str, str]]  # (question, intent)


@dataclass(frozen=True)
class Data:
    intents: dict[str, list[str]]  # intent -> its question variants, in file order
    in_scope: Pairs  # validation questions
    out_of_scope: list[str]  # oos_val questions
    warm_up: list[str]  # oos_train questions: used only to warm caches before timing


def load_data(path: Path) -> Data:
    if not path.is_file():
        sys.exit(
            f"CLINC150 data not found at {path}.\n"
            "Give its path with --data (see ../shared/data/clinc150/README.md)."
        )
    raw = json.loads(path.read_text(encoding="utf-8"))
    intents: dict[str, list[str]] = {}
    for text, intent in raw["train"]:
        variants = intents.setdefault(intent, [])
        if len(variants) < VARIANTS_PER_INTENT:
            variants.append(text)
    return Data(
        intents=intents,
        in_scope=[(text, intent) for text, intent in raw["val"]],
        out_of_scope=[text for text, _ in raw["oos_val"]],
        warm_up=[text for text, _ in raw["oos_train"]],
    )


def knowledge_base(intents: dict[str, list[str]], copies: int = 1) -> KnowledgeBase:
    """One entry per intent (and per copy, renamed "intent~2" ...), English variants only."""
    entries = []
    for copy in range(copies):
        suffix = f"~{copy + 1}" if copy else ""
        for intent, variants in intents.items():
            entries.append(
                Entry(
                    id=intent + suffix,
                    questions={"en": tuple(variants)},
                    answers={"en": intent},
                    category="clinc150",
                )
            )
    return KnowledgeBase(entries=tuple(entries), categories=(), languages=("en",))


# ---- baselines ---------------------------------------------------------------------


class RapidfuzzBaseline:
    """The best variant by rapidfuzz WRatio, as a one-line FAQ bot would do it."""

    def __init__(self, intents: dict[str, list[str]], copies: int = 1) -> None:
        self.variants: list[str] = []
        self.owners: list[str] = []
        for copy in range(copies):
            for intent, variants in intents.items():
                self.variants.extend(variants)
                self.owners.extend(
                    [intent if copy == 0 else f"{intent}~{copy + 1}"] * len(variants)
                )

    def best(self, question: str) -> tuple[str | None, float]:
        found = process.extractOne(
            question, self.variants, scorer=fuzz.WRatio, processor=utils.default_process
        )
        if found is None:
            return None, 0.0
        return self.owners[found[2]], float(found[1])


class CharTfidfBaseline:
    """The nearest variant by cosine of character 3-5-gram TF-IDF vectors (within words)."""

    def __init__(self, intents: dict[str, list[str]]) -> None:
        self.owners: list[str] = []
        counts: list[Counter[str]] = []
        for intent, variants in intents.items():
            for variant in variants:
                self.owners.append(intent)
                counts.append(
                    Counter(g for word in tokens(variant) for g in char_3_to_5_grams(word))
                )
        frequency: Counter[str] = Counter()
        for grams in counts:
            frequency.update(grams.keys())
        total = len(counts)
        # The smoothed IDF of scikit-learn's TfidfVectorizer.
        self.idf = {g: math.log((1 + total) / (1 + n)) + 1 for g, n in frequency.items()}
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for index, grams in enumerate(counts):
            vector = self._unit({g: tf * self.idf[g] for g, tf in grams.items()})
            for gram, weight in vector.items():
                self.postings.setdefault(gram, []).append((index, weight))

    @staticmethod
    def _unit(vector: dict[str, float]) -> dict[str, float]:
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {g: v / norm for g, v in vector.items()}

    def best(self, question: str) -> tuple[str | None, float]:
        grams = Counter(g for word in tokens(question) for g in char_3_to_5_grams(word))
        query = self._unit({g: tf * self.idf[g] for g, tf in grams.items() if g in self.idf})
        scores: dict[int, float] = {}
        for gram, weight in query.items():
            for index, variant_weight in self.postings[gram]:
                scores[index] = scores.get(index, 0.0) + weight * variant_weight
        if not scores:
            return None, 0.0
        index = max(scores, key=scores.__getitem__)
        return self.owners[index], 100.0 * scores[index]


# ---- accuracy ----------------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    name: str
    top1: float  # in scope, best entry right, no threshold
    answered_correctly: float  # in scope, answered and right
    answered_wrongly: float  # in scope, answered and wrong
    oos_not_answered: float  # out of scope, not answered
    thresholds: str


def tuned_accuracy(
    name: str, best: Callable[[str], tuple[str | None, float]], data: Data
) -> Accuracy:
    """Accuracy of a baseline with the lowest threshold that leaves >= 90% of oos unanswered."""
    in_scope = [(best(question), intent) for question, intent in data.in_scope]
    oos_scores = sorted(best(question)[1] for question in data.out_of_scope)
    # Answering needs score >= threshold; the threshold just above the score of the oos
    # question at the 90% mark leaves 90% of them (at least) below it.
    allowed = len(oos_scores) - math.ceil(OOS_NOT_ANSWERED_TARGET * len(oos_scores))
    threshold = math.nextafter(oos_scores[-allowed - 1], math.inf)
    answered = [(entry, intent) for (entry, score), intent in in_scope if score >= threshold]
    count = len(in_scope)
    return Accuracy(
        name=name,
        top1=sum(entry == intent for (entry, _), intent in in_scope) / count,
        answered_correctly=sum(entry == intent for entry, intent in answered) / count,
        answered_wrongly=sum(entry != intent for entry, intent in answered) / count,
        oos_not_answered=sum(score < threshold for score in oos_scores) / len(oos_scores),
        thresholds=f"score >= {threshold:.1f} (tuned)",
    )


def matcher_accuracy(matcher: Matcher, settings: MatchingSettings, data: Data) -> Accuracy:
    top1 = correct = wrong = 0
    for question, intent in data.in_scope:
        ranked = matcher.rank(question, 1)
        top1 += bool(ranked) and ranked[0].entry_id == intent
        answered = matcher.match(question).entry_id
        correct += answered == intent
        wrong += answered is not None and answered != intent
    not_answered = sum(matcher.match(q).entry_id is None for q in data.out_of_scope)
    count = len(data.in_scope)
    return Accuracy(
        name="matcher (bot.core.matcher)",
        top1=top1 / count,
        answered_correctly=correct / count,
        answered_wrongly=wrong / count,
        oos_not_answered=not_answered / len(data.out_of_scope),
        thresholds=(
            f"answer >= {settings.answer_threshold:g}, margin > {settings.ambiguity_margin:g} "
            "(config.yaml)"
        ),
    )


# ---- speed and memory (one subprocess per size) ------------------------------------


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _current_rss_mb() -> float:
    """The resident memory now (Linux: /proc/self/statm), else the peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return _peak_rss_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _clear_word_caches() -> None:
    """Forget the stems and n-grams of words seen so far, so a pass starts cold."""
    stem_english.cache_clear()
    stem_albanian.cache_clear()
    char_ngrams.cache_clear()


def speed_worker(data_path: Path, plan: SpeedPlan) -> None:
    """Runs in a subprocess: build one size, time it, print the figures as JSON.

    Each pass builds a fresh matcher and starts with cold word caches, then asks every
    question once, timing rapidfuzz on every n-th in the same loop. The figures reported
    are the median over passes of each pass's figure (one pass is not enough on a shared
    machine; the best pass would flatter).
    """
    data = load_data(data_path)
    settings = load_settings().matching
    knowledge = knowledge_base(data.intents, plan.copies)
    baseline = RapidfuzzBaseline(data.intents, plan.copies)
    asked = [q for q, _ in data.in_scope] + data.out_of_scope
    asked = asked[:: max(1, len(asked) // plan.questions)][: plan.questions]
    passes: list[dict[str, float]] = []
    index_mb = 0.0
    for _pass in range(plan.passes):
        matcher = None
        _clear_word_caches()
        gc.collect()
        rss_before = _current_rss_mb()
        started = time.perf_counter()
        matcher = Matcher(knowledge, settings)
        build_s = time.perf_counter() - started
        gc.collect()
        index_mb = max(index_mb, _current_rss_mb() - rss_before)
        ours: list[float] = []  # CPU seconds
        ours_wall: list[float] = []
        theirs: list[float] = []
        for number, question in enumerate(asked):
            wall, cpu = time.perf_counter(), time.process_time()
            matcher.match(question)
            ours.append(time.process_time() - cpu)
            ours_wall.append(time.perf_counter() - wall)
            if number % plan.rapidfuzz_every == 0:
                cpu = time.process_time()
                baseline.best(question)
                theirs.append(time.process_time() - cpu)
        passes.append(
            {
                "build_s": build_s,
                "median_ms": _percentile(ours, 0.5) * 1000,
                "p99_ms": _percentile(ours, 0.99) * 1000,
                "wall_p99_ms": _percentile(ours_wall, 0.99) * 1000,
                "rapidfuzz_median_ms": _percentile(theirs, 0.5) * 1000,
                "rapidfuzz_p99_ms": _percentile(theirs, 0.99) * 1000,
                "rapidfuzz_questions": len(theirs),
            }
        )
    figures = {key: statistics.median(p[key] for p in passes) for key in passes[0]}
    figures.update(
        {
            "variants": sum(len(v) for v in data.intents.values()) * plan.copies,
            "questions": len(asked),
            "passes": plan.passes,
            "index_mb": index_mb,
            "peak_rss_mb": _peak_rss_mb(),
        }
    )
    print(json.dumps(figures))


def measure_speed(data_path: Path, quick: bool) -> list[dict[str, float]]:
    rows = []
    for plan in QUICK_SPEED_PLAN if quick else SPEED_PLAN:
        print(f"  timing {plan.copies * 1500:,} variants ...", file=sys.stderr, flush=True)
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--data",
                str(data_path),
                "--speed-worker",
                json.dumps(asdict(plan)),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return rows


# ---- report ------------------------------------------------------------------------


def render(accuracy: list[Accuracy], speed: list[dict[str, float]]) -> str:
    lines = [
        "### Accuracy (CLINC150 validation: 3,000 in scope, 100 out of scope; 1,500 variants)",
        "",
        "| matcher | top-1 | answered correctly | answered wrongly | out of scope not "
        "answered | thresholds |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in accuracy:
        lines.append(
            f"| {row.name} | {row.top1:.1%} | {row.answered_correctly:.1%} | "
            f"{row.answered_wrongly:.1%} | {row.oos_not_answered:.0%} | {row.thresholds} |"
        )
    lines += [
        "",
        "### Speed and memory",
        "",
        "| variants | index build | median | p99 | p99 wall clock | rapidfuzz median | "
        "rapidfuzz p99 | rapidfuzz / matcher (median) | index memory | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in speed:
        lines.append(
            f"| {int(row['variants']):,} | {row['build_s']:.2f} s | {row['median_ms']:.2f} ms | "
            f"{row['p99_ms']:.2f} ms | {row['wall_p99_ms']:.2f} ms | "
            f"{row['rapidfuzz_median_ms']:.2f} ms | {row['rapidfuzz_p99_ms']:.2f} ms | "
            f"{row['rapidfuzz_median_ms'] / row['median_ms']:.0f}x | "
            f"{row['index_mb']:.0f} MB | {row['peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        "Time per question is `Matcher.match` (small talk, language, search, decision), as "
        "CPU time of the process (`time.process_time`), so that other processes on a shared "
        "machine do not count; the wall-clock p99 is shown beside it. Each pass builds a "
        "fresh matcher with cold caches and asks every question once; the figures are the "
        f"median over {', '.join(str(int(r['passes'])) for r in speed)} passes. rapidfuzz "
        "is timed the same way in the same loop, on every n-th question: "
        f"{', '.join(str(int(r['rapidfuzz_questions'])) for r in speed)} questions against "
        f"{', '.join(str(int(r['questions'])) for r in speed)} for the matcher. "
        "Index memory: resident memory after building the matcher minus before "
        "(/proc/self/statm, after garbage collection). Peak RSS: the whole process "
        "(Python, data, knowledge base, index) from getrusage ru_maxrss. Each size runs in "
        "a fresh subprocess.",
    ]
    return "\n".join(lines)


def failed_checks(accuracy: Accuracy, speed: list[dict[str, float]]) -> list[str]:
    failures = []
    if accuracy.top1 < CHECKS["top1"]:
        failures.append(f"top-1 {accuracy.top1:.1%} < {CHECKS['top1']:.0%}")
    if accuracy.oos_not_answered < CHECKS["oos_not_answered"]:
        failures.append(
            f"out of scope not answered {accuracy.oos_not_answered:.0%} < "
            f"{CHECKS['oos_not_answered']:.0%}"
        )
    limits = {1500: CHECKS["p99_ms_1500"], 15000: CHECKS["p99_ms_15000"]}
    for row in speed:
        limit = limits.get(int(row["variants"]))
        if limit is not None and row["p99_ms"] >= limit:
            failures.append(
                f"p99 {row['p99_ms']:.2f} ms >= {limit:g} ms at {int(row['variants']):,} variants"
            )
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="clinc150_train_val.json (default: %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="time 1,500 and 15,000 variants only, on fewer questions",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless the targets are met (see the module docstring)",
    )
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS}")
    parser.add_argument("--speed-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.speed_worker:
        speed_worker(args.data, SpeedPlan(**json.loads(args.speed_worker)))
        return 0

    data = load_data(args.data)
    settings = load_settings().matching
    print("  accuracy: matcher ...", file=sys.stderr, flush=True)
    ours = matcher_accuracy(Matcher(knowledge_base(data.intents), settings), settings, data)
    print("  accuracy: rapidfuzz WRatio ...", file=sys.stderr, flush=True)
    rapidfuzz_row = tuned_accuracy(
        "rapidfuzz extractOne, WRatio", RapidfuzzBaseline(data.intents).best, data
    )
    print("  accuracy: character TF-IDF ...", file=sys.stderr, flush=True)
    tfidf_row = tuned_accuracy(
        "TF-IDF char 3-5-grams, nearest variant", CharTfidfBaseline(data.intents).best, data
    )
    speed = measure_speed(args.data, args.quick)
    report = render([ours, rapidfuzz_row, tfidf_row], speed)
    print(report)
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        machine = (
            f"{platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} cores"
        )
        RESULTS.write_text(
            f"# CLINC150 benchmark\n\nMeasured {date.today().isoformat()} by "
            f"`python benchmarks/clinc150.py{' --quick' if args.quick else ''}` "
            f"({machine}; a shared machine, so timings are noisy).\n\n{report}\n",
            encoding="utf-8",
        )
    failures = failed_checks(ours, speed)
    if args.check:
        if failures:
            print("\nCHECK FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
            return 1
        print("\nAll checks passed.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
