"""Dense vectors in FAISS: index kind, build and train, memory-mapped read, filtered search.

Search is restricted to the chunks a reader may see by a selector inside FAISS. A reader
who may see only a small share of an approximate index is searched exactly over those
vectors (:data:`EXACT_SCOPE_SHARE`): a graph walk that must skip most of the nodes it
reaches misses many of the true nearest ones.
Vectors are normalised and compared by inner product; every vector's id is its chunk id
(int64, ``add_with_ids``), so an id found here is a row of the chunk table and of the
keyword indexes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.settings import DenseSettings

IVF_POINTS_PER_LIST = 39
"""Training vectors per IVF list (FAISS warns below 39)."""
IVF_TRAIN_PER_LIST = 64
"""At most this many training vectors per list are drawn for k-means."""

EXACT_SCOPE_SHARE = 0.2
"""A reader who may see at most this share of an HNSW or IVF index is searched exactly.

HNSW with a selector that keeps 2 % of the vectors found 0.34-0.81 of the true top 10
(FAISS walks the whole graph but collects few members); an exact scan of the visible
vectors finds all of them, at a cost that grows with their number, not the index's
(docs/PERFORMANCE.md: recall and milliseconds at 500,000 vectors).
"""

_search_threads = threading.local()


def dense_kind(settings: DenseSettings, n: int) -> str:
    """Return "exact", "hnsw" or "ivf" for an index of n vectors.

    ``auto`` keeps exact search up to ``approximate_above`` vectors, then HNSW: at a
    million vectors on 2 cores it kept recall@10 >= 0.95 at 4 ms a question, where IVF
    needed over 16 ms for the same recall (docs/PERFORMANCE.md). IVF is on request:
    it builds 4x faster.
    """
    if settings.dense_index == "auto":
        return "hnsw" if n > settings.approximate_above else "exact"
    return settings.dense_index


def nlist(settings: DenseSettings, n: int) -> int:
    """Return the number of IVF lists for n vectors (``ivf_nlist``, or about 4·√n)."""
    if settings.ivf_nlist:
        return max(1, min(settings.ivf_nlist, n // IVF_POINTS_PER_LIST))
    return max(1, min(int(4 * n**0.5), n // IVF_POINTS_PER_LIST))


def nprobe(settings: DenseSettings, n: int) -> int:
    """Return the IVF lists searched per question (``ivf_nprobe``, or a quarter of them)."""
    return settings.ivf_nprobe or max(1, nlist(settings, n) // 4)


def write_dense(
    path: Path, vectors: np.ndarray, kind: str, dimension: int, settings: DenseSettings
) -> None:
    """Build a FAISS index of kind over vectors (ids 0..n-1), train it if needed, write it."""
    # This thread may have searched before (one OpenMP thread); training uses every core.
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _search_threads.single = False
    inner: faiss.Index
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = settings.hnsw_ef_construction
        inner.hnsw.efSearch = settings.hnsw_ef_search
    elif kind == "ivf":
        inner = _trained_ivf(vectors, dimension, settings)
    else:
        inner = faiss.IndexFlatIP(dimension)
    dense = faiss.IndexIDMap2(inner)
    if len(vectors):
        dense.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    faiss.write_index(dense, str(path))


def _trained_ivf(vectors: np.ndarray, dimension: int, settings: DenseSettings) -> Any:
    """Return an IVF index whose lists are trained on the vectors."""
    lists = nlist(settings, len(vectors))
    quantizer = faiss.IndexFlatIP(dimension)
    inner = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
    inner.own_fields = True
    # SWIG's ownership handle, which faiss's stubs leave out: attr-defined.
    quantizer.this.disown()  # type: ignore[attr-defined]
    inner.nprobe = nprobe(settings, len(vectors))
    # k-means on an evenly spread sample: enough per list, and a fixed seed so the
    # same vectors always give the same lists.
    sample = vectors
    limit = lists * IVF_TRAIN_PER_LIST
    if len(vectors) > limit:
        picks = np.random.default_rng(0).choice(len(vectors), limit, replace=False)
        sample = vectors[np.sort(picks)]
    inner.cp.seed = 1234
    inner.cp.niter = 10  # measured: more iterations cost build time, not recall
    inner.train(np.ascontiguousarray(sample, dtype=np.float32))
    return inner


def read_dense(path: Path, kind: str) -> Any:
    """Return a FAISS index file memory-mapped, not read: pages load on demand, shared.

    IVF lists map with IO_FLAG_MMAP alone (as on-disk lists, whose prefetch threads are
    turned off: they cost 2 ms per search, measured); flat vectors (exact, HNSW) need IFC.
    """
    if kind == "ivf":
        dense = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
        # faiss's stubs type read_index and downcast_index as the base Index: attr-defined.
        ivf = faiss.downcast_index(dense.index)  # type: ignore[attr-defined]
        lists = faiss.downcast_InvertedLists(ivf.invlists)  # type: ignore[attr-defined]
        if hasattr(lists, "prefetch_nthread"):
            lists.prefetch_nthread = 0
        return dense
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_MMAP_IFC)


class AllowedChunks:
    """A FAISS selector that lets through only the chunks of a boolean mask (O(1) per id).

    A bitmap answers "may this reader see chunk i" cheaper per candidate than a hashed id
    set; the bits must outlive the selector, so both are kept here, with how many chunks
    the mask lets through (``count``) of how many (``total``).
    """

    def __init__(self, mask: np.ndarray) -> None:
        self._bits = np.packbits(mask, bitorder="little")
        self.selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(self._bits))
        self.count = int(np.count_nonzero(mask))
        self.total = len(mask)

    @property
    def small(self) -> bool:
        """Return whether the mask keeps at most EXACT_SCOPE_SHARE of the chunks."""
        return self.count <= EXACT_SCOPE_SHARE * self.total


def search_dense(
    dense: Any,
    queries: np.ndarray,
    k: int,
    *,
    kind: str,
    ef_search: int,
    nprobe: int,
    allowed: AllowedChunks | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return per query (scores, ids) of the k nearest allowed vectors, in one FAISS call.

    One call for several questions lets FAISS scan the vectors once for all of them; ids
    past the last match (-1) are dropped. A small ``allowed`` scope of an approximate
    index is searched exactly (:data:`EXACT_SCOPE_SHARE`).
    """
    _one_search_thread()
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if allowed is not None and allowed.small and kind in ("hnsw", "ivf"):
        scores, ids = _search_scope_exactly(dense, queries, k, kind, allowed)
    else:
        scores, ids = _search(dense, queries, k, kind, ef_search, nprobe, allowed)
    keep = ids >= 0
    return [s[m] for s, m in zip(scores, keep, strict=True)], [
        i[m] for i, m in zip(ids, keep, strict=True)
    ]


def _search(
    dense: Any,
    queries: np.ndarray,
    k: int,
    kind: str,
    ef_search: int,
    nprobe: int,
    allowed: AllowedChunks | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return FAISS's (scores, ids) for the index's own kind of search."""
    if kind == "hnsw":
        # faiss's stubs lack SearchParametersHNSW and SearchParametersIVF's keywords.
        params: Any = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
            efSearch=max(k, ef_search)
        )
    elif kind == "ivf":
        params = faiss.SearchParametersIVF(nprobe=nprobe)  # type: ignore[call-arg]
    else:
        params = faiss.SearchParameters()
    if allowed is not None:
        params.sel = allowed.selector
    return dense.search(queries, k, params=params)


def _search_scope_exactly(
    dense: Any, queries: np.ndarray, k: int, kind: str, allowed: AllowedChunks
) -> tuple[np.ndarray, np.ndarray]:
    """Return (scores, ids) of the exact k nearest allowed vectors of an HNSW or IVF index.

    HNSW keeps its vectors in a flat index beside the graph: that is scanned with the
    selector (a bit test per vector, an inner product per allowed one). Positions there are
    chunk ids, as :func:`write_dense` adds vectors 0..n-1 in order; they are still mapped
    through the id map. IVF is scanned over all of its lists.
    """
    if kind == "ivf":
        # faiss's stubs know neither a downcast index's fields nor these keywords.
        lists = faiss.downcast_index(dense.index).nlist  # type: ignore[attr-defined]
        params = faiss.SearchParametersIVF(nprobe=lists, sel=allowed.selector)  # type: ignore[call-arg]
        return dense.search(queries, k, params=params)
    storage = faiss.downcast_index(faiss.downcast_index(dense.index).storage)  # type: ignore[attr-defined]
    scores, positions = storage.search(
        queries,
        k,
        params=faiss.SearchParameters(sel=allowed.selector),  # type: ignore[call-arg]
    )
    id_map = faiss.rev_swig_ptr(dense.id_map.data(), dense.ntotal)
    ids = np.where(positions >= 0, id_map[np.clip(positions, 0, None)], -1)
    return scores, ids


def _one_search_thread() -> None:
    """Let FAISS search with one OpenMP thread in the calling thread (once per thread).

    Questions already run in parallel threads; an OpenMP team per single-question search
    only adds hand-offs, which cost milliseconds on 2 busy cores (measured 7.3 -> 1.4 ms
    per search, docs/PERFORMANCE.md). OpenMP keeps this setting per thread, so index
    builds elsewhere still use every core.
    """
    if not getattr(_search_threads, "single", False):
        faiss.omp_set_num_threads(1)
        _search_threads.single = True
