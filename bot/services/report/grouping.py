"""Near-duplicate questions grouped: the knowledge gaps of a report.

A question becomes the set of its content words' Swedish stems (stopwords dropped,
:mod:`index.lexical`), with a few synonyms mapped to one stem ("började" and "startade"
both become ``start``) and misspellings to the commoner stem they resemble (character
trigrams); two questions are grouped when those sets overlap enough (Jaccard).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from index.lexical import stem, word_terms, words

GROUP_THRESHOLD = 0.6
"""Stem-set Jaccard at or above which two questions count as the same question."""
TRIGRAM_THRESHOLD = 0.75
"""Character-trigram Dice at or above which a rare stem is taken for a misspelt common one."""
_MAX_CANDIDATES = 64

# Words that ask the same thing, each group mapped to one stem (Swedish, some English).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("start", "starta", "startade", "börja", "började", "början", "påbörja", "påbörjades",
     "inleda", "inleddes", "grunda", "grundades", "etablera", "etablerades", "begin", "began",
     "begun", "started"),
    ("slut", "sluta", "slutade", "avsluta", "avslutades", "upphöra", "upphörde", "end",
     "ended", "stop", "stopped"),
    ("kosta", "kostar", "kostnad", "kostnaden", "pris", "priset", "avgift", "avgiften", "taxa",
     "cost", "costs", "price", "fee"),
    ("ansöka", "ansökan", "söka", "söker", "anmäla", "anmälan", "apply", "application",
     "register"),
    ("delta", "deltar", "deltog", "medverka", "medverkar", "ingå", "ingår", "participate",
     "members", "member"),
    ("syfte", "syftet", "mål", "målet", "ändamål", "purpose", "goal", "aim"),
    ("ansvara", "ansvarar", "ansvarig", "ansvariga", "ansvaret", "responsible"),
)  # fmt: skip
_CANONICAL: dict[str, str] = {
    stem(w.casefold()): stem(group[0].casefold()) for group in SYNONYMS for w in group
}


@dataclass(frozen=True)
class Gap:
    """An unanswered question: its commonest phrasing, how often, and other phrasings."""

    question: str
    count: int
    variants: tuple[str, ...] = ()


def question_key(text: str) -> frozenset[str]:
    """Return the set of a question's content stems, synonyms mapped to one stem."""
    terms = frozenset(_CANONICAL.get(t, t) for t in word_terms(text))
    # A question of stopwords only ("vad är det?") keeps its words, to group it at all.
    return terms or frozenset(words(text))


def _trigrams(term: str) -> frozenset[str]:
    padded = f"_{term}_"
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _typo_map(frequency: Counter[str]) -> dict[str, str]:
    """Return misspelt stem -> the commoner stem it is taken for ("byglov" -> "bygglov").

    Stems of five letters or more that start alike (three letters) and differ by at most
    two in length are compared by character trigrams; the rarer is mapped to the commoner.
    """
    buckets: dict[str, list[str]] = defaultdict(list)
    for term in frequency:
        if len(term) >= 5 and not term.isdigit():
            buckets[term[:3]].append(term)
    mapping: dict[str, str] = {}
    for bucket in buckets.values():
        if len(bucket) < 2:
            continue
        ranked = sorted(bucket, key=lambda term: (-frequency[term], term))
        grams = {term: _trigrams(term) for term in ranked}
        for i, term in enumerate(ranked):
            for better in ranked[:i]:
                if (
                    abs(len(better) - len(term)) <= 2
                    and _dice(grams[term], grams[better]) >= TRIGRAM_THRESHOLD
                ):
                    mapping[term] = mapping.get(better, better)
                    break
    return mapping


@dataclass
class _Group:
    key: frozenset[str]
    count: int = 0
    phrasings: Counter[str] = field(default_factory=Counter)


def group_questions(questions: Iterable[str], top: int | None = None) -> list[Gap]:
    """Return questions grouped by near-duplicates, most frequent group first.

    Each question becomes its key (:func:`question_key`); misspelt stems are mapped to
    the commoner stem they resemble; identical keys count together. Then, from the most
    frequent key down, each key joins the most similar group made so far (Jaccard of the
    stem sets against the group's first key) when that reaches :data:`GROUP_THRESHOLD`,
    else starts a group. At 0.6, "när öppnar X" and "när öppnar X på helgen" group, but
    "när öppnar X på helgen" and "när öppnar Y på helgen" do not, nor "vad kostar X Y"
    and "hur söker man X Y". A key is compared only with groups sharing one of its
    rarest stems (enough of them that no group at the threshold is missed), at most
    :data:`_MAX_CANDIDATES` per stem, the largest groups first.
    """
    by_key, frequency = _phrasings_by_key(questions)
    groups = _join_groups(by_key, frequency)
    gaps = []
    for group in groups[:top] if top else groups:
        # The commonest phrasing shows; among equally common ones the shortest.
        ranked = sorted(group.phrasings, key=lambda text: (-group.phrasings[text], len(text), text))
        gaps.append(Gap(ranked[0], group.count, tuple(ranked[1:4])))
    return gaps


def _phrasings_by_key(
    questions: Iterable[str],
) -> tuple[dict[frozenset[str], Counter[str]], Counter[str]]:
    """Return each key's phrasings (misspelt stems mapped) and how often each stem occurs."""
    by_key: dict[frozenset[str], Counter[str]] = defaultdict(Counter)
    for question in questions:
        shown = " ".join(question.split())
        if shown:
            by_key[question_key(shown)][shown] += 1
    frequency: Counter[str] = Counter()
    for key, phrasings in by_key.items():
        n = sum(phrasings.values())
        for term in key:
            frequency[term] += n
    if typos := _typo_map(frequency):
        merged: dict[frozenset[str], Counter[str]] = defaultdict(Counter)
        for key, phrasings in by_key.items():
            merged[frozenset(typos.get(t, t) for t in key)].update(phrasings)
        by_key = merged
        for wrong, right in typos.items():
            frequency[right] += frequency.pop(wrong)
    return by_key, frequency


def _join_groups(
    by_key: dict[frozenset[str], Counter[str]], frequency: Counter[str]
) -> list[_Group]:
    """Return the groups, largest first: each key, most frequent first, joins or starts one."""
    ordered = sorted(by_key.items(), key=lambda item: (-sum(item[1].values()), sorted(item[0])))
    groups: list[_Group] = []
    by_term: dict[str, list[int]] = defaultdict(list)
    for key, phrasings in ordered:
        # A group at the threshold shares at least ceil(t * |key|) stems with the key, so
        # it shares one of any |key| - that + 1 of them: the rarest are looked up.
        needed = math.ceil(GROUP_THRESHOLD * len(key) - 1e-9)
        rarest = sorted(key, key=lambda t: (frequency[t], t))[: len(key) - needed + 1]
        candidates = dict.fromkeys(
            index for term in rarest for index in by_term.get(term, ())[:_MAX_CANDIDATES]
        )
        best, best_score = None, 0.0
        for index in candidates:
            other = groups[index].key
            score = len(key & other) / len(key | other)
            if score > best_score:
                best, best_score = index, score
        if best is None or best_score < GROUP_THRESHOLD:
            best = len(groups)
            groups.append(_Group(key))
            for term in key:
                by_term[term].append(best)
        group = groups[best]
        group.count += sum(phrasings.values())
        group.phrasings.update(phrasings)
    groups.sort(key=lambda g: -g.count)
    return groups
