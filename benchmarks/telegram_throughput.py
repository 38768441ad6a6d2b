"""Telegram adapter throughput and memory, end to end on loopback.

    python benchmarks/telegram_throughput.py [--updates 2000] [--runs 5] [--capped 300]

The bot runs in a subprocess of its own (so its peak resident memory is its own), composed
as `python -m bot run` composes it - the real knowledge base (faq/), HTTPXRequest, the
delivery rate limiter, concurrent updates, the question log (in a temporary folder), one
INFO log line per update (to a file) - with its base_url pointing at the fake Bot API
server of tests/fake_bot_api.py, which runs in this process on 127.0.0.1.

Each run: start the bot, let it answer a warm-up batch, then queue N updates at once (free
questions in English and Albanian from a few hundred users, with some /start and /topics)
and time from the queueing until the fake server has recorded all N replies. Updates per
second is N / that time; the median of the runs is printed, with each run's figure.

Two rate-limiter settings are measured:
- uncapped: the delivery rate limiter with Telegram's overall and per-group caps switched
  off, so loopback measures what the bot itself can do (the figure the target refers to);
- capped (production): Telegram's 30 messages/s overall cap on, as the bot runs for real;
  this measures the limiter, not the bot, and is shown for reference on a smaller batch.

Only 127.0.0.1 is used; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the bot and tests importable
    sys.path.insert(0, str(REPO))

from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiServer, UpdateFactory, user  # noqa: E402

QUESTIONS = (
    "Where is your office?",
    "what is ascs",
    "how do I apply for a grant",
    "what documents do I need to apply",
    "when is the deadline",
    "what is your phone number",
    "how do I register my NGO",
    "office hours",
    "Ku ndodhet zyra?",
    "çfarë është AMSHC",
    "si te aplikoj per grant",
    "numri i telefonit",
    "si ta regjistroj organizatën",
    "kur është afati",
    "hello",
    "asdkjh qwe",
)
USERS = 400  # N / USERS updates each: well under the flood limit of 20 a minute
WARM_UP = 100
START_TIMEOUT = 60.0
RUN_TIMEOUT = 180.0


def updates_batch(factory: UpdateFactory, count: int, offset: int) -> list[dict[str, object]]:
    batch = []
    for i in range(count):
        n = offset + i
        sender = user(100_000 + n % USERS, "sq" if n % 3 else "en")
        if n % 10 == 0:
            batch.append(factory.command("/start", sender=sender))
        elif n % 10 == 5:
            batch.append(factory.command("/topics", sender=sender))
        else:
            batch.append(factory.message(QUESTIONS[n % len(QUESTIONS)], sender=sender))
    return batch


async def one_run(count: int, capped: bool, workdir: Path) -> tuple[float, int]:
    """(updates per second, the bot's peak RSS in KiB) for one fresh bot process."""
    async with FakeBotApiServer() as server:
        api = server.api
        log_file = workdir / "bot.log"
        with log_file.open("ab") as log:
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--serve",
                server.base_url,
                "--workdir",
                str(workdir),
                *(["--capped-limiter"] if capped else []),
                stdout=subprocess.PIPE,
                stderr=log,
            )
        try:
            await _ready(api)
            factory = UpdateFactory()
            for update in updates_batch(factory, WARM_UP, 0):
                api.add_update(update)
            await api.wait_for("sendMessage", WARM_UP, within=RUN_TIMEOUT)
            started = time.perf_counter()
            bot_cpu, own_cpu = _cpu_seconds(bot.pid), time.process_time()
            for update in updates_batch(factory, count, WARM_UP):
                api.add_update(update)
            await api.wait_for("sendMessage", WARM_UP + count, within=RUN_TIMEOUT)
            elapsed = time.perf_counter() - started
            bot_cpu = _cpu_seconds(bot.pid) - bot_cpu
            own_cpu = time.process_time() - own_cpu
            print(
                f"    CPU per update: bot {bot_cpu / count * 1000:.2f} ms, "
                f"fake server {own_cpu / count * 1000:.2f} ms"
            )
            refused = [c for c in api.calls if not c.ok]
            if refused:
                raise SystemExit(f"the fake refused {len(refused)} call(s): {refused[:3]}")
        finally:
            if bot.returncode is None:
                bot.terminate()
            stdout, _ = await asyncio.wait_for(bot.communicate(), 30)
    report = json.loads(stdout.decode().strip().splitlines()[-1])
    return count / elapsed, int(report["max_rss_kib"])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _ready(api: FakeBotApi) -> None:
    """Until the bot has set its commands and polls; bounded by START_TIMEOUT."""
    for _ in range(int(START_TIMEOUT / 0.05)):
        if len(api.calls_of("setMyCommands")) >= 3 and api.polls >= 1:
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"the bot did not start polling within {START_TIMEOUT:.0f} s")


def serve(base_url: str, workdir: Path, capped: bool) -> None:
    """The bot process: composed as `python -m bot run` does, pointed at `base_url`."""
    import logging

    from bot.config import load_settings
    from bot.core.assembly import build_dialog
    from bot.storage.database import Database
    from bot.storage.question_log import QuestionLog
    from bot.storage.user_prefs import UserPrefs
    from bot.telegram_bot.app import ALLOWED_UPDATES, build_application
    from bot.telegram_bot.transport.delivery import RATE_LIMIT_RETRIES, DeliveryRateLimiter

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings()
    settings = replace(
        settings,
        telegram=replace(settings.telegram, base_url=base_url),
        question_log_path=workdir / "questions.sqlite3",
    )
    dialog, holder = build_dialog(settings)
    if capped:
        limiter = DeliveryRateLimiter(max_retries=RATE_LIMIT_RETRIES)
    else:
        limiter = DeliveryRateLimiter(
            overall_max_rate=0, group_max_rate=0, max_retries=RATE_LIMIT_RETRIES
        )
    with Database(
        settings.question_log_path, key_source=lambda: b"benchmark-key-0123456789"
    ) as database:
        log = QuestionLog(database)
        application = build_application(
            settings,
            TOKEN,
            dialog,
            holder,
            prefs=UserPrefs(database),
            question_log=log,
            rate_limiter=limiter,
            watch_faq=True,
        )
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"max_rss_kib": usage.ru_maxrss, "cpu_seconds": cpu}), flush=True)


def measure(count: int, runs: int, capped: bool) -> tuple[list[float], list[int]]:
    rates, rss = [], []
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="tg-bench-") as workdir:
            rate, peak = asyncio.run(one_run(count, capped, Path(workdir)))
        rates.append(rate)
        rss.append(peak)
        print(f"  run {run + 1}: {rate:7.0f} updates/s, bot peak RSS {peak / 1024:5.1f} MiB")
    return rates, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2000, help="updates per run (uncapped)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--capped", type=int, default=300, help="updates per run with the production cap (0: skip)"
    )
    parser.add_argument("--serve", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--capped-limiter", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.workdir, args.capped_limiter)
        return 0

    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s); bot and fake server in "
        "separate processes on 127.0.0.1"
    )
    print(f"uncapped rate limiter, {args.updates} updates per run (after {WARM_UP} warm-up):")
    rates, rss = measure(args.updates, args.runs, capped=False)
    print(
        f"median {statistics.median(rates):.0f} updates/s; "
        f"bot peak RSS median {statistics.median(rss) / 1024:.1f} MiB, "
        f"max {max(rss) / 1024:.1f} MiB"
    )
    if args.capped:
        print(f"production rate limiter (30 messages/s overall), {args.capped} updates per run:")
        capped_rates, _ = measure(args.capped, min(args.runs, 3), capped=True)
        print(f"median {statistics.median(capped_rates):.0f} updates/s (Telegram's cap, by design)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
