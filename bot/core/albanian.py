"""Albanian as people type it in chats, in Gheg and in Kosovo, read as standard Albanian.

The rules work on folded words (bot.core.text: lower case, "ë" -> "e", "ç" -> "c", other
accents dropped, so the Gheg nasal "â" of "âsht" is already "a"). Each word maps to one
word, so a question keeps its length and word order: the matcher can still tell which
word a user typed. What the rules leave out on purpose, and why, is in
tests/core/test_albanian.py: a form that is also a real word of English or of standard
Albanian ("due", "ban", "jan", "s") would change questions it should not touch.

Dropped final "ë" ("zyr", "pun", "rrug") needs no rule: the Albanian stemmer removes a
final "e" anyway, so "zyr" and "zyre" meet; a rule would only risk English words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# Gheg and Kosovo forms of common words, by their standard form. Each line is one rule.
_STANDARD_FORMS: Mapping[str, tuple[str, ...]] = {
    # "is": Gheg "âsht"/"asht", Kosovo "osht".
    "eshte": ("asht", "ashte", "osht", "oshte"),
    # "you have", "we have": Gheg -ini/-ena for -eni/-emi ("ku e kini zyren").
    "keni": ("kini",),
    "kemi": ("kena",),
    # "you are", "we are".
    "jeni": ("jini",),
    "jemi": ("jena",),
    # "one, a": Gheg/Kosovo "nji", "njo", chat "ni".
    "nje": ("nji", "njo", "ni"),
    # "now": Gheg and Kosovo "tash", "tashti", "tashi".
    "tani": ("tash", "tashti", "tashi"),
    # "me" (object): Gheg "mu" ("me duhet mu").
    "mua": ("mu",),
    # "what": Kosovo "qka", Gheg "cka", chat "cfar"/"qfare"; "ca" only at the start (below).
    "cfare": ("cka", "qka", "cfar", "qfare", "qfar", "cfr"),
    # "how": Gheg and Kosovo "qysh", "qishe".
    "si": ("qysh", "qishe"),
    # "I want": Gheg "du" ("du me fol").
    "dua": ("du",),
    # "your": Gheg "juej", "jueji", "jueja".
    "juaj": ("juej", "jueji"),
    "juaja": ("jueja",),
    # "your" (yours, plural things): Kosovo chat "tuja", "tujat".
    "tuaja": ("tuja",),
    "tuajat": ("tujat",),
    # "from": Gheg and Kosovo "prej" where standard Albanian writes "nga".
    "nga": ("prej",),
    # "does/makes": Gheg "bon", "bo", "ban" stays out: it is an English word.
    "ben": ("bon", "bone", "bo"),
    # "is located": Gheg "gjindet" with "i" for the standard "e".
    "gjendet": ("gjindet",),
    "gjendeni": ("gjindeni",),
    # "there is / where": Gheg "kah" (from which side) asks where.
    "ku": ("kah",),
    # "of/at" after a dropped "ë": the apostrophe forms "t'", "n'" ("n zyre", "t amshc").
    "ne": ("n",),
}

# Chat abbreviations. They are written alike in English chats ("tel nr pls"), so they are
# no clue to the language: `LANGUAGE_NEUTRAL` lists them for the language guess.
_ABBREVIATIONS: Mapping[str, str] = {
    "nr": "numri",  # "nr tel", "Nr. 58"
    "tel": "telefon",
    "telin": "telefonin",  # the abbreviation inflected: "numrin e telit"
    "telit": "telefonit",
    "flm": "faleminderit",  # thanks
    "flmn": "faleminderit",
    "fmn": "faleminderit",
    "rrug": "rruge",  # "rrug." for street
    "rr": "rruga",  # "Rr. Frosina Plaku"
    "plz": "pls",  # one spelling of "please" for both languages
    "pliz": "pls",
}
LANGUAGE_NEUTRAL = frozenset(_ABBREVIATIONS)


def _words(text: str) -> list[str]:
    """Words of a whitespace-separated list (easier to read and edit than quoted items)."""
    return text.split()


_WORD_FORMS: dict[str, str] = {
    variant: standard for standard, variants in _STANDARD_FORMS.items() for variant in variants
}
_WORD_FORMS.update(_ABBREVIATIONS)

# "t" is "të" with its "ë" dropped ("t amshc"), except after an English contraction cut at
# the apostrophe ("don't" folds to "don t").
_ENGLISH_BEFORE_T = frozenset(
    _words("don can isn doesn didn won aren wasn weren couldn shouldn wouldn haven hasn hadn ain")
)

# "ca" at the start of a question is Gheg "what" ("ca bon agjencia"); elsewhere it is the
# standard "some" ("kam ca pyetje") and stays.
_FIRST_WORD_FORMS: Mapping[str, str] = {"ca": "cfare"}

# After these words a Gheg participle follows: the infinitive "me aplikue" (standard "të
# aplikoj"), the passive "u regjistru", the perfect "osht kriju", "kam pas".
_BEFORE_PARTICIPLE = frozenset(_words("me u eshte jane jam je jemi jeni ka kam ke kemi keni kane"))
# Short Gheg participles that no suffix rule reaches: "me ba" (to do), "me pas" (to have).
_IRREGULAR_PARTICIPLES: Mapping[str, str] = {
    "ba": "bere",
    "bo": "bere",
    "bere": "bere",
    "thane": "thene",
    "dhane": "dhene",
    "pas": "pasur",
    "fol": "folur",
    "ardh": "ardhur",
    "gjet": "gjetur",
    "dit": "ditur",
    "marr": "marre",
}
# Words ending like a participle that are not one: standard Albanian "ashtu" (so), and
# English words in "-ue" ("help me continue", "tell me the value"), which "me" precedes
# in English too. English "-gue"/"-que" words ("league", "unique") are left alone below.
_NOT_PARTICIPLES = frozenset(
    _words("""ashtu keshtu atu ketu blue clue true glue due sue issue tissue value venue revenue
    avenue continue queue argue pursue rescue statue virtue""")
)
_MIN_PARTICIPLE = 5  # "ju", "ku", "tu", "atu" are not participles
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")


def _participle(word: str) -> str:
    """A Gheg participle in its standard form: aplikue -> aplikuar, regjistru -> regjistruar,
    pasun -> pasur; anything else unchanged."""
    irregular = _IRREGULAR_PARTICIPLES.get(word)
    if irregular is not None:
        return irregular
    if len(word) < _MIN_PARTICIPLE - 1 or word in _NOT_PARTICIPLES:
        return word
    if word.endswith("ue") and not word.endswith(("gue", "que")):  # "aplikue", "punue"
        return word[:-2] + "uar"
    # Gheg -un for -ur ("pasun", "ardhun"); not after k or g, where "-un" is the definite
    # accusative of a noun ("me publikun", with the public; "me shokun").
    if len(word) >= _MIN_PARTICIPLE and word.endswith("un") and word[-3] not in "kg":
        return word[:-2] + "ur"
    if len(word) >= _MIN_PARTICIPLE and word.endswith("u"):  # Kosovo drops "-ar": "kriju"
        return word + "ar"
    return word


def _collapse(match: re.Match[str]) -> str:
    letter = match.group(1)
    if letter == "w":  # "www" of a web address
        return match.group(0)
    # "ll" and "rr" are letters of their own in Albanian: "rrrruga" is "rruga".
    return letter * 2 if letter in "lr" else letter


def standard_albanian(words: Sequence[str]) -> list[str]:
    """Folded words with chat, Gheg and Kosovo forms read as standard Albanian, one for one."""
    result: list[str] = []
    previous = ""
    for position, typed in enumerate(words):
        # Letters held down for emphasis ("faleminderittt", "pleeease"): three or more of a
        # letter are one (two for l and r). Two stay: "need", "book", "rr", "ll".
        word = _REPEATS.sub(_collapse, typed) if len(typed) > 2 else typed
        if position == 0 and word in _FIRST_WORD_FORMS:
            word = _FIRST_WORD_FORMS[word]
        elif word == "t" and previous not in _ENGLISH_BEFORE_T:
            word = "te"
        elif previous in _BEFORE_PARTICIPLE and _participle(word) != word:
            word = _participle(word)
        else:
            word = _WORD_FORMS.get(word, word)
        result.append(word)
        previous = word
    return result
