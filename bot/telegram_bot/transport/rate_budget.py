"""One budget of Telegram's message limits for the whole bot, shared by every sender.

Telegram refuses (429) a bot that sends more than about 30 messages a second in all, 20 a
minute into one group, or more than about one a second into one chat (short bursts pass).
Three kinds of traffic share those limits: answers to the person who wrote, posts into the
staff group (the outbox worker), and announcements. Each of them asks the budget before a
message goes out (`acquire`), with its priority; the budget hands out slots

- never more than `per_second` in any second, `group_per_minute` in any minute into one
  group, `chat_burst` within `chat_burst / chat_per_second` seconds into one chat (except
  answers to a person in their private chat: see `_chat_wait`);
- to the waiter with the most urgent priority first (answers, then the staff group, then
  announcements), in arrival order within one priority. A waiter whose own chat is at its
  limit does not hold up one for another chat, but a more urgent waiter that only lacks
  overall room does: an answer never waits behind an announcement.

The limits are set a little under Telegram's (29 and 19, not 30 and 20): a message reaches
Telegram some milliseconds after its slot, and a delayed one must not make two slots land
in the same second there. A 429 that happens anyway pauses its chat for its retry_after
(`pause`).

The budget is one object in one process: `python -m bot announce`, run beside the bot, has
its own (its rate is `subscriptions.messages_per_second`).
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Telegram's limits, less a margin (see above).
PER_SECOND = 29
GROUP_PER_MINUTE = 19
# About one message a second into one chat, with bursts of this many.
CHAT_PER_SECOND = 1.0
CHAT_BURST = 4
# Chats whose recent sends are remembered; older ones are dropped once this many are known.
MAX_CHATS_REMEMBERED = 20_000
# With every slot in flight, the budget looks again after this long (a `sent` wakes it).
IN_FLIGHT_RECHECK = 0.05


class Priority(enum.IntEnum):
    """Who goes first when the budget is short (lower first)."""

    ANSWER = 0
    STAFF = 1
    ANNOUNCEMENT = 2


def is_group(chat_id: int) -> bool:
    """Groups and channels have negative ids in the Bot API; people positive."""
    return chat_id < 0


@dataclass
class _Slot:
    until: float  # counts against the overall limit until then (inf: in flight)


@dataclass(order=True)
class _Waiter:
    priority: int
    order: int
    chat_id: int | None = field(compare=False)
    granted: asyncio.Future[None] = field(compare=False)
    slot: _Slot | None = field(default=None, compare=False)


class RateBudget:
    """Slots for messages, by priority, within Telegram's limits. `clock` is monotonic
    seconds (tests pass their own and call `grant_due` themselves)."""

    def __init__(
        self,
        *,
        per_second: int = PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
        chat_per_second: float = CHAT_PER_SECOND,
        chat_burst: int = CHAT_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second < 1 or group_per_minute < 1 or chat_burst < 1 or chat_per_second <= 0:
            raise ValueError("every limit must be positive")
        self.per_second = per_second
        self.group_per_minute = group_per_minute
        self.chat_burst = chat_burst
        self.chat_window = chat_burst / chat_per_second
        self._clock = clock
        # The slots that count against the overall limit: each until when (see `sent`).
        self._overall: list[_Slot] = []
        self._chats: dict[int, deque[float]] = {}  # chat id -> its recent sends
        self._groups: dict[int, deque[float]] = {}
        self._waiters: list[_Waiter] = []
        self._slot_of: dict[int, _Slot] = {}  # granted future -> its slot, for acquire
        self._order = 0
        self._paused_until = 0.0
        self._chat_paused: dict[int, float] = {}
        self._pruned_at = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.granted: dict[Priority, int] = dict.fromkeys(Priority, 0)

    # ----- asking for a slot -------------------------------------------------------------

    async def acquire(self, priority: Priority, chat_id: int | None) -> _Slot:
        """Wait until a message to `chat_id` (None: a request into no chat) may go. The
        slot counts as in flight until `sent(slot)`: a message reaches Telegram somewhere
        between its slot and Telegram's answer, so a slot frees one second after the
        answer, not after the grant: however late a request arrives (a busy machine, a
        slow network), no second at Telegram gets more than `per_second`."""
        waiter = self.request(priority, chat_id)
        try:
            await waiter
        except asyncio.CancelledError:
            self._withdraw(waiter)
            raise
        slot = self._slot_of.pop(id(waiter), None) or _Slot(self._clock() + 1.0)
        slot.until = math.inf
        return slot

    def sent(self, slot: _Slot) -> None:
        """Telegram answered the request of `slot` (or it failed): it frees in a second."""
        slot.until = self._clock() + 1.0
        self._pump()

    def request(self, priority: Priority, chat_id: int | None) -> asyncio.Future[None]:
        """A future that is done once the slot is granted (acquire waits for it)."""
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._order += 1
        self._waiters.append(_Waiter(int(priority), self._order, chat_id, granted))
        self._waiters.sort()
        self._pump()
        return granted

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """Telegram said 429: no slot for `chat_id` (None: for anyone) for `seconds`. The
        budget keeps the overall rate, so a 429 is about one chat's limit: a staff group
        that is told to wait does not hold up anyone's answer."""
        until = self._clock() + seconds
        if chat_id is None:
            self._paused_until = max(self._paused_until, until)
        else:
            self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, 0.0), until)

    def ready_in(self, chat_id: int) -> float:
        """Seconds until `chat_id`'s own limits (not the overall one) would allow a message:
        lets the outbox pick an item that can go now rather than wait behind one that
        cannot."""
        return self._chat_wait(chat_id, self._clock())

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    # ----- handing out slots --------------------------------------------------------------

    def grant_due(self) -> float | None:
        """Grant every slot that may go now, most urgent first; the seconds until the next
        one might (None: nobody waits)."""
        now = self._clock()
        self._forget_before(now)
        self._waiters = [w for w in self._waiters if not w.granted.done()]
        if not self._waiters:
            return None
        if now < self._paused_until:
            return self._paused_until - now
        soonest: float | None = None
        blocked_priority: int | None = None  # a more urgent waiter lacks overall room
        for waiter in list(self._waiters):
            if blocked_priority is not None and waiter.priority > blocked_priority:
                break
            chat_wait = self._chat_wait(waiter.chat_id, now, waiter.priority)
            overall_wait = self._overall_wait(now)
            if chat_wait <= 0 and overall_wait <= 0:
                self._take(waiter, now)
                continue
            if chat_wait <= 0:
                blocked_priority = waiter.priority
            wait = max(chat_wait, overall_wait)
            soonest = wait if soonest is None else min(soonest, wait)
        return soonest

    def _take(self, waiter: _Waiter, now: float) -> None:
        self._waiters.remove(waiter)
        slot = _Slot(now + 1.0)
        self._overall.append(slot)
        waiter.slot = slot
        chat_id = waiter.chat_id
        if chat_id is not None:
            if len(self._chats) >= MAX_CHATS_REMEMBERED:
                self._chats.clear()  # only spacing is lost: Telegram's 429 still guards
            self._chats.setdefault(chat_id, deque()).append(now)
            if is_group(chat_id):
                self._groups.setdefault(chat_id, deque()).append(now)
        self.granted[Priority(waiter.priority)] += 1
        self._slot_of[id(waiter.granted)] = slot
        waiter.granted.set_result(None)

    def _overall_wait(self, now: float) -> float:
        if len(self._overall) < self.per_second:
            return 0.0
        # All slots in flight: a `sent` wakes the budget; look again soon anyway.
        return min(min(slot.until for slot in self._overall) - now, IN_FLIGHT_RECHECK)

    def _chat_wait(self, chat_id: int | None, now: float, priority: int = Priority.STAFF) -> float:
        if chat_id is None:
            return 0.0
        wait = self._chat_paused.get(chat_id, now) - now
        sent = self._chats.get(chat_id)
        # An answer to a person is not spaced in their chat: it holds an update slot while
        # it waits, the flood guard already bounds how many a person gets, and Telegram
        # lets a private chat have short bursts. Groups and background senders are spaced.
        paced = is_group(chat_id) or priority != Priority.ANSWER
        if paced and sent is not None and len(sent) >= self.chat_burst:
            wait = sent[-self.chat_burst] + self.chat_window - now
        posted = self._groups.get(chat_id)
        if posted is not None and len(posted) >= self.group_per_minute:
            wait = max(wait, posted[-self.group_per_minute] + 60.0 - now)
        return wait

    def _forget_before(self, now: float) -> None:
        self._overall = [slot for slot in self._overall if slot.until > now]
        if now - self._pruned_at < 1.0:  # chats are pruned once a second, not per slot
            return
        self._pruned_at = now
        for chat_id in [c for c, until in self._chat_paused.items() if until <= now]:
            del self._chat_paused[chat_id]
        for windows, seconds in ((self._chats, self.chat_window), (self._groups, 60.0)):
            for chat_id in [c for c, sent in windows.items() if sent[-1] <= now - seconds]:
                del windows[chat_id]

    def _pump(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        wait = self.grant_due()
        if wait is not None:
            # A floor keeps a rounding error from spinning the loop.
            self._timer = asyncio.get_running_loop().call_later(max(wait, 0.001), self._pump)

    def _withdraw(self, waiter: asyncio.Future[None]) -> None:
        self._waiters = [w for w in self._waiters if w.granted is not waiter]
        self._slot_of.pop(id(waiter), None)  # a slot granted just before: it frees in 1 s
