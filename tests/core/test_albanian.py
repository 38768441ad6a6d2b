"""Chat, Gheg and Kosovo Albanian read as standard Albanian (bot.core.albanian), and the
forms left out on purpose because they are real words of English or standard Albanian."""

from __future__ import annotations

import pytest

from bot.core.language import stem_albanian
from bot.core.text import normalise


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("ku osht zyra", "ku eshte zyra"),  # Kosovo "osht"
        ("cka asht amshc", "cfare eshte amshc"),  # Gheg "asht", "cka"
        ("âsht", "eshte"),  # the Gheg nasal â
        ("qka osht kjo", "cfare eshte kjo"),  # Kosovo "qka"
        ("ku e kini zyren", "ku e keni zyren"),  # Gheg -ini
        ("a ka nji thirrje tash", "a ka nje thirrje tani"),
        ("me duhet mu", "me duhet mua"),
        ("qysh aplikohet", "si aplikohet"),
        ("ku gjindet zyra juej", "ku gjendet zyra juaj"),
        ("si me aplikue", "si me aplikuar"),  # the Gheg infinitive, participle in -ue
        ("si me u regjistru", "si me u regjistruar"),  # Kosovo participle without -ar
        ("me cilin ligj osht kriju amshc", "me cilin ligj eshte krijuar amshc"),
        ("me pasun", "me pasur"),  # participle in -un
        ("du me fol", "dua me folur"),
        ("nr tel", "numri telefon"),  # chat abbreviations
        ("flm shumeee", "faleminderit shume"),  # letters held down
        ("rr. Frosina Plaku", "rruga frosina plaku"),
        ("n cilen rrug", "ne cilen rruge"),
        ("adresa t amshc", "adresa te amshc"),
    ],
)
def test_chat_and_dialect_forms_read_as_standard_albanian(typed: str, read: str) -> None:
    assert normalise(typed) == read


def test_the_rules_do_not_change_what_they_already_read() -> None:
    # The index normalises variants that were normalised once already (glossary).
    for typed in ("si me aplikue", "ku osht zyra", "flm shumeee", "me pasun", "n cilen rrug"):
        once = normalise(typed)
        assert normalise(once) == once


def test_a_dropped_final_e_needs_no_rule_the_stemmer_meets_it() -> None:
    assert stem_albanian(normalise("zyr")) == stem_albanian(normalise("zyrë"))
    assert stem_albanian(normalise("rrug")) == stem_albanian(normalise("rrugë"))


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        # English words a Gheg rule would change: "due" (Gheg "dua"), "ban" (Gheg "bën").
        ("when is the application due", "English 'due' is a deadline"),
        ("is there a ban on that", "English 'ban'"),
        ("help me continue", "'me' precedes English '-ue' words too"),
        ("tell me the value", "English 'value' after 'me'"),
        ("join the league", "English '-gue' words"),
        # English contractions split at the apostrophe: "don't" is "don t", not "don të".
        ("i don't know", "the 't' of don't"),
        ("need a good book", "two equal letters are words of their own"),
    ],
)
def test_english_is_left_alone(typed: str, why: str) -> None:
    assert normalise(typed) == " ".join(typed.lower().replace("'", " ").split()), why


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("kam ca pyetje", "'ca' is standard 'some' except first in a question"),
        ("eshte ashtu", "'ashtu' (so) is no participle"),
        ("jan 2025", "'jan' (January) is no rule: the stemmer meets 'jan' and 'jane'"),
        ("rruga", "'rr' and 'll' are letters of their own, never collapsed"),
        ("me ju", "'ju' (you) is no participle"),
    ],
)
def test_standard_albanian_is_left_alone(typed: str, why: str) -> None:
    assert normalise(typed) == typed, why


def test_ca_at_the_start_of_a_question_is_what() -> None:
    assert normalise("ca bon agjencia") == "cfare ben agjencia"


def test_a_noun_in_the_accusative_after_me_is_not_read_as_a_participle() -> None:
    # "me publikun" is "with the public"; "-un" after k or g is a noun's ending.
    assert normalise("takim me publikun") == "takim me publikun"
    assert normalise("me shokun") == "me shokun"


def test_web_addresses_keep_their_www() -> None:
    assert normalise("www.amshc.gov.al") == "www amshc gov al"


# The only words of the real knowledge base's questions that the rules rewrite, and why
# each is right. A new rule that rewrites another word staff wrote (a collision with a word
# of the knowledge base) fails here and must be left out or narrowed.
EXPECTED_REWRITES_IN_FAQ = {
    ("t", "te"),  # "t'ju kontaktoj": the elided "të"
    ("nr", "numri"),  # "nr i telefonit"
    ("tel", "telefon"),
    ("cfar", "cfare"),  # chat spellings of "çfarë" that staff copied from users
    ("cka", "cfare"),
    ("bon", "ben"),  # Gheg "bën"
}


def test_the_rules_rewrite_no_other_word_of_the_knowledge_base() -> None:
    from pathlib import Path

    from bot.config import load_settings
    from bot.core.albanian import standard_albanian
    from bot.core.knowledge_state import build_knowledge
    from bot.core.text import typed_words

    repo = Path(__file__).resolve().parents[2]
    knowledge = build_knowledge(load_settings(repo / "config.yaml", environ={})).knowledge
    rewrites = {
        (typed, read)
        for entry in knowledge
        for variants in entry.questions.values()
        for variant in variants
        for typed, read in zip(
            typed_words(variant), standard_albanian(typed_words(variant)), strict=True
        )
        if typed != read
    }
    assert rewrites <= EXPECTED_REWRITES_IN_FAQ, rewrites - EXPECTED_REWRITES_IN_FAQ
