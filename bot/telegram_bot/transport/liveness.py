"""Is the bot alive and answering? What systemd and a monitor can see from outside.

- Ready: systemd (Type=notify) hears READY=1 once the bot can answer: after its first
  successful getUpdates (polling), or once the webhook is set.
- Watchdog: WATCHDOG=1 is sent from a task of the event loop, so a handler that blocks
  the loop stops the pings by itself; and the pings stop too when updates are in hand and
  none has been handled for `stalled_after` seconds (a handler stuck waiting). systemd
  then restarts the bot (WatchdogSec=).
- /healthz (webhook mode): 200 with the age of the last handled update, the knowledge
  base's version and the storage's health; 503 when storage is failing or the bot is
  stalled as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.service_notify import ServiceNotifier
from bot.telegram_bot.transport.wrapped_request import WrappedRequest

logger = logging.getLogger(__name__)

# How often the watchdog is pinged, as a share of systemd's WatchdogSec= (sd_watchdog_enabled(3)
# advises half; a third leaves room for a busy loop).
PING_SHARE = 1 / 3


@dataclass(frozen=True)
class Health:
    status: HTTPStatus
    body: dict[str, Any]


class Liveness:
    """The bot's vital signs: updates started and handled, readiness, storage and knowledge.

    `storage_problem` says what is wrong with the database (None: nothing);
    `knowledge_version` names the knowledge base being served.
    """

    def __init__(
        self,
        *,
        stalled_after: float,
        notifier: ServiceNotifier | None = None,
        storage_problem: Callable[[], str | None] = lambda: None,
        knowledge_version: Callable[[], str] = lambda: "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stalled_after = stalled_after
        self.notifier = notifier or ServiceNotifier()
        self.storage_problem = storage_problem
        self.knowledge_version = knowledge_version
        self._clock = clock
        self.ready = False
        self.in_hand = 0
        self.handled = 0
        self._last_progress = clock()  # the last update handled, or the start of being busy
        self._last_handled: float | None = None

    # ----- what the update loop reports -------------------------------------------------

    def update_started(self) -> None:
        if self.in_hand == 0:
            self._last_progress = self._clock()  # idle until now: the wait starts here
        self.in_hand += 1

    def update_finished(self) -> None:
        self.in_hand = max(self.in_hand - 1, 0)
        self.handled += 1
        self._last_handled = self._last_progress = self._clock()

    def mark_ready(self, how: str) -> None:
        """The bot can answer now; systemd hears it once."""
        if self.ready:
            return
        self.ready = True
        logger.info("ready: %s", how)
        self.notifier.ready(how)

    # ----- what the outside sees --------------------------------------------------------

    def stalled_for(self) -> float:
        """Seconds that updates have been in hand with none handled (0: not waiting)."""
        if self.in_hand == 0:
            return 0.0
        return self._clock() - self._last_progress

    def stalled(self) -> bool:
        return self.stalled_for() > self.stalled_after

    def health(self) -> Health:
        problem = self.storage_problem()
        now = self._clock()
        age = None if self._last_handled is None else round(now - self._last_handled, 1)
        body: dict[str, Any] = {
            "status": "ok",
            "ready": self.ready,
            "last_update_handled_seconds_ago": age,
            "updates_in_hand": self.in_hand,
            "updates_handled": self.handled,
            "knowledge_base": self.knowledge_version(),
            "storage": "ok" if problem is None else f"failing: {problem}",
        }
        reasons = []
        if problem is not None:
            reasons.append("storage is failing")
        if self.stalled():
            reasons.append(
                f"{self.in_hand} update(s) waiting and none handled for {self.stalled_for():.0f} s"
            )
        if reasons:
            body["status"] = "; ".join(reasons)
            return Health(HTTPStatus.SERVICE_UNAVAILABLE, body)
        return Health(HTTPStatus.OK, body)

    async def keep_watchdog_fed(self, stop: asyncio.Event) -> None:
        """Ping systemd's watchdog while the loop runs and the bot is not stalled; returns
        when `stop` is set. Does nothing without WatchdogSec=."""
        interval = self.notifier.watchdog_seconds
        if interval is None:
            return
        told_stalled = False
        while not stop.is_set():
            if self.stalled():
                if not told_stalled:
                    logger.error(
                        "stalled: %d update(s) in hand, none handled for %.0f s; "
                        "the watchdog is no longer pinged",
                        self.in_hand,
                        self.stalled_for(),
                    )
                    told_stalled = True
            else:
                told_stalled = False
                self.notifier.watchdog()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval * PING_SHARE)

    def polling_request(self, inner: BaseRequest) -> BaseRequest:
        """`inner` (the transport of getUpdates), telling this object when a poll first
        succeeds: the bot is then connected and answering."""
        return _ReadyAfterFirstPoll(inner, self)


class _ReadyAfterFirstPoll(WrappedRequest):
    def __init__(self, inner: BaseRequest, liveness: Liveness) -> None:
        super().__init__(inner)
        self._liveness = liveness

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
        status, payload = await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if status == HTTPStatus.OK and url.endswith("/getUpdates"):
            self._liveness.mark_ready("polling: getUpdates answered")
        return status, payload
