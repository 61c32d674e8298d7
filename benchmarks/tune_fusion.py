"""Measure retrieval signals and fusions on the FAQ dev set (the basis of docs/RETRIEVAL.md).

Usage: .venv/bin/python benchmarks/tune_fusion.py [--model multilingual-e5-small]

Every signal is computed once for every question over every chunk; fusions are then scored
on the same numbers, so the comparison is like for like. nDCG@10 and hit@1 at document
level, per language. Weights are chosen on one half of the questions and reported on the
other half too (split by document category), so a weight is not a fit to noise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
from _common import FAQ, ROOT

from index.answer import detect_language
from index.chunking import chunk_document, lead_text, passage_text
from index.documents import load_documents
from index.embedding.onnx_backend import OnnxEncoder
from index.lexical import BM25Index, char_terms, word_terms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--models-dir", default=str(ROOT / ".state" / "models"))
    args = parser.parse_args()
    docs = load_documents(FAQ / "knowledge").documents
    pairs = [(d, c) for d in docs for c in chunk_document(d, 700, 1)]
    texts = [passage_text(d.title, d.id, c) for d, c in pairs]
    leads = [lead_text(d.title, d.id, c) for d, c in pairs]
    doc_ids = np.array([c.doc_id for _, c in pairs])
    qs = [json.loads(x) for x in (FAQ / "questions.jsonl").read_text().splitlines() if x.strip()]
    langs = np.array([q["lang"] for q in qs])
    detected = np.array([detect_language(q["question"]) for q in qs])
    expected = [q["expected_source"] for q in qs]
    half = np.array([sum(map(ord, e.split("/")[0])) % 2 == 0 for e in expected])
    enc = OnnxEncoder(args.model, export_dir=Path(args.models_dir))
    t = time.perf_counter()
    dense = enc.encode_queries([q["question"] for q in qs]) @ enc.encode_documents(texts).T
    print(f"{len(texts)} chunks, {len(qs)} questions encoded in {time.perf_counter() - t:.1f} s")
    signals = {"dense": dense.astype(np.float64)}

    def bm25(name, corpus, terms, **kw):
        index = BM25Index.build([terms(t) for t in corpus], **kw)
        signals[name] = np.stack([index.scores(terms(q["question"])) for q in qs])

    bm25("words", texts, word_terms)
    bm25("chars", texts, lambda t: char_terms(t, 3), k1=1.5, b=0.5)
    bm25("chars4", texts, lambda t: char_terms(t, 4), k1=1.5, b=0.5)
    bm25("lead", leads, lambda t: char_terms(t, 4))

    def metrics(scores, rows=None):
        out = {}
        for lang in ("sv", "en"):
            gains, hits = [], []
            pick = langs == lang if rows is None else (langs == lang) & rows
            for i in np.flatnonzero(pick):
                ranked = list(dict.fromkeys(doc_ids[np.argsort(-scores[i], kind="stable")]))[:10]
                r = ranked.index(expected[i]) + 1 if expected[i] in ranked else 0
                gains.append(1 / math.log2(r + 1) if r else 0.0)
                hits.append(r == 1)
            out[lang] = (round(float(np.mean(gains)), 3), round(float(np.mean(hits)), 3))
        return out

    def maxnorm(s):
        top = s.max(axis=1, keepdims=True)
        return np.where(top > 0, np.maximum(s, 0) / np.where(top > 0, top, 1), 0)

    def minmax(s, k=300):
        # over each question's k best candidates, as the engine sees them
        kth = -np.sort(-s, axis=1)[:, min(k, s.shape[1]) - 1 : min(k, s.shape[1])]
        top = s.max(axis=1, keepdims=True)
        return np.clip((s - kth) / np.maximum(top - kth, 1e-9), 0, 1)

    def rrf(s, k=60):
        return 1.0 / (k + np.argsort(np.argsort(-s, axis=1), axis=1) + 1)

    def row(name, s):
        r = metrics(s)
        print(f"| {name} | {r['sv'][0]} | {r['sv'][1]} | {r['en'][0]} | {r['en'][1]} |")

    print("\n| signal | nDCG@10 sv | hit@1 sv | nDCG@10 en | hit@1 en |\n|---|---|---|---|---|")
    for name, s in signals.items():
        row(name, s)
    d, w, c, lead = signals["dense"], signals["words"], signals["chars"], signals["lead"]
    fusions = {
        "dense alone": d,
        "previous fusion: max-norm .3 dense .1 words .2 chars .2 lead": 0.3 * maxnorm(d)
        + 0.1 * maxnorm(w)
        + 0.2 * maxnorm(c)
        + 0.2 * maxnorm(lead),
        "RRF dense + words + chars + lead": rrf(d) + rrf(w) + rrf(c) + rrf(lead),
        "RRF 3 x dense + words + chars + lead": 3 * rrf(d) + rrf(w) + rrf(c) + rrf(lead),
    }
    for name, s in fusions.items():
        row(name, s)

    # Grids: dense min-max normalised over the candidates plus weighted keyword fields.
    kw = {"words": maxnorm(w), "chars": maxnorm(c), "lead": maxnorm(lead)}
    dn = {"max": maxnorm(d), "minmax": minmax(d), "raw": d}
    grid = []
    steps = [0, 0.05, 0.1, 0.2, 0.3]
    for dnorm in dn:
        for ww, wc, wl in itertools.product(steps, steps, steps):
            s = dn[dnorm] + ww * kw["words"] + wc * kw["chars"] + wl * kw["lead"]
            grid.append(((dnorm, ww, wc, wl), s))
    print("\nbest settings chosen on half A (by category), shown on A and on B:")
    print("| dense norm, words, chars, lead | A sv | A en | B sv | B en |\n|---|---|---|---|---|")
    for lang in ("sv", "en"):
        scored = []
        for key, s in grid:
            a = metrics(s, half)
            scored.append((a[lang][0], key, s))
        scored.sort(key=lambda x: -x[0])
        print(f"(by {lang})")
        for _, key, s in scored[:4]:
            a, b = metrics(s, half), metrics(s, ~half)
            print(f"| {key} | {a['sv'][0]} | {a['en'][0]} | {b['sv'][0]} | {b['en'][0]} |")
    print("\nper detected language (sv weights for sv questions, en weights for en):")
    for key_sv, key_en in [
        (("minmax", 0.1, 0.2, 0.1), ("minmax", 0, 0, 0)),
        (("minmax", 0.05, 0.1, 0.05), ("minmax", 0, 0, 0)),
        (("minmax", 0.1, 0.1, 0.1), ("minmax", 0.05, 0.05, 0.05)),
    ]:
        lookup = dict(grid)
        s = np.where((detected == "sv")[:, None], lookup[key_sv], lookup[key_en])
        row(f"sv {key_sv} / en {key_en}", s)


if __name__ == "__main__":
    main()
