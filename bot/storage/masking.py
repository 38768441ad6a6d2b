"""Masking personal data in a question before it is logged.

E-mail addresses (also spelled out: "name at gmail dot com"), phone numbers (also with the
letter O typed for a zero: "O69 123 4567") and long numbers (identity card, tax and bank
numbers) become <email>, <phone> and <number>; everything else is kept, as reports need it.

Every pattern here runs in time linear in the text: a pattern that may scan far only
starts where a token starts (a look-behind rejects every other position at once), and no
pattern has two ways to match the same characters. A message of 4,096 characters costs at
most a few milliseconds whatever it holds (benchmarks/masking.py measures the worst inputs
found), which is still too much for the event loop: the question log masks in its writer
thread. Before, a run of word characters such as "_1" * 2048 made the e-mail and
long-number patterns quadratic (0.3 s per message).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from bot.core.text import normalise

EMAIL_PLACEHOLDER: Final = "<email>"
PHONE_PLACEHOLDER: Final = "<phone>"
NUMBER_PLACEHOLDER: Final = "<number>"

# "@", alone or in brackets, and the words people type instead of it ("et" is how
# Albanians read "@" out).
_AT: Final = r"(?:\s*@\s*|\s*[\[({<]\s*(?:@|at|et)\s*[\])}>]\s*)"
_DOT: Final = r"(?:\.|\s*[\[({<]\s*(?:\.|dot|pik[aeë])\s*[\])}>]\s*)"
# The local part starts where a run of address characters starts (the look-behind), so each
# run is scanned once from its start: linear in the text.
_EMAIL = re.compile(rf"(?<![\w.+-])[\w.+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)+", re.IGNORECASE)
# Spelled out with plain words: "arben at gmail dot com", "arben et gmail pika com". Plain
# "at" and "dot" are ordinary words, so the top-level domain must be letters (2-6), which
# keeps "meet at 9 dot 30" and "apply at the office" as they are.
_SPOKEN_DOT: Final = r"(?:\s+(?:dot|pik[aeë])\s+|\.)"
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.+-])[\w.+-]+\s+(?:at|et)\s+[\w-]+(?:{_SPOKEN_DOT}[\w-]+)*?"
    rf"{_SPOKEN_DOT}[a-z]{{2,6}}(?!\w)",
    re.IGNORECASE,
)
# Digits in groups separated by one space, dot, hyphen or slash, optionally led by "+" or an
# area code in brackets: "069 123 4567", "+355 69 123 4567", "(04) 2235569", "12.03.2024".
# A leading letter O stands for a zero ("O69 123 4567"). Each group must follow a separator,
# so the pattern cannot backtrack far, and it starts only where a token starts.
_DIGIT_GROUPS = re.compile(
    r"(?<![\w+])(?:\+\s?|\()?[Oo]?\d+\)?(?:(?:\s?[-./]\s?|\s)\(?\d+\)?)*(?!\w)"
)
_DATE = re.compile(r"\d{1,2}([./-])\d{1,2}\1\d{2,4}|\d{4}([./-])\d{1,2}\2\d{1,2}")
_KEPT_AS_IS = re.compile(
    r"<email>|<phone>|<number>|(?<![\w./-])(?:\d{1,2}([./-])\d{1,2}\1\d{2,4}"
    r"|\d{4}([./-])\d{1,2}\2\d{1,2})(?![\w])"
)
# A word holding five or more digits in a row: identity card and tax numbers (NIPT such as
# L12345678A), bank accounts, reference numbers. The look-behind makes it start only at a
# word's start, and the lazy scan stops at the word's end: linear.
_LONG_DIGIT_WORD = re.compile(r"(?<!\w)\w*?\d{5}\w*")
_LETTER_O = str.maketrans("Oo", "00")


def _classify_digits(found: str) -> str:
    """What a run of digit groups is: a phone number, another long number, or harmless."""
    if len(found) < 5:
        return found  # too short to hold a phone number or five digits: the common case
    as_digits = found.translate(_LETTER_O)
    digits = re.sub(r"\D", "", as_digits)
    stripped = found.strip("()")
    if _DATE.fullmatch(stripped):
        return found  # a date is useful in reports and identifies nobody
    count = len(digits)
    # Albanian numbers: national ones start with 0 (069 123 4567: 10 digits; 04 22 355 69:
    # 9), international ones with +355 or 00355; "+" leads any foreign number.
    is_phone = (
        (found.startswith("+") and 8 <= count <= 15)
        or (digits.startswith("00") and 10 <= count <= 15)
        or (digits.startswith("355") and 11 <= count <= 12)
        or (digits.startswith("0") and 8 <= count <= 11)
    )
    if is_phone:
        return PHONE_PLACEHOLDER
    longest_group = max(len(group) for group in re.findall(r"\d+", as_digits))
    # Nine or more digits in spaced groups is an account or card number; years ("2023 2024")
    # and amounts ("1 000 000") stay readable.
    if longest_group >= 5 or count >= 9:
        return NUMBER_PLACEHOLDER
    return found


def mask_personal_data(text: str) -> str:
    """The text with e-mail addresses, phone numbers and long numbers replaced by
    <email>, <phone> and <number>; the rest is kept, as reports need it."""
    text = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    text = _SPELLED_EMAIL.sub(EMAIL_PLACEHOLDER, text)
    text = _DIGIT_GROUPS.sub(lambda match: _classify_digits(match.group(0)), text)
    return _LONG_DIGIT_WORD.sub(NUMBER_PLACEHOLDER, text)


def clean_question_text(text: str) -> str:
    """What the log stores: personal data masked, then normalised (bot.core.text.normalise).

    Masking runs again on the normalised text because normalising can join what masking
    saw apart: "069, 123, 4567" or "069_123_4567" become "069 123 4567". Placeholders and
    dates are kept as they are (normalised, "12.03.2024" would read like digit groups).
    """
    # Compatibility forms first: a full-width "＠" or "．" would otherwise slip past the
    # e-mail pattern, and normalising would then turn them into spaces ("arben gmail com").
    masked = mask_personal_data(unicodedata.normalize("NFKC", text))
    pieces: list[str] = []
    position = 0
    for kept in _KEPT_AS_IS.finditer(masked):
        pieces.append(mask_personal_data(normalise(masked[position : kept.start()])))
        pieces.append(kept.group(0))
        position = kept.end()
    pieces.append(mask_personal_data(normalise(masked[position:])))
    return " ".join(" ".join(pieces).split())
