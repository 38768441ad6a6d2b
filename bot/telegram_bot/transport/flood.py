"""Per-user flood control: a sliding window of recent messages, one notice, then quiet.

Pure and synchronous with an injectable clock, so it is tested without sleeping. A user
who sends more than `limit` messages within `window` seconds gets one notice and is then
ignored for a whole window; nobody else is affected. Inline queries are limited the same
way, with their own, higher allowance. Memory stays bounded: users idle for a window are
forgotten, and at most `max_users` are tracked at once (of each kind).
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
# Inline queries allowed per message allowed: typing "@bot how do I register" sends one
# query per pause, three or four for a question.
INLINE_PER_MESSAGE = 3


@dataclass
class _Recent:
    times: deque[float] = field(default_factory=deque)
    last_seen: float = 0.0
    quiet_until: float = 0.0  # while throttled: messages are dropped until then


class FloodGuard:
    """Decides for each incoming message whether to answer, warn once, or drop it.

    Inline queries are counted apart, with `inline_limit` (default: INLINE_PER_MESSAGE
    times `limit`): Telegram sends one per pause in typing, so a user asking one question
    inline sends several, and those must not use up the allowance of their messages.
    """

    def __init__(
        self,
        limit: int,
        *,
        window: float = 60.0,
        max_users: int = DEFAULT_MAX_USERS,
        clock: Callable[[], float] = time.monotonic,
        inline_limit: int | None = None,
    ) -> None:
        if limit < 1 or window <= 0 or max_users < 1:
            raise ValueError("limit, window and max_users must be positive")
        if inline_limit is not None and inline_limit < 1:
            raise ValueError("inline_limit must be positive")
        self.limit = limit
        self.window = window
        self.max_users = max_users
        self._clock = clock
        self._messages = _Windows(limit, window, max_users)
        self._inline = _Windows(inline_limit or limit * INLINE_PER_MESSAGE, window, max_users)

    def check(self, user_id: int) -> Verdict:
        """Record a message from `user_id`: 'allow' it, 'notify' (the first one over the
        limit: send the notice) or 'drop' it quietly."""
        return self._messages.check(user_id, self._clock())

    def check_inline(self, user_id: int) -> Verdict:
        """Record an inline query from `user_id`, with the inline limit."""
        return self._inline.check(user_id, self._clock())

    def tracked_users(self) -> int:
        return len(self._messages.users) + len(self._inline.users)


class _Windows:
    """Each user's recent events in a sliding window, for one kind of update."""

    def __init__(self, limit: int, window: float, max_users: int) -> None:
        self.limit = limit
        self.window = window
        self.max_users = max_users
        # Least recently seen first, so idle users are found (and forgotten) at the front.
        self.users: OrderedDict[int, _Recent] = OrderedDict()

    def check(self, user_id: int, now: float) -> Verdict:
        self._forget_idle(now)
        recent = self.users.pop(user_id, None) or _Recent()
        self.users[user_id] = recent  # now the most recently seen
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

    def _forget_idle(self, now: float) -> None:
        while self.users:
            user_id, oldest = next(iter(self.users.items()))
            idle = oldest.last_seen <= now - self.window and oldest.quiet_until <= now
            if not idle and len(self.users) < self.max_users:
                return
            del self.users[user_id]
