"""Text normalisation shared by the matcher, the question log and the evaluation."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+")
_FOLD = str.maketrans({"ë": "e", "ç": "c", "Ë": "e", "Ç": "c"})


def fold_diacritics(text: str) -> str:
    """Lower-case and strip accents: 'Çfarë' -> 'cfare'."""
    text = text.translate(_FOLD).lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str) -> str:
    """Folded text with punctuation turned to single spaces."""
    return " ".join(_NON_WORD.sub(" ", fold_diacritics(text)).replace("_", " ").split())


def tokens(text: str) -> list[str]:
    return normalise(text).split()
