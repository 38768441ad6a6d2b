"""Announcement delivery against Telegram's limits, end to end on loopback.

    python benchmarks/broadcast.py [--subscribers 10000] [--rate 30] [--runs 1]

Each run: a fresh SQLite file with N subscribers (half Albanian, half English), then
`python -m bot announce --yes` as a process of its own - the production path: the store,
the broadcaster, python-telegram-bot's rate limiter at `subscriptions.messages_per_second`
= --rate, HTTPXRequest - with its base_url pointing at the fake Bot API server of
tests/fake_bot_api.py in this process, on 127.0.0.1. The fake applies Telegram's flood
limits (30 messages a second in all, a burst of as many; one a second per chat) and answers
429 with retry_after over them, as Telegram does.

Measured: the time from the first announcement message the fake accepted to the last, the
rate that makes (messages / second), and its ratio to Telegram's limit of 30 a second - the
figure: 1.00 would be exactly at the limit. Also: 429s the fake gave, subscribers missed,
messages delivered twice. The median of the runs is printed.

With --kills K (default 5), also the in-flight window: an announcement to --kill-subscribers
(default 2,000; no limits on the fake, 300 messages/s) whose `announce` process is killed with
SIGKILL K times at evenly spaced points, resumed each time with `announce --resume`; printed:
how many recipients were marked "sending" at each kill, and how many messages arrived twice
in all (at most their sum, by design; at most 4 per kill).

Only 127.0.0.1 is used; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the bot and tests importable
    sys.path.insert(0, str(REPO))

from bot.storage.subscriptions import SubscriptionStore  # noqa: E402
from tests.fake_bot_api import TOKEN, FakeBotApiServer  # noqa: E402

TELEGRAM_LIMIT = 30.0  # messages a second in all


async def one_run(subscribers: int, rate: float, workdir: Path) -> dict[str, float]:
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    database = workdir / "questions.sqlite3"
    config["paths"].update(faq=str(REPO / "faq"), question_log=str(database))
    config["subscriptions"]["messages_per_second"] = rate
    chats = {1_000_000 + n: ("sq" if n % 2 else "en") for n in range(subscribers)}
    with SubscriptionStore(database) as store:
        store.subscribe_many(chats, "calls")
    for lang in ("sq", "en"):
        (workdir / f"{lang}.html").write_text(f"<b>Benchmark</b> ({lang})", encoding="utf-8")
    async with FakeBotApiServer() as server:
        server.api.enforce_limits(per_second=TELEGRAM_LIMIT, per_chat=1)
        config["telegram"]["base_url"] = server.base_url
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(workdir / "config.yaml"),
            "announce",
            "--topic",
            "calls",
            "--yes",
            "--sq-file",
            str(workdir / "sq.html"),
            "--en-file",
            str(workdir / "en.html"),
            cwd=REPO,
            env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        timeout = subscribers / min(rate, TELEGRAM_LIMIT) * 3 + 60
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
        total = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"announce failed ({process.returncode}):\n{output.decode()[-2000:]}")
        sent = [c for c in server.api.calls if c.method == "sendMessage" and c.ok]
        delivered = server.api.deliveries()
        refused = server.api.refused_by_limits
    elapsed = sent[-1].at - sent[0].at
    return {
        "elapsed": elapsed,
        "total": total,
        "rate": (len(sent) - 1) / elapsed,
        "refused": refused,
        "missed": sum(1 for chat in chats if delivered[chat] == 0),
        "twice": sum(max(0, delivered[chat] - 1) for chat in chats),
    }


async def kill_runs(kills: int, subscribers: int, workdir: Path) -> None:
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    database = workdir / "questions.sqlite3"
    config["paths"].update(faq=str(REPO / "faq"), question_log=str(database))
    config["subscriptions"]["messages_per_second"] = 300
    chats = {2_000_000 + n: ("sq" if n % 2 else "en") for n in range(subscribers)}
    with SubscriptionStore(database) as store:
        store.subscribe_many(chats, "calls")
    for lang in ("sq", "en"):
        (workdir / f"{lang}.html").write_text(f"<b>Kill test</b> ({lang})", encoding="utf-8")
    environ = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    in_flight = []
    async with FakeBotApiServer() as server:
        config["telegram"]["base_url"] = server.base_url
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        base = [sys.executable, "-m", "bot", "--config", str(workdir / "config.yaml"), "announce"]
        first = [
            "--topic",
            "calls",
            "--yes",
            "--sq-file",
            str(workdir / "sq.html"),
            "--en-file",
            str(workdir / "en.html"),
        ]
        for kill in range(kills + 1):
            arguments = first if kill == 0 else ["--resume"]
            process = await asyncio.create_subprocess_exec(
                *base,
                *arguments,
                cwd=REPO,
                env=environ,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            if kill == kills:
                await asyncio.wait_for(process.wait(), subscribers / 10 + 60)
                break
            target = subscribers * (kill + 1) // (kills + 1)
            await server.api.wait_for("sendMessage", target, within=subscribers / 10 + 60)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            with SubscriptionStore(database) as store:
                (job,) = store.unfinished()
                in_flight.append(store.in_flight(job))
        delivered = server.api.deliveries()
    twice = sum(max(0, delivered[chat] - 1) for chat in chats)
    missed = sum(1 for chat in chats if delivered[chat] == 0)
    print(
        f"{kills} SIGKILLs during an announcement to {subscribers}: marked in flight at each "
        f"kill {in_flight}; delivered twice {twice} in all ({twice / max(kills, 1):.1f} per "
        f"kill); missed {missed}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument(
        "--rate",
        type=float,
        default=TELEGRAM_LIMIT,
        help="subscriptions.messages_per_second for the run (default: the limit)",
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs for the window (0: skip)")
    parser.add_argument("--kill-subscribers", type=int, default=2000)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s); 127.0.0.1 only")
    if args.runs:
        print(
            f"{args.subscribers} subscribers; limiter at {args.rate:g}/s; the fake enforces "
            f"Telegram's {TELEGRAM_LIMIT:g}/s"
        )
    ratios = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="broadcast-bench-") as workdir:
            result = asyncio.run(one_run(args.subscribers, args.rate, Path(workdir)))
        ratio = result["rate"] / TELEGRAM_LIMIT
        ratios.append(ratio)
        ideal = args.subscribers / TELEGRAM_LIMIT
        print(
            f"  run {run + 1}: {result['elapsed']:.1f} s first to last message "
            f"(at the limit: {ideal:.1f} s; {result['total']:.1f} s with start-up), "
            f"{result['rate']:.2f} messages/s = {ratio:.3f} of the limit; "
            f"{result['refused']:.0f} refused with 429, {result['missed']:.0f} missed, "
            f"{result['twice']:.0f} delivered twice"
        )
    if ratios:
        print(f"median ratio to Telegram's limit: {statistics.median(ratios):.3f}")
    if args.kills:
        with tempfile.TemporaryDirectory(prefix="broadcast-kill-") as workdir:
            asyncio.run(kill_runs(args.kills, args.kill_subscribers, Path(workdir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
