"""Delivers an announcement job (bot.storage.subscriptions) through the Bot API.

Pace: a bot of its own (its own connections) whose rate limiter (DeliveryRateLimiter) draws
on the running bot's one rate budget at the lowest priority, so an announcement never
queues in front of an answer or a staff post, and answers and announcements together stay
within Telegram's 30 messages a second. Run from the command line, it has a budget of its
own at `subscriptions.messages_per_second`. A 429 is waited out by the limiter (all sends
pause for retry_after); a 5xx or a network failure is retried by the limiter, then the
recipient goes back to the queue, at most MAX_ATTEMPTS times; a 403 (the user blocked the
bot) ends that user's subscriptions.

Each recipient is marked "sending" (committed) just before its message goes out and "sent"
just after. At most IN_FLIGHT recipients are "sending" at any moment: that is the most a
kill can make arrive twice, since a restarted job sends them again (it cannot know whether
Telegram accepted them). A send that times out (after SEND_TIMEOUT) is in the same position
and goes again too; both are counted in the job's `resent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings, Topic
from bot.core.locales import Locales
from bot.core.telegram_html import escape, html_problems
from bot.storage.subscriptions import (
    Broadcast,
    BroadcastCounts,
    Recipient,
    SubscriptionStore,
    this_process,
)
from bot.telegram_bot.transport.delivery import DeliveryRateLimiter
from bot.telegram_bot.transport.rate_budget import Priority, RateBudget

logger = logging.getLogger(__name__)

# Sends awaiting Telegram's answer at once: enough for Telegram's 30 messages a second at
# ~150 ms a round trip, and the bound on messages a kill can make arrive twice.
IN_FLIGHT = 4
# Sends of one recipient that fail with a 5xx or on the network (each already retried by
# the rate limiter) before it counts as failed.
MAX_ATTEMPTS = 3
# Recipients read from the job at a time.
BATCH = 200
PROGRESS_SECONDS = 3.0
RENEW_SECONDS = 15.0
# Seconds to wait for Telegram's answer to one message: a timed-out send may have arrived
# and goes again, so waiting long is better than sending twice.
SEND_TIMEOUT = 30.0
# 429s the rate limiter waits out for one send before handing it back to the queue.
RATE_LIMIT_RETRIES = 5

# A job whose first sends Telegram all refuses (400) is stopped after this many: its text
# is refused, not one recipient (a single 400 is a deleted account, a chat not found).
FIRST_SENDS_REFUSED = 5

# 400s about one recipient rather than the text: they never stop a job.
_ONE_RECIPIENT = (
    "chat not found",
    "user not found",
    "deactivated",
    "peer_id_invalid",
    "chat_id",
    "can't initiate",
    "rights",
    "upgraded",
)

ProgressCallback = Callable[[Broadcast, BroadcastCounts, bool], Awaitable[None]]
# The job, its counts, and what Telegram said when it refused the first sends.
RefusalCallback = Callable[[Broadcast, BroadcastCounts, str], Awaitable[None]]


@dataclass
class _FirstSends:
    """How the first sends of a job went: all refused means the text is refused."""

    needed: int  # refusals in a row that stop the job
    refused: int = 0
    accepted: bool = False
    reason: str = ""

    def note(self, refusal: str | None) -> None:
        if refusal is None:
            self.accepted = True
        elif not any(marker in refusal.lower() for marker in _ONE_RECIPIENT):
            self.refused += 1
            self.reason = self.reason or refusal

    @property
    def stops_the_job(self) -> bool:
        return not self.accepted and self.refused >= self.needed


def announcement_text(locales: Locales, topic: Topic, lang: str, body: str) -> str:
    """The message a subscriber gets: the text, then why they get it and how to stop."""
    footer = locales.text(lang, "announcement_footer", topic=escape(topic.name(lang)))
    return f"{body.strip()}\n\n{footer}"


def announcement_problems(locales: Locales, topic: Topic, lang: str, body: str) -> list[str]:
    """Why Telegram would refuse the message (bad HTML, too long); [] if it would not."""
    if not body.strip():
        return ["the text is empty"]
    return html_problems(announcement_text(locales, topic, lang, body))


SEND_OPTIONS: Mapping[str, Any] = {
    "parse_mode": ParseMode.HTML,
    "link_preview_options": LinkPreviewOptions(is_disabled=True),
}


def broadcast_bot(
    settings: Settings,
    token: str,
    request: BaseRequest | None = None,
    *,
    budget: RateBudget | None = None,
) -> ExtBot[int]:
    """A bot for announcements only: its own connections, and a rate limiter drawing on
    `budget` (the running bot's, shared with answers) at the lowest priority, so that
    answers never wait behind it. Without one (the command line), a budget of its own at
    `subscriptions.messages_per_second`."""

    if budget is None:
        budget = RateBudget(per_second=max(1, int(settings.subscriptions.messages_per_second)))
    limiter = DeliveryRateLimiter(
        budget, priority=Priority.ANNOUNCEMENT, max_retries=RATE_LIMIT_RETRIES
    )
    return ExtBot(
        token,
        base_url=settings.telegram.base_url,
        request=request
        or HTTPXRequest(connection_pool_size=IN_FLIGHT + 2, read_timeout=SEND_TIMEOUT),
        rate_limiter=limiter,
    )


class Broadcaster:
    """Delivers jobs of a SubscriptionStore through `bot` (see broadcast_bot)."""

    def __init__(
        self,
        bot: Bot,
        store: SubscriptionStore,
        settings: Settings,
        locales: Locales,
        *,
        in_flight: int = IN_FLIGHT,
        owner: str | None = None,
    ) -> None:
        self.bot = bot
        self.store = store
        self.settings = settings
        self.locales = locales
        self.in_flight = in_flight
        self.owner = owner or this_process()

    async def claim(self) -> int | None:
        """The next job this process may deliver, if any."""
        return await asyncio.to_thread(self.store.claim, self.owner)

    async def deliver(
        self,
        job: int,
        *,
        stop: asyncio.Event | None = None,
        on_progress: ProgressCallback | None = None,
        on_refused: RefusalCallback | None = None,
    ) -> BroadcastCounts:
        """Send job `job` to every recipient still pending; returns the counts (final once
        nothing is pending). `stop` ends it early: what is left stays pending. A job whose
        first sends Telegram all refuses is stopped for good (`on_refused` hears why)."""
        stop = stop or asyncio.Event()
        store = self.store
        resent = await asyncio.to_thread(store.recover, job)
        found = await asyncio.to_thread(store.broadcast, job)
        if found is None:
            raise ValueError(f"there is no announcement {job}")
        if resent:
            logger.warning(
                "announcement %d: resuming; %d message(s) were in flight at the restart and "
                "go out again (each may arrive twice)",
                job,
                resent,
            )
        topic = self.settings.subscriptions.topics.get(found.topic) or Topic(
            found.topic, dict.fromkeys(found.texts, found.topic)
        )
        messages = {
            lang: announcement_text(self.locales, topic, lang, body)
            for lang, body in found.texts.items()
        }
        fallback = next(iter(messages.values()))
        if on_progress is not None:
            await on_progress(found, found.counts, False)
        # Judged only on a job that has delivered nothing yet.
        first = _FirstSends(min(FIRST_SENDS_REFUSED, found.counts.total))
        if found.counts.done:
            first.accepted = True
        refused = asyncio.Event()

        async def watch() -> None:
            """Progress for the admin and the lease's renewal, while the workers send."""
            last_renew = time.monotonic()
            while True:
                await asyncio.sleep(PROGRESS_SECONDS)
                if on_progress is not None:
                    await on_progress(found, await asyncio.to_thread(store.counts, job), False)
                if time.monotonic() - last_renew >= RENEW_SECONDS:
                    last_renew = time.monotonic()
                    if not await asyncio.to_thread(store.renew, job, self.owner):
                        logger.error("announcement %d: another process took it over", job)
                        stop.set()

        watcher = asyncio.create_task(watch())
        try:
            while not stop.is_set() and not refused.is_set():
                batch = await asyncio.to_thread(store.pending, job, BATCH)
                if not batch:
                    break
                queue: asyncio.Queue[Recipient] = asyncio.Queue()
                for recipient in batch:
                    queue.put_nowait(recipient)
                sending = _Sending(job, queue, messages, fallback, stop, first, refused)
                workers = [
                    asyncio.create_task(self._work(sending))
                    for _ in range(min(self.in_flight, len(batch)))
                ]
                try:
                    await asyncio.gather(*workers)
                finally:
                    for worker in workers:
                        worker.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        if refused.is_set():
            counts = await asyncio.to_thread(store.refuse, job)
            logger.error(
                "announcement %d stopped: Telegram refused its first %d messages (%s)",
                job,
                first.refused,
                first.reason,
            )
            if on_refused is not None:
                await on_refused(found, counts, first.reason)
            return counts
        counts = await asyncio.to_thread(store.counts, job)
        if counts.pending == 0:
            counts = await asyncio.to_thread(store.finish, job)
            logger.info(
                "announcement %d done: %d delivered, %d blocked the bot, %d failed",
                job,
                counts.delivered,
                counts.blocked,
                counts.failed,
            )
            if on_progress is not None:
                await on_progress(found, counts, True)
        else:
            await asyncio.to_thread(store.release, job, self.owner)
        return counts

    async def _work(self, sending: _Sending) -> None:
        """One of the IN_FLIGHT senders: takes recipients until none is left. A delivered
        recipient's "sent" is written together with the next one's "sending", so each
        sender has at most one recipient marked "sending" at any moment. A recipient who
        left (unsubscribed, /forget) since the batch was read is skipped."""
        job, store = sending.job, self.store
        delivered: int | None = None
        try:
            while not sending.stop.is_set() and not sending.refused.is_set():
                try:
                    recipient = sending.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                still = await asyncio.to_thread(
                    store.mark_sending, job, recipient.chat_id, delivered
                )
                delivered = None
                if not still:
                    continue
                text = sending.messages.get(recipient.lang, sending.fallback)
                if await self._send_one(job, recipient, text, sending.first):
                    delivered = recipient.chat_id
                if sending.first.stops_the_job:
                    sending.refused.set()
        finally:
            if delivered is not None:
                await asyncio.to_thread(store.mark_sent, job, delivered)

    async def _send_one(
        self, job: int, recipient: Recipient, text: str, first: _FirstSends
    ) -> bool:
        """Send one message; True if Telegram accepted it (the caller records that),
        otherwise the outcome is recorded here."""
        store, chat_id = self.store, recipient.chat_id
        try:
            await self.bot.send_message(chat_id, text, **SEND_OPTIONS)
        except Forbidden as error:
            logger.info("announcement %d: a subscriber is gone (%s); unsubscribed", job, error)
            await asyncio.to_thread(store.mark_blocked, job, chat_id)
        except RetryAfter as error:
            # The limiter waited out several 429s already: hand the recipient back, pause.
            await asyncio.to_thread(store.mark_retry, job, chat_id, attempt=False)
            wait = error.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else wait)
        except InvalidToken:
            await asyncio.to_thread(store.mark_retry, job, chat_id, attempt=False)
            raise
        except BadRequest as error:
            # Chat not found, a deactivated user...: sending again cannot help.
            logger.info("announcement %d: Telegram refused a message (%s)", job, error)
            await asyncio.to_thread(store.mark_failed, job, chat_id)
            first.note(str(error))
            return False
        except TimedOut as error:
            # Telegram may have accepted it: like a kill in flight, it goes again.
            logger.warning("announcement %d: a send timed out (%s); it goes again", job, error)
            if recipient.attempts + 1 >= MAX_ATTEMPTS:
                await asyncio.to_thread(store.mark_failed, job, chat_id)
            else:
                await asyncio.to_thread(store.mark_uncertain, job, chat_id)
        except NetworkError as error:  # 5xx or a lost connection
            if recipient.attempts + 1 >= MAX_ATTEMPTS:
                logger.warning("announcement %d: giving up on a subscriber: %s", job, error)
                await asyncio.to_thread(store.mark_failed, job, chat_id)
            else:
                logger.info("announcement %d: a send failed (%s); it goes again later", job, error)
                await asyncio.to_thread(store.mark_retry, job, chat_id, attempt=True)
        except asyncio.CancelledError:
            # Stopping: the row stays "sending" and a restart sends it again.
            raise
        else:
            first.note(None)
            return True
        return False


@dataclass
class _Sending:
    """What the senders of one batch share."""

    job: int
    queue: asyncio.Queue[Recipient]
    messages: Mapping[str, str]
    fallback: str
    stop: asyncio.Event
    first: _FirstSends
    refused: asyncio.Event


class BroadcastRunner:
    """The running bot's background task: delivers jobs one at a time as they appear
    (created by /announce, by `python -m bot announce`, or left by a crash)."""

    POLL_SECONDS = 5.0

    def __init__(
        self,
        broadcaster: Broadcaster,
        on_progress: ProgressCallback | None,
        on_refused: RefusalCallback | None = None,
    ) -> None:
        self.broadcaster = broadcaster
        self.on_progress = on_progress
        self.on_refused = on_refused
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                job = await self.broadcaster.claim()
                if job is not None:
                    await self.broadcaster.deliver(
                        job, stop=stop, on_progress=self.on_progress, on_refused=self.on_refused
                    )
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # the runner must outlive one bad job or a stuck disk
                logger.exception("announcements: delivery failed; trying again shortly")
            waits = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(
                    waits, timeout=self.POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
            for task in waits:
                task.cancel()


# ----- what the running bot keeps for announcements -----------------------------------------

SUBSCRIPTIONS_KEY = "subscriptions"


@dataclass
class Draft:
    """An admin's announcement being written: the topic, then a text per language."""

    token: str
    topic: str | None = None
    texts: dict[str, str] = field(default_factory=dict)
    waiting_for: str | None = None  # the language whose text comes next


@dataclass
class SubscriptionServices:
    """Stored once in `application.bot_data` when subscriptions are switched on."""

    store: SubscriptionStore
    broadcaster: Broadcaster
    runner: BroadcastRunner | None = None
    drafts: dict[int, Draft] = field(default_factory=dict)  # by admin chat
    # Chats that may follow a topic (a superset: checked in the store before use); spares
    # everyone else a database read on each message.
    maybe_subscribed: set[int] = field(default_factory=set)
    # Private chats offered announcements after /start (in memory only; forgotten by
    # /forget, and all at once when there are too many: some are then offered again).
    offered: set[int] = field(default_factory=set)
    stop: asyncio.Event | None = None
    task: asyncio.Task[None] | None = None


def subscription_services(bot_data: MutableMapping[Any, Any]) -> SubscriptionServices | None:
    found = bot_data.get(SUBSCRIPTIONS_KEY)
    return found if isinstance(found, SubscriptionServices) else None
