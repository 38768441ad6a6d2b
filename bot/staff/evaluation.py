"""Scores the bot on a case file: questions as users type them, with what the reply must say.

The case format is that of ../shared/eval/ascs_dev.yaml and tests/eval_cases.yaml: each case
has `q`, `lang`, `topic` and `expect`, a list of groups that must all match the reply (a group
matches when any of its alternatives occurs in it, case and diacritics folded; "#1234" matches
digits in the reply's digits-only form), or `none` for a question the bot must not answer
confidently.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.dialog import Dialog, Reply
from bot.core.safe_yaml import error_line as yaml_error_line
from bot.core.telegram_html import html_to_plain
from bot.core.text import fold_diacritics

CONFIDENT_KINDS = ("answer", "smalltalk")


class CaseFileError(ValueError):
    """The case file cannot be read or a case is malformed."""


@dataclass(frozen=True)
class Case:
    question: str
    lang: str
    topic: str
    expect: tuple[tuple[str, ...], ...] | None  # None: out of scope

    @property
    def in_scope(self) -> bool:
        return self.expect is not None


@dataclass(frozen=True)
class CaseResult:
    case: Case
    reply: Reply
    passed: bool  # in scope: answered with every expected group; out of scope: not answered
    language_ok: bool
    missing: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Bars:
    """The quality bars the knowledge base must meet (issue: 95% / 5% / 95%)."""

    min_in_scope: float = 0.95
    max_out_of_scope_answered: float = 0.05
    min_language: float = 0.95


@dataclass
class EvaluationSummary:
    results: list[CaseResult]
    bars: Bars = field(default_factory=Bars)

    @property
    def in_scope(self) -> list[CaseResult]:
        return [r for r in self.results if r.case.in_scope]

    @property
    def out_of_scope(self) -> list[CaseResult]:
        return [r for r in self.results if not r.case.in_scope]

    @property
    def in_scope_rate(self) -> float:
        return _rate(sum(r.passed for r in self.in_scope), len(self.in_scope))

    @property
    def out_of_scope_answered_rate(self) -> float:
        return _rate(sum(not r.passed for r in self.out_of_scope), len(self.out_of_scope), 0.0)

    @property
    def language_rate(self) -> float:
        return _rate(sum(r.language_ok for r in self.results), len(self.results))

    @property
    def meets_bars(self) -> bool:
        return (
            self.in_scope_rate >= self.bars.min_in_scope
            and self.out_of_scope_answered_rate <= self.bars.max_out_of_scope_answered
            and self.language_rate >= self.bars.min_language
        )

    def by_topic(self) -> dict[str, tuple[int, int]]:
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for result in self.results:
            totals[result.case.topic][0] += result.passed
            totals[result.case.topic][1] += 1
        return {topic: (passed, total) for topic, (passed, total) in sorted(totals.items())}

    def summary_line(self) -> str:
        bars = self.bars
        inn, out = self.in_scope, self.out_of_scope
        verdict = "PASS" if self.meets_bars else "FAIL"
        return (
            f"{verdict}: in-scope {sum(r.passed for r in inn)}/{len(inn)} "
            f"({self.in_scope_rate:.1%}, bar {bars.min_in_scope:.0%}); "
            f"out-of-scope answered {sum(not r.passed for r in out)}/{len(out)} "
            f"({self.out_of_scope_answered_rate:.1%}, bar {bars.max_out_of_scope_answered:.0%}); "
            f"reply language {self.language_rate:.1%} (bar {bars.min_language:.0%})"
        )


def _rate(part: int, whole: int, empty: float = 1.0) -> float:
    return part / whole if whole else empty


def load_cases(path: Path | str) -> list[Case]:
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as error:
        raise CaseFileError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        # As lint words it: file and line, then PyYAML's problem without its own
        # '<unicode string>' locations.
        line, _ = yaml_error_line(text, error)
        where = f"{path}:{line}" if line else str(path)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise CaseFileError(f"{where}: error: YAML syntax error: {detail}") from None
    raw_cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(raw_cases, list) or not raw_cases:
        raise CaseFileError(f"{path}: expected a non-empty 'cases:' list")
    cases = []
    for number, raw in enumerate(raw_cases, start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
            raise CaseFileError(f"{path}: case {number}: needs q (the question)")
        expect = raw.get("expect")
        groups: tuple[tuple[str, ...], ...] | None
        if expect is None or expect == "none":
            groups = None
        elif isinstance(expect, list) and all(isinstance(g, list) and g for g in expect):
            groups = tuple(tuple(str(alt) for alt in group) for group in expect)
        else:
            raise CaseFileError(f"{path}: case {number}: expect must be a list of lists or none")
        cases.append(Case(raw["q"], str(raw.get("lang", "")), str(raw.get("topic", "")), groups))
    return cases


def _fold(text: str) -> str:
    return " ".join(fold_diacritics(text).split())


def missing_groups(reply_text: str, expect: tuple[tuple[str, ...], ...]) -> list[tuple[str, ...]]:
    """The expected groups that the reply's text does not satisfy."""
    folded = _fold(reply_text)
    digits = re.sub(r"\D", "", reply_text)
    missing = []
    for group in expect:
        if not any(
            (alt[1:] in digits)
            if alt.startswith("#") and alt[1:].isdigit()
            else _fold(alt) in folded
            for alt in group
        ):
            missing.append(group)
    return missing


def evaluate_case(dialog: Dialog, case: Case) -> CaseResult:
    reply = dialog.reply_to_question(case.question)
    confident = reply.kind in CONFIDENT_KINDS
    language_ok = reply.lang == case.lang
    if case.expect is None:
        return CaseResult(case, reply, not confident, language_ok)
    missing = (
        missing_groups(html_to_plain(reply.text), case.expect) if confident else list(case.expect)
    )
    return CaseResult(case, reply, confident and not missing, language_ok, tuple(missing))


def evaluate(dialog: Dialog, cases: list[Case], bars: Bars | None = None) -> EvaluationSummary:
    return EvaluationSummary([evaluate_case(dialog, case) for case in cases], bars or Bars())


def format_report(summary: EvaluationSummary, verbose: bool = False) -> str:
    lines = ["topic                     passed"]
    for topic, (passed, total) in summary.by_topic().items():
        lines.append(f"  {topic:<24}{passed:>3}/{total:<3} {passed / total:>6.0%}")
    if verbose:
        failures = [r for r in summary.results if not r.passed or not r.language_ok]
        if failures:
            lines.append("")
            lines.append("failures:")
        for result in failures:
            match = result.reply.match
            how = (
                f"{match.status} {match.best.entry_id if match and match.best else '-'} "
                f"{match.score:.0f}"
                if match
                else result.reply.kind
            )
            problems = []
            if not result.passed:
                problems.append(
                    "answered out-of-scope question"
                    if not result.case.in_scope
                    else f"missing {[list(g) for g in result.missing]}"
                )
            if not result.language_ok:
                problems.append(f"replied in {result.reply.lang}, expected {result.case.lang}")
            lines.append(
                f"  [{result.case.topic}] {result.case.question!r}: {'; '.join(problems)}"
                f" (got {how})"
            )
    lines.append("")
    lines.append(summary.summary_line())
    return "\n".join(lines)
