"""Delivering requests to Telegram: python-telegram-bot's rate limiter (Telegram's flood
limits; a 429's retry_after is waited out), retrying a network failure or a 5xx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter, BaseRateLimiter

logger = logging.getLogger(__name__)


# A 429 carries retry_after; waiting it out this many times gets the reply through.
RATE_LIMIT_RETRIES = 3


# A 5xx or a broken connection is retried this many times, after 0.5 s, then 1 s.
NETWORK_RETRIES = 2


NETWORK_RETRY_DELAY = 0.5


class DeliveryRateLimiter(AIORateLimiter):
    """PTB's rate limiter (Telegram's flood limits; waits out a 429's retry_after), which
    also retries a request that failed on the network or with a 5xx.

    A timeout is not retried: the message may have been delivered, and a user is better
    served by one missing reply (logged) than by the same answer twice.
    """

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        for attempt in range(NETWORK_RETRIES + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except (BadRequest, TimedOut):
                raise
            except NetworkError as error:
                if attempt == NETWORK_RETRIES:
                    raise
                logger.warning("%s failed (%s); retrying", endpoint, error)
                await asyncio.sleep(NETWORK_RETRY_DELAY * (attempt + 1))
        raise AssertionError("unreachable: the last attempt returns or raises")


def default_rate_limiter() -> BaseRateLimiter[int]:
    return DeliveryRateLimiter(max_retries=RATE_LIMIT_RETRIES)
