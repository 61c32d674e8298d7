"""Keyword index for Swedish: BM25 over Snowball stems and over character n-grams.

Both fields share one implementation: a documents x terms sparse matrix holding each
term's precomputed BM25 weight, so a query is one column slice and one sum.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import snowballstemmer
from scipy import sparse

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)

# Swedish stopwords (Snowball's list) plus the commonest English function words, so that
# English questions over Swedish documents are not matched on "the" or "what".
SWEDISH_STOPWORDS = frozenset(
    """
    och det att i en jag hon som han på den med var sig för så till är men ett om hade de
    av icke mig du henne då sin nu har inte hans honom skulle hennes där min man ej vid kunde
    något från ut när efter upp vi dem vara vad över än dig kan sina här ha mot alla under
    någon eller allt mycket sedan ju denna själv detta åt utan varit hur ingen mitt ni bli
    blev oss din dessa några deras blir mina samma vilken er sådan vår blivit dess inom
    mellan sådant varför varje vilka ditt vem vilket sitt sådana vart dina vars vårt våra
    ert era vilkas också ska får få finns fanns kommer hos vilket
    """.split()
)
ENGLISH_STOPWORDS = frozenset(
    """
    a an the of to in on for and or is are was were be been being do does did what which who
    whom whose when where why how that this these those it its with by at from as into about
    can could should would will shall may might must has have had i you he she we they them
    their our your my me us there here not no than then so if any some all much many more
    most such only also just get gets got
    """.split()
)
STOPWORDS = SWEDISH_STOPWORDS | ENGLISH_STOPWORDS

_stemmer = snowballstemmer.stemmer("swedish")


def normalise(text: str) -> str:
    """Return text in NFC, lower case."""
    return unicodedata.normalize("NFC", text).casefold()


def words(text: str) -> list[str]:
    """Return the lower-cased word tokens of a text, stopwords included."""
    return _WORD.findall(normalise(text))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Return the Swedish Snowball stem of one lower-case word."""
    return _stemmer.stemWord(word)


def word_terms(text: str) -> list[str]:
    """Return the stems of a text's content words (stopwords removed)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def char_terms(text: str, n: int = 4) -> list[str]:
    """Return the character n-grams of each content word, padded with word boundaries."""
    grams: list[str] = []
    for w in words(text):
        if w in STOPWORDS:
            continue
        padded = f"_{w}_"
        if len(padded) <= n:
            grams.append(padded)
        else:
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


class BM25Index:
    """BM25 over one field; rows are passages, scores come from precomputed term weights."""

    def __init__(self, vocabulary: dict[str, int], weights: sparse.csc_matrix) -> None:
        self.vocabulary = vocabulary
        self.weights = weights  # (n_docs, n_terms), CSC for fast column slices

    @property
    def size(self) -> int:
        """Return the number of passages."""
        return int(self.weights.shape[0])

    @classmethod
    def build(
        cls, term_lists: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
    ) -> BM25Index:
        """Return an index over passages given as lists of terms."""
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths = np.zeros(len(term_lists), dtype=np.float32)
        for row, terms in enumerate(term_lists):
            lengths[row] = len(terms)
            for term, count in Counter(terms).items():
                col = vocabulary.setdefault(term, len(vocabulary))
                rows.append(row)
                cols.append(col)
                tfs.append(count)
        n_docs = len(term_lists)
        shape = (n_docs, max(1, len(vocabulary)))
        if not tfs:
            return cls(vocabulary, sparse.csc_matrix(shape, dtype=np.float32))
        rows_a = np.asarray(rows, dtype=np.int64)
        cols_a = np.asarray(cols, dtype=np.int64)
        tf = np.asarray(tfs, dtype=np.float32)
        df = np.bincount(cols_a, minlength=shape[1]).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avgdl = max(float(lengths.mean()), 1e-9)
        norm = k1 * (1 - b + b * lengths[rows_a] / avgdl)
        values = idf[cols_a] * tf * (k1 + 1) / (tf + norm)
        matrix = sparse.csc_matrix((values.astype(np.float32), (rows_a, cols_a)), shape=shape)
        return cls(vocabulary, matrix)

    def scores(self, terms: Iterable[str]) -> np.ndarray:
        """Return the BM25 score of every passage for a query's terms (repeats count)."""
        counts = Counter(t for t in terms if t in self.vocabulary)
        if not counts:
            return np.zeros(self.size, dtype=np.float32)
        cols = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.int64)
        mult = np.fromiter(counts.values(), dtype=np.float32)
        # A column slice reads only the query's columns, so a memory-mapped matrix is
        # paged in where a query touches it (measured faster than gathering by hand).
        return np.asarray(self.weights[:, cols] @ mult, dtype=np.float32).ravel()

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """Return the BM25 idf of each term over these passages (an unknown term: the highest)."""
        n = max(self.size, 1)
        indptr = self.weights.indptr
        out = {}
        for term in terms:
            col = self.vocabulary.get(term)
            df = 0 if col is None else int(indptr[col + 1] - indptr[col])
            out[term] = math.log1p((n - df + 0.5) / (df + 0.5))
        return out

    def save(self, folder: Path, name: str) -> None:
        """Write the index as raw CSC arrays (``name.{data,indices,indptr}.npy``) and vocabulary.

        Raw ``.npy`` arrays can be memory-mapped on load, so a big index is paged in on
        demand and shared between processes instead of being copied into each one.
        """
        weights = self.weights.tocsc()
        for part in ("data", "indices", "indptr"):
            np.save(folder / f"{name}.{part}.npy", getattr(weights, part), allow_pickle=False)
        (folder / f"{name}.vocab.json").write_text(
            json.dumps(
                {"shape": list(weights.shape), "terms": self.vocabulary}, ensure_ascii=False
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, folder: Path, name: str, *, mmap: bool = True) -> BM25Index:
        """Return the index saved under ``name`` in folder, memory-mapped unless told not to."""
        saved = json.loads((folder / f"{name}.vocab.json").read_text(encoding="utf-8"))
        if (folder / f"{name}.npz").is_file():  # written before the raw-array format
            return cls(saved, sparse.load_npz(folder / f"{name}.npz").tocsc())
        mode: Literal["r"] | None = "r" if mmap else None
        data, indices, indptr = (
            np.load(folder / f"{name}.{part}.npy", mmap_mode=mode, allow_pickle=False)
            for part in ("data", "indices", "indptr")
        )
        shape = tuple(saved["shape"])
        if len(indptr) != shape[1] + 1 or len(data) != len(indices):
            raise ValueError(f"keyword index {name} is inconsistent")
        # Built from the arrays as they are: scipy keeps (does not copy) well-formed input.
        weights = sparse.csc_matrix((data, indices, indptr), shape=shape, copy=False)
        return cls(saved["terms"], weights)
