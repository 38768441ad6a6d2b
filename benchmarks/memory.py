"""The bot's memory over 60,000 varied questions: it must level off, not keep growing.

    python benchmarks/memory.py [--updates 60000] [--step 10000] [--bot-tree PATH]

The bot runs in a subprocess of its own, composed by `run_telegram_bot` as `python -m bot
run` composes it (the real faq/, question log and preferences in a temporary folder, FAQ
watcher, one log line per update to a file), except that Telegram's 30 messages/s cap is
off so that the run takes minutes, not an hour. Its base_url points at the fake Bot API
server of tests/fake_bot_api.py, in this process on 127.0.0.1.

The updates (seeded, the same every run) come from 20,000 users:
- 45% questions of the FAQ as people type them (typos, no ë/ç, words in another order),
- 15% sentences of ordinary words nobody asked before,
- 15% junk: unique "words" of 40 to 490 letters, alone or among real words,
- 15% inline queries of many users, each a new text, and 5% inline queries of one user
  typing without a pause (a script),
- 5% /start and /topics.

After every `--step` updates (once the bot has taken them all and answered them), the bot's
resident memory (VmRSS) is read from /proc. The table shows it with the growth over the
previous step; flat means the last steps grow by little or nothing.

`--bot-tree` runs the bot from another checkout (to measure the code before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the tests' helpers importable
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:  # the bot process must import the bot from --bot-tree, so not these
    from tests.fake_bot_api import FakeBotApi, UpdateFactory

FAQ_QUESTIONS = (
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
    "faleminderit",
)
_WORD_TEXT = """the a my our can could would how what when where why project funding money
office report partner youth women school village city municipality training volunteer budget
law tax bank account email letter form online paper deadline extension une ju ne projekt fonde
para zyre raport te rinj gra shkolle fshat qytet bashki trajnim vullnetar buxhet ligj takse
banke llogari leter formular"""
WORDS = tuple(_WORD_TEXT.split())
USERS = 20_000
START_TIMEOUT = 120.0
BATCH_TIMEOUT = 900.0
QUIET_SECONDS = 2.0


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 5 or rng.random() < 0.4:
        return text
    at = rng.randrange(len(text))
    return text[:at] + rng.choice(string.ascii_lowercase) + text[at + 1 :]


def _junk(rng: random.Random) -> str:
    word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(40, 490)))
    if rng.random() < 0.5:
        return word
    return f"{rng.choice(WORDS)} {word} {rng.choice(WORDS)}"


def make_update(factory: UpdateFactory, rng: random.Random, n: int) -> dict[str, Any]:
    from tests.fake_bot_api import user

    flooder = user(9_999_999, "en", name="Script")
    sender = user(100_000 + rng.randrange(USERS), rng.choice(("sq", "en")))
    roll = rng.random()
    if roll < 0.45:
        return factory.message(_typo(rng, rng.choice(FAQ_QUESTIONS)), sender=sender)
    if roll < 0.60:
        words = rng.sample(WORDS, rng.randint(3, 9))
        return factory.message(" ".join(words), sender=sender)
    if roll < 0.75:
        return factory.message(_junk(rng), sender=sender)
    if roll < 0.90:
        text = " ".join(rng.sample(WORDS, rng.randint(1, 5))) + f" {n}"
        return factory.inline_query(text[:256], sender=sender)
    if roll < 0.95:
        return factory.inline_query(_junk(rng)[:256], sender=flooder)
    return factory.command(rng.choice(("/start", "/topics")), sender=sender)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def _until(condition: str, check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {condition}")
        await asyncio.sleep(0.2)


async def _quiet(api: FakeBotApi) -> None:
    """Until the bot has made no call for QUIET_SECONDS (bounded by BATCH_TIMEOUT)."""
    deadline = time.monotonic() + BATCH_TIMEOUT
    calls, since = len(api.calls), time.monotonic()
    while time.monotonic() - since < QUIET_SECONDS and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if len(api.calls) != calls:
            calls, since = len(api.calls), time.monotonic()


async def run(total: int, step: int, tree: Path) -> list[tuple[int, int]]:
    from tests.fake_bot_api import TOKEN, FakeBotApiServer, UpdateFactory

    rng = random.Random(16)
    factory = UpdateFactory()
    async with FakeBotApiServer() as server:
        api = server.api
        with tempfile.TemporaryDirectory(prefix="memory-bench-") as workdir:
            log = Path(workdir) / "bot.log"
            with log.open("ab") as log_file:
                bot = await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--serve",
                    server.base_url,
                    "--workdir",
                    workdir,
                    "--bot-tree",
                    str(tree),
                    "--token",
                    TOKEN,
                    stdout=subprocess.DEVNULL,
                    stderr=log_file,
                )
            try:
                await _until(
                    "the bot to start",
                    lambda: len(api.calls_of("setMyCommands")) >= 3 and api.polls >= 1,
                    START_TIMEOUT,
                )
                await asyncio.sleep(1)
                points = [(0, rss_kib(bot.pid))]
                sent = 0
                while sent < total:
                    last = 0
                    for _ in range(min(step, total - sent)):
                        last = int(api.add_update(make_update(factory, rng, sent))["update_id"])
                        sent += 1
                        if sent % 500 == 0:
                            await asyncio.sleep(0)  # let the server answer meanwhile
                    await _until(
                        f"update {last} to be taken",
                        lambda last=last: api.confirmed_below > last,  # type: ignore[misc]
                        BATCH_TIMEOUT,
                    )
                    await _quiet(api)  # every update taken has been answered
                    points.append((sent, rss_kib(bot.pid)))
                    print(f"  {sent:>7} updates: {points[-1][1] / 1024:7.1f} MiB", flush=True)
            finally:
                if bot.returncode is None:
                    bot.terminate()
                try:
                    await asyncio.wait_for(bot.wait(), 60)
                except TimeoutError:
                    bot.kill()
                    await bot.wait()
    return points


def serve(base_url: str, workdir: Path, tree: Path, token: str) -> None:
    """The bot process: `python -m bot run` as composed by run_telegram_bot, uncapped."""
    sys.path.insert(0, str(tree))
    import logging
    from dataclasses import replace

    import bot.telegram_bot.app as telegram_app
    from bot.config import load_settings
    from bot.telegram_bot.transport import delivery

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(tree / "config.yaml")
    settings = replace(
        settings,
        telegram=replace(settings.telegram, base_url=base_url, mode="polling"),
        question_log_path=workdir / "questions.sqlite3",
    )
    telegram_app.default_rate_limiter = lambda: delivery.DeliveryRateLimiter(
        overall_max_rate=0, group_max_rate=0, max_retries=delivery.RATE_LIMIT_RETRIES
    )
    telegram_app.run_telegram_bot(settings, token, environ={})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=60_000)
    parser.add_argument("--step", type=int, default=10_000)
    parser.add_argument("--bot-tree", type=Path, default=REPO)
    parser.add_argument("--serve", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tree = args.bot_tree.resolve()
    if args.serve:
        serve(args.serve, args.workdir, tree, args.token)
        return 0
    print(f"bot code from {tree}; {args.updates} updates, RSS every {args.step}")
    started = time.perf_counter()
    points = asyncio.run(run(args.updates, args.step, tree))
    print("\n| updates | bot RSS | growth over the step |\n|---:|---:|---:|")
    previous = None
    for count, kib in points:
        growth = "" if previous is None else f"{(kib - previous) / 1024:+.1f} MiB"
        print(f"| {count:,} | {kib / 1024:.1f} MiB | {growth} |")
        previous = kib
    print(f"\n({time.perf_counter() - started:.0f} s; {json.dumps(points)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
