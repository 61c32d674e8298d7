"""The scale benchmark's corpus: Swedish newsreel transcriptions from `journal-digital`.

The PyPI package `journal-digital` (CC BY-NC 4.0, about 2.5 million words) is installed
into the virtual environment by the `bench` extra and read locally; nothing of it is
committed or shipped. Each transcription file is cut into documents of about
``DOC_CHARS`` characters (whole subtitle lines), written as Markdown knowledge files, so
the engine reads, chunks and indexes them exactly as it does real documents.

Usage: .venv/bin/python benchmarks/bench_corpus.py OUT_DIR --chunks 10000
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path

import _common  # noqa: F401 - puts the project on sys.path

from index.chunking import chunk_document
from index.documents import Document, Section

DOC_CHARS = 1500
"""Target length of one document (a few news items of one reel)."""
MAX_CHARS = 250
"""Chunk size of the scale benchmark: the corpus is 15 million characters, so 100,000
chunks need short passages (the engine's default is 700)."""
OVERLAP = 1
INTERNAL_EVERY = 5
"""Every fifth document is internal, so public questions exercise the visibility filter."""


def corpus_root() -> Path:
    """Return the folder of the installed corpus; explain how to install it if missing."""
    try:
        import journal_digital
    except ImportError:
        raise SystemExit(
            "the benchmark corpus is not installed: .venv/bin/pip install -e '.[bench]'"
        ) from None
    return Path(journal_digital.__file__).parent / "corpus"


def _segments(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [
        line.strip()
        for line in lines
        if line.strip() and not line.strip().isdigit() and "-->" not in line
    ]


def iter_documents() -> Iterator[tuple[str, str, str]]:
    """Yield (relative path, title, body) for every document, in a fixed shuffled order."""
    root = corpus_root()
    files = sorted(root.rglob("*.srt"))
    random.Random(5).shuffle(files)
    for path in files:
        rel = path.relative_to(root).with_suffix("")
        parts: list[list[str]] = [[]]
        size = 0
        for segment in _segments(path):
            if size >= DOC_CHARS:
                parts.append([])
                size = 0
            parts[-1].append(segment)
            size += len(segment) + 1
        for n, part in enumerate(p for p in parts if p):
            # Paragraphs of five subtitle lines, so the text has the shape of prose.
            body = "\n\n".join(" ".join(part[i : i + 5]) for i in range(0, len(part), 5))
            name = f"{rel.as_posix().replace('.', '-')}-{n:02d}"
            yield name, f"{rel.name} del {n + 1}", body


def write_corpus(out: Path, chunks: int) -> tuple[int, int]:
    """Write documents into out until they make at least ``chunks`` chunks; return counts.

    Chunks are counted with the engine's own chunker at ``MAX_CHARS``/``OVERLAP``.
    """
    out.mkdir(parents=True, exist_ok=True)
    total = documents = 0
    for name, title, body in iter_documents():
        if total >= chunks:
            break
        doc = Document(name, title, (Section(body),), "public", "")
        total += len(chunk_document(doc, MAX_CHARS, OVERLAP))
        visibility = "internal" if documents % INTERNAL_EVERY == INTERNAL_EVERY - 1 else "public"
        path = out / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"---\ntitle: {title}\nvisibility: {visibility}\n---\n{body}\n", encoding="utf-8"
        )
        documents += 1
    if total < chunks:
        raise SystemExit(f"the corpus holds only {total} chunks, fewer than {chunks}")
    return documents, total


def corpus_texts(knowledge: Path) -> list[str]:
    """Return the passage texts the engine embeds for a knowledge folder, in build order."""
    from index.chunking import passage_text
    from index.documents import load_documents

    docs = load_documents(knowledge).documents
    return [
        passage_text(d.title, d.id, c) for d in docs for c in chunk_document(d, MAX_CHARS, OVERLAP)
    ]


def fill_cache(
    texts: list[str], cache_path: Path, encoder=None, log_every: int = 5000
) -> dict[str, float]:
    """Embed texts missing from the benchmark's vector cache; return raw-encoder timings.

    The cache has the engine's own format (model id + text hash), so a build can start
    from a copy of it; the returned dict holds the chunks/s of the texts encoded now.
    """
    import time

    from index.embedding import MINILM_MODEL, EmbeddingCache, embed_with_cache
    from index.embedding.onnx_backend import OnnxEncoder

    # ONNX Runtime gives the torch model's vectors (within 3e-7, same model id), faster.
    encoder = encoder or OnnxEncoder(MINILM_MODEL, export_dir=cache_path.parent / "models")
    encoder.encode_documents(texts[:64])  # load and warm up
    cache = EmbeddingCache(cache_path)
    try:
        start = time.perf_counter()
        done = 0
        for begin in range(0, len(texts), log_every):
            part = texts[begin : begin + log_every]
            t = time.perf_counter()
            _, new = embed_with_cache(encoder, part, cache)
            done += new
            if new:
                print(
                    f"{begin + len(part)}/{len(texts)}: {new / (time.perf_counter() - t):.0f}"
                    " chunks/s",
                    flush=True,
                )
        seconds = time.perf_counter() - start
    finally:
        cache.close()
    return {"encoded": done, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--embed", type=Path, help="also fill this vector cache (sqlite)")
    args = ap.parse_args()
    documents, total = write_corpus(args.out, args.chunks)
    print(f"{documents} documents, {total} chunks in {args.out}")
    if args.embed:
        print(fill_cache(corpus_texts(args.out), args.embed))


if __name__ == "__main__":
    main()
