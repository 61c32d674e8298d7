"""Performance at scale (issue 5): build, reindex, latency, throughput, memory, peer.

Usage (the README's one command; not part of CI; needs the `bench` extra):

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_scale.py

Stages (``--only STAGE ...`` reruns some; results are merged into
``.state/bench/results.json`` and ``docs/PERFORMANCE.md`` is rewritten between its
markers, with the plot ``docs/performance-latency.png``):

- ``backends``  encoder speed and FAQ dev nDCG@10 of torch, onnx and onnx-int8;
- ``sizes``     for 10,000 / 50,000 / 100,000 chunks of the journal-digital corpus:
                build (cold: raw encoder vs full build on the same chunks), reindex with
                nothing / 1 % changed, warm ask latency, throughput with 1/8/32 askers,
                index size, exact vs IVF search, cold start and peak RSS (subprocesses);
- ``million``   1,000,000 vectors (the 100,000 real ones + 900,000 drawn from a Gaussian
                mixture fitted to them): exact, IVF and HNSW recall@10 and latency, and
                `ask` over a 1,000,000-chunk index (the real chunks' text repeated);
- ``filtered``  a public reader's recall@10 on a 500,000-vector HNSW index, public chunks
                2 % to 90 % of it (whole topics or at random), against exact search;
- ``peer``      txtai's hybrid index with the same model on the same chunks and the FAQ
                dev set, next to ours.

The corpus text is read from the installed `journal-digital` package and written under
``.state/bench`` only; the corpus vectors are cached there, so reruns skip re-encoding
(``--cold`` lists the sizes whose build is timed from an empty cache).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
import bench_corpus
import faiss
import numpy as np
from _common import FAQ, ROOT, percentile

from bot.config import load_config
from index.embedding import EmbeddingCache, create_encoder, text_hash
from index.engine import Engine
from index.evaluate import load_questions, retrieval_scores
from index.search import rank_documents

STATE = ROOT / ".state" / "bench"
RESULTS = STATE / "results.json"
VECTORS = STATE / "vectors.sqlite"
DOC = ROOT / "docs" / "PERFORMANCE.md"
PLOT = ROOT / "docs" / "performance-latency.png"
SIZES = (10_000, 50_000, 100_000)
MILLION = 1_000_000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "n": len(values),
    }


def load_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def save_results(results: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, default=float))


# ------------------------------------------------------------------------ set-up


def config_for(knowledge: Path, state: Path, backend: str, **changes):
    overrides = {
        "knowledge_dir": knowledge,
        "state_dir": state,
        "chunking.max_chars": bench_corpus.MAX_CHARS,
        "chunking.overlap_sentences": bench_corpus.OVERLAP,
        "model.backend": backend,
        "model.export_dir": STATE / "models",
    }
    for key, value in changes.items():
        overrides[key] = value
    return load_config(ROOT / "config.yaml", overrides=overrides)


def write_config_file(path: Path, knowledge: Path, state: Path, backend: str) -> Path:
    """Write a config file for subprocesses (the CLI), same settings as config_for."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    env = {
        "NATVERKSBOT_KNOWLEDGE_DIR": str(knowledge),
        "NATVERKSBOT_STATE_DIR": str(state),
        "NATVERKSBOT_CHUNKING__MAX_CHARS": str(bench_corpus.MAX_CHARS),
        "NATVERKSBOT_CHUNKING__OVERLAP_SENTENCES": str(bench_corpus.OVERLAP),
        "NATVERKSBOT_MODEL__BACKEND": backend,
        "NATVERKSBOT_MODEL__EXPORT_DIR": str(STATE / "models"),
    }
    (path.parent / "env.json").write_text(json.dumps(env))
    return path


def corpus(size: int) -> Path:
    folder = STATE / f"corpus-{size}"
    stamp = folder / ".written"
    if not stamp.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        documents, chunks = bench_corpus.write_corpus(folder, size)
        stamp.write_text(json.dumps({"documents": documents, "chunks": chunks}))
    return folder


def seed_cache(index_dir: Path) -> None:
    """Start an index folder with the benchmark's vector cache (a warm build)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(VECTORS)
    try:
        src.execute("PRAGMA wal_checkpoint(FULL)")
    finally:
        src.close()
    shutil.copyfile(VECTORS, index_dir / "embeddings.sqlite")


def cached_vectors(texts: list[str], model_id: str, dimension: int) -> np.ndarray:
    cache = EmbeddingCache(VECTORS)
    try:
        found = cache.get_many(model_id, [text_hash(t) for t in texts], dimension)
    finally:
        cache.close()
    missing = sum(1 for t in texts if text_hash(t) not in found)
    if missing:
        raise SystemExit(f"{missing} corpus vectors are not cached: run the sizes stage first")
    return np.stack([found[text_hash(t)] for t in texts])


def faq_questions() -> list:
    return [q for q in load_questions(FAQ / "questions.jsonl") if q.expected_source]


def corpus_questions(texts: list[str], n: int, seed: int = 7) -> list[str]:
    """Questions drawn from the corpus: the opening words of random sentences, as a query."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        text = rng.choice(texts)
        words = [w for w in text.split() if w.isalpha()]
        if len(words) >= 6:
            start = rng.randrange(0, max(1, len(words) - 6))
            out.append("Vad vet vi om " + " ".join(words[start : start + 6]) + "?")
    return out


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


# ------------------------------------------------------------------------ backends


def stage_backends(results: dict, args: argparse.Namespace) -> None:
    """Encoder speed (same chunks, same questions) and FAQ dev nDCG@10 per backend."""
    texts = bench_corpus.corpus_texts(corpus(SIZES[0]))[: args.backend_chunks]
    questions = faq_questions()
    out: dict[str, dict] = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        config = config_for(FAQ / "knowledge", STATE / "faq", backend)
        encoder = create_encoder(config.engine.model)
        encoder.encode_documents(texts[:64])  # load, export and warm up
        q_texts = [q.question for q in questions]
        encoder.encode_queries(q_texts[:8])
        rounds = []
        for _ in range(2):  # best of two: other work on the machine only slows a round
            t = time.perf_counter()
            encoder.encode_documents(texts)
            rounds.append(len(texts) / (time.perf_counter() - t))
        singles = []
        for q in q_texts[:200]:
            t = time.perf_counter()
            encoder.encode_queries([q])
            singles.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        for start in range(0, 256, 32):
            encoder.encode_queries(q_texts[start : start + 32])
        batch32 = (time.perf_counter() - t) * 1000 / 256
        # Retrieval quality: the shipped engine on the FAQ set, with this backend.
        faq_config = load_config(
            ROOT / "config.yaml",
            overrides={
                "knowledge_dir": FAQ / "knowledge",
                "state_dir": STATE / f"faq-{backend}",
                "model.backend": backend,
                "model.export_dir": STATE / "models",
            },
        )
        engine = Engine(faq_config.engine, encoder)
        engine.reindex()
        ndcg = faq_ndcg(engine, questions)
        engine.close()
        out[backend] = {
            "model_id": encoder.model_id,
            "chunks_per_s": max(rounds),
            "chunks_per_s_rounds": rounds,
            "query_ms_median": statistics.median(singles),
            "query_ms_in_batch_of_32": batch32,
            "ndcg": ndcg,
            "loadavg": loadavg(),
        }
        log(f"backend {backend}: {out[backend]}")
    results["backends"] = {"chunks": len(texts), **out}


def faq_ndcg(engine: Engine, questions: list) -> dict[str, float]:
    by_lang: dict[str, list[float]] = {}
    for q in questions:
        hits = engine.search(q.question, top_k=50, visibility="internal").hits
        ranked = [doc for doc, _ in rank_documents(hits)][:10]
        by_lang.setdefault(q.lang, []).append(
            retrieval_scores(ranked, q.expected_source)["ndcg@10"]
        )
    return {lang: round(statistics.fmean(v), 4) for lang, v in sorted(by_lang.items())}


# ------------------------------------------------------------------------ sizes


def time_raw_encoder(encoder, texts: list[str]) -> float:
    encoder.encode_documents(texts[:64])
    t = time.perf_counter()
    for start in range(0, len(texts), 512):  # the batches embed_with_cache sends
        encoder.encode_documents(texts[start : start + 512])
    return time.perf_counter() - t


def change_documents(knowledge: Path, fraction: float) -> dict[Path, str]:
    """Append a sentence to a fraction of the documents; return the originals to restore."""
    paths = sorted(knowledge.rglob("*.md"))
    step = max(1, round(1 / fraction))
    originals = {}
    for path in paths[::step]:
        originals[path] = path.read_text(encoding="utf-8")
        path.write_text(
            originals[path] + "\nTillägg: uppgifterna kontrollerades på nytt i år.\n",
            encoding="utf-8",
        )
    return originals


def measure_latency(engine: Engine, questions: list[str]) -> dict:
    for q in questions[:20]:
        engine.ask(q, visibility="internal")
    totals, stages = [], {"encode": [], "search": [], "answer": []}
    for q in questions:
        t = time.perf_counter()
        answer = engine.ask(q, visibility="internal")
        totals.append((time.perf_counter() - t) * 1000)
        for key in stages:
            stages[key].append(answer.timings_ms[key])
    return {
        **summary_ms(totals),
        "stages_median": {k: statistics.median(v) for k, v in stages.items()},
        "loadavg": loadavg(),
    }


def measure_throughput(engine: Engine, questions: list[str], askers: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds
    count = 0
    lock = threading.Lock()
    batches_before = len(getattr(engine._queries, "batches", []))

    def asker(offset: int) -> None:
        nonlocal count
        i = offset
        while time.monotonic() < stop:
            engine.ask(questions[i % len(questions)], visibility="internal")
            i += askers
            with lock:
                count += 1

    t = time.perf_counter()
    with ThreadPoolExecutor(askers) as pool:
        list(pool.map(asker, range(askers)))
    elapsed = time.perf_counter() - t
    batches = list(getattr(engine._queries, "batches", []))[batches_before:]
    return {
        "askers": askers,
        "questions": count,
        "per_s": count / elapsed,
        "mean_batch": statistics.fmean(batches) if batches else 1.0,
        "loadavg": loadavg(),
    }


def dense_comparison(vectors: np.ndarray, queries: np.ndarray, public: np.ndarray) -> dict:
    """Exact vs IVF (the engine's settings) on the same vectors: latency and recall@10."""
    from index.dense import read_dense, write_dense
    from index.settings import DenseSettings

    out = {}
    d = vectors.shape[1]
    exact = faiss.IndexFlatIP(d)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    bits = np.packbits(public, bitorder="little")
    sel = faiss.IDSelectorBitmap(len(public), faiss.swig_ptr(bits))
    _, truth_public = exact.search(queries, 10, params=faiss.SearchParameters(sel=sel))
    out["exact_ms"] = time_search(exact, queries, faiss.SearchParameters(), 300)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_dense(Path(tmp) / "ivf.faiss", vectors, "ivf", d, DenseSettings(dense_index="ivf"))
        build_s = time.perf_counter() - t
        ivf = read_dense(Path(tmp) / "ivf.faiss", "ivf")
        inner = faiss.downcast_index(ivf.index)
        out["ivf"] = {"nlist": inner.nlist, "build_s": build_s, "nprobe": {}}
        for nprobe in (16, 32, 64, 128):
            p = faiss.SearchParametersIVF(nprobe=nprobe)
            _, got = ivf.search(queries, 10, params=p)
            pp = faiss.SearchParametersIVF(nprobe=nprobe, sel=sel)
            _, got_public = ivf.search(queries, 10, params=pp)
            out["ivf"]["nprobe"][nprobe] = {
                "recall@10": recall(truth, got),
                "recall@10_public": recall(truth_public, got_public),
                "ms": time_search(ivf, queries, faiss.SearchParametersIVF(nprobe=nprobe), 300),
            }
        del ivf
        t = time.perf_counter()
        write_dense(Path(tmp) / "hnsw.faiss", vectors, "hnsw", d, DenseSettings(dense_index="hnsw"))
        out["hnsw"] = {"build_s": time.perf_counter() - t, "ef_search": {}}
        hnsw = read_dense(Path(tmp) / "hnsw.faiss", "hnsw")
        for ef in (300, 512, 1024):
            _, got = hnsw.search(queries, 300, params=faiss.SearchParametersHNSW(efSearch=ef))
            p = faiss.SearchParametersHNSW(efSearch=ef, sel=sel)
            _, got_public = hnsw.search(queries, 300, params=p)
            out["hnsw"]["ef_search"][ef] = {
                "recall@10": recall(truth, got[:, :10]),
                "recall@10_public": recall(truth_public, got_public[:, :10]),
                "ms": time_search(hnsw, queries, faiss.SearchParametersHNSW(efSearch=ef), 300),
            }
    return out


def recall(truth: np.ndarray, got: np.ndarray) -> float:
    return float(
        np.mean(
            [len(set(a) & set(b)) / len(set(a) - {-1}) for a, b in zip(truth, got, strict=True)]
        )
    )


def time_search(index, queries: np.ndarray, params, k: int) -> float:
    """Median ms of one question at a time (as `ask` searches: one OpenMP thread), k candidates."""
    faiss.omp_set_num_threads(1)
    times = []
    for q in queries[:200]:
        t = time.perf_counter()
        index.search(q.reshape(1, -1), k, params=params)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def subprocess_env(config_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(json.loads((config_dir / "env.json").read_text()))
    env["PYTHONPATH"] = str(ROOT)
    return env


_PEAK = """
def peak_mb():
    # VmHWM belongs to this process's own memory map; ru_maxrss would also count the
    # parent's pages at fork time.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

_CLI = (
    _PEAK
    + """
import sys
from bot.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("PEAK_MB", peak_mb(), file=sys.stderr)
sys.exit(code or 0)
"""
)


def cold_start(config: Path, question: str, runs: int = 3) -> dict:
    """New `natverksbot ask` processes: seconds to the first answer and their peak RSS."""
    times, rss = [], []
    for _ in range(runs):
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _CLI, "--config", str(config), "ask", question, "--json"],
            cwd=ROOT,
            env=subprocess_env(config.parent),
            capture_output=True,
            text=True,
            timeout=600,
        )
        times.append(time.perf_counter() - t)
        if done.returncode != 0:
            raise SystemExit(f"cold start failed: {done.stderr[-2000:]}")
        rss.append(float(done.stderr.rsplit("PEAK_MB", 1)[1].split()[0]))
    return {"seconds_median": statistics.median(times), "seconds": times, "rss_mb": max(rss)}


_SERVE = (
    _PEAK
    + """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from bot.config import load_config
from index.embedding import create_encoder
from index.engine import Engine

config = load_config(Path(sys.argv[1]))
engine = Engine(config.engine, create_encoder(config.engine.model))
questions = json.loads(Path(sys.argv[2]).read_text())
t = time.perf_counter()
with ThreadPoolExecutor(32) as pool:
    list(pool.map(lambda q: engine.ask(q, visibility="internal"), questions))
print(json.dumps({"rss_mb": peak_mb(), "seconds": time.perf_counter() - t}))
"""
)


def serving_rss(config: Path, questions: list[str]) -> dict:
    """Peak RSS of a process that loads the engine as the bot does and answers 32 at a time."""
    qfile = config.parent / "questions.json"
    qfile.write_text(json.dumps(questions))
    done = subprocess.run(
        [sys.executable, "-c", _SERVE, str(config), str(qfile)],
        cwd=ROOT,
        env=subprocess_env(config.parent),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"serving process failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def stage_sizes(results: dict, args: argparse.Namespace) -> None:
    backend = args.backend
    biggest = max(args.sizes)
    all_texts = bench_corpus.corpus_texts(corpus(biggest))
    log(f"vector cache for {len(all_texts)} chunks (encodes only what is missing)")
    fill = bench_corpus.fill_cache(all_texts, VECTORS)
    results.setdefault("cache_fill", []).append(fill)
    faq = [q.question for q in faq_questions()]
    sizes = results.setdefault("sizes", {})
    for size in args.sizes:
        log(f"size {size}")
        knowledge = corpus(size)
        texts = bench_corpus.corpus_texts(knowledge)
        questions = faq[::2] + corpus_questions(texts, 300)
        random.Random(3).shuffle(questions)
        work = STATE / f"run-{size}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        config = config_for(knowledge, work / "state", backend)
        encoder = create_encoder(config.engine.model)
        row: dict = {
            "chunks": len(texts),
            "documents": len(list(knowledge.rglob("*.md"))),
            "backend": backend,
        }
        # -- build
        if size in args.cold:
            # Raw encoder before and after the build, so load from other work on the
            # machine weighs on both sides alike.
            raw = create_encoder(config.engine.model)
            raw_before = time_raw_encoder(raw, texts)
            engine = Engine(config.engine, encoder)
            t = time.perf_counter()
            built = engine.reindex()
            build_s = time.perf_counter() - t
            raw_s = (raw_before + time_raw_encoder(raw, texts)) / 2
            row["build"] = {
                "cold": True,
                "seconds": build_s,
                "chunks_per_s": built.chunks / build_s,
                "raw_encoder_seconds": raw_s,
                "raw_chunks_per_s": len(texts) / raw_s,
                "ratio": (built.chunks / build_s) / (len(texts) / raw_s),
                "embedded": built.embedded,
                "loadavg": loadavg(),
            }
        else:
            seed_cache(config.index_path)
            engine = Engine(config.engine, encoder)
            t = time.perf_counter()
            built = engine.reindex()
            row["build"] = {
                "cold": False,
                "seconds_without_encoding": time.perf_counter() - t,
                "embedded": built.embedded,
                "loadavg": loadavg(),
            }
        log(f"build {row['build']}")
        # -- reindex
        noop = []
        for _ in range(3):
            t = time.perf_counter()
            summary = engine.reindex()
            noop.append(time.perf_counter() - t)
            assert not summary.changed
        originals = change_documents(knowledge, 0.01)
        t = time.perf_counter()
        changed = engine.reindex()
        changed_s = time.perf_counter() - t
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
        t = time.perf_counter()
        engine.reindex()
        restore_s = time.perf_counter() - t
        row["reindex"] = {
            "noop_seconds": statistics.median(noop),
            "one_percent_seconds": changed_s,
            "one_percent_documents": len(originals),
            "one_percent_embedded": changed.embedded,
            "restore_seconds": restore_s,
        }
        log(f"reindex {row['reindex']}")
        # -- latency and throughput in this (warm) process
        engine = Engine(config.engine, encoder)
        row["latency_ms"] = measure_latency(engine, questions)
        log(f"latency {row['latency_ms']}")
        row["throughput"] = [
            measure_throughput(engine, questions, askers, args.seconds) for askers in (1, 8, 32)
        ]
        log(f"throughput {row['throughput']}")
        settings = config.engine
        unbatched = replace(settings, model=replace(settings.model, query_batch_max=1))
        no_batch = Engine(unbatched, encoder)
        row["throughput_unbatched_32"] = measure_throughput(no_batch, questions, 32, args.seconds)
        log(f"unbatched {row['throughput_unbatched_32']}")
        index = engine.index
        row["disk_bytes"] = index.disk_bytes()
        row["cache_bytes"] = (config.index_path / "embeddings.sqlite").stat().st_size
        # -- exact vs IVF on these vectors
        vectors = cached_vectors(
            [t for t in bench_corpus.corpus_texts(knowledge)], encoder.model_id, encoder.dimension
        )
        qvec = encoder.encode_queries(questions)
        row["dense"] = dense_comparison(vectors, qvec, index.public_mask)
        log(f"dense {row['dense']}")
        engine.close()
        no_batch.close()
        # -- new processes: cold start (CLI) and a bot-like serving process
        cfg = write_config_file(work / "config.yaml", knowledge, work / "state", backend)
        row["cold_start"] = cold_start(cfg, questions[0])
        row["serving"] = serving_rss(cfg, questions[:600])
        log(f"cold start {row['cold_start']} serving {row['serving']}")
        sizes[str(size)] = row
        save_results(results)


# ------------------------------------------------------------------------ a million


def synthetic_vectors(
    real: np.ndarray, n: int, seed: int = 0, *, topics: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Draw n vectors from a diagonal Gaussian mixture fitted (k-means) to the real ones.

    With ``topics``, also return each vector's mixture component (its "topic").
    """
    d = real.shape[1]
    k = min(1024, max(8, len(real) // 39))
    km = faiss.Kmeans(d, k, niter=15, seed=seed, spherical=True)
    km.train(real)
    _, assign = km.index.search(real, 1)
    assign = assign.ravel()
    counts = np.bincount(assign, minlength=k)
    std = np.zeros((k, d), dtype=np.float32)
    for c in range(k):
        members = real[assign == c]
        if len(members) > 1:
            std[c] = members.std(axis=0)
    means = np.stack(
        [real[assign == c].mean(axis=0) if counts[c] else km.centroids[c] for c in range(k)]
    )
    rng = np.random.default_rng(seed)
    picks = rng.choice(k, size=n, p=counts / counts.sum())
    out = means[picks] + rng.standard_normal((n, d), dtype=np.float32) * std[picks]
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    out = out.astype(np.float32)
    return (out, picks) if topics else out


def stage_million(results: dict, args: argparse.Namespace) -> None:
    from index.dense import read_dense, write_dense
    from index.settings import DenseSettings

    base_size = max(args.sizes)
    work = STATE / f"run-{base_size}"
    config = config_for(corpus(base_size), work / "state", args.backend)
    encoder = create_encoder(config.engine.model)
    engine = Engine(config.engine, encoder)
    index = engine.index
    texts = bench_corpus.corpus_texts(corpus(base_size))
    real = cached_vectors(texts, encoder.model_id, encoder.dimension)
    log(f"drawing {MILLION - len(real)} vectors from a mixture fitted to {len(real)} real ones")
    t = time.perf_counter()
    fake = synthetic_vectors(real, MILLION - len(real))
    vectors = np.concatenate([real, fake])
    del fake
    out: dict = {"vectors": len(vectors), "real": len(real), "draw_s": time.perf_counter() - t}
    faq = [q.question for q in faq_questions()]
    questions = faq[::2] + corpus_questions(texts, 300)
    random.Random(3).shuffle(questions)
    queries = encoder.encode_queries(questions)
    reps = -(-MILLION // len(real))
    public = np.tile(index.public_mask, reps)[:MILLION]
    bits = np.packbits(public, bitorder="little")
    sel = faiss.IDSelectorBitmap(len(public), faiss.swig_ptr(bits))
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    _, truth_public = exact.search(queries, 10, params=faiss.SearchParameters(sel=sel))
    out["exact_ms"] = time_search(exact, queries, faiss.SearchParameters(), 300)
    log(f"exact at 1M: {out['exact_ms']:.1f} ms")
    del exact
    # IVF as the engine builds it.
    d = vectors.shape[1]
    million_dir = STATE / "million"
    shutil.rmtree(million_dir, ignore_errors=True)
    million_dir.mkdir(parents=True)
    t = time.perf_counter()
    write_dense(million_dir / "dense.faiss", vectors, "ivf", d, DenseSettings(dense_index="ivf"))
    ivf_build = time.perf_counter() - t
    ivf = read_dense(million_dir / "dense.faiss", "ivf")
    out["ivf"] = {
        "nlist": faiss.downcast_index(ivf.index).nlist,
        "build_s": ivf_build,
        "nprobe": {},
    }
    chosen = None
    for nprobe in (32, 64, 128, 256, 512):
        _, got = ivf.search(queries, 10, params=faiss.SearchParametersIVF(nprobe=nprobe))
        _, got_p = ivf.search(queries, 10, params=faiss.SearchParametersIVF(nprobe=nprobe, sel=sel))
        ms = time_search(ivf, queries, faiss.SearchParametersIVF(nprobe=nprobe), 300)
        row = {
            "recall@10": recall(truth, got),
            "recall@10_public": recall(truth_public, got_p),
            "ms": ms,
        }
        out["ivf"]["nprobe"][nprobe] = row
        log(f"ivf nprobe {nprobe}: {row}")
        if chosen is None and min(row["recall@10"], row["recall@10_public"]) >= 0.95:
            chosen = nprobe
    out["ivf"]["chosen_nprobe"] = chosen
    del ivf
    # HNSW as the engine builds it (M=32, efConstruction=200), the whole million.
    t = time.perf_counter()
    write_dense(million_dir / "hnsw.faiss", vectors, "hnsw", d, DenseSettings(dense_index="hnsw"))
    out["hnsw"] = {"build_s": time.perf_counter() - t, "ef_search": {}}
    log(f"hnsw build of 1M: {out['hnsw']['build_s']:.0f} s")
    hnsw = read_dense(million_dir / "hnsw.faiss", "hnsw")
    chosen_ef = None
    for ef in (300, 512, 1024):
        p = faiss.SearchParametersHNSW(efSearch=ef)
        _, got = hnsw.search(queries, 300, params=p)
        p_public = faiss.SearchParametersHNSW(efSearch=ef, sel=sel)
        _, got_p = hnsw.search(queries, 300, params=p_public)
        row = {
            "recall@10": recall(truth, got[:, :10]),
            "recall@10_public": recall(truth_public, got_p[:, :10]),
            "ms": time_search(hnsw, queries, faiss.SearchParametersHNSW(efSearch=ef), 300),
            "ms_public": time_search(hnsw, queries, p_public, 300),
        }
        out["hnsw"]["ef_search"][ef] = row
        log(f"hnsw efSearch {ef}: {row}")
        if chosen_ef is None and min(row["recall@10"], row["recall@10_public"]) >= 0.95:
            chosen_ef = ef
    out["hnsw"]["chosen_ef_search"] = chosen_ef
    del hnsw
    # The `ask` index at a million uses the faster kind that keeps recall@10 >= 0.95.
    ivf_ms = out["ivf"]["nprobe"][chosen]["ms"] if chosen else float("inf")
    hnsw_ms = out["hnsw"]["ef_search"][chosen_ef]["ms"] if chosen_ef else float("inf")
    kind = "hnsw" if hnsw_ms <= ivf_ms else "ivf"
    out["ask_index"] = kind
    t = time.perf_counter()
    if kind == "hnsw":
        shutil.move(str(million_dir / "hnsw.faiss"), million_dir / "dense.faiss")
        build_million_index(index, million_dir, reps, "hnsw", chosen_ef or 1024)
    else:
        build_million_index(index, million_dir, reps, "ivf", chosen or 512)
    out["assemble_s"] = time.perf_counter() - t
    del vectors
    million = Engine(replace(config.engine, index_dir=STATE / "million-index"), encoder)
    out["latency_ms"] = measure_latency(million, questions)
    log(f"ask at 1M: {out['latency_ms']}")
    out["throughput_32"] = measure_throughput(million, questions, 32, args.seconds)
    out["disk_bytes"] = million.index.disk_bytes()
    million.close()
    engine.close()
    results["million"] = out
    save_results(results)


def build_million_index(index, million_dir: Path, reps: int, kind: str, param: int) -> None:
    """Write a live build of MILLION chunks: the real build's rows repeated, idf recomputed."""
    from scipy import sparse

    from index.lexical import BM25Index
    from index.store import FORMAT_VERSION

    n = index.size
    target = STATE / "million-index"
    shutil.rmtree(target, ignore_errors=True)
    build = target / "builds" / "million"
    build.mkdir(parents=True)
    shutil.move(str(million_dir / "dense.faiss"), build / "dense.faiss")
    for name in ("words", "chars", "lead"):
        bm25 = getattr(index, name)
        w = sparse.csc_matrix(bm25.weights, copy=True)
        df = np.diff(w.indptr).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        idf_new = np.log1p((reps * n - reps * df + 0.5) / (reps * df + 0.5))
        scale = np.where(idf > 0, idf_new / np.where(idf > 0, idf, 1), 1.0)
        w = w @ sparse.diags(scale.astype(np.float32))
        tall = sparse.vstack([w] * reps, format="csc")[:MILLION]
        BM25Index(bm25.vocabulary, tall.astype(np.float32)).save(build, name)
    src = sqlite3.connect(index.folder / "chunks.sqlite")
    db = sqlite3.connect(build / "chunks.sqlite")
    db.execute("PRAGMA journal_mode=OFF")
    for sql in src.execute("SELECT sql FROM sqlite_master WHERE type='table'"):
        db.execute(sql[0])
    docs = src.execute("SELECT * FROM documents").fetchall()
    chunks = src.execute("SELECT * FROM chunks ORDER BY id").fetchall()
    for r in range(reps):
        suffix = "" if r == 0 else f"#{r}"
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(d[0] + suffix, *d[1:]) for d in docs],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(c[0] + r * n, c[1] + suffix, *c[2:]) for c in chunks if c[0] + r * n < MILLION],
        )
    db.execute("CREATE INDEX chunks_doc ON chunks (doc_id)")
    db.commit()
    db.close()
    src.close()
    manifest = dict(index.manifest)
    manifest.update(
        {
            "format_version": FORMAT_VERSION,
            "build": "million",
            "chunks": MILLION,
            "dense_index": kind,
            "ivf": {"nlist": 0, "nprobe": param},
            "hnsw": {**index.manifest.get("hnsw", {}), "ef_search": param},
            "documents": {},
            "files": {},
        }
    )
    (build / "manifest.json").write_text(json.dumps(manifest))
    (target / "CURRENT").write_text("million")


# ------------------------------------------------------------------------ filtered


def faq_vectors() -> np.ndarray:
    """Return the FAQ knowledge base's passage and sentence vectors (built once, cached)."""
    config = config_for(FAQ / "knowledge", STATE / "faq", "onnx")
    shipped = load_config(ROOT / "config.yaml").engine.chunking
    engine = Engine(replace(config.engine, chunking=shipped), create_encoder(config.engine.model))
    try:
        if not engine.has_index():
            engine.reindex()
        index = engine.index
        passages = index.dense.reconstruct_n(0, index.size)
        sentences = np.asarray(index._sentence_vectors, dtype=np.float32)
    finally:
        engine.close()
    return np.concatenate([passages, sentences])


def stage_filtered(results: dict, args: argparse.Namespace) -> None:
    """Public readers' recall@10 on an HNSW index, public 2 % to 90 % of the vectors.

    The vectors are drawn from a mixture fitted to the FAQ knowledge base's passage and
    sentence vectors; public chunks are marked by whole topics (a mixture component: whole
    documents about a few subjects) and at random. The engine's own search
    (index/dense.py: exact over a small scope, HNSW with a selector over a large one) is
    compared with exact search over the same scope, and with HNSW alone.
    """
    from index.dense import EXACT_SCOPE_SHARE, AllowedChunks, _search, read_dense, search_dense
    from index.dense import write_dense as write
    from index.settings import DenseSettings

    n = args.filtered_size
    real = faq_vectors()
    log(f"drawing {n} vectors from a mixture fitted to {len(real)} FAQ vectors")
    vectors, topics = synthetic_vectors(real, n, topics=True)
    config = load_config(ROOT / "config.yaml")
    encoder = create_encoder(config.engine.model)
    questions = [q.question for q in faq_questions()][:200]
    queries = encoder.encode_queries(questions)
    settings = DenseSettings(dense_index="hnsw")
    out: dict = {
        "vectors": n,
        "real": len(real),
        "questions": len(queries),
        "m": settings.hnsw_m,
        "ef_search": settings.hnsw_ef_search,
        "exact_scope_share": EXACT_SCOPE_SHARE,
        "scopes": {},
    }
    folder = STATE / "filtered"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"hnsw-{n}.faiss"
    if not path.is_file():
        t = time.perf_counter()
        write(path, vectors, "hnsw", vectors.shape[1], settings)
        out["build_s"] = time.perf_counter() - t
        log(f"hnsw build of {n}: {out['build_s']:.0f} s (load {loadavg()})")
    hnsw = read_dense(path, "hnsw")
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    rng = np.random.default_rng(5)
    order = rng.permutation(topics.max() + 1)
    sizes = np.bincount(topics, minlength=len(order))[order]
    for share in args.shares:
        for marked in ("topics", "random"):
            if marked == "random":
                public = rng.random(n) < share
            else:
                chosen = order[: int(np.searchsorted(np.cumsum(sizes), share * n)) + 1]
                public = np.isin(topics, chosen)
            allowed = AllowedChunks(public)
            faiss.omp_set_num_threads(os.cpu_count() or 1)
            _, truth = exact.search(
                queries, 10, params=faiss.SearchParameters(sel=allowed.selector)
            )
            engine_ms, hnsw_ms = [], []
            got_engine, got_hnsw = [], []
            for q in queries:  # one question at a time, interleaved, as `ask` searches
                t = time.perf_counter()
                _, ids = search_dense(
                    hnsw,
                    q[None],
                    10,
                    kind="hnsw",
                    ef_search=settings.hnsw_ef_search,
                    nprobe=1,
                    allowed=allowed,
                )
                engine_ms.append((time.perf_counter() - t) * 1000)
                got_engine.append(np.pad(ids[0], (0, 10 - len(ids[0])), constant_values=-1))
                t = time.perf_counter()
                _, ids = _search(hnsw, q[None], 10, "hnsw", settings.hnsw_ef_search, 1, allowed)
                hnsw_ms.append((time.perf_counter() - t) * 1000)
                got_hnsw.append(ids[0])
            row = {
                "public": round(allowed.count / n, 4),
                "exact_scope": allowed.small,
                "recall@10": recall(truth, np.array(got_engine)),
                "ms": statistics.median(engine_ms),
                "hnsw_recall@10": recall(truth, np.array(got_hnsw)),
                "hnsw_ms": statistics.median(hnsw_ms),
                "loadavg": loadavg(),
            }
            out["scopes"][f"{share}-{marked}"] = row
            log(f"public {share:.0%} by {marked}: {row}")
            results["filtered"] = out
            save_results(results)


# ------------------------------------------------------------------------ peer


def stage_peer(results: dict, args: argparse.Namespace) -> None:
    """txtai (hybrid: BM25 + the same model, faiss) next to ours on the same chunks."""
    from txtai import Embeddings

    from index.embedding import E5_MODEL, resolve_model_path

    # The same model as ours (config.yaml's), with its prompts: e5 reads "query: " and
    # "passage: " before its texts, which txtai calls instructions.
    name = load_config(ROOT / "config.yaml").model.name
    model_path, _ = resolve_model_path(name, STATE / "models")
    instructions = {"query": "query: ", "data": "passage: "} if name == E5_MODEL else None
    size = args.peer_size
    knowledge = corpus(size)
    texts = bench_corpus.corpus_texts(knowledge)
    faq = [q.question for q in faq_questions()]
    questions = faq[::2] + corpus_questions(texts, 300)
    random.Random(3).shuffle(questions)
    out: dict = {"chunks": len(texts), "model": name}

    def txtai_index(rows: list[tuple[str, str]]) -> tuple[Embeddings, float]:
        emb = Embeddings(
            path=model_path,
            content=True,
            hybrid=True,
            backend="faiss",
            method="sentence-transformers",
            instructions=instructions,
        )
        t = time.perf_counter()
        emb.index(rows)
        return emb, time.perf_counter() - t

    emb, out["txtai_build_s"] = txtai_index([(str(i), t) for i, t in enumerate(texts)])
    for q in questions[:20]:
        emb.search(q, 10)
    lat = []
    for q in questions:
        t = time.perf_counter()
        emb.search(q, 10)
        lat.append((time.perf_counter() - t) * 1000)
    out["txtai_search_ms"] = summary_ms(lat)
    log(f"txtai {size}: build {out['txtai_build_s']:.1f} s, search {out['txtai_search_ms']}")
    del emb
    # Ours, cold, same chunks, same process.
    work = STATE / f"peer-{size}"
    shutil.rmtree(work, ignore_errors=True)
    config = config_for(knowledge, work, args.backend)
    engine = Engine(config.engine, create_encoder(config.engine.model))
    t = time.perf_counter()
    engine.reindex()
    out["ours_build_s"] = time.perf_counter() - t
    for q in questions[:20]:
        engine.search(q, visibility="internal")
    lat = []
    for q in questions:
        t = time.perf_counter()
        engine.search(q, visibility="internal")
        lat.append((time.perf_counter() - t) * 1000)
    out["ours_search_ms"] = summary_ms(lat)
    out["ours_ask_ms"] = measure_latency(engine, questions)
    engine.close()
    # Retrieval quality on the FAQ dev set: the same chunks (700 characters) for both.
    from index.chunking import chunk_document, passage_text
    from index.documents import load_documents

    docs = load_documents(FAQ / "knowledge").documents
    rows = [
        (f"{d.id}|{c.ordinal}", passage_text(d.title, d.id, c))
        for d in docs
        for c in chunk_document(d, 700, 1)
    ]
    emb, _ = txtai_index(rows)
    by_lang: dict[str, list[float]] = {}
    for q in faq_questions():
        hits = emb.search(q.question, 50)
        ranked = list(dict.fromkeys(h["id"].split("|")[0] for h in hits))[:10]
        by_lang.setdefault(q.lang, []).append(
            retrieval_scores(ranked, q.expected_source)["ndcg@10"]
        )
    out["txtai_ndcg"] = {k: round(statistics.fmean(v), 4) for k, v in sorted(by_lang.items())}
    faq_config = load_config(
        ROOT / "config.yaml",
        overrides={
            "knowledge_dir": FAQ / "knowledge",
            "state_dir": STATE / f"faq-{args.backend}",
            "model.backend": args.backend,
            "model.export_dir": STATE / "models",
        },
    )
    ours = Engine(faq_config.engine, create_encoder(faq_config.engine.model))
    ours.reindex()
    out["ours_ndcg"] = faq_ndcg(ours, faq_questions())
    ours.close()
    out["loadavg"] = loadavg()
    log(f"peer {out}")
    results["peer"] = out
    save_results(results)


# ------------------------------------------------------------------------ report


def main() -> None:
    ap = argparse.ArgumentParser(description="performance at scale (issue 5)")
    ap.add_argument(
        "--only", nargs="*", choices=["backends", "sizes", "million", "filtered", "peer", "report"]
    )
    ap.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    ap.add_argument("--cold", nargs="*", type=int, default=[10_000])
    ap.add_argument("--backend", default=None, help="encoder backend (default: config.yaml's)")
    ap.add_argument("--seconds", type=float, default=8.0, help="per throughput measurement")
    ap.add_argument("--backend-chunks", type=int, default=1024)
    ap.add_argument("--peer-size", type=int, default=10_000)
    ap.add_argument("--filtered-size", type=int, default=500_000)
    ap.add_argument("--shares", nargs="*", type=float, default=[0.02, 0.1, 0.2, 0.3, 0.9])
    args = ap.parse_args()
    args.backend = args.backend or load_config(ROOT / "config.yaml").model.backend
    stages = args.only or ["backends", "sizes", "million", "peer", "report"]
    results = load_results()
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    for stage in stages:
        started = time.perf_counter()
        log(f"stage {stage} (load {loadavg()})")
        {
            "backends": stage_backends,
            "sizes": stage_sizes,
            "million": stage_million,
            "filtered": stage_filtered,
            "peer": stage_peer,
            "report": lambda r, a: __import__("bench_report").write_report(r, DOC, PLOT),
        }[stage](results, args)
        save_results(results)
        log(f"stage {stage} done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
