"""Measure retrieval variants on the FAQ dev set to choose the fusion (docs/RETRIEVAL.md).

Usage: .venv/bin/python benchmarks/tune_fusion.py [--knowledge DIR] [--questions FILE]
Builds every signal once per question, then scores fusion variants on the same run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index.chunking import chunk_document  # noqa: E402
from index.documents import load_documents  # noqa: E402
from index.embedding import SentenceTransformerEncoder  # noqa: E402
from index.lexical import STOPWORDS, BM25Index, stem, words  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval" / "swedish-faq-dev"


def grams(text, ns, stop=True, stems=False):
    out = []
    for w in words(text):
        if stop and w in STOPWORDS:
            continue
        if stems:
            w = stem(w)
        p = f"_{w}_"
        for n in ns:
            if len(p) <= n:
                out.append(p)
            else:
                out.extend(p[i : i + n] for i in range(len(p) - n + 1))
    return out


def wterms(text):
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def ndcg(order, doc_ids, expected):
    ranked = []
    for i in order:
        d = doc_ids[i]
        if d not in ranked:
            ranked.append(d)
        if len(ranked) == 10:
            break
    if expected in ranked:
        r = ranked.index(expected) + 1
        return 1 / math.log2(r + 1), float(r == 1)
    return 0.0, 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--knowledge", type=Path, default=SHARED / "knowledge")
    ap.add_argument("--questions", type=Path, default=SHARED / "questions.jsonl")
    args = ap.parse_args()
    docs = load_documents(args.knowledge).documents
    chunks = [c for d in docs for c in chunk_document(d, 700, 1)]
    texts = [c.text for c in chunks]
    doc_ids = [c.doc_id for c in chunks]
    qs = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    enc = SentenceTransformerEncoder()
    dv = enc.encode_documents(texts)
    qv = enc.encode_queries([q["question"] for q in qs])
    signals = {"dense": qv @ dv.T}
    variants = {
        "words": (wterms, {}),
        "c3": (lambda t: grams(t, (3,)), {}),
        "c4": (lambda t: grams(t, (4,)), {}),
        "c5": (lambda t: grams(t, (5,)), {}),
        "c345": (lambda t: grams(t, (3, 4, 5)), {}),
        "c4all": (lambda t: grams(t, (4,), stop=False), {}),
    }
    for name, (fn, _) in variants.items():
        for k1, b in [(1.2, 0.75), (1.5, 0.5)]:
            idx = BM25Index.build([fn(t) for t in texts], k1=k1, b=b)
            signals[f"{name}/k{k1}b{b}"] = np.stack([idx.scores(fn(q["question"])) for q in qs])
    from index.chunking import split_sentences

    leads = [(split_sentences(t) or [t])[0] for t in texts]
    for name, fn in [
        ("lead_c4", lambda t: grams(t, (4,))),
        ("lead_c3", lambda t: grams(t, (3,))),
        ("lead_w", wterms),
    ]:
        idx = BM25Index.build([fn(t) for t in leads], k1=1.2, b=0.75)
        signals[name] = np.stack([idx.scores(fn(q["question"])) for q in qs])
    langs = np.array([q["lang"] for q in qs])
    expected = [q["expected_source"] for q in qs]

    def evaluate(scores):
        out = {}
        for lang in ("sv", "en"):
            rows = [
                ndcg(np.argsort(-scores[i], kind="stable"), doc_ids, expected[i])
                for i in np.flatnonzero(langs == lang)
            ]
            out[lang] = (
                round(float(np.mean([r[0] for r in rows])), 4),
                round(float(np.mean([r[1] for r in rows])), 4),
            )
        return out

    print("single signals (ndcg@10, hit@1):")
    for name, s in signals.items():
        print(f"  {name:22s} {evaluate(s)}")

    def norm(s, how):
        if how == "max":
            m = s.max(axis=1, keepdims=True)
            return np.where(m > 0, s / np.where(m > 0, m, 1), 0)
        if how == "minmax":
            lo, hi = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
            return (s - lo) / np.where(hi > lo, hi - lo, 1)
        if how == "z":
            return (s - s.mean(axis=1, keepdims=True)) / (s.std(axis=1, keepdims=True) + 1e-9)
        raise ValueError(how)

    def rrf(s, k=60):
        ranks = np.argsort(np.argsort(-s, axis=1), axis=1)
        return 1.0 / (k + ranks + 1)

    best = []
    wname = "words/k1.2b0.75"
    for cname in [k for k in signals if k.startswith("c")]:
        for how in ("max", "minmax", "z", "rrf"):
            for wd, ww, wc in itertools.product(
                [0, 0.1, 0.2, 0.3, 0.4, 0.5],
                [0, 0.1, 0.2, 0.3, 0.4],
                [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0],
            ):
                if how == "rrf":
                    s = (
                        wd * rrf(signals["dense"])
                        + ww * rrf(signals[wname])
                        + wc * rrf(signals[cname])
                    )
                else:
                    s = (
                        wd * norm(signals["dense"], how)
                        + ww * norm(signals[wname], how)
                        + wc * norm(signals[cname], how)
                    )
                r = evaluate(s)
                best.append((r["sv"][0] + r["en"][0], r, cname, how, wd, ww, wc))
    best.sort(key=lambda x: -x[0])
    print("best fusions (sum of ndcg sv+en):")
    for row in best[:25]:
        print("  ", row)
    for lang in ("sv", "en"):
        b = max(best, key=lambda x: x[1][lang][0])
        print(f"best for {lang}:", b)


if __name__ == "__main__":
    main()
