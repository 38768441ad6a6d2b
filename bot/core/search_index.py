"""The matcher's index: built once per knowledge base, then scored per question.

An entry's text is all its question variants together (every language), and document
frequencies are counted over entries, not variants: on CLINC150 scoring entries beat the
best variant-level scorer by two points (see ../shared/docs/matching-notes.md, which
measured most choices below).

Three channels score an entry:
1. words: BM25 over stemmed words; it alone shortlists the few best entries;
2. word pairs: BM25 over adjacent-word bigrams, at low weight;
3. characters: cosine between the question's character 3-4-gram TF-IDF vector and the
   entry's averaged variant vector.
The last two re-score the shortlist only, which keeps a search's cost near the size of its
words' posting lists.

Each channel is divided by what the question could attain at most, counting the words,
pairs and n-grams the knowledge base does not have at the highest weight. A question of
unknown words thus scores low by construction, which is what lets a threshold tell
out-of-scope questions from answerable ones.
"""

from __future__ import annotations

import heapq
import itertools
import math
import operator
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.core.language import is_function_word, stemmer_for
from bot.core.text import char_ngrams, normalise
from bot.core.word_cache import MAX_WORD_LENGTH

# BM25 saturation and length normalisation. k1 about 2 and b 0.75-0.9 measured 0.5-1 point
# better than the textbook 1.2/0.75 on CLINC150, entries being ten or more variants long.
BM25_K1 = 2.0
BM25_B = 0.8
# Channel weights relative to the word channel. Word pairs at full weight cost 3 points of
# accuracy, at 0.3 they add 0.4; the character channel adds about 0.6 at 0.5.
BIGRAM_WEIGHT = 0.3
CHAR_WEIGHT = 0.5
# How many entries the word channel shortlists for the other two to re-score (at least as
# many as asked for). On CLINC150 validation top-1 accuracy was the same for depths 3 to
# 15: the right entry, when it can be found at all, is among the words' best few. Each
# entry more costs a dot product over the question's n-grams.
RERANK_DEPTH = 5
# Typo mapping: an unknown word of at least this many letters is read as the most similar
# word of the knowledge base, if their rapidfuzz ratio reaches the cutoff (80: one wrong,
# missing or extra letter in a word of five or more letters, "adress" -> "address").
MIN_TYPO_LENGTH = 4
# A known word of a single entry this long or longer is also read as a more common word a
# typo away (SearchIndex._also_read_as); shorter ones are too often other words ("time" of
# the English questions is not the Albanian "tim"). At 7, one CLINC150 validation question
# lost its top-1 entry; at 8 none did.
MIN_ALSO_READ_LENGTH = 8
TYPO_CUTOFF = 80.0
# How a word was read is kept for at most this many words of at most MAX_WORD_LENGTH
# letters (about 250 bytes each: 1 MB at worst; a day's new words and typos fit); longer
# ones are junk, resolved anew.
_TYPO_CACHE_SIZE = 4_096
# Candidate lists (pointers to known words of about the same length and first letters;
# tens to hundreds in a large knowledge base) are fewer: one per length and first letters.
_CANDIDATE_CACHE_SIZE = 4_096
UNKNOWN_TERM_FACTOR = 2.0
# A question whose known words together weigh less than this many unknown words (of the
# highest weight) says too little to be answered with confidence ("what is the"): its
# score is scaled down by the shortfall.
INFORMATION_FLOOR = 1.0
# A function word that few entries happen to use ("te" in a small knowledge base) must not
# weigh like a rare subject word: its IDF is capped at that of a term in a quarter of the
# entries. On CLINC150 validation this also helped a little (top-1 +0.1, out-of-scope
# separation +0.6 points); capping at half of the entries cost 0.5 points of top-1.
COMMON_TERM_SHARE = 0.25


@dataclass(frozen=True)
class Resolved:
    """How a question word was read: the index term it stands for and how surely."""

    term: str | None  # None: the knowledge base has nothing like it
    confidence: float  # 1.0 for a known word or inflection, the similarity for a typo
    surface: str | None  # the knowledge-base word it was read as


@dataclass(frozen=True)
class ScoredEntry:
    index: int  # position of the entry in the index
    score: float  # 0-100
    # The share (0-1) of the question's subject words, weighted by inverse document
    # frequency, that the entry's questions use too (see SearchIndex.search). Function
    # words ("how do i", "si", "ku", "nje") count neither way: many entries share them.
    evidence: float = 1.0
    shared: int = 0  # how many of the question's subject words the entry's questions use
    unknown: int = 0  # how many of the question's subject words the knowledge base lacks
    # How specific the rarest shared subject word is: its inverse document frequency as a
    # share of the highest possible (1: a word of this entry only; low: of many entries).
    specificity: float = 1.0


class _Postings:
    """An inverted index from terms to entries with precomputed BM25 weights."""

    def __init__(
        self, entry_terms: Sequence[Counter[str]], common: frozenset[str] = frozenset()
    ) -> None:
        """`common` terms (function words) never weigh more than a term in a share of
        COMMON_TERM_SHARE of the entries, however few entries have them."""
        count = len(entry_terms)
        lengths = [sum(terms.values()) for terms in entry_terms]
        average = (sum(lengths) / count) if count else 0.0
        frequency: Counter[str] = Counter()
        for terms in entry_terms:
            frequency.update(terms.keys())
        idf = {term: self.idf(n, count) for term, n in frequency.items()}
        # What a term tells about the subject, for the evidence of a match.
        self.subject_idf = dict(idf)
        self.unknown_idf = self.idf(0, count)
        common_idf = self.idf(math.ceil(count * COMMON_TERM_SHARE), count)
        for term in common & idf.keys():
            idf[term] = min(idf[term], common_idf)
        self.postings: dict[str, dict[int, float]] = {}
        for index, terms in enumerate(entry_terms):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[index] / average) if average else 1
            for term, tf in terms.items():
                weight = idf[term] * tf * (BM25_K1 + 1) / (tf + norm)
                self.postings.setdefault(term, {})[index] = weight
        # The most a term adds to any entry's score: its part of the most a question could
        # attain, and the bound that lets a search skip entries that cannot make the top.
        self.best = {term: max(weights.values()) for term, weights in self.postings.items()}
        # A term no entry has counts at twice the highest inverse document frequency (as
        # if it occurred once in an entry of average length, BM25 factor 1). Twice rather
        # than once separated out-of-scope questions better on CLINC150 validation: 67.9%
        # rather than 65.7% answered correctly at 90% of out-of-scope ones not answered.
        self.unknown_weight = self.idf(0, count) * UNKNOWN_TERM_FACTOR

    @staticmethod
    def idf(frequency: int, count: int) -> float:
        return math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))

    def score_of(self, terms: Mapping[str, float], index: int) -> float:
        """One entry's score for terms weighted by confidence."""
        postings = self.postings
        return sum(postings[term].get(index, 0.0) * scale for term, scale in terms.items())


# Below this many postings in all, walking them all is cheaper than the bookkeeping of
# pruning (a knowledge base of a few hundred entries).
_PRUNE_ABOVE = 2000


def _top_entries(lists: list[tuple[dict[int, float], float, float]], depth: int) -> list[int]:
    """The `depth` entries with the highest sum of weight times scale over the posting lists.

    Each item of `lists` is (postings, scale, the most it can add). Rare terms come first;
    once the lists left could not lift an entry not seen yet above the current
    `depth`-th score, no new entry is taken in, and entries that cannot reach that score
    any more are dropped ("max-score" pruning). Long lists of common words ("what", "the",
    "i") are then never walked in full, which keeps a search fast in a large knowledge
    base. The result is exact.
    """
    scores: dict[int, float] = {}
    if sum(len(postings) for postings, _scale, _most in lists) <= _PRUNE_ABOVE:
        for postings, scale, _most in lists:
            _add(scores, postings, scale)
        return sorted(scores, key=scores.__getitem__, reverse=True)[:depth]
    lists = sorted(lists, key=lambda item: -item[2])
    still_possible = sum(most for _postings, _scale, most in lists)
    for position, (postings, scale, most) in enumerate(lists):
        if position and len(scores) >= depth:
            threshold = heapq.nlargest(depth, scores.values())[-1]
            if still_possible < threshold:
                return _finish_seen(scores, lists[position:], still_possible, threshold, depth)
        _add(scores, postings, scale)
        still_possible -= most
    return heapq.nlargest(depth, scores, key=scores.__getitem__)


def _add(scores: dict[int, float], postings: dict[int, float], scale: float) -> None:
    """scores += postings * scale; the inner loop of every search, hence the special cases."""
    if not scores:
        scores.update(postings if scale == 1.0 else {i: w * scale for i, w in postings.items()})
        return
    get = scores.get
    if scale == 1.0:
        for index, weight in postings.items():
            scores[index] = get(index, 0.0) + weight
    else:
        for index, weight in postings.items():
            scores[index] = get(index, 0.0) + weight * scale


def _finish_seen(
    scores: dict[int, float],
    lists: list[tuple[dict[int, float], float, float]],
    still_possible: float,
    threshold: float,
    depth: int,
) -> list[int]:
    """Add the remaining lists to the entries that can still reach the top `depth`."""
    for postings, scale, most in lists:
        scores = {i: s for i, s in scores.items() if s + still_possible >= threshold}
        if len(postings) < len(scores):
            for index, weight in postings.items():
                if index in scores:
                    scores[index] += weight * scale
        else:
            get = postings.get
            for index in scores:
                found = get(index)
                if found is not None:
                    scores[index] += found * scale
        still_possible -= most
    return heapq.nlargest(depth, scores, key=scores.__getitem__)


class SearchIndex:
    """Entries' question variants, indexed for scoring questions against them."""

    def __init__(self, entries: Sequence[Mapping[str, Sequence[str]]]) -> None:
        """`entries[i]` maps a language to the question variants of entry i."""
        self.size = len(entries)
        self._term_of: dict[str, str] = {}  # knowledge-base word -> its term (stem)
        self._languages: list[str] = []
        self._exact: dict[str, list[int]] = {}  # folded variant -> entries that have it
        word_counts: list[Counter[str]] = []
        pair_counts: list[Counter[str]] = []
        variant_grams: list[list[Counter[str]]] = []
        term_languages: dict[str, Counter[str]] = {}
        for index, questions in enumerate(entries):
            words_of_entry: Counter[str] = Counter()
            pairs_of_entry: Counter[str] = Counter()
            grams_of_entry: list[Counter[str]] = []
            for lang, variants in questions.items():
                if lang not in self._languages:
                    self._languages.append(lang)
                stem = stemmer_for(lang)
                for variant in variants:
                    folded = normalise(variant)
                    words = folded.split()
                    if not words:
                        continue
                    same_text = self._exact.setdefault(folded, [])
                    if index not in same_text:  # "Udhërrëfyesi" and "udherrefyesi"
                        same_text.append(index)
                    terms = [self._term_of.setdefault(word, stem(word)) for word in words]
                    words_of_entry.update(terms)
                    pairs_of_entry.update(_pairs(terms))
                    grams_of_entry.append(Counter(g for w in words for g in char_ngrams(w)))
                    for term in set(terms):
                        term_languages.setdefault(term, Counter())[lang] += 1
            word_counts.append(words_of_entry)
            pair_counts.append(pairs_of_entry)
            variant_grams.append(grams_of_entry)
        function_terms = frozenset(t for w, t in self._term_of.items() if is_function_word(w))
        self._words = _Postings(word_counts, function_terms)
        self._pairs = _Postings(pair_counts)
        self._term_languages = {
            term: {lang: n / sum(counts.values()) for lang, n in counts.items()}
            for term, counts in term_languages.items()
        }
        self._build_char_vectors(variant_grams)
        # Typo mapping compares an unknown word only with known words that could reach the
        # cutoff (ratio = 2 * matching letters / total length, so the lengths must be
        # close) and that share its first or its second letter: one wrong letter leaves
        # one of the two in place ("qfare" for "cfare"), and it makes the search ten
        # times faster.
        self._words_by_shape: dict[tuple[int, int, str], list[str]] = {}
        for word in sorted(self._term_of):
            for position in (0, 1):
                if len(word) > position:
                    key = (len(word), position, word[position])
                    self._words_by_shape.setdefault(key, []).append(word)
        self._typo_candidates: dict[tuple[int, str, str], list[str]] = {}
        self._resolved_cache: dict[str, Resolved] = {}
        self._alternate_cache: dict[str, Resolved] = {}

    def _build_char_vectors(self, variant_grams: list[list[Counter[str]]]) -> None:
        frequency: Counter[str] = Counter()
        for grams_of_entry in variant_grams:
            frequency.update({g for grams in grams_of_entry for g in grams})
        count = len(variant_grams)
        self._gram_idf = {g: math.log((count + 1) / (n + 1)) + 1 for g, n in frequency.items()}
        # An n-gram no entry has weighs as much as the rarest possible one.
        self._unknown_gram_idf = math.log(count + 1) + 1
        # Each entry's vector is the mean of its variants' unit vectors, itself scaled to
        # unit length: averaged vectors beat the best single variant by a wide margin.
        self._entry_grams: list[dict[str, float]] = []
        for grams_of_entry in variant_grams:
            total: dict[str, float] = {}
            for grams in grams_of_entry:
                vector = {g: tf * self._gram_idf[g] for g, tf in grams.items()}
                norm = math.sqrt(sum(v * v for v in vector.values()))
                for g, v in vector.items():
                    total[g] = total.get(g, 0.0) + v / norm
            norm = math.sqrt(sum(v * v for v in total.values())) or 1.0
            self._entry_grams.append({g: v / norm for g, v in total.items()})

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of the indexed question variants, in order of first appearance."""
        return tuple(self._languages)

    def resolve(self, word: str) -> Resolved:
        """Read a folded question word as an index term: as is, stemmed, or as a typo."""
        term = self._term_of.get(word)
        if term is not None:
            return Resolved(term, 1.0, word)
        cached = self._resolved_cache.get(word)
        if cached is not None:
            return cached
        resolved = self._resolve_unknown(word)
        if len(word) > MAX_WORD_LENGTH:
            return resolved
        if len(self._resolved_cache) >= _TYPO_CACHE_SIZE:
            self._resolved_cache.clear()
        self._resolved_cache[word] = resolved
        return resolved

    def _resolve_unknown(self, word: str) -> Resolved:
        for lang in self._languages:
            stem = stemmer_for(lang)(word)
            if stem in self._words.postings:  # another inflection of a known word
                return Resolved(stem, 1.0, None)
        # A function word is never read as a typo of another word: "tell" is not "tel"
        # (phone), "from" not "form". Unknown, it stays silent (see `search`).
        if len(word) >= MIN_TYPO_LENGTH and not word.isdigit() and not is_function_word(word):
            found = process.extractOne(
                word, self._typo_candidates_for(word), scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF
            )
            if found is not None:
                surface = found[0]
                return Resolved(self._term_of[surface], found[1] / 100, surface)
        return Resolved(None, 0.0, None)

    def _also_read_as(self, word: str, reading: Resolved) -> Resolved | None:
        """A long word that one entry's questions misspell is also read as the word it
        misspells: "agjensise" is in one variant of the objectives entry, and someone who
        types "imella e agjensise" means the agency's ("agjencise") e-mail all the same.
        Such a word, if a typo away from a word of more entries, is read as both, the other
        at its similarity."""
        if (
            reading.confidence < 1.0
            or reading.term is None
            or len(word) < MIN_ALSO_READ_LENGTH
            or len(self._words.postings.get(reading.term, ())) != 1
        ):
            return None
        cached = self._alternate_cache.get(word)
        if cached is None:
            found = process.extractOne(
                word,
                [w for w in self._typo_candidates_for(word) if self._term_of[w] != reading.term],
                scorer=fuzz.ratio,
                score_cutoff=TYPO_CUTOFF,
            )
            cached = Resolved(None, 0.0, None)
            if found is not None:
                term = self._term_of[found[0]]
                if len(self._words.postings.get(term, ())) > 1:
                    cached = Resolved(term, found[1] / 100, found[0])
            if len(word) <= MAX_WORD_LENGTH:
                if len(self._alternate_cache) >= _TYPO_CACHE_SIZE:
                    self._alternate_cache.clear()
                self._alternate_cache[word] = cached
        return cached if cached.term is not None else None

    def _typo_candidates_for(self, word: str) -> list[str]:
        """Known words that could be `word` with a typo (see the index's constructor)."""
        key = (len(word), word[0], word[1])
        candidates = self._typo_candidates.get(key)
        if candidates is None:
            share = TYPO_CUTOFF / 100
            shortest = math.ceil(len(word) * share / (2 - share))
            longest = math.floor(len(word) * (2 - share) / share)
            found = dict.fromkeys(
                known
                for size in range(shortest, longest + 1)
                for position in (0, 1)
                for known in self._words_by_shape.get((size, position, word[position]), ())
            )
            candidates = list(found)
            if len(word) > MAX_WORD_LENGTH:
                return candidates
            if len(self._typo_candidates) >= _CANDIDATE_CACHE_SIZE:
                self._typo_candidates.clear()
            self._typo_candidates[key] = candidates
        return candidates

    def exact_entries(self, words: Sequence[str]) -> list[int]:
        """The entries that have a variant reading exactly as these folded words."""
        return list(self._exact.get(" ".join(words), ()))

    def word_languages(self, word: str) -> Mapping[str, float]:
        """In which languages' variants a question word was seen, as shares adding to 1."""
        term = self.resolve(word).term
        return self._term_languages.get(term, {}) if term is not None else {}

    def search(self, words: Sequence[str], limit: int) -> list[ScoredEntry]:
        """The best `limit` entries for a question's folded words, best first."""
        if not words or not self.size:
            return []
        resolved = [self.resolve(word) for word in words]
        # An unknown function word ("the" in a knowledge base that never writes it) says
        # nothing about the subject: it neither matches nor counts against. Known function
        # words keep their full weight: in short questions they carry intent, and their
        # low IDF already keeps them from driving a match (down-weighting them by half cost
        # 0.8 points of top-1 on CLINC150 validation).
        silent = [
            r.term is None and is_function_word(w) for w, r in zip(words, resolved, strict=True)
        ]
        # Like the entries' terms, the question's count once each, however often repeated.
        word_terms: dict[str, float] = {}  # term -> confidence (a typo's similarity)
        unknown_words: set[str] = set()
        for word, reading, quiet in zip(words, resolved, silent, strict=True):
            if reading.term is not None:
                word_terms[reading.term] = max(
                    word_terms.get(reading.term, 0.0), reading.confidence
                )
                also = self._also_read_as(word, reading)
                if also is not None and also.term is not None:
                    word_terms[also.term] = max(word_terms.get(also.term, 0.0), also.confidence)
            elif not quiet:
                unknown_words.add(word)
        pair_terms: dict[str, float] = {}
        unknown_pairs: set[tuple[str, str]] = set()
        for (first, second), (quiet_1, quiet_2), word_pair in zip(
            itertools.pairwise(resolved),
            itertools.pairwise(silent),
            itertools.pairwise(words),
            strict=True,
        ):
            if quiet_1 or quiet_2:
                continue
            pair = f"{first.term} {second.term}"
            if first.term is None or second.term is None or pair not in self._pairs.postings:
                unknown_pairs.add(word_pair)
            else:
                confidence = min(first.confidence, second.confidence)
                pair_terms[pair] = max(pair_terms.get(pair, 0.0), confidence)

        # The question's subject words (not function words), for each entry's evidence:
        # term -> (its weight, its weight times how surely the word was read as it).
        subject: dict[str, float] = {}
        subject_mass = 0.0
        subject_idf = self._words.subject_idf
        seen_unknown: set[str] = set()
        for word, reading in zip(words, resolved, strict=True):
            if is_function_word(word):
                continue
            if reading.term is None:
                if word not in seen_unknown:
                    seen_unknown.add(word)
                    subject_mass += self._words.unknown_idf
                continue
            for read_as in (reading, self._also_read_as(word, reading)):
                if read_as is not None and read_as.term is not None:
                    subject[read_as.term] = max(subject.get(read_as.term, 0.0), read_as.confidence)
        subject_weights = {term: subject_idf.get(term, self._words.unknown_idf) for term in subject}
        subject_mass += sum(subject_weights.values())

        exact = self._exact.get(" ".join(words), [])
        depth = max(RERANK_DEPTH, limit)
        # The first stage ranks by words alone: adding the word pairs here changed no
        # top-1 answer on CLINC150 validation and cost a sixth of the search time; they
        # are scored below for the shortlisted entries only.
        lists = [
            (self._words.postings[term], confidence, self._words.best[term])
            for term, confidence in word_terms.items()
        ]
        shortlist = _top_entries(lists, depth)
        shortlist = exact + [index for index in shortlist if index not in exact]
        if not shortlist:
            return []

        unknown_mass = len(unknown_words) * self._words.unknown_weight
        word_attainable = unknown_mass + sum(self._words.best[term] for term in word_terms)
        pair_attainable = len(unknown_pairs) * self._pairs.unknown_weight + sum(
            self._pairs.best[pair] for pair in pair_terms
        )
        # Too little information ("what is the"): scale down by the shortfall from the floor.
        known_weight = unknown_mass + sum(
            self._words.best[term] * confidence for term, confidence in word_terms.items()
        )
        floor = INFORMATION_FLOOR * self._words.unknown_weight
        informative = min(1.0, known_weight / floor) if floor else 1.0
        query_grams = self._query_grams(words)

        results = []
        exact_set = set(exact)
        for index in shortlist:
            if index in exact_set:
                results.append(ScoredEntry(index, 100.0, 1.0, len(subject), len(seen_unknown)))
                continue
            total = (
                self._words.score_of(word_terms, index) / word_attainable
                if word_attainable
                else 0.0
            )
            weights = 1.0
            if pair_terms:
                total += BIGRAM_WEIGHT * self._pairs.score_of(pair_terms, index) / pair_attainable
            if pair_attainable:
                weights += BIGRAM_WEIGHT
            total += CHAR_WEIGHT * self._char_cosine(query_grams, index)
            weights += CHAR_WEIGHT
            shared_terms = [term for term in subject_weights if index in self._words.postings[term]]
            evidence = (
                sum(subject_weights[term] * subject[term] for term in shared_terms) / subject_mass
                if subject_mass
                else 0.0
            )
            specificity = (
                max(subject_weights[term] for term in shared_terms) / self._words.unknown_idf
                if shared_terms
                else 0.0
            )
            results.append(
                ScoredEntry(
                    index,
                    100.0 * informative * total / weights,
                    evidence,
                    len(shared_terms),
                    len(seen_unknown),
                    specificity,
                )
            )
        results.sort(key=lambda scored: -scored.score)
        return results[:limit]

    def _query_grams(self, words: Sequence[str]) -> tuple[list[str], list[float]]:
        """The question's character n-grams the index knows, with their weights in the
        question's TF-IDF vector scaled to unit length. Unknown n-grams count only in that
        length: they can match nothing, but they make the question less like any entry."""
        counts: Counter[str] = Counter()
        for word in words:
            counts.update(char_ngrams(word))
        known_idf = self._gram_idf
        unknown_idf = self._unknown_gram_idf
        grams: list[str] = []
        weights: list[float] = []
        length = 0.0
        for gram, tf in counts.items():
            idf = known_idf.get(gram)
            weight = tf * (unknown_idf if idf is None else idf)
            length += weight * weight
            if idf is not None:
                grams.append(gram)
                weights.append(weight)
        scale = 1 / math.sqrt(length) if length else 0.0
        return grams, [weight * scale for weight in weights]

    def _char_cosine(self, query: tuple[list[str], list[float]], index: int) -> float:
        grams, weights = query
        entry = self._entry_grams[index]
        # map() keeps the loop in C: this is the hottest line of a search.
        dot: float = sum(map(operator.mul, weights, map(entry.get, grams, itertools.repeat(0.0))))
        return dot


def _pairs(terms: Sequence[str]) -> list[str]:
    return [f"{first} {second}" for first, second in itertools.pairwise(terms)]
