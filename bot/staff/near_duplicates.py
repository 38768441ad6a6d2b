"""Finds questions that are (almost) the same without comparing every pair.

At 15,000 question variants, comparing each with every other took lint 14 seconds; through
an index of character trigrams a text is compared only with the few that could be alike.
"""

from __future__ import annotations

import math

from rapidfuzz import fuzz, process

# Bounds are rounded outwards by this much: 3 * 1.4 / 0.6 is 6.999... in floating point.
_ROUNDING = 1e-9


def close_pairs(texts: list[str], similarity: float) -> list[tuple[int, int]]:
    """Pairs (i < j) of distinct texts at least `similarity` alike (0-100, rapidfuzz ratio).

    No all-pairs comparison: texts are indexed by their character trigrams, and a text is
    compared only with those sharing one of its rarest trigrams. That finds every pair: a
    text's Indel distance to a text this alike is at most `edits`, each edit removes at
    most three of its trigrams, so an alike text shares all but 3 * edits of them, and
    hence one of any 3 * edits + 1 (prefix filtering). Texts too short for the bound are
    compared with every text of a possible length."""
    share = similarity / 100
    grams = [trigrams(text) for text in texts]
    postings: dict[str, list[int]] = {}
    by_length: dict[int, list[int]] = {}
    for index, (text, text_grams) in enumerate(zip(texts, grams, strict=True)):
        if not text:
            continue
        by_length.setdefault(len(text), []).append(index)
        for gram in text_grams:
            postings.setdefault(gram, []).append(index)
    pairs = []
    for index, text in enumerate(texts):
        if not text:
            continue
        longest = math.floor(len(text) * (2 - share) / share + _ROUNDING)
        edits = math.floor((1 - share) * (len(text) + longest) + _ROUNDING)
        probe = 3 * edits + 1
        candidates: set[int] = set()
        if probe < len(grams[index]):
            rarest = sorted(grams[index], key=lambda gram: len(postings[gram]))[:probe]
            for gram in rarest:
                candidates.update(postings[gram])
        else:
            shortest = math.ceil(len(text) * share / (2 - share) - _ROUNDING)
            for size in range(shortest, longest + 1):
                candidates.update(by_length.get(size, ()))
        later = {other: texts[other] for other in candidates if other > index}
        for _, _, other in process.extract(
            text, later, scorer=fuzz.ratio, score_cutoff=similarity, limit=None
        ):
            pairs.append((index, other))
    return sorted(pairs)


def trigrams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def connected(pairs: list[tuple[int, int]]) -> list[list[int]]:
    """The groups of variants joined by pairs (each variant once), each in order."""
    parent: dict[int, int] = {}

    def root(index: int) -> int:
        parent.setdefault(index, index)
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for first, second in pairs:
        parent[root(first)] = root(second)
    groups: dict[int, list[int]] = {}
    for index in sorted(parent):
        groups.setdefault(root(index), []).append(index)
    return sorted(groups.values())
