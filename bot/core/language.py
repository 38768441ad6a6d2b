"""What the matcher knows about each language: function words, stemmers, language clues.

Everything here works on folded words (see bot.core.text): "është" is "eshte", "çfarë" "cfare".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import snowballstemmer
from rapidfuzz import fuzz, process

from bot.core.text import ALBANIAN_LETTERS, typed_words
from bot.core.word_cache import MAX_WORD_LENGTH, word_cache


def _split(text: str) -> list[str]:
    """Words of a whitespace-separated list (easier to read and edit than quoted items)."""
    return text.split()


# Short, frequent words that tell a question's language but not its subject. They are
# not deleted before matching (in short questions they carry intent, and inverse
# document frequency already keeps them from driving a match); they are used to guess
# the language and to notice a question made of nothing else ("what is the").
# "pls" is in both lists, since Albanian chats write it too: it tells no language. Chat
# fillers ("guys", "wanna", "ma") are here so that, unknown to the knowledge base, they
# stay silent instead of counting against the question.
FUNCTION_WORDS: Mapping[str, frozenset[str]] = {
    "en": frozenset(
        _split("""a about after all also am an and any are as at be been before but by can could
        did do does for from get give go got had has have he her here his how i if in into is
        it its just know let like many may me might more most much must my need no not now
        of on or our out please she should so some tell than that the their them then there
        these they this those to too up us very want was we were what when where which who
        whom whose why will with would yes you your yours u ur r pls im guys wanna gonna ya""")
    ),
    "sq": frozenset(
        _split("""a ai ajo apo ashtu ata ato atje atyre bej bejme deri desha dhe do dua duam duhet
        e edhe eshte i jam jane je jemi jeni jo ju juaj juve ka kam kane ke kemi keni kete
        ketu keto kjo ku kur kush ky me mbi me mua mund mundem mundet mundemi ndonje ne
        nese neve nga nje nuk ose pa pak per po pse qe sa saj se si shume ta te tek tij tuaj
        une vetem cfare cila cilat cili cilet im nqs suaj tuaja tani ben ma pls""")
    ),
}

# Albanian has no Snowball stemmer. This light one strips the commonest noun and verb
# endings so that inflected forms meet: regjistrim/regjistrimi/regjistrohem/regjistruar ->
# "regjistr", telefoni/telefonit -> "telefon", zyra/zyres/zyren -> "zyr". Longest ending
# first; the stem keeps at least three letters. The imperative "-oni" (kontaktoni) is left
# out: it would cut the many nouns in "-on" (telefoni, misioni, informacioni) short. What
# the stemmer misses, character n-grams and the typo mapping still catch.
_ALBANIAN_ENDINGS = tuple(
    sorted(
        _split("""imeve imet imit imin imi ime im uara uari uar ohesh ohemi oheni ohem ohet ohen
        ojme ojne oj jeve jes jen jet je ja ise ine ia ave eve ve it in ut un es en et at
        i a e u o"""),
        key=len,
        reverse=True,
    )
)
_MIN_STEM = 3


# A kept word and its stem are at most 32 letters each: about 1 MB at worst.
@word_cache(max_entries=4096)
def stem_albanian(word: str) -> str:
    for ending in _ALBANIAN_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


_english = snowballstemmer.stemmer("english")


@word_cache(max_entries=4096)
def stem_english(word: str) -> str:
    stem: str = _english.stemWord(word)
    return stem


def _no_stemming(word: str) -> str:
    return word


_STEMMERS: Mapping[str, Callable[[str], str]] = {"en": stem_english, "sq": stem_albanian}


def stemmer_for(lang: str) -> Callable[[str], str]:
    """The stemmer of a language; languages without one compare whole words."""
    return _STEMMERS.get(lang, _no_stemming)


_ALL_FUNCTION_WORDS = frozenset().union(*FUNCTION_WORDS.values())
# The one language a function word belongs to; words of several ("a", "me", "do") are left
# out, since they tell nothing.
_FUNCTION_WORD_OWNER = {
    word: lang
    for lang, words in FUNCTION_WORDS.items()
    for word in words
    if sum(word in other for other in FUNCTION_WORDS.values()) == 1
}


# Function words of more than one language ("a", "me", "i", "do"): no clue to the language,
# however often one language's variants happen to use them.
_SHARED_FUNCTION_WORDS = frozenset(_ALL_FUNCTION_WORDS - _FUNCTION_WORD_OWNER.keys())


def is_function_word(word: str) -> bool:
    return word in _ALL_FUNCTION_WORDS


# How much each kind of clue counts when guessing the language of a question.
_LETTER_VOTE = 2.0  # "ë" or "ç" typed: only Albanian writes them
_FUNCTION_WORD_VOTE = 1.0  # a function word of one language only ("is", "eshte")
_KNOWLEDGE_WORD_VOTE = 1.0  # a word seen in the knowledge base's variants of one language


def guess_language(
    text: str,
    words: Iterable[str],
    word_languages: Callable[[str], Mapping[str, float] | None],
) -> str | None:
    """The language of a question, from its letters and words, or None without a clue.

    `word_languages(word)` tells in which languages' question variants a word was seen,
    as shares that add up to 1 (empty for a word the knowledge base does not have).
    Words of both languages ("a", "me", "do") count for neither. Without any clue, a short
    question is read as a whole (see `_short_question_language`).
    """
    votes: dict[str, float] = {}
    if not ALBANIAN_LETTERS.isdisjoint(text):
        votes["sq"] = _LETTER_VOTE
    for word in words:
        owner = _FUNCTION_WORD_OWNER.get(word)
        if owner is not None:
            votes[owner] = votes.get(owner, 0.0) + _FUNCTION_WORD_VOTE
        if word in _SHARED_FUNCTION_WORDS:
            continue
        for lang, share in (word_languages(word) or {}).items():
            votes[lang] = votes.get(lang, 0.0) + _KNOWLEDGE_WORD_VOTE * share
    if not votes:
        return _short_question_language(text, word_languages)
    ranked = sorted(votes.items(), key=lambda item: -item[1])
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < 1e-9:
        return None  # as much for one language as for the other
    return ranked[0][0]


# Up to this many words, a question with no clue is read as a whole: "phone number pls" and
# "email pls" are English, though glossary words ("phone", "email") and "pls" tell nothing
# one by one (Albanian writes them too).
_SHORT_QUESTION_WORDS = 4


def _short_question_language(
    text: str, word_languages: Callable[[str], Mapping[str, float] | None]
) -> str | None:
    """The language of a short question whose words, as typed, the knowledge base's variants
    all write and whose clear words all belong to one language; otherwise None.

    A word no variant writes ("tel", "nr", a name) leaves the question without a language,
    so that the user's choice or Telegram's language decides, as before.
    """
    words = typed_words(text)
    if not words or len(words) > _SHORT_QUESTION_WORDS:
        return None
    languages: set[str] = set()
    for word in words:
        shares = word_languages(word)
        if shares is None:
            return None
        languages.update(lang for lang, share in shares.items() if share >= _CLEAR_SHARE)
    return languages.pop() if len(languages) == 1 else None


# A word seen in the question variants of several languages is a clue only when one of them
# writes it nearly always: "grant" (67% of its variants English, the rest Albanian: "një
# grant") tells nothing, "grante" (Albanian only) does.
_CLEAR_SHARE = 0.8
# A word written in no variant may be a typo of one ("numbr" for "number"): it is a clue
# when it is at least this close (rapidfuzz ratio) to one word of a single language.
_TYPO_CLUE_CUTOFF = 80.0
_MIN_TYPO_CLUE_LENGTH = 4
_TYPO_CLUE_CACHE_SIZE = 4096  # words of at most MAX_WORD_LENGTH letters: well under 1 MB


class WordLanguages:
    """In which languages a question word is written, from the variants as staff typed them.

    The search index knows words as stems and glossary groups, where "grant" and "grante"
    or "number" and "numri" become one term of both languages; the language of a reply is
    better told by the surface words.
    """

    def __init__(self, variants_by_language: Mapping[str, Iterable[Iterable[str]]]) -> None:
        """`variants_by_language[lang]` yields each variant's words, folded and read."""
        counts: dict[str, dict[str, int]] = {}
        for lang, variants in variants_by_language.items():
            for words in variants:
                for word in set(words):
                    seen = counts.setdefault(word, {})
                    seen[lang] = seen.get(lang, 0) + 1
        self._shares: dict[str, dict[str, float]] = {}
        for word, seen in counts.items():
            total = sum(seen.values())
            shares = {lang: n / total for lang, n in seen.items()}
            if max(shares.values()) >= _CLEAR_SHARE:
                self._shares[word] = shares
            else:
                self._shares[word] = {}  # known, but of no one language
        # An inflection no variant writes ("grantave") tells the language whose stemmer
        # leads it to the stem of a word of that language.
        self._stems = {
            lang: frozenset(
                stemmer_for(lang)(word)
                for word, shares in self._shares.items()
                if shares.get(lang, 0.0) >= _CLEAR_SHARE
            )
            for lang in variants_by_language
        }
        # With one language, a word it does not write tells nothing: no typo search.
        self._bilingual = len(self._stems) > 1
        # Clear words by length: fuzz.ratio >= 80 needs lengths within a factor of 1.5, so
        # a typo is looked for among words of about its length, not the whole vocabulary.
        self._clear_by_length: dict[int, list[str]] = {}
        for word in sorted(word for word, shares in self._shares.items() if shares):
            self._clear_by_length.setdefault(len(word), []).append(word)
        self._typo_clues: dict[str, Mapping[str, float] | None] = {}

    def __call__(self, word: str) -> Mapping[str, float] | None:
        """The word's languages as shares; empty for a word of several languages, None for
        one that no variant writes, inflects or resembles."""
        shares = self._shares.get(word)
        if shares is not None:
            return shares
        if (
            not self._bilingual
            or len(word) < _MIN_TYPO_CLUE_LENGTH
            or word.isdigit()
            or is_function_word(word)
        ):
            return None
        typo = self._typo_clue(word)
        if typo is not None:
            return typo
        inflected = [
            lang
            for lang, stems in self._stems.items()
            if (stem := stemmer_for(lang)(word)) != word and stem in stems
        ]
        if inflected:
            return dict.fromkeys(inflected, 1 / len(inflected))
        return None

    def _typo_clue(self, word: str) -> Mapping[str, float] | None:
        if word in self._typo_clues:
            return self._typo_clues[word]
        size = len(word)
        near = [
            candidate
            for length in range(math.ceil(size / 1.5), math.floor(size * 1.5) + 1)
            for candidate in self._clear_by_length.get(length, ())
        ]
        found = process.extractOne(word, near, scorer=fuzz.ratio, score_cutoff=_TYPO_CLUE_CUTOFF)
        # A typo counts as much as it is close: "numbr" (91% of "number") a little more
        # than "fone" (89% of "fonde").
        clue = (
            {lang: share * found[1] / 100 for lang, share in self._shares[found[0]].items()}
            if found is not None
            else None
        )
        if len(word) > MAX_WORD_LENGTH:
            return clue
        if len(self._typo_clues) >= _TYPO_CLUE_CACHE_SIZE:
            self._typo_clues.clear()
        self._typo_clues[word] = clue
        return clue
