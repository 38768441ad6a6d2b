"""The one worker that sends what the bot owes other chats (bot.storage.outbox).

Handlers put items (`Outbox.put`, `Outbox.merge`) and return at once: the update's slot is
free again whatever the staff group's limit. The worker alone waits for Telegram's limits:

- it looks at the head item of every lane (a ticket's items go in order) and takes, among
  those whose chat is within its own limits now (`RateBudget.ready_in`: a staff group at 20
  a minute does not hold up a reply to a user), the lane served longest ago: lanes take
  turns, so one busy ticket does not starve the others;
- each Bot API call of an item asks the shared budget at the STAFF priority (the features'
  senders pass `rate_limit_args=STAFF`): answers go first, announcements after;
- it sends at most IN_FLIGHT items at once, never two for one chat or one lane; each is
  marked "sending" before and deleted after Telegram accepted it, so a kill -9 repeats at
  most IN_FLIGHT items (an item may be several messages: a card and its topic, a relay's
  header and copy).

What becomes of an item Telegram does not accept:
- 403 (the user blocked the bot): final; the kind's `unreachable` runs (hand-off marks the
  ticket undeliverable and tells staff);
- 400: final and logged, unless the kind's `refused` says to try again later;
- a timeout (it may have arrived), a 5xx, the network, a 429 that outlasted the limiter's
  waits: tried again after a growing delay, MAX_ATTEMPTS times, then dropped (logged);
- anything else is a bug: logged with its traceback, dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.storage.outbox import OutboxItem, OutboxStore
from bot.telegram_bot.transport.rate_budget import Priority, RateBudget

logger = logging.getLogger(__name__)

# The priority the outbox's Bot API calls ask the budget for (rate_limit_args).
STAFF = int(Priority.STAFF)
# An item that fails on the network or times out goes again after 2, 4, 8... seconds, up to
# a minute, this many times.
MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0
# With nothing to send, the worker looks again this often (a put wakes it at once).
IDLE_SECONDS = 5.0
# On stop, the items being sent get this long; then they are left "sending" for the next run.
STOP_SECONDS = 5.0
# Items sent at once, each to another chat: a user's chat waiting for its own limit does not
# hold up the staff group. The bound on what a kill -9 can make arrive twice.
IN_FLIGHT = 4

Send = Callable[[Any, OutboxItem], Awaitable[None]]
Refused = Callable[[Any, OutboxItem, BadRequest], Awaitable[bool]]
Unreachable = Callable[[Any, OutboxItem], Awaitable[None]]


@dataclass(frozen=True)
class ItemKind:
    """How the worker sends one kind of item, and what follows a refusal.
    `refused` returns True to try the item again later; `unreachable` handles a 403."""

    send: Send
    refused: Refused | None = None
    unreachable: Unreachable | None = None


class Outbox:
    """The outbox of one running bot: a store, the kinds it knows, and its worker."""

    def __init__(self, store: OutboxStore, budget: RateBudget | None = None) -> None:
        self.store = store
        self.budget = budget
        self.kinds: dict[str, ItemKind] = {}
        self.sent = 0
        self._wake: asyncio.Event | None = None
        self._served: dict[str, int] = {}  # lane -> when it was last served (a counter)
        self._turns = itertools.count(1)
        self._stop: asyncio.Event | None = None
        self._in_flight: dict[asyncio.Task[None], OutboxItem] = {}
        self._task: asyncio.Task[None] | None = None

    def register(self, kind: str, how: ItemKind) -> None:
        self.kinds[kind] = how

    # ----- what handlers call -----------------------------------------------------------

    async def put(
        self, key: str, *, lane: str, chat_id: int, kind: str, payload: Mapping[str, Any]
    ) -> bool:
        """Queue an item (committed on return); False if `key` was queued before."""
        added = await asyncio.to_thread(
            self.store.put, key, lane=lane, chat_id=chat_id, kind=kind, payload=payload
        )
        self.wake()
        return added

    async def merge(
        self,
        key: str,
        *,
        lane: str,
        chat_id: int,
        kind: str,
        part: Mapping[str, Any],
        max_parts: int,
        payload: Mapping[str, Any] | None = None,
    ) -> str:
        """Queue `part` with the lane's pending item of `kind` ("merged"), or as a new item
        with `payload`'s other values ("new"); "" if `key` was queued before."""
        added = await asyncio.to_thread(
            self.store.merge,
            key,
            lane=lane,
            chat_id=chat_id,
            kind=kind,
            part=part,
            max_parts=max_parts,
            payload=payload,
        )
        self.wake()
        return added

    async def drop_lanes(self, lanes: list[str]) -> int:
        return await asyncio.to_thread(self.store.drop_lanes, lanes)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # ----- the worker -------------------------------------------------------------------

    def start(self, bot: Any) -> None:
        """Start the worker (once, inside the running event loop)."""
        if self._task is not None:
            return
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.run(bot, self._stop), name="outbox")

    async def stop(self) -> None:
        """Let the item being sent finish (STOP_SECONDS at most), then stop."""
        task, self._task = self._task, None
        if task is None or self._stop is None:
            return
        self._stop.set()
        self.wake()
        try:
            await asyncio.wait_for(task, STOP_SECONDS + 1)
        except TimeoutError:
            logger.warning("outbox: the worker did not stop in time")
        except Exception:
            logger.exception("outbox: the worker failed")

    async def run(self, bot: Any, stop: asyncio.Event) -> None:
        resent = await asyncio.to_thread(self.store.recover)
        if resent:
            logger.warning(
                "outbox: %d item(s) were being sent when the bot stopped; they go again "
                "(each may arrive twice)",
                resent,
            )
        try:
            while not stop.is_set():
                try:
                    wait = await self.start_ready(bot)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a stuck disk: the worker outlives it
                    logger.exception("outbox: the worker failed; trying again shortly")
                    wait = IDLE_SECONDS
                if not stop.is_set():
                    await self._sleep(wait)
        except asyncio.CancelledError:
            for task in self._in_flight:  # they stay "sending" and go again at the next start
                task.cancel()
            raise
        await self._finish_in_flight()

    async def start_ready(self, bot: Any) -> float:
        """Start sending the items that may go now (IN_FLIGHT at most, one per chat and per
        lane); how long to wait before looking again (a put or a finished send wakes the
        worker sooner)."""
        self._wake_event().clear()  # a put from here on wakes the sleep that follows
        if len(self._in_flight) >= IN_FLIGHT:
            return IDLE_SECONDS
        heads = await asyncio.to_thread(self.store.heads)
        busy_chats = {item.chat_id for item in self._in_flight.values()}
        busy_lanes = {item.lane for item in self._in_flight.values()}
        free = [i for i in heads if i.chat_id not in busy_chats and i.lane not in busy_lanes]
        due = await asyncio.to_thread(self.store.due, free)
        if not due:
            later = await asyncio.to_thread(self.store.next_retry)
            return IDLE_SECONDS if later is None else min(later, IDLE_SECONDS)
        soonest = IDLE_SECONDS
        # Lanes take turns: the one served longest ago first.
        for item in sorted(due, key=lambda i: (self._served.get(i.lane, 0), i.id)):
            if len(self._in_flight) >= IN_FLIGHT:
                break
            wait = self._ready_in(item)
            if wait > 0 or item.chat_id in busy_chats:
                soonest = min(soonest, max(wait, 0.01))
                continue
            busy_chats.add(item.chat_id)
            self._served[item.lane] = next(self._turns)
            task = asyncio.create_task(self._send(bot, item), name=f"outbox item {item.id}")
            self._in_flight[task] = item
            task.add_done_callback(self._sent_one)
        if len(self._served) > 10_000:  # lanes long gone
            self._served = {i.lane: self._served.get(i.lane, 0) for i in heads}
        return soonest

    def _sent_one(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error("outbox: a send failed", exc_info=task.exception())
        self.wake()

    async def _finish_in_flight(self) -> None:
        """Stopping: the items being sent get STOP_SECONDS; what is left stays "sending"
        and goes again at the next start."""
        running = list(self._in_flight)
        if not running:
            return
        _, unfinished = await asyncio.wait(running, timeout=STOP_SECONDS)
        if unfinished:
            logger.warning(
                "outbox: %d item(s) still being sent at the stop; they go again at the next start",
                len(unfinished),
            )
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    def _ready_in(self, item: OutboxItem) -> float:
        return 0.0 if self.budget is None else self.budget.ready_in(item.chat_id)

    async def _send(self, bot: Any, item: OutboxItem) -> None:
        store = self.store
        payload = await asyncio.to_thread(store.mark_sending, item.id)
        if payload is None:
            return  # dropped meanwhile (/forget)
        item = replace(item, payload=payload)
        how = self.kinds.get(item.kind)
        if how is None:
            logger.error("outbox: item %d is of an unknown kind %r; dropped", item.id, item.kind)
            await asyncio.to_thread(store.done, item.id)
            return
        try:
            await how.send(bot, item)
        except Forbidden as error:
            logger.info(
                "outbox: %s item %d: the chat is closed to the bot (%s)", item.kind, item.id, error
            )
            await asyncio.to_thread(store.done, item.id)
            if how.unreachable is not None:
                await how.unreachable(bot, item)
            return
        except BadRequest as error:
            again = how.refused is not None and await how.refused(bot, item, error)
            if again and item.attempts + 1 < MAX_ATTEMPTS:
                logger.warning(
                    "outbox: %s item %d refused (%s); trying again later", item.kind, item.id, error
                )
                await asyncio.to_thread(store.retry_later, item.id, RETRY_MAX_SECONDS)
            else:
                logger.error(
                    "outbox: Telegram refused %s item %d for good: %s", item.kind, item.id, error
                )
                await asyncio.to_thread(store.done, item.id)
            return
        except TelegramError as error:  # a timeout, a 5xx, the network, a long 429
            if item.attempts + 1 >= MAX_ATTEMPTS:
                logger.error(
                    "outbox: %s item %d failed %d times; dropped: %s",
                    item.kind,
                    item.id,
                    MAX_ATTEMPTS,
                    error,
                )
                await asyncio.to_thread(store.done, item.id)
            else:
                delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**item.attempts)
                logger.warning(
                    "outbox: %s item %d failed (%s); again in %.0f s",
                    item.kind,
                    item.id,
                    error,
                    delay,
                )
                await asyncio.to_thread(store.retry_later, item.id, delay)
            return
        except asyncio.CancelledError:
            raise  # stopping: it stays "sending" and goes again at the next start
        except Exception:
            logger.exception("outbox: %s item %d failed; dropped", item.kind, item.id)
            await asyncio.to_thread(store.done, item.id)
            return
        await asyncio.to_thread(store.done, item.id)
        self.sent += 1

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake_event().wait(), max(seconds, 0.01))

    def _wake_event(self) -> asyncio.Event:
        if self._wake is None:  # made inside the running event loop
            self._wake = asyncio.Event()
        return self._wake
