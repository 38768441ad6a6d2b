"""Memory stays bounded whatever users type: unique long "words" are not cached."""

from __future__ import annotations

import gc
import random
import string
import tracemalloc

from bot.core.language import stem_albanian
from bot.core.matcher import Matcher
from bot.core.text import char_ngrams
from bot.core.word_cache import MAX_WORD_LENGTH, word_cache
from tests.core.test_matcher import ASCS, SETTINGS


def junk_word(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(length))


def test_unique_long_words_do_not_pile_up_in_the_matchers_caches() -> None:
    matcher = Matcher(ASCS, SETTINGS)
    rng = random.Random(16)
    matcher.match("zyra " + junk_word(rng, 250))  # warm: imports, first use
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(300):
            matcher.match(f"zyra {junk_word(rng, 250)}")  # within the 300 characters read
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Kept, these 300 words would hold about 10 MB of n-grams, stems and readings.
    assert grown < 2_000_000, f"{grown / 1e6:.1f} MB kept after 300 junk questions"


def test_real_words_are_still_cached_and_the_cache_has_a_size_limit() -> None:
    char_ngrams.cache_clear()
    char_ngrams("regjistrimi")
    char_ngrams("regjistrimi")
    assert char_ngrams.cache_info().hits == 1
    long_word = "x" * (MAX_WORD_LENGTH + 1)
    assert char_ngrams(long_word) == char_ngrams(long_word)  # computed, same result
    assert char_ngrams.cache_info().currsize == 1
    assert stem_albanian("regjistrimi") == "regjistr"


def test_the_least_recently_used_word_is_dropped_at_the_entry_limit() -> None:
    calls: list[str] = []

    @word_cache(max_entries=2, max_length=5)
    def upper(word: str) -> str:
        calls.append(word)
        return word.upper()

    for word in ("ab", "cd", "ab", "ef", "ab", "cd", "toolong", "toolong"):
        upper(word)
    assert calls == ["ab", "cd", "ef", "cd", "toolong", "toolong"]
    assert upper.cache_info().currsize == 2
