"""The demo question log (bot/staff/demo.py), its HTML report, and a screenshot of it.

    .venv/bin/python scripts/demo_report.py --out /tmp/demo            # log and report.html
    .venv/bin/python scripts/demo_report.py --out /tmp/demo --screenshot docs/report.png

The log is a real question log (SQLite) in --out, filled with 30 days of made-up questions
about the project's FAQ: the same every run (a fixed seed and a fixed "now"), so the README's
screenshot can be made again. The screenshot needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bot.config import load_settings  # noqa: E402
from bot.core.knowledge_state import build_knowledge  # noqa: E402
from bot.core.locales import load_locales  # noqa: E402
from bot.staff.demo import DAYS, DEMO_KEY, NOW, write_demo_log  # noqa: E402
from bot.staff.report import build_report  # noqa: E402
from bot.staff.report_html import render_html_report  # noqa: E402
from bot.storage.question_log import QuestionLog  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the log and report")
    parser.add_argument("--lang", default="en", help="language of the report (sq or en)")
    parser.add_argument("--screenshot", type=Path, help="also save a PNG of the report's top")
    args = parser.parse_args()

    settings = load_settings(PROJECT / "config.yaml", environ={})
    args.out.mkdir(parents=True, exist_ok=True)
    database = args.out / "questions.sqlite3"
    asked = write_demo_log(database)
    with QuestionLog(database, key=DEMO_KEY, clock=lambda: NOW) as log:
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
