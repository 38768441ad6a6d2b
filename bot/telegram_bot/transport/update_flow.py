"""How many updates the bot holds at once, and how long it takes to stop.

Telegram forgets an update once the bot has fetched past it (long polling's offset, or a
webhook's 200), so every update the bot holds in memory is lost if the process is killed.
python-telegram-bot fetches as fast as Telegram gives: with a backlog, thousands of
updates sat in memory, confirmed and unanswered, and a stop (SIGTERM) answered them all
first, for minutes. Here:

- `BoundedUpdateQueue` hands queued updates out in turns by sender (`TakeTurns`: one
  account's burst does not delay everyone else), counts the updates in hand (queued or
  being handled) and lets at
  most `limit` in: putting one more waits until one is done. A webhook request waits
  that way before it is acknowledged.
- `RoomForUpdates` is the transport of getUpdates: it waits until there is room in the
  queue and asks Telegram for no more updates than fit. While the bot is busy the backlog
  stays with Telegram, and kill -9 loses at most `limit` updates. Each poll confirms the
  updates fetched by the one before as soon as there is room again (a few answers later),
  so few are answered and still unconfirmed (sent again after a crash).
- `BoundedStopApplication` finishes the updates in hand when it stops, but gives them
  `stop_grace` seconds at most; what is still running then is cancelled, and it exits.
  Polling itself stops first (python-telegram-bot stops the Updater before the
  Application), so nothing new is fetched once the stop has begun.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter  # RequestData's items

from bot.telegram_bot.transport.wrapped_request import WrappedRequest

logger = logging.getLogger(__name__)

Result = TypeVar("Result")
# What getUpdates returns at most when not told otherwise.
TELEGRAM_MAX_UPDATES = 100


class TakeTurns:
    """Queued updates by sender, taken in turns: one sender's first update goes before
    another's twentieth, so a burst from a few accounts does not delay everyone else.
    Within one sender, updates keep their order. Anything that is not an update (the
    application's stop marker) comes out only once no update is left."""

    def __init__(self) -> None:
        self._senders: OrderedDict[object, deque[object]] = OrderedDict()
        self._markers: deque[object] = deque()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, item: object) -> None:
        if isinstance(item, Update):
            self._senders.setdefault(sender_of(item), deque()).append(item)
        else:
            self._markers.append(item)
        self._count += 1

    def popleft(self) -> object:
        if self._senders:
            sender, waiting = next(iter(self._senders.items()))
            item = waiting.popleft()
            del self._senders[sender]
            if waiting:  # the sender's next update waits for everyone else's turn
                self._senders[sender] = waiting
        else:
            item = self._markers.popleft()
        self._count -= 1
        return item


def sender_of(update: Update) -> object:
    """Whose turn an update takes: its user, else its chat, else the update itself."""
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    return ("update", update.update_id)


class BoundedUpdateQueue(asyncio.Queue[object]):
    """The application's update queue, with room for at most `limit` updates in hand,
    handed out in turns by sender (`TakeTurns`).

    An update counts from `put` until its `task_done` (the application calls it when the
    update has been handled). Only updates wait for room: the application's own markers
    (its stop signal) always go in at once.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be positive")
        super().__init__()
        self.limit = limit
        self.in_hand = 0
        self._room: asyncio.Event | None = None

    # asyncio.Queue keeps its items in `_queue`, through these three hooks.
    def _init(self, maxsize: int) -> None:
        self._queue = TakeTurns()

    def _put(self, item: object) -> None:
        self._queue.append(item)

    def _get(self) -> object:
        return self._queue.popleft()

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            while self.in_hand >= self.limit:
                await self._room_event().wait()
        await super().put(item)

    def put_nowait(self, item: object) -> None:
        super().put_nowait(item)
        self.in_hand += 1
        if self.in_hand >= self.limit:
            self._room_event().clear()

    def task_done(self) -> None:
        super().task_done()
        self.in_hand = max(self.in_hand - 1, 0)
        self._room_event().set()  # waiters check how much room they need

    async def wait_for_room(self, at_least: int) -> int:
        """Wait until `at_least` more updates fit (at most `limit`); returns how many fit."""
        at_least = min(at_least, self.limit)
        while self.limit - self.in_hand < at_least:
            event = self._room_event()
            event.clear()
            await event.wait()
        return self.limit - self.in_hand

    def _room_event(self) -> asyncio.Event:
        if self._room is None:  # made on first use, inside the running event loop
            self._room = asyncio.Event()
            self._room.set()
        return self._room


class RoomForUpdates(WrappedRequest):
    """Wraps the transport of getUpdates: each call waits for room in `queue` (at least
    `batch` updates, so that a busy bot does not poll for every single one) and its
    `limit` is cut to the room there is. Every other request passes straight through."""

    def __init__(self, inner: BaseRequest, queue: BoundedUpdateQueue, batch: int) -> None:
        super().__init__(inner)
        self._queue = queue
        self._batch = batch

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if url.endswith("/getUpdates"):
            parameters = dict(request_data.parameters) if request_data else {}
            # A poll without a wait (timeout 0) only confirms what was fetched, as on stop:
            # it must not wait for room, which may come only after the stop.
            if int(str(parameters.get("timeout") or 0)) > 0:
                room = await self._queue.wait_for_room(self._batch)
            else:
                room = self._queue.limit - self._queue.in_hand
            asked = int(str(parameters.get("limit") or TELEGRAM_MAX_UPDATES))
            parameters["limit"] = max(1, min(asked, room))
            request_data = RequestData(
                [RequestParameter.from_input(name, value) for name, value in parameters.items()]
            )
        return await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )


class BoundedStopApplication(Application[Any, Any, Any, Any, Any, Any]):
    """An Application whose `stop` gives the updates in hand `grace` seconds to finish.

    Set `stop_grace` (seconds) after building; the default suits systemd, which waits
    90 s before it kills.
    """

    stop_grace: float = 10.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._update_tasks: set[asyncio.Task[Any]] = set()
        # Background workers to stop once the updates in hand are done (the outbox), also
        # when the application is stopped without post_stop (tests drive it by hand).
        self.stop_after_updates: list[Callable[[], Awaitable[None]]] = []

    def create_task(
        self,
        coroutine: Generator[asyncio.Future[object], None, Result] | Awaitable[Result],
        update: object | None = None,
        *,
        name: str | None = None,
    ) -> asyncio.Task[Result]:
        task = super().create_task(coroutine, update, name=name)
        if update is not None:  # the handling of an update, not a background job
            self._update_tasks.add(task)
            task.add_done_callback(self._update_tasks.discard)
        return task

    async def stop(self) -> None:
        in_hand = len(self._update_tasks)
        if in_hand:
            logger.info(
                "stopping: finishing %d update(s) in hand, for %.0f s at most",
                in_hand,
                self.stop_grace,
            )
        deadline = asyncio.get_running_loop().call_later(self.stop_grace, self._give_up)
        try:
            await super().stop()
        finally:
            deadline.cancel()
            for stop in self.stop_after_updates:
                await stop()

    def _give_up(self) -> None:
        running = [task for task in self._update_tasks if not task.done()]
        if running:
            logger.warning(
                "stopping: %d update(s) not finished within %.0f s; given up",
                len(running),
                self.stop_grace,
            )
        for task in running:
            task.cancel()
