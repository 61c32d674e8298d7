"""Render the scale benchmark's results into docs/PERFORMANCE.md and its latency plot.

Only the part between the ``results`` markers is rewritten; the analysis around it is
written by hand. Usage: .venv/bin/python benchmarks/bench_scale.py --only report
"""

from __future__ import annotations

from pathlib import Path

BEGIN = "<!-- results:begin (written by benchmarks/bench_scale.py) -->"
END = "<!-- results:end -->"
CMD = ".venv/bin/python benchmarks/bench_scale.py"


def _n(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}".replace(",", " ")


def _mb(value: float) -> str:
    return f"{value / 1e6:,.0f} MB".replace(",", " ")


def targets(results: dict) -> list[tuple[str, str, bool | None, str]]:
    """Return (target, measured, met, command) rows; met is None when not measured."""
    sizes = results.get("sizes", {})
    mid = sizes.get("50000") or {}
    small = sizes.get("10000") or {}
    million = results.get("million") or {}
    peer = results.get("peer") or {}
    rows: list[tuple[str, str, bool | None, str]] = []

    def add(target: str, measured: str | None, met: bool | None, command: str) -> None:
        rows.append((target, measured or "not measured", met if measured else None, command))

    lat = mid.get("latency_ms")
    add(
        "`ask` median ≤ 15 ms at 50,000 chunks",
        lat and f"{_n(lat['median'])} ms",
        lat and lat["median"] <= 15,
        f"{CMD} --only sizes",
    )
    add(
        "`ask` p95 ≤ 30 ms at 50,000 chunks",
        lat and f"{_n(lat['p95'])} ms",
        lat and lat["p95"] <= 30,
        f"{CMD} --only sizes",
    )
    mlat = million.get("latency_ms")
    kind = million.get("ask_index", "ivf")
    if kind == "hnsw":
        setting = million["hnsw"]["chosen_ef_search"]
        rec = _key(million["hnsw"]["ef_search"], setting)
        label = f"HNSW, efSearch {setting}"
    else:
        setting = million.get("ivf", {}).get("chosen_nprobe")
        rec = _key(million.get("ivf", {}).get("nprobe", {}), setting)
        label = f"IVF, nprobe {setting}"
    add(
        "`ask` median ≤ 25 ms at 1,000,000 vectors",
        mlat and f"{_n(mlat['median'])} ms ({label})",
        mlat and mlat["median"] <= 25,
        f"{CMD} --only million",
    )
    r = rec and min(rec["recall@10"], rec["recall@10_public"])
    add(
        "recall@10 ≥ 0.95 at 1,000,000 vectors",
        rec and f"{r:.3f} (internal {rec['recall@10']:.3f}, public {rec['recall@10_public']:.3f})",
        rec and r >= 0.95,
        f"{CMD} --only million",
    )
    thr = {t["askers"]: t for t in mid.get("throughput", [])}
    t32 = thr.get(32)
    add(
        "≥ 200 questions/s with 32 concurrent askers at 50,000 chunks",
        t32 and f"{_n(t32['per_s'])} /s",
        t32 and t32["per_s"] >= 200,
        f"{CMD} --only sizes",
    )
    build = small.get("build", {})
    add(
        "build throughput ≥ 0.9× the raw encoder's",
        build.get("cold")
        and f"{build['ratio']:.2f}× ({_n(build['chunks_per_s'])} vs {_n(build['raw_chunks_per_s'])}"
        f" chunks/s, {small['chunks']} chunks)",
        build.get("cold") and build["ratio"] >= 0.9,
        f"{CMD} --only sizes",
    )
    big = max(
        (s for s in sizes.values() if s.get("documents", 0) >= 10_000),
        key=lambda s: s["documents"],
        default=None,
    )
    add(
        "reindex with nothing changed on 10,000 documents ≤ 3 s",
        big and f"{_n(big['reindex']['noop_seconds'], 2)} s ({big['documents']} documents)",
        big and big["reindex"]["noop_seconds"] <= 3,
        f"{CMD} --only sizes",
    )
    serving = mid.get("serving")
    add(
        "peak RSS of the running bot ≤ 1.2 GB at 50,000 chunks",
        serving and f"{_n(serving['rss_mb'], 0)} MB",
        serving and serving["rss_mb"] <= 1200,
        f"{CMD} --only sizes",
    )
    cold = mid.get("cold_start")
    add(
        "cold start to first answer ≤ 8 s",
        cold and f"{_n(cold['seconds_median'], 2)} s (50,000 chunks)",
        cold and cold["seconds_median"] <= 8,
        f"{CMD} --only sizes",
    )
    if peer:
        faster_build = peer["ours_build_s"] < peer["txtai_build_s"]
        add(
            "faster than txtai on build",
            f"{_n(peer['ours_build_s'])} s vs {_n(peer['txtai_build_s'])} s "
            f"({peer['chunks']} chunks)",
            faster_build,
            f"{CMD} --only peer",
        )
        ours, theirs = peer["ours_search_ms"]["median"], peer["txtai_search_ms"]["median"]
        add(
            "faster than txtai on query",
            f"{_n(ours)} ms vs {_n(theirs)} ms median search",
            ours < theirs,
            f"{CMD} --only peer",
        )
        on, tn = peer["ours_ndcg"], peer["txtai_ndcg"]
        add(
            "better nDCG@10 than txtai (FAQ dev)",
            f"sv {on['sv']:.3f} vs {tn['sv']:.3f}, en {on['en']:.3f} vs {tn['en']:.3f}",
            on["sv"] > tn["sv"] and on["en"] > tn["en"],
            f"{CMD} --only peer",
        )
    else:
        for what in ("build", "query", "nDCG@10"):
            add(f"better than txtai on {what}", None, None, f"{CMD} --only peer")
    return rows


def render(results: dict, plot_name: str) -> str:
    out: list[str] = []
    machine = results.get("machine", {})
    out.append(
        f"Measured {machine.get('when', '?')} on {machine.get('cpus', '?')} cores, Python "
        f"{machine.get('python', '?')}, FAISS {machine.get('faiss', '?')}; encoder backend "
        f"`{next(iter(results.get('sizes', {}).values()), {}).get('backend', '?')}`.\n"
    )
    out.append("### Targets\n")
    out.append("| target | measured | | command |")
    out.append("|---|---|---|---|")
    for target, measured, met, command in targets(results):
        mark = "met" if met else ("**missed**" if met is False else "—")
        out.append(f"| {target} | {measured} | {mark} | `{command}` |")
    sizes = results.get("sizes", {})
    if sizes:
        out.append("\n### By corpus size (journal-digital, 250-character chunks)\n")
        keys = sorted(sizes, key=int)
        out.append("| | " + " | ".join(f"{int(k):,} chunks".replace(",", " ") for k in keys) + " |")
        out.append("|---" * (len(keys) + 1) + "|")

        def row(label: str, fn) -> None:
            cells = []
            for k in keys:
                try:
                    cells.append(fn(sizes[k]))
                except (KeyError, TypeError, IndexError):
                    cells.append("—")
            out.append(f"| {label} | " + " | ".join(cells) + " |")

        row("documents", lambda s: str(s["documents"]))
        row(
            "full build (cold)",
            lambda s: (
                f"{_n(s['build']['seconds'])} s, {_n(s['build']['chunks_per_s'])} chunks/s"
                if s["build"]["cold"]
                else "—"
            ),
        )
        row(
            "raw encoder, same chunks",
            lambda s: (
                f"{_n(s['build']['raw_chunks_per_s'])} chunks/s" if s["build"]["cold"] else "—"
            ),
        )
        row(
            "build with every vector cached",
            lambda s: (
                f"{_n(s['build']['seconds_without_encoding'])} s" if not s["build"]["cold"] else "—"
            ),
        )
        row("reindex, nothing changed", lambda s: f"{_n(s['reindex']['noop_seconds'], 2)} s")
        row(
            "reindex, 1 % of documents changed",
            lambda s: (
                f"{_n(s['reindex']['one_percent_seconds'])} s "
                f"({s['reindex']['one_percent_embedded']} chunks embedded)"
            ),
        )
        row(
            "`ask` median / p95 / p99",
            lambda s: "{} / {} / {} ms".format(
                *(_n(s["latency_ms"][p]) for p in ("median", "p95", "p99"))
            ),
        )
        row(
            "… of which encode / search / answer (median)",
            lambda s: (
                " / ".join(
                    _n(s["latency_ms"]["stages_median"][p]) for p in ("encode", "search", "answer")
                )
                + " ms"
            ),
        )
        for i, askers in enumerate((1, 8, 32)):
            row(
                f"questions/s, {askers} askers (mean batch)",
                lambda s, i=i: (
                    f"{_n(s['throughput'][i]['per_s'])} ({_n(s['throughput'][i]['mean_batch'])})"
                ),
            )
        row(
            "questions/s, 32 askers, batching off",
            lambda s: _n(s["throughput_unbatched_32"]["per_s"]),
        )
        row("peak RSS, serving 32 at a time", lambda s: f"{_n(s['serving']['rss_mb'], 0)} MB")
        row(
            "cold start to first answer (CLI)",
            lambda s: f"{_n(s['cold_start']['seconds_median'], 2)} s",
        )
        row("peak RSS of that CLI process", lambda s: f"{_n(s['cold_start']['rss_mb'], 0)} MB")
        row(
            "index on disk (+ vector cache)",
            lambda s: f"{_mb(s['disk_bytes'])} (+ {_mb(s['cache_bytes'])})",
        )
        row("exact search, 1 question, k=300", lambda s: f"{_n(s['dense']['exact_ms'], 2)} ms")
        row(
            "IVF lists",
            lambda s: str(s["dense"]["ivf"]["nlist"]),
        )
        row(
            "IVF nprobe 128: ms / recall@10",
            lambda s: "{} ms / {:.3f}".format(
                _n(_probe(s["dense"]["ivf"], 128)["ms"], 2),
                _probe(s["dense"]["ivf"], 128)["recall@10"],
            ),
        )
        row(
            "HNSW efSearch 1024: ms / recall@10",
            lambda s: "{} ms / {:.3f}".format(
                _n(_key(s["dense"]["hnsw"]["ef_search"], 1024)["ms"], 2),
                _key(s["dense"]["hnsw"]["ef_search"], 1024)["recall@10"],
            ),
        )
        out.append(f"\n![ask latency against corpus size]({plot_name})\n")
    million = results.get("million")
    if million:
        out.append("### 1,000,000 vectors\n")
        out.append(
            f"{million['real']:,} real corpus vectors plus "
            f"{million['vectors'] - million['real']:,} "
            "drawn from a diagonal Gaussian mixture (1,024 components, k-means) fitted to them; "
            "questions are real. The `ask` index repeats the real chunks' rows 10× (BM25 idf "
            "recomputed for the larger collection).\n"
        )
        out.append("| dense index | recall@10 (internal / public) | ms per question (k=300) |")
        out.append("|---|---|---|")
        out.append(f"| exact | 1 / 1 | {_n(million['exact_ms'], 1)} |")
        for nprobe, r in million["ivf"]["nprobe"].items():
            out.append(
                f"| IVF {million['ivf']['nlist']} lists, nprobe {nprobe} | "
                f"{r['recall@10']:.3f} / {r['recall@10_public']:.3f} | {_n(r['ms'], 2)} |"
            )
        for ef, r in million["hnsw"]["ef_search"].items():
            out.append(
                f"| HNSW M=32, efSearch {ef} | {r['recall@10']:.3f} / "
                f"{r['recall@10_public']:.3f} | {_n(r['ms'], 2)} (public {_n(r['ms_public'], 2)}) |"
            )
        lat = million["latency_ms"]
        out.append(
            f"\nBuild of the dense index over 1,000,000 vectors: IVF (train + add) "
            f"{_n(million['ivf']['build_s'], 0)} s, HNSW (M=32, efConstruction=200) "
            f"{_n(million['hnsw']['build_s'], 0)} s. `ask` over the 1,000,000-chunk index "
            f"({million['ask_index'].upper()}, the setting above that keeps recall@10 ≥ 0.95): "
            f"median {_n(lat['median'])} ms, p95 {_n(lat['p95'])} ms, p99 {_n(lat['p99'])} ms "
            f"(encode / search / answer {_n(lat['stages_median']['encode'])} / "
            f"{_n(lat['stages_median']['search'])} / {_n(lat['stages_median']['answer'])} ms); "
            f"{_n(million['throughput_32']['per_s'])} questions/s with 32 askers; "
            f"{_mb(million['disk_bytes'])} on disk.\n"
        )
    backends = results.get("backends")
    if backends:
        out.append("### Encoder backends\n")
        out.append(
            f"Same {backends['chunks']} corpus chunks and the FAQ dev questions; nDCG@10 of the "
            "shipped engine on the FAQ dev set with each backend.\n"
        )
        out.append(
            "| backend | chunks/s | speed-up | 1 question | per question in a batch of 32 "
            "| nDCG@10 sv / en |"
        )
        out.append("|---|---|---|---|---|---|")
        base = backends["torch"]["chunks_per_s"]
        for name in ("torch", "onnx", "onnx-int8"):
            b = backends.get(name)
            if b:
                out.append(
                    f"| {name} | {_n(b['chunks_per_s'])} | {b['chunks_per_s'] / base:.2f}× | "
                    f"{_n(b['query_ms_median'], 2)} ms | "
                    f"{_n(b['query_ms_in_batch_of_32'], 2)} ms | "
                    f"{b['ndcg']['sv']:.3f} / {b['ndcg']['en']:.3f} |"
                )
    peer = results.get("peer")
    if peer:
        out.append("\n### Peer: txtai on the same data\n")
        out.append(
            f"txtai `Embeddings(path=<{peer.get('model', 'our model')}>, content=True, "
            f"hybrid=True)` (BM25 + dense, faiss) against this engine, same {peer['chunks']:,} "
            "chunks, same questions, same process.\n"
        )
        out.append("| | build | search median / p95 | FAQ dev nDCG@10 sv / en |")
        out.append("|---|---|---|---|")
        for who in ("ours", "txtai"):
            s = peer[f"{who}_search_ms"]
            nd = peer[f"{who}_ndcg"]
            out.append(
                f"| {'this engine' if who == 'ours' else 'txtai'} | "
                f"{_n(peer[f'{who}_build_s'])} s | "
                f"{_n(s['median'], 2)} / {_n(s['p95'], 2)} ms | {nd['sv']:.3f} / {nd['en']:.3f} |"
            )
    return "\n".join(out) + "\n"


def _probe(ivf: dict, nprobe: int) -> dict:
    return _key(ivf["nprobe"], nprobe)


def _key(table: dict, key: object) -> dict:
    """Return table[key] whether the JSON round trip made the key a string or not."""
    if key is None:
        return {}
    return table.get(str(key)) or table.get(key) or {}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results.get("sizes", {})
    points = [(int(k), v["latency_ms"]) for k, v in sizes.items() if "latency_ms" in v]
    if results.get("million", {}).get("latency_ms"):
        points.append((results["million"]["vectors"], results["million"]["latency_ms"]))
    points.sort()
    if not points:
        return
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=120)
    xs = [p[0] for p in points]
    for key, style in (("median", "o-"), ("p95", "s--"), ("p99", "^:")):
        ax.plot(xs, [p[1][key] for p in points], style, label=key)
    ax.axhline(15, color="grey", lw=0.8, ls="-.")
    ax.text(xs[0], 15.5, "target: median ≤ 15 ms at 50k", fontsize=7, color="grey")
    ax.set_xscale("log")
    kind = results.get("million", {}).get("ask_index", "approximate").upper()
    ax.plot([xs[-1]], [25], "x", color="grey")
    ax.text(xs[-1], 25.6, "target ≤ 25 ms", fontsize=7, color="grey", ha="right")
    ax.set_xlabel(f"chunks in the index (1,000,000: with drawn vectors, {kind})")
    ax.set_ylabel("`ask` latency, warm process (ms)")
    ax.set_title("Nätverksboten: ask latency against corpus size (2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(results: dict, doc: Path, plot_path: Path) -> None:
    plot(results, plot_path)
    block = f"{BEGIN}\n{render(results, plot_path.name)}{END}"
    text = (
        doc.read_text(encoding="utf-8") if doc.is_file() else f"# Performance\n\n{BEGIN}\n{END}\n"
    )
    start, end = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + block + text[end:], encoding="utf-8")
