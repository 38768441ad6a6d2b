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

# Phrases in folded form (bot.core.text.normalise): kind and language (None: said in both).
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
    # "ok" after an answer acknowledges it, as thanks do; alone it is no question
    **dict.fromkeys(_split("ok okay oke okej"), ("thanks", None)),
}

# Words that may come with small talk without making it a question ("thanks a lot for
# your help", "shumë faleminderit për ndihmën").
_FILLERS = frozenset(
    _split("""ok okay oke okej mire shume very so much a lot again all for the your you help info
    information answer reply dear friend friends bot there everyone everybody great nice
    perfect super cool good ju juve per ndihmen ndihme informacionin informacion pergjigjen
    zoteri zonje te gjitha also too and dhe edhe me out today time chat chatting talk
    talking helped helping assist assistance ve ndihmuat ndihmove koha kohen""")
)

# Words that announce a question rather than ask it ("desha me pyt, a mundem me aplikue",
# "I wanted to ask: ..."). Cut off at the start, after any greeting: unknown to the
# knowledge base, they would lower every entry's score and turn an answer into a "did you
# mean". A message made of nothing else is left as it is.
_LEAD_INS = tuple(
    tuple(phrase.split("-"))
    for phrase in _split("""desha-me-pyt desha-me-pyet desha-me-ju-pyet desha-me-ju-pyt
    desha-te-pyes desha-t-ju-pyes desha-te-ju-pyes dua-te-pyes dua-te-ju-pyes doja-te-pyes
    doja-te-pyesja doja-te-ju-pyesja kam-nje-pyetje kisha-nje-pyetje nje-pyetje
    me-falni me-fal a-mund-te-pyes a-mund-t-ju-pyes i-wanted-to-ask i-want-to-ask
    i-would-like-to-ask i-d-like-to-ask id-like-to-ask i-have-a-question quick-question
    a-question can-i-ask may-i-ask excuse-me sorry""")
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
    at least one phrase is there. Otherwise small talk at the start (with the filler words
    around it) and thanks or goodbyes at the end are cut off, and the rest is the
    question. Only the two ends are read, so a long question costs no more than a short.
    """
    leading, start = _leading_talk(words)
    if leading and start == len(words):
        kind = max((kind for kind, _lang in leading), key=lambda k: _PRIORITY[k])
        return SmallTalkReading(kind, _language_of(leading), [])
    trailing, end = _trailing_talk(words, start)
    # A trailing greeting is more likely part of the question ("how do I write a greeting").
    if not any(kind != "greeting" for kind, _lang in trailing):
        trailing, end = [], len(words)
    if not leading:
        start = 0
    start = _after_lead_ins(words, start, end)
    return SmallTalkReading(None, _language_of(leading + trailing), list(words[start:end]))


def _after_lead_ins(words: Sequence[str], start: int, end: int) -> int:
    """Where the question starts once words announcing it are cut off (if any remain)."""
    index = start
    while index < end:
        lead_in = next((p for p in _LEAD_INS if tuple(words[index : index + len(p)]) == p), None)
        if lead_in is None:
            break
        index += len(lead_in)
    return index if index < end else start


_Phrase = tuple[SmallTalk, str | None]
_FIRST_WORDS = frozenset(phrase.split("-")[0] for phrase in _PHRASES)
_LAST_WORDS = frozenset(phrase.split("-")[-1] for phrase in _PHRASES)


def _leading_talk(words: Sequence[str]) -> tuple[list[_Phrase], int]:
    """The phrases at the start of a message, and where the run of small talk ends."""
    found: list[_Phrase] = []
    index = 0
    while index < len(words):
        size, phrase = _phrase_at(words, index, len(words))
        if phrase is not None:
            found.append(phrase)
            index += size
        elif words[index] in _FILLERS:
            index += 1
        else:
            break
    return found, index


def _trailing_talk(words: Sequence[str], floor: int) -> tuple[list[_Phrase], int]:
    """The phrases at the end of a message (after `floor`), and where that run starts."""
    found: list[_Phrase] = []
    index = len(words)
    while index > floor:
        size, phrase = _phrase_ending_at(words, index, floor)
        if phrase is not None:
            found.append(phrase)
            index -= size
        elif words[index - 1] in _FILLERS:
            index -= 1
        else:
            break
    return found, index


def _phrase_at(words: Sequence[str], start: int, end: int) -> tuple[int, _Phrase | None]:
    """The longest phrase starting at `start` (and ending by `end`): (its length, phrase)."""
    if words[start] in _FIRST_WORDS:
        for size in range(min(_LONGEST_PHRASE, end - start), 0, -1):
            phrase = _PHRASES.get("-".join(words[start : start + size]))
            if phrase is not None:
                return size, phrase
    return 1, _fuzzy_phrase(words[start])


def _phrase_ending_at(words: Sequence[str], end: int, floor: int) -> tuple[int, _Phrase | None]:
    """The longest phrase ending just before `end` (starting at `floor` or later)."""
    if words[end - 1] in _LAST_WORDS:
        for size in range(min(_LONGEST_PHRASE, end - floor), 0, -1):
            phrase = _PHRASES.get("-".join(words[end - size : end]))
            if phrase is not None:
                return size, phrase
    return 1, _fuzzy_phrase(words[end - 1])


def _language_of(phrases: Sequence[_Phrase]) -> str | None:
    languages = {lang for _kind, lang in phrases if lang is not None}
    return languages.pop() if len(languages) == 1 else None


def _fuzzy_phrase(word: str) -> _Phrase | None:
    if len(word) < 6:
        return None
    found = process.extractOne(word, _FUZZY_WORDS, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
    return _PHRASES[found[0]] if found else None
