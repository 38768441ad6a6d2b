"""`python -m bot announce`: an announcement from the command line, for scripts.

The same steps as /announce in Telegram: the texts (files in Telegram's HTML) are checked,
previewed as plain text with the number of subscribers, confirmed (or --yes), stored as a
job, then delivered through the Bot API with the token from the environment - unless the
running bot takes the job first, in which case this waits and reports. `--resume` finishes
jobs a stop left unfinished.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.core.locales import Locales, load_locales
from bot.core.telegram_html import html_to_plain
from bot.storage.subscriptions import RUNNING, Broadcast, BroadcastCounts, SubscriptionStore
from bot.telegram_bot.announcements.broadcast import (
    Broadcaster,
    announcement_problems,
    announcement_text,
    broadcast_bot,
)
from bot.telegram_bot.transport.log_privacy import keep_token_out_of_logs

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
CLI_POLL_SECONDS = 2.0


def run_announce_command(
    settings: Settings,
    token: str,
    *,
    topic: str | None,
    text_files: Mapping[str, Path | None],
    yes: bool,
    resume: bool,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """The announce subcommand: check, preview, confirm, then deliver (or --resume)."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    topics = settings.subscriptions.topics
    if not topics:
        print("No topics in config.yaml (subscriptions.topics): nothing to announce.", file=stderr)
        return EXIT_USAGE
    locales = load_locales(settings.languages)
    store = SubscriptionStore(settings.question_log_path)
    try:
        if resume:
            return asyncio.run(_deliver_all(settings, token, store, locales, None, stdout))
        if topic is None or topic not in topics:
            known = ", ".join(topics)
            print(f"--topic: {topic!r} is not a topic of config.yaml (known: {known})", file=stderr)
            return EXIT_USAGE
        texts = _read_texts(settings, text_files, stderr)
        if texts is None:
            return EXIT_USAGE
        problems = [
            f"--{code}-file: {problem}"
            for code, body in texts.items()
            for problem in announcement_problems(locales, topics[topic], code, body)
        ]
        if problems:
            print("Telegram would refuse the announcement:", file=stderr)
            for problem in problems:
                print(f"  {problem}", file=stderr)
            return EXIT_PROBLEMS
        audience = store.audience(topic)
        count = sum(audience.values())
        for code, body in texts.items():
            print(f"--- {code}, as subscribers will read it ---", file=stdout)
            print(html_to_plain(announcement_text(locales, topics[topic], code, body)), file=stdout)
        by_language = ", ".join(f"{code}: {n}" for code, n in audience.items()) or "none"
        print(
            f"--- topic {topic} ({topics[topic].name('en')}): {count} subscriber(s) "
            f"({by_language})",
            file=stdout,
        )
        if count == 0:
            print("Nobody follows this topic yet; nothing sent.", file=stdout)
            return EXIT_PROBLEMS
        if not yes:
            print(f"Send it to {count} subscriber(s) now? [y/N] ", end="", file=stdout)
            stdout.flush()
            if stdin.readline().strip().lower() not in ("y", "yes", "po"):
                print("Nothing sent.", file=stdout)
                return EXIT_PROBLEMS
        job = store.create_broadcast(topic, texts, default_language=settings.default_language)
        print(f"Announcement {job.id} stored; sending to {job.counts.total}.", file=stdout)
        return asyncio.run(_deliver_all(settings, token, store, locales, job.id, stdout))
    finally:
        store.close()


def _read_texts(
    settings: Settings, text_files: Mapping[str, Path | None], stderr: TextIO
) -> dict[str, str] | None:
    texts = {}
    for code in settings.languages:
        path = text_files.get(code)
        if path is None:
            print(f"--{code}-file is missing: give the text in every language.", file=stderr)
            return None
        try:
            texts[code] = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            print(f"--{code}-file: cannot read {path}: {error}", file=stderr)
            return None
    return texts


async def _deliver_all(
    settings: Settings,
    token: str,
    store: SubscriptionStore,
    locales: Locales,
    job: int | None,
    stdout: TextIO,
) -> int:
    """Deliver unfinished jobs until `job` (None: every one) is done. Another live process
    (the running bot) may be delivering it: then wait for it and report."""

    keep_token_out_of_logs(token)
    bot = broadcast_bot(settings, token)
    broadcaster = Broadcaster(bot, store, settings, locales)

    async def progress(found: Broadcast, counts: BroadcastCounts, finished: bool) -> None:
        print(_progress_line(found.id, counts, finished), file=stdout, flush=True)

    async def refused(found: Broadcast, counts: BroadcastCounts, reason: str) -> None:
        print(
            f"announcement {found.id} stopped: Telegram refused its first {counts.failed} "
            f"messages ({reason}); nothing more is sent. Correct the text and announce again.",
            file=stdout,
            flush=True,
        )

    failed = 0
    if job is None and not store.unfinished():
        print("No announcement is waiting to be finished.", file=stdout)
        return EXIT_OK
    async with bot:
        while True:
            claimed = await broadcaster.claim()
            if claimed is not None:
                counts = await broadcaster.deliver(
                    claimed, on_progress=progress, on_refused=refused
                )
                failed += counts.failed
                continue
            waiting = store.unfinished() if job is None else [job]
            waiting = [j for j in waiting if (b := store.broadcast(j)) and b.state == RUNNING]
            if not waiting:
                break
            counts = store.counts(waiting[0])
            print(
                f"announcement {waiting[0]}: another process (the running bot) is sending it; "
                + _progress_line(waiting[0], counts, False),
                file=stdout,
                flush=True,
            )
            await asyncio.sleep(CLI_POLL_SECONDS)
    if job is not None:
        final = store.counts(job)
        failed = final.failed
    return EXIT_OK if failed == 0 else EXIT_PROBLEMS


def _progress_line(job: int, counts: BroadcastCounts, finished: bool) -> str:
    what = "done" if finished else "sending"
    return (
        f"announcement {job} {what}: {counts.done} of {counts.total} "
        f"(delivered {counts.delivered}, blocked the bot {counts.blocked}, "
        f"failed {counts.failed})"
    )
