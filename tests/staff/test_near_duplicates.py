"""The trigram index finds exactly the pairs an all-pairs comparison finds."""

from __future__ import annotations

import itertools
import random

from rapidfuzz import fuzz

from bot.staff.near_duplicates import close_pairs, connected

WORDS = [
    *("ku", "ndodhet", "zyra", "adresa", "telefoni", "numri", "email", "grant", "thirrje"),
    *("office", "address", "phone"),
]


def all_pairs(texts: list[str], similarity: float) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i, j in itertools.combinations(range(len(texts)), 2)
        if fuzz.ratio(texts[i], texts[j]) >= similarity
    ]


def typo(text: str, rng: random.Random) -> str:
    position = rng.randrange(len(text))
    return text[:position] + rng.choice("aeiouxyz") + text[position + 1 :]


def test_every_close_pair_is_found_as_by_comparing_all_pairs() -> None:
    rng = random.Random(25)
    texts: list[str] = []
    for _ in range(300):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
        texts.append(typo(words, rng) if texts and rng.random() < 0.5 else words)
    texts = list(dict.fromkeys(texts))
    for similarity in (80, 92):
        assert close_pairs(texts, similarity) == all_pairs(texts, similarity)


def test_short_texts_are_compared_with_every_text_of_a_possible_length() -> None:
    texts = ["tel", "tei", "nr", "email", "emial", "telefon"]
    assert close_pairs(texts, 60) == all_pairs(texts, 60)


def test_pairs_join_into_groups() -> None:
    assert connected([(0, 1), (1, 2), (4, 5)]) == [[0, 1, 2], [4, 5]]
