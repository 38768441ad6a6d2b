"""Normalisation, n-grams and stemming: the ground the matcher stands on."""

from __future__ import annotations

import pytest

from bot.core.language import stem_albanian, stem_english
from bot.core.text import char_ngrams, fold_diacritics, normalise, tokens


def test_albanian_letters_are_written_plainly() -> None:
    assert fold_diacritics("Çfarë është AMSHC?") == "cfare eshte amshc?"


def test_other_accents_are_dropped_too() -> None:
    assert fold_diacritics("Café Führer") == "cafe fuhrer"


def test_punctuation_and_spacing_do_not_matter() -> None:
    assert normalise("  Ku   ndodhet zyra?!  ") == "ku ndodhet zyra"
    assert normalise("Ku ndodhet zyra") == normalise("ku ndodhet zyra???")


def test_apostrophes_and_hyphens_split_words() -> None:
    # "t'" is "të" with its "ë" elided, and is read as such (bot.core.albanian).
    assert tokens("Si t'ju kontaktoj? E-mail") == ["si", "te", "ju", "kontaktoj", "e", "mail"]


def test_underscores_are_not_word_characters() -> None:
    assert tokens("ngo_registration") == ["ngo", "registration"]


@pytest.mark.parametrize("text", ["", "   ", "?!...", "🙂👍"])
def test_text_without_words_has_no_tokens(text: str) -> None:
    assert tokens(text) == []


def test_character_ngrams_mark_where_a_word_starts_and_ends() -> None:
    assert char_ngrams("ku") == (" ku", "ku ", " ku ")
    grams = char_ngrams("adresa")
    assert " adr" in grams
    assert "esa " in grams


def test_a_typo_keeps_most_character_ngrams() -> None:
    right, typo = set(char_ngrams("regjistrim")), set(char_ngrams("regjstrim"))
    assert len(right & typo) >= len(right) / 2


@pytest.mark.parametrize(
    "forms",
    [
        ("regjistrim", "regjistrimi", "regjistrimin", "regjistrohem", "regjistruar"),
        ("telefoni", "telefonit", "telefonin"),
        ("zyra", "zyres", "zyren"),
        ("adresa", "adresen", "adreses"),
        ("organizata", "organizates", "organizatave"),
    ],
)
def test_albanian_inflections_share_a_stem(forms: tuple[str, ...]) -> None:
    assert len({stem_albanian(form) for form in forms}) == 1


@pytest.mark.parametrize("word", ["ku", "si", "ojf", "kur"])
def test_short_albanian_words_are_left_whole(word: str) -> None:
    assert stem_albanian(word) == word


def test_english_inflections_share_a_stem() -> None:
    assert stem_english("grants") == stem_english("grant")
    assert stem_english("offices") == stem_english("office")
    assert stem_english("registering") == stem_english("registered")
