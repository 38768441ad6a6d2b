"""How long an admin waits for the FAQ desk's check of a file sent from Telegram.

    python benchmarks/faq_edit_check.py [--runs N]

Sending a file back (or saving an /edit) loads and lints the whole of faq/ with the new
file in place, in a temporary copy (bot.staff.faq_edit_desk.FaqEditDesk.plan_upload and
plan_answer). This times both on the shipped faq/, in one process, side by side with
`lint`'s own work on the same folder (load + lint_warnings), which is the yardstick: the
check should cost about one lint plus the copy. Prints the median and the spread of each,
and their ratio per pair. Nothing in faq/ is written: the desk works on a copy of it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.config import load_settings  # noqa: E402
from bot.core.knowledge_state import build_knowledge  # noqa: E402
from bot.staff.faq_edit_desk import FaqEditDesk  # noqa: E402
from bot.staff.lint import lint_warnings  # noqa: E402
from bot.storage.audit import AuditStore  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    settings = load_settings(REPO / "config.yaml", environ={})
    with tempfile.TemporaryDirectory() as scratch, AuditStore(None) as audit:
        faq = Path(scratch) / "faq"
        shutil.copytree(settings.faq_dir, faq)
        desk = FaqEditDesk(settings, audit, faq_dir=faq)
        name = "contact.yaml"
        original = (faq / name).read_bytes()
        edited = original + b"\n# a comment added by an admin\n"
        loaded = build_knowledge(settings, faq)
        entry = next(e for e in loaded.knowledge if Path(e.file).name == name)
        lang = entry.languages[0]
        timings: dict[str, list[float]] = {"lint": [], "upload": [], "edit": []}
        for _ in range(args.runs):
            started = time.perf_counter()
            lint_warnings(build_knowledge(settings, faq), faq, dated=settings.dated_answers)
            timings["lint"].append(time.perf_counter() - started)
            started = time.perf_counter()
            plan = desk.plan_upload(name, edited, "en")
            timings["upload"].append(time.perf_counter() - started)
            assert not plan.problems, plan.problems
            started = time.perf_counter()
            answer = desk.plan_answer(
                entry.id, lang, "A new answer, {phone}.", started_from=original
            )
            timings["edit"].append(time.perf_counter() - started)
            assert not answer.problems, answer.problems
    print(f"faq/: {len(loaded.knowledge)} entries; {args.runs} runs each, interleaved")
    for key, values in timings.items():
        print(
            f"{key:>6}: median {statistics.median(values) * 1000:7.1f} ms"
            f"  (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"
        )
    for key in ("upload", "edit"):
        ratios = [a / b for a, b in zip(timings[key], timings["lint"], strict=True)]
        print(f"{key}/lint: median ratio {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
