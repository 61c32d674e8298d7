"""Engine benchmark for the core issue's figures (not part of CI).

Usage: .venv/bin/python benchmarks/bench_engine.py [--docs 2000] [--approx 50000]

Measures, with config.yaml's model (multilingual-e5-small by default) on this machine:
1. `ask` latency in a warm process over the FAQ dev set's questions (median, p95);
2. index build throughput against the raw encoder's on the same chunks;
3. reindex with nothing changed on a generated knowledge base of --docs documents;
4. recall@10 of the approximate (HNSW) index against exact search.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
import faiss
import numpy as np
from _common import FAQ, ROOT, percentile

from bot.config import load_config
from index.chunking import chunk_document, passage_text
from index.documents import load_documents
from index.embedding import create_encoder
from index.engine import Engine


def make_engine(knowledge: Path, state: Path, encoder, **changes) -> Engine:
    config = load_config(
        ROOT / "config.yaml", overrides={"knowledge_dir": knowledge, "state_dir": state}
    )
    return Engine(replace(config.engine, **changes), encoder)


def bench_latency(encoder, tmp: Path) -> dict:
    engine = make_engine(FAQ / "knowledge", tmp / "lat", encoder)
    engine.reindex()
    questions = [
        json.loads(x)["question"]
        for x in (FAQ / "questions.jsonl").read_text().splitlines()
        if x.strip()
    ]
    for q in questions[:20]:  # warm-up
        engine.ask(q, visibility="internal")
    totals, encodes = [], []
    for q in questions:
        t = time.perf_counter()
        a = engine.ask(q, visibility="internal")
        totals.append((time.perf_counter() - t) * 1000)
        encodes.append(a.timings_ms["encode"])
    return {
        "questions": len(questions),
        "ask_median_ms": statistics.median(totals),
        "ask_p95_ms": percentile(totals, 95),
        "encode_median_ms": statistics.median(encodes),
    }


def bench_build(encoder, tmp: Path) -> dict:
    knowledge = FAQ / "knowledge"
    docs = load_documents(knowledge).documents
    texts = [passage_text(d.title, d.id, c) for d in docs for c in chunk_document(d, 700, 1)]
    encoder.encode_documents(texts[:64])  # warm-up
    t = time.perf_counter()
    encoder.encode_documents(texts)
    raw = time.perf_counter() - t
    engine = make_engine(knowledge, tmp / "build", encoder)
    t = time.perf_counter()
    summary = engine.reindex()
    build = time.perf_counter() - t
    return {
        "chunks": len(texts),
        "raw_encoder_chunks_per_s": len(texts) / raw,
        "build_chunks_per_s": summary.chunks / build,
        "ratio": (summary.chunks / build) / (len(texts) / raw),
    }


def bench_noop_reindex(encoder, tmp: Path, n_docs: int) -> dict:
    knowledge = tmp / "gen"
    sources = sorted((FAQ / "knowledge").rglob("*.txt"))
    for i in range(n_docs):
        src = sources[i % len(sources)]
        folder = knowledge / f"del-{i // 200:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"dok-{i:05d}.md").write_text(
            f"---\ntitle: Dokument {i}\nvisibility: public\n---\n# Avsnitt {i}\n\n"
            + src.read_text(encoding="utf-8")
            + f"\n\nDokumentnummer {i}.\n",
            encoding="utf-8",
        )
    engine = make_engine(knowledge, tmp / "noop", encoder)
    t = time.perf_counter()
    first = engine.reindex()
    first_s = time.perf_counter() - t
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        summary = engine.reindex()
        runs.append(time.perf_counter() - t)
        assert not summary.changed
    # One document changed: only its chunks are embedded again.
    (knowledge / "del-00" / "dok-00000.md").write_text(
        "Ändrad text om bygglov.\n", encoding="utf-8"
    )
    t = time.perf_counter()
    changed = engine.reindex()
    changed_s = time.perf_counter() - t
    return {
        "documents": n_docs,
        "chunks": first.chunks,
        "first_build_s": first_s,
        "noop_reindex_s_median": statistics.median(runs),
        "one_changed_reindex_s": changed_s,
        "one_changed_embedded": changed.embedded,
    }


def bench_approx(encoder, n: int) -> dict:
    docs = load_documents(FAQ / "knowledge").documents
    texts = [c.text for d in docs for c in chunk_document(d, 700, 1)]
    real = encoder.encode_documents(texts)
    rng = np.random.default_rng(0)
    # Vectors drawn around the real embeddings (real + Gaussian noise), as a stand-in for
    # a large corpus; queries are real question embeddings.
    base = real[rng.integers(0, len(real), n)] + rng.normal(0, 0.08, (n, real.shape[1])).astype(
        np.float32
    )
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    questions = [
        json.loads(x)["question"]
        for x in (FAQ / "questions.jsonl").read_text().splitlines()
        if x.strip()
    ]
    q = encoder.encode_queries(questions[:200])
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    _, truth = exact.search(q, 10)
    out = {"vectors": n}
    for m, ef in [(32, 128), (32, 256), (32, 512)]:
        hnsw = faiss.IndexHNSWFlat(base.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 200
        t = time.perf_counter()
        hnsw.add(base)
        build_s = time.perf_counter() - t
        hnsw.hnsw.efSearch = ef
        t = time.perf_counter()
        _, got = hnsw.search(q, 10)
        per_q = (time.perf_counter() - t) / len(q) * 1000
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got, strict=True)])
        out[f"hnsw_m{m}_ef{ef}"] = {
            "recall@10": float(recall),
            "ms_per_query": per_q,
            "build_s": build_s,
        }
    t = time.perf_counter()
    exact.search(q, 10)
    out["exact_ms_per_query"] = (time.perf_counter() - t) / len(q) * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--approx", type=int, default=50000)
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    encoder = create_encoder(config.engine.model)
    tmp = Path(tempfile.mkdtemp(prefix="natverksbot-bench-"))
    try:
        results = {
            "latency": bench_latency(encoder, tmp),
            "build": bench_build(encoder, tmp),
            "noop_reindex": bench_noop_reindex(encoder, tmp, args.docs),
            "approximate": bench_approx(encoder, args.approx),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=1, default=lambda x: round(float(x), 3)))


if __name__ == "__main__":
    main()
