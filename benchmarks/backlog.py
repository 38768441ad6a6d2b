"""What a crash or a stop costs with a backlog: kill -9 and SIGTERM, as a process.

    python benchmarks/backlog.py [--backlog 2000] [--answered 100] [--bot-tree PATH]

`python -m bot run` (the project's config.yaml, its question log in a temporary folder)
polls the fake Bot API server of tests/fake_bot_api.py on 127.0.0.1, where `--backlog`
questions wait, each from a user of its own. Once it has answered `--answered` of them:

- kill -9: how many updates it had confirmed to Telegram (polled past them) and never
  answered: lost for good; and how many it answered without confirming them yet, which
  Telegram sends again after a restart (answered twice);
- SIGTERM (a fresh run): how long until it exits, its exit code, how many answers it sent
  after the signal, and how many confirmed updates it left unanswered.

`--bot-tree` runs the bot from another checkout (to measure the code before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the tests' helpers importable
    sys.path.insert(0, str(REPO))

from tests.fake_bot_api import FakeBotApiServer, UpdateFactory, user  # noqa: E402
from tests.test_run_command import bot_environment, write_config  # noqa: E402

START_WITHIN = 120.0
STOP_WITHIN = 600.0


async def one_run(backlog: int, answered: int, stop: signal.Signals, tree: Path) -> str:
    async with FakeBotApiServer() as server:
        api = server.api
        factory = UpdateFactory()
        chats = {}
        for n in range(backlog):
            sender = user(500_000 + n, "en")
            queued = api.add_update(factory.message("what is your phone number", sender=sender))
            chats[int(queued["update_id"])] = int(sender["id"])
        with tempfile.TemporaryDirectory(prefix="backlog-") as workdir:
            environ = bot_environment()
            environ["PYTHONPATH"] = str(tree)
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(write_config(Path(workdir), server.base_url)),
                "run",
                cwd=tree,
                env=environ,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await api.wait_for("sendMessage", answered, within=START_WITHIN)
            before = len(api.calls_of("sendMessage"))
            signalled = time.perf_counter()
            process.send_signal(stop)
            await asyncio.wait_for(process.wait(), STOP_WITHIN)
            took = time.perf_counter() - signalled
    sent = {int(call.params["chat_id"]) for call in api.calls_of("sendMessage")}
    confirmed = [uid for uid in chats if uid < api.confirmed_below]
    lost = sum(1 for uid in confirmed if chats[uid] not in sent)
    again = sum(1 for uid, chat in chats.items() if uid >= api.confirmed_below and chat in sent)
    after = len(api.calls_of("sendMessage")) - before
    return (
        f"{stop.name}: exit {process.returncode} after {took:.1f} s; "
        f"{after} answers after the signal; confirmed {len(confirmed)} of {backlog}, "
        f"answered {len(sent)}, lost (confirmed, never answered) {lost}, "
        f"answered but not confirmed (answered again after a restart) {again}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--answered", type=int, default=100)
    parser.add_argument("--bot-tree", type=Path, default=REPO)
    args = parser.parse_args()
    tree = args.bot_tree.resolve()
    print(f"bot code from {tree}; backlog {args.backlog}, signal after {args.answered} answers")
    for stop in (signal.SIGKILL, signal.SIGTERM):
        print(asyncio.run(one_run(args.backlog, args.answered, stop, tree)), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    raise SystemExit(main())
