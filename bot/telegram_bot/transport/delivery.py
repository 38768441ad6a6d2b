"""Delivering requests to Telegram: every message waits for its slot in the bot's one rate
budget (rate_budget: Telegram's flood limits, answers before staff posts before
announcements), a 429's retry_after is waited out, and a network failure or a 5xx is
retried."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot.telegram_bot.transport.rate_budget import (
    GROUP_PER_MINUTE,
    PER_SECOND,
    Priority,
    RateBudget,
)

logger = logging.getLogger(__name__)


# A 429 carries retry_after; waiting it out this many times gets the reply through.
RATE_LIMIT_RETRIES = 3


# A 5xx or a broken connection is retried this many times, after 0.5 s, then 1 s.
NETWORK_RETRIES = 2


NETWORK_RETRY_DELAY = 0.5

# What Telegram counts as messages (its flood limits); other requests (getChatMember,
# answerCallbackQuery, deleteMessage, closing a topic...) are not held by the budget.
MESSAGE_PREFIXES = ("send", "copyMessage", "forwardMessage", "editMessage", "createForumTopic")
NOT_MESSAGES = frozenset({"sendChatAction"})


def counts_as_message(endpoint: str) -> bool:
    return endpoint.startswith(MESSAGE_PREFIXES) and endpoint not in NOT_MESSAGES


def _chat_of(data: dict[str, Any]) -> int | None:
    try:
        return int(data["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


class DeliveryRateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot's rate limiter for one bot, drawing on a `RateBudget` that other
    bots of the process may share. A message goes at `priority` unless its call says
    otherwise (`rate_limit_args=Priority.STAFF`, as the outbox worker does).

    A 429 pauses the request's chat for its retry_after, then the request goes again (at most
    `max_retries` times). A 5xx or a broken connection is retried after a short delay. A
    timeout is not retried: the message may have been delivered, and a user is better served
    by one missing reply (logged) than by the same answer twice.

    `overall_max_rate=0` (benchmarks that measure the bot alone) sends without a budget.
    """

    def __init__(
        self,
        budget: RateBudget | None = None,
        *,
        priority: Priority = Priority.ANSWER,
        max_retries: int = RATE_LIMIT_RETRIES,
        overall_max_rate: float | None = None,
        group_max_rate: float | None = None,
    ) -> None:
        if budget is None and overall_max_rate != 0:
            budget = RateBudget(
                per_second=max(1, int(overall_max_rate or PER_SECOND)),
                group_per_minute=max(1, int(group_max_rate or GROUP_PER_MINUTE)),
            )
        self.budget = budget
        self.priority = priority
        self.max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to open: the budget lives in memory."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        priority = self.priority if rate_limit_args is None else Priority(rate_limit_args)
        counted = self.budget is not None and counts_as_message(endpoint)
        network_failures = 0
        rate_limited = 0
        while True:
            slot = None
            if counted and self.budget is not None:
                slot = await self.budget.acquire(priority, _chat_of(data))
            try:
                return await callback(*args, **kwargs)
            except (BadRequest, TimedOut):
                raise
            except RetryAfter as error:
                if rate_limited == self.max_retries:
                    logger.warning("%s: still rate limited after %d waits", endpoint, rate_limited)
                    raise
                rate_limited += 1
                wait = _seconds(error.retry_after) + 0.1
                logger.info("%s: Telegram asks to wait %.1f s (429)", endpoint, wait)
                if self.budget is not None:
                    self.budget.pause(wait, _chat_of(data))
                await asyncio.sleep(wait)
            except NetworkError as error:
                if network_failures == NETWORK_RETRIES:
                    raise
                network_failures += 1
                logger.warning("%s failed (%s); retrying", endpoint, error)
                await asyncio.sleep(NETWORK_RETRY_DELAY * network_failures)
            finally:
                if slot is not None and self.budget is not None:
                    self.budget.sent(slot)


def _seconds(retry_after: timedelta | float) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


def default_rate_limiter(budget: RateBudget | None = None) -> DeliveryRateLimiter:
    return DeliveryRateLimiter(budget or RateBudget(), max_retries=RATE_LIMIT_RETRIES)


def budget_of(bot: Any) -> RateBudget | None:
    """The rate budget `bot` sends within, for other senders of the process to share."""
    limiter = getattr(bot, "rate_limiter", None)
    return limiter.budget if isinstance(limiter, DeliveryRateLimiter) else None
