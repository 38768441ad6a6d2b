"""Can a few accounts freeze the bot through the staff group? The attacks of issue 21, run
against `python -m bot run` as a process.

    python benchmarks/staff_group_attacks.py [--attack replies|flood|sends|long|announce|all]
        [--flood-minutes 3] [--bot-tree PATH]

The bot polls the fake Bot API of tests/fake_bot_api.py on 127.0.0.1, which emulates
Telegram's limits: 30 messages a second in all, about one a second per chat (bursts of 5),
20 a minute into one group; over them it answers 429 with retry_after. The staff group is a
forum. Attacks:

- replies:  4 accounts with an open ticket each send 20 replies to it at once;
- flood:    1 account replies to its ticket 20 times a minute (the flood limit) for
            --flood-minutes (the issue's 12 minutes, shortened by default: say which);
- sends:    70 accounts press "Send" at once (70 new tickets);
- long:     12 accounts each send 20 long questions (3,000 characters) at once;
- announce: an announcement to 2,000 subscribers (created before the start, the bot
            delivers it) while 100 questions arrive.

In each, 20 bystanders (new accounts) ask a question that the FAQ answers, one every 0.5 s
from the start of the attack; a bystander's wait is the time to the first message the bot
sends them (capped at PROBE_CAP s: "≥"). Then SIGTERM: how many updates the bot gave up.
For `announce`: the most messages in any one second at the fake, the 429s, and the answers'
p95. `--bot-tree` runs the bot from another checkout (the code before a change).
Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the tests' helpers importable
    sys.path.insert(0, str(REPO))

from bot.storage.subscriptions import SubscriptionStore  # noqa: E402
from tests.fake_bot_api import (  # noqa: E402
    FakeBotApi,
    FakeBotApiServer,
    Json,
    UpdateFactory,
    actions,
    user,
)
from tests.test_run_command import bot_environment  # noqa: E402

STAFF_GROUP = -1004444444444
STAFF = user(7002, "sq", name="Besa")
UNANSWERED = "What time does the football match start tonight?"
ANSWERED = "what is your phone number"
PROBES = 20
PROBE_EVERY = 0.5
PROBE_CAP = 60.0
START_WITHIN = 120.0
STOP_WITHIN = 60.0
MESSAGES = ("sendMessage", "copyMessage", "editMessageText", "createForumTopic")


def write_config(workdir: Path, base_url: str) -> Path:
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["paths"]["faq"] = str(REPO / "faq")
    config["paths"]["question_log"] = str(workdir / "data" / "questions.sqlite3")
    config["telegram"]["base_url"] = base_url
    config["telegram"]["mode"] = "polling"
    config["handoff"]["staff_chat_id"] = STAFF_GROUP
    config["handoff"]["forum_topics"] = True
    config["handoff"]["max_per_day"] = 100
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def sent_to(api: FakeBotApi, chat_id: int) -> list[Any]:
    return [
        c for c in api.calls if c.ok and c.method in MESSAGES and c.params.get("chat_id") == chat_id
    ]


async def until(api: FakeBotApi, condition: Any, seconds: float) -> bool:
    return await api._wait_until(condition, seconds)


async def open_ticket(api: FakeBotApi, factory: UpdateFactory, sender: Json) -> int:
    """The account asks what the FAQ cannot answer and sends it to staff; the message id
    to reply to (the confirmation, which the ticket routes)."""
    chat = int(sender["id"])
    confirmation = await confirmation_for(api, factory, sender)
    await press_send(api, factory, sender, confirmation)
    await until(
        api, lambda: any("received" in str(c.params.get("text")) for c in sent_to(api, chat)), 300
    )
    return int(confirmation.result["message_id"])


async def confirmation_for(api: FakeBotApi, factory: UpdateFactory, sender: Json) -> Any:
    chat = int(sender["id"])
    api.add_update(factory.message(UNANSWERED, sender=sender))
    await until(api, lambda: len(sent_to(api, chat)) >= 1, 60)
    fallback = sent_to(api, chat)[0]
    api.add_update(factory.callback("h:", on=fallback.result, sender=sender))
    await until(api, lambda: len(sent_to(api, chat)) >= 2, 60)
    return sent_to(api, chat)[1]


async def press_send(
    api: FakeBotApi, factory: UpdateFactory, sender: Json, confirmation: Any
) -> None:
    send = next(a for a in actions(confirmation.params) if a.startswith("hs:"))
    api.add_update(factory.callback(send, on=confirmation.result, sender=sender))


def reply(factory: UpdateFactory, sender: Json, to: int, text: str) -> Json:
    bot_message = {"message_id": to, "date": 0, "chat": {"id": sender["id"], "type": "private"}}
    bot_message["from"] = {"id": 123456789, "is_bot": True, "first_name": "bot"}
    return factory.message(text, sender=sender, reply_to=bot_message)


async def probe(api: FakeBotApi, factory: UpdateFactory, n: int) -> float:
    sender = user(900_000 + n, "en")
    started = time.monotonic()
    api.add_update(factory.message(ANSWERED, sender=sender))
    if not await until(api, lambda: bool(sent_to(api, int(sender["id"]))), PROBE_CAP):
        return PROBE_CAP
    return sent_to(api, int(sender["id"]))[0].at - started


async def probes(api: FakeBotApi, factory: UpdateFactory, count: int, every: float) -> list[float]:
    tasks = []
    for n in range(count):
        tasks.append(asyncio.create_task(probe(api, factory, n)))
        await asyncio.sleep(every)
    return list(await asyncio.gather(*tasks))


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def peak_per_second(api: FakeBotApi) -> int:
    times = sorted(c.at for c in api.calls if c.ok and c.method in MESSAGES)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def attack(name: str, tree: Path, flood_minutes: float) -> dict[str, Any]:
    async with FakeBotApiServer() as server:
        api = server.api
        api.forums.add(STAFF_GROUP)
        api.members[STAFF_GROUP] = {STAFF["id"]: "member"}
        api.enforce_limits(per_second=30, per_chat=1, chat_burst=5, group_per_minute=20)
        factory = UpdateFactory()
        with tempfile.TemporaryDirectory(prefix="attacks-") as workdir:
            config = write_config(Path(workdir), server.base_url)
            if name == "announce":
                seed_announcement(Path(workdir) / "data" / "questions.sqlite3", 2000)
            environ = bot_environment()
            environ["PYTHONPATH"] = str(tree)
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(config),
                "run",
                cwd=tree,
                env=environ,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            result: dict[str, Any] = {"attack": name}
            try:
                if not await until(
                    api, lambda: len(api.calls_of("setMyCommands")) >= 3, START_WITHIN
                ):
                    raise RuntimeError("the bot did not start")
                print(f"{name}: the bot is up", file=sys.stderr, flush=True)
                result.update(await run_attack(name, api, factory, flood_minutes))
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                try:
                    _, stderr = await asyncio.wait_for(process.communicate(), STOP_WITHIN)
                except TimeoutError:
                    process.kill()
                    _, stderr = await process.communicate()
            log = stderr.decode(errors="replace")
            if "bystander_p95_s" not in result:
                print(log[-3000:], file=sys.stderr)
            given_up = re.findall(r"(\d+) update\(s\) not finished within", log)
            result["given_up_on_sigterm"] = sum(int(n) for n in given_up)
            result["refused_429"] = sum(1 for c in api.calls if c.status == 429)
            return result


async def run_attack(
    name: str, api: FakeBotApi, factory: UpdateFactory, minutes: float
) -> dict[str, Any]:
    if name == "replies":
        accounts = [user(100_000 + n, "en") for n in range(4)]
        targets = [await open_ticket(api, factory, a) for a in accounts]
        for n in range(20):
            for account, target in zip(accounts, targets, strict=True):
                api.add_update(reply(factory, account, target, f"Reply {n} from me"))
        waits = await probes(api, factory, PROBES, PROBE_EVERY)
        return summary(waits)
    if name == "flood":
        account = user(100_100, "en")
        target = await open_ticket(api, factory, account)
        total = int(20 * minutes)

        async def flood() -> None:
            for n in range(total):
                api.add_update(reply(factory, account, target, f"Flood reply {n}"))
                await asyncio.sleep(3.0)

        flooding = asyncio.create_task(flood())
        # The probes are spread over the whole attack, the last near its end.
        waits = await probes(api, factory, PROBES, minutes * 60 / PROBES)
        await flooding
        return summary(waits)
    if name == "sends":
        accounts = [user(200_000 + n, "en") for n in range(70)]
        confirmations = await asyncio.gather(*(confirmation_for(api, factory, a) for a in accounts))
        started = time.monotonic()
        for account, confirmation in zip(accounts, confirmations, strict=True):
            await press_send(api, factory, account, confirmation)
        waits = await probes(api, factory, PROBES, PROBE_EVERY)

        def told() -> int:
            return sum(
                1
                for a in accounts
                if any("received" in str(c.params.get("text")) for c in sent_to(api, int(a["id"])))
            )

        await until(api, lambda: told() == 70, max(0.0, 150 - (time.monotonic() - started)))
        return {**summary(waits), "told_received_within_150s": told()}
    if name == "long":
        accounts = [user(300_000 + n, "en") for n in range(12)]
        text = ("Dua të di si aplikohet për grant dhe cilat janë afatet " * 60)[:3000]
        for n in range(20):
            for account in accounts:
                api.add_update(factory.message(f"{n} {text}", sender=account))
        waits = await probes(api, factory, PROBES, PROBE_EVERY)
        return summary(waits)
    if name == "announce":
        await until(api, lambda: len(api.calls_of("sendMessage")) >= 50, 60)
        waits = await probes(api, factory, 100, 0.05)
        await until(api, lambda: len(api.calls_of("sendMessage")) >= 2100, 180)
        return {**summary(waits), "peak_messages_per_second": peak_per_second(api)}
    raise ValueError(name)


def seed_announcement(path: Path, subscribers: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    topics = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    topic = next(iter(topics["subscriptions"]["topics"]))
    with SubscriptionStore(path) as store:
        store.subscribe_many({600_000 + n: "sq" for n in range(subscribers)}, topic)
        store.create_broadcast(topic, {"sq": "Thirrje e re për projekte.", "en": "A new call."})


def summary(waits: list[float]) -> dict[str, Any]:
    return {
        "bystander_p95_s": round(p95(waits), 2),
        "bystander_median_s": round(statistics.median(waits), 2),
        "bystander_max_s": round(max(waits), 2),
        "capped": sum(1 for w in waits if w >= PROBE_CAP),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--attack", choices=["replies", "flood", "sends", "long", "announce", "all"], default="all"
    )
    parser.add_argument("--flood-minutes", type=float, default=3.0)
    parser.add_argument("--bot-tree", type=Path, default=REPO)
    args = parser.parse_args()
    names = (
        ["replies", "sends", "long", "announce", "flood"] if args.attack == "all" else [args.attack]
    )
    for name in names:
        result = asyncio.run(attack(name, args.bot_tree.resolve(), args.flood_minutes))
        print(" ".join(f"{key}={value}" for key, value in result.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
