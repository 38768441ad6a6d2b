"""Greetings, thanks and goodbyes in Albanian and English, told apart from questions.

A message that is only small talk ("Përshëndetje!", "thank you so much") gets a polite
reply, not a "did you mean". A greeting or a thanks around a real question is cut off so
that the question alone is matched: its words would otherwise count as words the
knowledge base does not know and lower the score of the right entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process


def _split(text: str) -> list[str]:
    """Words of a whitespace-separated list (easier to read and edit than quoted items)."""
    return text.split()


SmallTalk = Literal["greeting", "thanks", "goodbye"]

# Phrases in folded form (bot.text.normalise): kind and language (None: said in both).
_PHRASES: Mapping[str, tuple[SmallTalk, str | None]] = {
    # English
    **dict.fromkeys(
        _split("""hi hello hey hiya howdy greetings yo good-morning good-afternoon good-evening
        good-day hi-there hello-there hey-there how-are-you how-are-you-doing
        how-is-it-going whats-up"""),
        ("greeting", "en"),
    ),
    **dict.fromkeys(
        _split("""thanks thank-you thank-u thx tnx thanks-a-lot many-thanks thank-you-very-much
        much-appreciated appreciated cheers"""),
        ("thanks", "en"),
    ),
    **dict.fromkeys(
        _split("""bye goodbye good-bye bye-bye see-you see-you-later see-ya good-night take-care
        have-a-nice-day have-a-good-day"""),
        ("goodbye", "en"),
    ),
    # Albanian
    **dict.fromkeys(
        _split("""pershendetje pershendes pershendetje-juve tung tungjatjeta mirdita miredita
        mire-dita mirembrema mire-mbrema miremengjes mire-mengjes ckemi c-kemi cpo-ben
        si-jeni si-je si-kalon si-kaloni"""),
        ("greeting", "sq"),
    ),
    **dict.fromkeys(
        _split("""faleminderit flm fleminderit rrofsh rrofshi ju-falenderoj falenderoj
        ju-faleminderit"""),
        ("thanks", "sq"),
    ),
    **dict.fromkeys(
        _split("""mirupafshim mirupafshim-se-shpejti shihemi naten-e-mire diten-e-mire
        dite-te-mbare gjithe-te-mirat"""),
        ("goodbye", "sq"),
    ),
    # Said in either language
    **dict.fromkeys(_split("hallo alo ciao salut hej"), ("greeting", None)),
}

# Words that may come with small talk without making it a question ("thanks a lot for
# your help", "shumë faleminderit për ndihmën").
_FILLERS = frozenset(
    _split("""ok okay oke okej mire shume very so much a lot again all for the your you help info
    information answer reply dear friend friends bot there everyone everybody great nice
    perfect super cool good ju juve per ndihmen ndihme informacionin informacion pergjigjen
    zoteri zonje te gjitha also too and dhe edhe""")
)

_LONGEST_PHRASE = max(phrase.count("-") + 1 for phrase in _PHRASES)
# Single-word phrases long enough for a typo to be recognised ("faleminderti").
_FUZZY_WORDS = [phrase for phrase in _PHRASES if "-" not in phrase and len(phrase) >= 6]
_FUZZY_CUTOFF = 85.0  # rapidfuzz ratio; one wrong or missing letter in a 6-12 letter word


@dataclass(frozen=True)
class SmallTalkReading:
    """What small talk a message holds, and what is left of it as a question."""

    kind: SmallTalk | None  # set when the message is only small talk
    lang: str | None  # the language the small talk was said in, if it tells
    question: list[str]  # the words of the question with the small talk cut off


# Which kind wins when a message holds several ("ok thanks, bye"): the reply to thanks
# ("you're welcome") suits a message that also says goodbye better than the reverse.
_PRIORITY: Mapping[SmallTalk, int] = {"thanks": 3, "goodbye": 2, "greeting": 1}


def read_small_talk(words: Sequence[str]) -> SmallTalkReading:
    """Split folded words into small talk and question.

    A message is small talk when every word is part of a known phrase or a filler word and
    at least one phrase is there. Otherwise the leading and trailing runs of small talk
    are cut off (greetings only from the start) and the rest is the question.
    """
    spans = _phrase_spans(words)
    found = [info for _start, _end, info in spans]
    covered = {index for start, end, _info in spans for index in range(start, end)}
    substantive = [
        index for index, word in enumerate(words) if index not in covered and word not in _FILLERS
    ]
    langs = {lang for _kind, lang in found if lang is not None}
    lang = langs.pop() if len(langs) == 1 else None
    if found and not substantive:
        kind = max((kind for kind, _lang in found), key=lambda k: _PRIORITY[k])
        return SmallTalkReading(kind, lang, [])
    if not found:
        return SmallTalkReading(None, None, list(words))
    first, last = substantive[0], substantive[-1]
    leading_talk = any(start < first for start, _end, _info in spans)
    # Only thanks and goodbyes are cut from the end: a trailing "greeting" is more likely
    # part of the question ("how do I write a greeting").
    trailing_talk = any(end > last and info[0] != "greeting" for _start, end, info in spans)
    start = first if leading_talk else 0
    end = last + 1 if trailing_talk else len(words)
    return SmallTalkReading(None, lang, list(words[start:end]))


def _phrase_spans(
    words: Sequence[str],
) -> list[tuple[int, int, tuple[SmallTalk, str | None]]]:
    spans = []
    index = 0
    while index < len(words):
        for size in range(min(_LONGEST_PHRASE, len(words) - index), 0, -1):
            info = _PHRASES.get("-".join(words[index : index + size]))
            if info is None and size == 1:
                info = _fuzzy_phrase(words[index])
            if info is not None:
                spans.append((index, index + size, info))
                index += size
                break
        else:
            index += 1
    return spans


def _fuzzy_phrase(word: str) -> tuple[SmallTalk, str | None] | None:
    if len(word) < 6:
        return None
    found = process.extractOne(word, _FUZZY_WORDS, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
    return _PHRASES[found[0]] if found else None
