"""Masking personal data: CPU per message on the worst inputs found, and what a masking
attack does to an ordinary user's answer. The old code is measured side by side.

    python benchmarks/masking.py [--users 10] [--messages 20] [--repeats 5] [--write]

1. CPU (time.process_time) to mask one message with `clean_question_text`, median of
   `--repeats` runs, for the old patterns (kept below, as they were before this change)
   and the new ones (bot.storage.masking), on 4,096-character inputs built to make regular
   expressions backtrack, and on an ordinary question. Then the new code on the worst input
   at 1k, 2k, 4k and 8k characters: linear means the time doubles with the length.
2. The stall: the real bot (python-telegram-bot, the real knowledge base, concurrent
   updates) on the in-process fake Bot API. `--users` users each send `--messages` messages
   of "_1" * 2048 at once (within the flood limit), then three other users ask an ordinary
   question; the time from their question's arrival to their answer is reported (median and
   worst). Before: the old masking in record_question, on the event loop, as the bot did
   it. After: the real question log, which masks in its writer thread. For reference, the
   same without any question log: what answering the attack messages costs by itself.

Nothing leaves the process; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the bot and tests importable
    sys.path.insert(0, str(REPO))

from bot.core.text import normalise  # noqa: E402
from bot.storage import masking  # noqa: E402
from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiRequest, UpdateFactory, user  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "masking.md"
WAIT_SECONDS = 600.0

# ----- the old masking, exactly as it was (bot/storage/question_log.py before) -----------

_OLD_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_OLD_DIGIT_GROUPS = re.compile(
    r"(?<![\w+])(?:\+\s?|\()?\d+\)?(?:(?:\s?[-./]\s?|\s)\(?\d+\)?)*(?!\w)"
)
_OLD_DATE = re.compile(r"\d{1,2}([./-])\d{1,2}\1\d{2,4}|\d{4}([./-])\d{1,2}\2\d{1,2}")
_OLD_KEPT_AS_IS = re.compile(
    r"<email>|<phone>|<number>|(?<![\w./-])(?:\d{1,2}([./-])\d{1,2}\1\d{2,4}"
    r"|\d{4}([./-])\d{1,2}\2\d{1,2})(?![\w])"
)
_OLD_LONG_DIGIT_WORD = re.compile(r"\w*\d{5,}\w*")


def _old_classify_digits(found: str) -> str:
    digits = re.sub(r"\D", "", found)
    stripped = found.strip("()")
    if _OLD_DATE.fullmatch(stripped):
        return found
    count = len(digits)
    is_phone = (
        (found.startswith("+") and 8 <= count <= 15)
        or (digits.startswith("00") and 10 <= count <= 15)
        or (digits.startswith("355") and 11 <= count <= 12)
        or (digits.startswith("0") and 8 <= count <= 11)
    )
    if is_phone:
        return "<phone>"
    longest_group = max(len(group) for group in re.findall(r"\d+", found))
    if longest_group >= 5 or count >= 9:
        return "<number>"
    return found


def old_mask_personal_data(text: str) -> str:
    text = _OLD_EMAIL.sub("<email>", text)
    text = _OLD_DIGIT_GROUPS.sub(lambda match: _old_classify_digits(match.group(0)), text)
    return _OLD_LONG_DIGIT_WORD.sub("<number>", text)


def old_clean_question_text(text: str) -> str:
    masked = old_mask_personal_data(text)
    pieces: list[str] = []
    position = 0
    for kept in _OLD_KEPT_AS_IS.finditer(masked):
        pieces.append(old_mask_personal_data(normalise(masked[position : kept.start()])))
        pieces.append(kept.group(0))
        position = kept.end()
    pieces.append(old_mask_personal_data(normalise(masked[position:])))
    return " ".join(" ".join(pieces).split())


# ----- 1. CPU per message ------------------------------------------------------------------

ATTACK = "_1" * 2048
INPUTS: dict[str, str] = {
    '"_1" * 2048': ATTACK,
    '"a" * 4096': "a" * 4096,
    '"1" * 4096': "1" * 4096,
    '"a." * 2048': "a." * 2048,
    '"1-" * 2048': "1-" * 2048,
    '"x." * 2047 + "@"': "x." * 2047 + "@",
    '"(1" * 2048': "(1" * 2048,
    '"O1 " * 1365': "O1 " * 1365,
    '"a at b" + " dot c" * 680': "a at b" + " dot c" * 680,
    "ordinary question": "Ku mund të aplikoj për grant? Shkruani në arben@gmail.com, 069 123 4567",
}


def cpu_ms(function: Callable[[str], str], text: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        function(text)
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def masking_table(repeats: int) -> list[str]:
    lines = [
        "| input (4,096 characters) | old, ms CPU | new, ms CPU | old / new |",
        "|---|---:|---:|---:|",
    ]
    for name, text in INPUTS.items():
        old = cpu_ms(old_clean_question_text, text, repeats)
        new = cpu_ms(masking.clean_question_text, text, max(repeats, 20))
        lines.append(f"| `{name}` | {old:.2f} | {new:.2f} | {old / max(new, 1e-6):.1f}x |")
        print(lines[-1], flush=True)
    lines += ["", '| length of `"_1" * n` | new, ms CPU | old, ms CPU |', "|---:|---:|---:|"]
    for length in (1024, 2048, 4096, 8192):
        text = "_1" * (length // 2)
        new = cpu_ms(masking.clean_question_text, text, max(repeats, 20))
        old = cpu_ms(old_clean_question_text, text, repeats)
        lines.append(f"| {length} | {new:.2f} | {old:.1f} |")
        print(lines[-1], flush=True)
    return lines


# ----- 2. the stall ------------------------------------------------------------------------


class OldMaskingOnTheLoop:
    """The question log as far as the event loop saw it before: record_question masked the
    text before queueing it (the queueing itself is left out, which only flatters it)."""

    def record_question(self, text: str, **_: Any) -> str:
        old_clean_question_text(text)
        return secrets.token_urlsafe(8)

    def record_feedback(self, question_id: str, helpful: bool, **_: Any) -> None:
        pass


async def stall(mode: str, users: int, messages: int, workdir: Path) -> list[float]:
    """Seconds from an ordinary question's arrival to its answer, under the attack."""
    from telegram import Update

    from bot.config import load_settings
    from bot.core.assembly import build_dialog
    from bot.storage.database import Database
    from bot.storage.question_log import QuestionLog
    from bot.telegram_bot.app import build_application
    from bot.telegram_bot.shared.services import QuestionRecorder
    from bot.telegram_bot.transport.delivery import DeliveryRateLimiter

    settings = load_settings(REPO / "config.yaml")
    dialog, holder = build_dialog(settings)
    api = FakeBotApi()
    database = Database(workdir / f"{mode}.sqlite3", key_source=lambda: b"benchmark-key-0123")
    log: QuestionRecorder | None = None  # "no log": the floor, what the rest of the bot costs
    if mode == "before":
        log = OldMaskingOnTheLoop()
    elif mode == "after":
        log = QuestionLog(database)
    application = build_application(
        settings,
        TOKEN,
        dialog,
        holder,
        question_log=log,
        request=FakeBotApiRequest(api),
        # Telegram's caps off: the figure is the bot's own delay, not the rate limiter's.
        rate_limiter=DeliveryRateLimiter(overall_max_rate=0, group_max_rate=0),
    )
    factory = UpdateFactory()
    attackers = [user(50_000 + number, "en", name=f"A{number}") for number in range(users)]
    ordinary = [user(60_000 + number, "en", name=f"U{number}") for number in range(3)]
    update_ids = iter(range(1, 1_000_000))
    try:
        async with application:
            await application.start()
            for _ in range(messages):
                for attacker in attackers:
                    await application.update_queue.put(
                        Update.de_json(
                            {
                                "update_id": next(update_ids),
                                **factory.message(ATTACK, sender=attacker),
                            },
                            application.bot,
                        )
                    )
            asked = {}
            for person in ordinary:
                update = {
                    "update_id": next(update_ids),
                    **factory.message("office hours", sender=person),
                }
                asked[person["id"]] = time.monotonic()
                await application.update_queue.put(Update.de_json(update, application.bot))
            total = users * messages + len(ordinary)
            await api.wait_for("sendMessage", total, within=WAIT_SECONDS)
            waits = []
            for person in ordinary:
                (answer,) = [
                    c for c in api.calls_of("sendMessage") if c.params["chat_id"] == person["id"]
                ]
                waits.append(answer.at - asked[person["id"]])
            await application.stop()
    finally:
        database.close()
    return waits


def stall_table(users: int, messages: int) -> list[str]:
    lines = [
        f'{users} users send {messages} messages of `"_1" * 2048` each at once; then 3 users '
        "ask an ordinary question.",
        "",
        "| masking | median wait for the answer, s | worst, s |",
        "|---|---:|---:|",
    ]
    figures = {}
    with tempfile.TemporaryDirectory(prefix="masking-bench-") as workdir:
        for mode, label in (
            ("before", "old, on the event loop"),
            ("after", "new, in the log's writer"),
            ("no log", "none (no question log at all)"),
        ):
            waits = asyncio.run(stall(mode, users, messages, Path(workdir)))
            figures[mode] = statistics.median(waits)
            lines.append(f"| {label} | {statistics.median(waits):.3f} | {max(waits):.3f} |")
            print(lines[-1], flush=True)
    lines.append("")
    lines.append(f"Ratio before / after (medians): {figures['before'] / figures['after']:.0f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS}")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    print("Masking CPU per message (median):", flush=True)
    lines = ["# Masking: CPU per message and the stall under attack", "", "## CPU per message", ""]
    lines += masking_table(args.repeats)
    print("\nStall of an ordinary question under the attack:", flush=True)
    lines += ["", "## Stall of an ordinary question under the attack", ""]
    lines += stall_table(args.users, args.messages)
    if args.write:
        RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
