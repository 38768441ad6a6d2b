"""Memoisation for functions of one word whose memory stays bounded whatever users type.

A plain `lru_cache(maxsize=65536)` lets unique long "words" (a 490-character run of junk
costs about 42 KB in n-grams) fill the cache up to gigabytes. Here two limits together
bound it in bytes: words longer than `max_length` are computed every time and never kept
(real words are far shorter, and computing a long one is cheap next to matching it), and
at most `max_entries` words are kept, least recently used dropped first. So a cache holds
at most `max_entries` results of words of at most `max_length` characters.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import _CacheInfo, lru_cache, update_wrapper
from typing import Generic, TypeVar

Result = TypeVar("Result")

# Longer than any real word of either language ("administrative", "mbeshtetjen",
# "regjistrimit" are 11-14), with room for compounds and URLs; junk is longer.
MAX_WORD_LENGTH = 32


class WordCache(Generic[Result]):
    """`function(word)`, memoised for short words only (see the module's docstring)."""

    def __init__(
        self, function: Callable[[str], Result], max_entries: int, max_length: int
    ) -> None:
        self._function = function
        self._cached = lru_cache(maxsize=max_entries)(function)
        self.max_entries = max_entries
        self.max_length = max_length
        update_wrapper(self, function)

    def __call__(self, word: str) -> Result:
        if len(word) > self.max_length:
            return self._function(word)
        return self._cached(word)

    def cache_info(self) -> _CacheInfo:
        return self._cached.cache_info()

    def cache_clear(self) -> None:
        self._cached.cache_clear()


def word_cache(
    max_entries: int, max_length: int = MAX_WORD_LENGTH
) -> Callable[[Callable[[str], Result]], WordCache[Result]]:
    """Decorator: memoise a function of one word within the two bounds."""

    def decorate(function: Callable[[str], Result]) -> WordCache[Result]:
        return WordCache(function, max_entries, max_length)

    return decorate
