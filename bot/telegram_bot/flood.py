"""Per-user flood control: a sliding window of recent messages, one notice, then quiet.

Pure and synchronous with an injectable clock, so it is tested without sleeping. A user
who sends more than `limit` messages within `window` seconds gets one notice and is then
ignored for a whole window; nobody else is affected. Memory stays bounded: users idle for a
window are forgotten, and at most `max_users` are tracked at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["allow", "notify", "drop"]

# Enough for every user active in any one minute of a busy day; beyond it the least
# recently seen user is forgotten first (at worst, a flooder gets a fresh allowance).
DEFAULT_MAX_USERS = 10_000


@dataclass
class _Recent:
    times: deque[float] = field(default_factory=deque)
    last_seen: float = 0.0
    quiet_until: float = 0.0  # while throttled: messages are dropped until then


class FloodGuard:
    """Decides for each incoming message whether to answer, warn once, or drop it."""

    def __init__(
        self,
        limit: int,
        *,
        window: float = 60.0,
        max_users: int = DEFAULT_MAX_USERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0 or max_users < 1:
            raise ValueError("limit, window and max_users must be positive")
        self.limit = limit
        self.window = window
        self.max_users = max_users
        self._clock = clock
        # Least recently seen first, so idle users are found (and forgotten) at the front.
        self._users: OrderedDict[int, _Recent] = OrderedDict()

    def check(self, user_id: int) -> Verdict:
        """Record a message from `user_id`: 'allow' it, 'notify' (the first one over the
        limit: send the notice) or 'drop' it quietly."""
        now = self._clock()
        self._forget_idle(now)
        recent = self._users.pop(user_id, None) or _Recent()
        self._users[user_id] = recent  # now the most recently seen
        recent.last_seen = now
        if now < recent.quiet_until:
            return "drop"
        while recent.times and recent.times[0] <= now - self.window:
            recent.times.popleft()
        if len(recent.times) < self.limit:
            recent.times.append(now)
            return "allow"
        recent.times.clear()
        recent.quiet_until = now + self.window
        return "notify"

    def tracked_users(self) -> int:
        return len(self._users)

    def _forget_idle(self, now: float) -> None:
        while self._users:
            user_id, oldest = next(iter(self._users.items()))
            idle = oldest.last_seen <= now - self.window and oldest.quiet_until <= now
            if not idle and len(self._users) < self.max_users:
                return
            del self._users[user_id]
