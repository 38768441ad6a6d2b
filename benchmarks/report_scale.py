"""How long /stats and /unanswered take on a large question log.

    python benchmarks/report_scale.py [--sizes 1000,10000,100000] [--runs 3] [--limit 120]

For each size, a week of logged questions is made up (seeded, so every run sees the same
log): a quarter not answered, a sixth answered with "did you mean", the rest answered.
The questions users ask again and again come in many wordings (typos, words dropped or
swapped, Albanian without ë/ç); a third of the unanswered ones are junk that nobody
else types (random letters, long runs of them). The figure is what an admin waits for:
`build_report` over the week (grouping both kinds of questions, closest entries from the
real knowledge base in faq/) plus the /stats and /unanswered texts, the median of
`--runs` runs in wall-clock seconds. The log is in memory (reading it from SQLite is the
same for any grouping). A run that would take longer than `--limit` seconds is given up
and shown as "> limit" (the time it took the first time is printed).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import string
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the bot package importable
    sys.path.insert(0, str(REPO))

from bot.storage.question_log import LoggedQuestion  # noqa: E402

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOPICS_EN = (
    "how do i close an ngo",
    "can a foreign organisation apply for a grant",
    "how much does registration cost",
    "where can i find the annual report",
    "who is the director of the agency",
    "do you fund sports clubs",
    "how long does the evaluation take",
    "can i apply with a partner from kosovo",
    "what happens if we miss the reporting deadline",
    "is there a template for the budget",
    "can individuals get funding",
    "how do i change the board of my organisation",
    "do you offer trainings for volunteers",
    "where do i send the final narrative report",
    "can we buy equipment with the grant",
)
TOPICS_SQ = (
    "si mbyllet nje organizate",
    "a mund te aplikoje nje organizate e huaj",
    "sa kushton regjistrimi",
    "ku gjendet raporti vjetor",
    "kush eshte drejtori i agjencise",
    "a financoni klube sportive",
    "sa zgjat vleresimi i projekteve",
    "a mund te aplikoj me partner nga kosova",
    "cfare ndodh nese vonojme raportin",
    "a ka model per buxhetin",
    "a mund te financohen individet",
    "si ndryshoj bordin e organizates",
    "a ofroni trajnime per vullnetaret",
    "ku dergohet raporti final",
    "a mund te blejme pajisje me grantin",
)
SUGGESTED = (
    "grant deadline for youth",
    "office opening hours on saturday",
    "telephone of the office",
    "afati i aplikimit per te rinjte",
    "orari i zyres te shtunen",
    "si te aplikoj online",
)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    at = rng.randrange(len(word))
    kind = rng.randrange(3)
    if kind == 0:
        return word[:at] + word[at + 1 :]
    if kind == 1:
        return word[:at] + rng.choice(string.ascii_lowercase) + word[at + 1 :]
    return word[:at] + word[at] + word[at:]


def _variant(rng: random.Random, text: str) -> str:
    words = text.split()
    roll = rng.random()
    if roll < 0.3:
        return text
    if roll < 0.6:
        at = rng.randrange(len(words))
        words[at] = _typo(rng, words[at])
    elif roll < 0.8 and len(words) > 3:
        del words[rng.randrange(len(words))]
    else:
        at = rng.randrange(len(words) - 1)
        words[at], words[at + 1] = words[at + 1], words[at]
    return " ".join(words)


def _junk(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(40, 300)))
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 10)))
        for _ in range(rng.randint(1, 8))
    )


def make_log(size: int, seed: int = 16) -> list[LoggedQuestion]:
    rng = random.Random(seed)
    log = []
    for n in range(size):
        roll = rng.random()
        lang = "sq" if rng.random() < 0.6 else "en"
        if roll < 0.25:
            outcome, entry = "fallback", None
            if rng.random() < 1 / 3:
                text = _junk(rng)
            else:
                text = _variant(rng, rng.choice(TOPICS_SQ if lang == "sq" else TOPICS_EN))
        elif roll < 0.42:
            outcome, entry = "suggest", "office-hours"
            text = _variant(rng, rng.choice(SUGGESTED))
        else:
            outcome, entry, text = "answer", "office-address", "where is your office"
        log.append(
            LoggedQuestion(
                id=f"q{n}",
                asked_at=NOW - timedelta(seconds=rng.uniform(1, 7 * 86400 - 1)),
                text=text,
                lang=lang,
                outcome=outcome,
                entry_id=entry,
                score=0.0,
                user_hash=f"user-{rng.randrange(size // 4 + 1)}",
                channel="telegram",
            )
        )
    return log


def one_run(size: int) -> tuple[float, int, int]:
    """(seconds, unanswered groups, low-confidence groups) of /stats + /unanswered."""
    from bot.config import load_settings
    from bot.core.knowledge_state import build_knowledge
    from bot.staff.report import SUMMARY_PERIOD, build_report, stats_summary, unanswered_summary

    knowledge = build_knowledge(load_settings(REPO / "config.yaml"))
    log = make_log(size)
    started = time.perf_counter()
    report = build_report(log, knowledge, SUMMARY_PERIOD, now=NOW)
    stats_summary(report, "en")
    unanswered_summary(report, "en")
    return time.perf_counter() - started, len(report.unanswered), len(report.low_confidence)


def _child(size: int, results: multiprocessing.Queue[tuple[float, int, int]]) -> None:
    results.put(one_run(size))


def timed(size: int, limit: float) -> tuple[float, int, int] | None:
    """One run in a fresh process (cold caches), or None past `limit` seconds."""
    results: multiprocessing.Queue[tuple[float, int, int]] = multiprocessing.Queue()
    child = multiprocessing.Process(target=_child, args=(size, results))
    child.start()
    child.join(limit + 30)  # the knowledge base and the log are built first
    if child.is_alive():
        child.terminate()
        child.join()
        return None
    return results.get(timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=120.0, help="give up a run after this")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}; bot code from {REPO}")
    print(f"{'questions':>10}  {'median s':>9}  {'runs':<24}  groups (unanswered / suggest)")
    for size in (int(s) for s in args.sizes.split(",")):
        times: list[float] = []
        groups = ""
        for _ in range(args.runs):
            result = timed(size, args.limit)
            if result is None:
                break
            times.append(result[0])
            groups = f"{result[1]} / {result[2]}"
        if len(times) < args.runs:
            shown = ", ".join(f"{t:.2f}" for t in times)
            print(f"{size:>10}  {'> ' + str(int(args.limit)):>9}  {shown:<24}  (given up)")
            continue
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{size:>10}  {statistics.median(times):>9.2f}  {runs:<24}  {groups}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
