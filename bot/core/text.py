"""Text normalisation shared by the matcher, the question log and the evaluation.

Everything is compared in a folded form: lower case, Albanian "ë" and "ç" written as "e"
and "c" (users often type without them), other accents dropped, punctuation turned to
spaces.
"""

from __future__ import annotations

import re
import unicodedata

from bot.core.albanian import standard_albanian
from bot.core.word_cache import word_cache

_NON_WORD = re.compile(r"[^\w]+")
_FOLD = str.maketrans({"ë": "e", "ç": "c", "Ë": "e", "Ç": "c"})
# Letters that only Albanian (of the bot's languages) writes; a clue to the language.
ALBANIAN_LETTERS = frozenset("ëçËÇ")

# Character n-grams are taken within words, padded with a space on each side so that a
# word's start and end count as their own n-grams: " adr", "esa ". The notes measured
# lengths 3-5 (../shared/docs/matching-notes.md); within this matcher 3-4 did as well
# on CLINC150 validation (top-1 75.9% against 75.7%) for a fifth less work per question.
NGRAM_SIZES = (3, 4)


def fold_diacritics(text: str) -> str:
    """Lower-case and strip accents: 'Çfarë' -> 'cfare'."""
    text = text.translate(_FOLD).lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str) -> str:
    """Folded text with punctuation turned to single spaces, and chat, Gheg and Kosovo
    Albanian read as standard Albanian (bot.core.albanian): "ku osht zyra" -> "ku eshte zyra"."""
    return " ".join(standard_albanian(typed_words(text)))


def typed_words(text: str) -> list[str]:
    """The folded words as typed, before the chat and dialect forms are read."""
    return _NON_WORD.sub(" ", fold_diacritics(text)).replace("_", " ").split()


def tokens(text: str) -> list[str]:
    return normalise(text).split()


# At most ~4 KB per kept word (a 32-letter word has 63 n-grams): about 16 MB at worst.
@word_cache(max_entries=4096)
def char_ngrams(word: str) -> tuple[str, ...]:
    """The 3- and 4-character n-grams of one folded word, with its boundaries marked."""
    padded = f" {word} "
    return tuple(
        padded[start : start + size]
        for size in NGRAM_SIZES
        for start in range(len(padded) - size + 1)
    )
