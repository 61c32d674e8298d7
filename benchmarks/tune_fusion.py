"""Measure retrieval signals and fusions on the FAQ dev set (the basis of docs/RETRIEVAL.md).

Usage: .venv/bin/python benchmarks/tune_fusion.py

Every signal is computed once for every question over every chunk; fusions are then scored
on the same numbers, so the comparison is like for like. nDCG@10 at document level.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.chunking import chunk_document  # noqa: E402
from index.documents import load_documents  # noqa: E402
from index.embedding import SentenceTransformerEncoder  # noqa: E402
from index.lexical import BM25Index, char_terms, word_terms  # noqa: E402
from index.store import lead_text, passage_text  # noqa: E402

FAQ = ROOT.parent / "shared" / "eval" / "swedish-faq-dev"


def main() -> None:
    docs = load_documents(FAQ / "knowledge").documents
    pairs = [(d, c) for d in docs for c in chunk_document(d, 700, 1)]
    texts = [passage_text(d.title, d.id, c) for d, c in pairs]
    leads = [lead_text(d.title, d.id, c) for d, c in pairs]
    doc_ids = np.array([c.doc_id for _, c in pairs])
    qs = [json.loads(x) for x in (FAQ / "questions.jsonl").read_text().splitlines() if x.strip()]
    langs = np.array([q["lang"] for q in qs])
    expected = [q["expected_source"] for q in qs]
    enc = SentenceTransformerEncoder()
    signals = {
        "dense": enc.encode_queries([q["question"] for q in qs]) @ enc.encode_documents(texts).T
    }

    def bm25(name, corpus, terms, **kw):
        index = BM25Index.build([terms(t) for t in corpus], **kw)
        signals[name] = np.stack([index.scores(terms(q["question"])) for q in qs])

    bm25("words (stems)", texts, word_terms)
    for n in (3, 4, 5):
        bm25(f"chars {n}-gram", texts, lambda t, n=n: char_terms(t, n))
    bm25("chars 3-gram k1=1.5 b=0.5", texts, lambda t: char_terms(t, 3), k1=1.5, b=0.5)
    bm25("lead 4-gram", leads, lambda t: char_terms(t, 4))

    def ndcg(scores):
        out = {}
        for lang in ("sv", "en"):
            gains = []
            for i in np.flatnonzero(langs == lang):
                ranked = list(dict.fromkeys(doc_ids[np.argsort(-scores[i], kind="stable")]))[:10]
                r = ranked.index(expected[i]) + 1 if expected[i] in ranked else 0
                gains.append(1 / math.log2(r + 1) if r else 0.0)
            out[lang] = round(float(np.mean(gains)), 3)
        return out

    def norm(s):
        top = s.max(axis=1, keepdims=True)
        return np.where(top > 0, s / np.where(top > 0, top, 1), 0)

    def rrf(s, k=60):
        return 1.0 / (k + np.argsort(np.argsort(-s, axis=1), axis=1) + 1)

    print("| signal | nDCG@10 sv | nDCG@10 en |\n|---|---|---|")
    for name, s in signals.items():
        r = ndcg(s)
        print(f"| {name} | {r['sv']} | {r['en']} |")
    d, w = signals["dense"], signals["words (stems)"]
    c, lead = signals["chars 3-gram k1=1.5 b=0.5"], signals["lead 4-gram"]
    fusions = {
        "RRF dense+words+chars": rrf(d) + rrf(w) + rrf(c),
        "RRF dense+words+chars+lead": rrf(d) + rrf(w) + rrf(c) + rrf(lead),
        "max-norm sum, equal weights": norm(d) + norm(w) + norm(c) + norm(lead),
        "max-norm .3 dense .1 words .2 chars (no lead)": 0.3 * norm(d)
        + 0.1 * norm(w)
        + 0.2 * norm(c),
        "max-norm .3/.1/.2/.2 (shipped)": 0.3 * norm(d)
        + 0.1 * norm(w)
        + 0.2 * norm(c)
        + 0.2 * norm(lead),
        "keyword only .1/.2/.2": 0.1 * norm(w) + 0.2 * norm(c) + 0.2 * norm(lead),
    }
    print("\n| fusion | nDCG@10 sv | nDCG@10 en |\n|---|---|---|")
    for name, s in fusions.items():
        r = ndcg(s)
        print(f"| {name} | {r['sv']} | {r['en']} |")
    grid = []
    for wd, ww, wc, wl in itertools.product(
        [0, 0.1, 0.2, 0.3, 0.4, 0.5], [0, 0.1, 0.2], [0.2, 0.3, 0.4], [0, 0.1, 0.2, 0.3]
    ):
        r = ndcg(wd * norm(d) + ww * norm(w) + wc * norm(c) + wl * norm(lead))
        grid.append((r["sv"] + r["en"], r, (wd, ww, wc, wl)))
    grid.sort(key=lambda x: -x[0])
    print("\nbest weight grids (dense, words, chars, lead):")
    for _, r, weights in grid[:5]:
        print(f"  {weights}: sv {r['sv']} en {r['en']}")


if __name__ == "__main__":
    main()
