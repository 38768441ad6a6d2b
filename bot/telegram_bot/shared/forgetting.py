"""The /forget registry: each feature that keeps something about users adds a forgetter;
/forget (bot.telegram_bot.privacy) runs them all, in the order added."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

FORGETTERS_KEY = "forgetters"


Forgetter = Callable[[int], Awaitable[None]]


def forgetters_in(bot_data: MutableMapping[Any, Any]) -> list[Forgetter]:
    found: list[Forgetter] = bot_data.setdefault(FORGETTERS_KEY, [])
    return found


def add_forgetter(application: Any, forgetter: Forgetter) -> None:
    forgetters_in(application.bot_data).append(forgetter)
