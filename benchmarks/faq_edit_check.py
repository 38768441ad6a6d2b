"""How long an admin waits for the FAQ desk's check of a file sent from Telegram.

    python benchmarks/faq_edit_check.py [--runs N]

Sending a file back, saving an /edit or a /reviewed checks faq/ with the new file in place
(bot.staff.faq_edit_desk.FaqEditDesk.plan_upload, plan_answer, plan_reviewed). This times
each on the shipped faq/, in one process, interleaved, two ways:

- before: every check loads and lints the whole of faq/ from scratch in a temporary copy
  (bot.staff.faq_editing.check_with_file, what the desk did until issue 25);
- after: the desk as it is (bot.staff.faq_edit_check.EditChecker): unchanged files' parse
  kept, and an answer or date edit only loaded once faq/ is known clean.

`lint` (load + lint_warnings of faq/) is the yardstick, and `first edit` is an /edit on a
desk just started (it lints faq/ as it stands once, to know it is clean, from the files'
parse the bot's start-up kept in the knowledge cache). Prints the
median and the spread of each, and the median ratio after/before per pair. Nothing in
faq/ is written: the desk works on a copy of it.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.config import Settings, load_settings  # noqa: E402
from bot.core.knowledge import KnowledgeBase, Problem  # noqa: E402
from bot.core.knowledge_state import build_knowledge  # noqa: E402
from bot.staff.faq_edit_check import EditChecker  # noqa: E402
from bot.staff.faq_edit_desk import FaqEditDesk  # noqa: E402
from bot.staff.faq_editing import check_with_file  # noqa: E402
from bot.staff.lint import lint_warnings  # noqa: E402
from bot.storage.audit import AuditStore  # noqa: E402
from bot.storage.knowledge_cache import load_knowledge  # noqa: E402


class WholeBaseCheck(EditChecker):
    """The check before issue 25: the whole of faq/ loaded and linted for every edit."""

    def check(self, name: str, after: bytes) -> tuple[tuple[Problem, ...], KnowledgeBase | None]:
        problems, loaded = check_with_file(self.settings, self.faq_dir, name, after)
        return problems, loaded.knowledge if loaded is not None else None


# upload: a sent file with a comment added (no question changed); upload+question: one
# question variant added (linted in full); edit: an /edit of one answer; reviewed: /reviewed.
NAMES = ("upload", "upload+question", "edit", "reviewed")


def _checks(
    *works: Callable[[FaqEditDesk], None],
) -> list[tuple[str, Callable[[FaqEditDesk], None]]]:
    return list(zip(NAMES, works, strict=True))


def _timed(timings: list[float], work: Callable[[], object]) -> None:
    started = time.perf_counter()
    work()
    timings.append(time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    shipped: Settings = load_settings(REPO / "config.yaml", environ={})
    with tempfile.TemporaryDirectory() as scratch, AuditStore(None) as audit:
        faq = Path(scratch) / "faq"
        shutil.copytree(shipped.faq_dir, faq)
        settings = dataclasses.replace(
            shipped, faq_dir=faq, question_log_path=Path(scratch) / "state" / "questions.db"
        )
        load_knowledge(settings)  # the bot's start-up, which keeps the files' parse
        desks = {"before": FaqEditDesk(settings, audit, faq_dir=faq)}
        desks["before"]._checker = WholeBaseCheck(settings, faq)
        desks["after"] = FaqEditDesk(settings, audit, faq_dir=faq)
        name = "contact.yaml"
        original = (faq / name).read_bytes()
        edited = original + b"\n# a comment added by an admin\n"
        asked = original.replace(
            b'        - "contact details"\n',
            b'        - "contact details"\n        - "contact details of the agency"\n',
        )
        assert asked != original
        loaded = build_knowledge(settings, faq)
        entry = next(e for e in loaded.knowledge if Path(e.file).name == name)
        lang = entry.languages[0]

        def upload(desk: FaqEditDesk) -> None:
            plan = desk.plan_upload(name, edited, "en")
            assert not plan.problems, plan.problems

        def upload_question(desk: FaqEditDesk) -> None:
            plan = desk.plan_upload(name, asked, "en")
            assert not plan.problems, plan.problems

        def edit(desk: FaqEditDesk) -> None:
            plan = desk.plan_answer(entry.id, lang, "A new answer, {phone}.", started_from=original)
            assert not plan.problems, plan.problems
            assert plan.preview

        def reviewed(desk: FaqEditDesk) -> None:
            assert not desk.plan_reviewed(entry.id).problems

        def lint() -> None:
            lint_warnings(build_knowledge(settings, faq), faq, dated=settings.dated_answers)

        def first_edit() -> None:
            fresh = FaqEditDesk(settings, audit, faq_dir=faq)
            edit(fresh)

        timings: dict[str, list[float]] = {"lint": [], "first edit": []}
        for _ in range(args.runs):
            _timed(timings["lint"], lint)
            _timed(timings["first edit"], first_edit)
            for check, work in _checks(upload, upload_question, edit, reviewed):
                for when in ("before", "after"):
                    key = f"{check} {when}"
                    started = time.perf_counter()
                    work(desks[when])
                    timings.setdefault(key, []).append(time.perf_counter() - started)
    print(f"faq/: {len(loaded.knowledge)} entries; {args.runs} runs each, interleaved")
    for key, values in timings.items():
        print(
            f"{key:>22}: median {statistics.median(values) * 1000:7.1f} ms"
            f"  (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"
        )
    for check in NAMES:
        after, before = timings[f"{check} after"], timings[f"{check} before"]
        ratios = [a / b for a, b in zip(after, before, strict=True)]
        print(f"{check:>15} after/before: median ratio {statistics.median(ratios):.2f}")
    ratios = [a / b for a, b in zip(timings["first edit"], timings["lint"], strict=True)]
    print(f"first edit/lint: median ratio {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
