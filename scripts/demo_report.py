"""A demo question log with known contents, its HTML report, and a screenshot of it.

    .venv/bin/python scripts/demo_report.py --out /tmp/demo            # log and report.html
    .venv/bin/python scripts/demo_report.py --out /tmp/demo --screenshot docs/report.png

The log is a real question log (SQLite) in --out, filled with 30 days of made-up questions
about the project's FAQ: the same every run (a fixed seed and a fixed "now"), so the README's
screenshot can be made again. The screenshot needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bot.config import load_settings  # noqa: E402
from bot.core.knowledge_state import build_knowledge  # noqa: E402
from bot.core.locales import load_locales  # noqa: E402
from bot.staff.report import build_report  # noqa: E402
from bot.staff.report_html import render_html_report  # noqa: E402
from bot.storage.question_log import QuestionLog  # noqa: E402

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
DAYS = 30
SEED = 13
# What people ask most, with the language they ask in; ids from faq/.
POPULAR = [
    ("office-hours", "sq", "cili eshte orari i zyres"),
    ("office-address", "sq", "ku ndodhet zyra"),
    ("how-to-apply", "en", "how do i apply for a grant"),
    ("call-open-now", "sq", "a ka thirrje te hapur tani"),
    ("ngo-database-register", "sq", "si ta regjistroj organizaten"),
    ("phone", "en", "phone number"),
    ("who-can-apply", "en", "who can apply for a grant"),
    ("grant-amount", "sq", "sa eshte shuma e grantit"),
]
UNANSWERED = [
    ("sq", "si te hap nje llogari bankare per shoqaten"),
    ("sq", "si hap llogari bankare per shoqaten"),
    ("en", "can you help me write the project budget"),
    ("en", "how do i write a project budget"),
    ("sq", "sa kushton noterizimi i statutit"),
    ("en", "is there parking near the office"),
]
SUGGESTED = [("en", "deadline for the call"), ("sq", "afati i aplikimit per grante")]


def fill_log(log: QuestionLog, rnd: random.Random) -> int:
    count = 0
    for day in range(DAYS):
        start = NOW - timedelta(days=day)
        weekday = start.weekday() < 5
        asked = rnd.randint(14, 24) if weekday else rnd.randint(3, 8)
        for n in range(asked):
            moment = start - timedelta(minutes=17 * n + rnd.randint(0, 15))
            user = 1000 + rnd.randint(0, 120)
            roll = rnd.random()
            if roll < 0.68:
                entry, lang, text = rnd.choice(POPULAR[: rnd.randint(3, len(POPULAR))])
                question = log.record_question(
                    text, user_id=user, lang=lang, outcome="answer", entry_id=entry,
                    score=70, asked_at=moment,
                )  # fmt: skip
                vote = rnd.random()
                if vote < 0.3:
                    log.record_feedback(question, not (entry == "call-open-now" and vote < 0.2))
            elif roll < 0.78:
                lang, text = rnd.choice(SUGGESTED)
                log.record_question(
                    text, user_id=user, lang=lang, outcome="suggest", score=28, asked_at=moment
                )
            elif roll < 0.9:
                lang, text = rnd.choice(UNANSWERED)
                log.record_question(
                    text, user_id=user, lang=lang, outcome="fallback", score=8, asked_at=moment
                )
            else:
                log.record_question(
                    "faleminderit", user_id=user, lang="sq", outcome="smalltalk", asked_at=moment
                )
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the log and report")
    parser.add_argument("--lang", default="en", help="language of the report (sq or en)")
    parser.add_argument("--screenshot", type=Path, help="also save a PNG of the report's top")
    args = parser.parse_args()

    settings = load_settings(PROJECT / "config.yaml", environ={})
    args.out.mkdir(parents=True, exist_ok=True)
    database = args.out / "questions.sqlite3"
    for stale in args.out.glob("questions.sqlite3*"):
        stale.unlink()
    with QuestionLog(database, key=b"demo-key-".ljust(32, b"0"), clock=lambda: NOW) as log:
        asked = fill_log(log, random.Random(SEED))
        log.flush()
        report = build_report(log, build_knowledge(settings), timedelta(days=DAYS), now=NOW)
    page = render_html_report(report, load_locales(settings.languages), args.lang, generated_at=NOW)
    (args.out / "report.html").write_text(page, encoding="utf-8")
    print(f"{asked} questions in {database}; report in {args.out / 'report.html'}")
    if args.screenshot:
        chromium = shutil.which("chromium")
        if chromium is None:
            print("chromium is not installed: no screenshot", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [
                    chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={profile}", "--window-size=760,1250",
                    f"--screenshot={args.screenshot.resolve()}",
                    (args.out / "report.html").resolve().as_uri(),
                ],
                check=True, capture_output=True,
            )  # fmt: skip
        print(f"screenshot: {args.screenshot} ({args.screenshot.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
