"""Profile `ask` under load at one corpus size (where the missed targets' time goes).

Usage: .venv/bin/py-spy record -r 200 -f raw -o .state/bench/profile.txt -- \\
           .venv/bin/python benchmarks/bench_profile.py --size 50000 --askers 32
       .venv/bin/python benchmarks/bench_profile.py --summary .state/bench/profile.txt

Needs the corpus and index of ``benchmarks/bench_scale.py --only sizes``.
"""

from __future__ import annotations

import argparse
import collections
import random
from dataclasses import replace
from pathlib import Path

import bench_corpus
from bench_scale import (
    STATE,
    config_for,
    corpus,
    corpus_questions,
    faq_questions,
    measure_throughput,
)

from index.embedding import create_encoder
from index.engine import Engine


def run(size: int, askers: int, seconds: float, batch: int, backend: str) -> None:
    knowledge = corpus(size)
    config = config_for(knowledge, STATE / f"run-{size}" / "state", backend)
    settings = config.engine
    settings = replace(settings, model=replace(settings.model, query_batch_max=batch))
    engine = Engine(settings, create_encoder(settings.model))
    texts = bench_corpus.corpus_texts(knowledge)
    questions = [q.question for q in faq_questions()][::2] + corpus_questions(texts, 300)
    random.Random(3).shuffle(questions)
    for q in questions[:20]:
        engine.ask(q, visibility="internal")
    result = measure_throughput(engine, questions, askers, seconds)
    print(f"{result['per_s']:.1f} questions/s with {askers} askers")
    engine.close()


def summary(path: Path, top: int = 25) -> None:
    """Print the functions holding the most samples (self and total) from py-spy raw output."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [
            f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].rstrip(")") for f in stack.split(";")
        ]
        samples += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{samples} samples")
    for title, counter in (("self", own), ("total", total)):
        print(f"-- {title}")
        for frame, n in counter.most_common(top):
            print(f"{100 * n / samples:5.1f}%  {frame}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=50_000)
    ap.add_argument("--askers", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--batch", type=int, default=32, help="query_batch_max (1: off)")
    ap.add_argument("--backend", default="onnx")
    ap.add_argument("--summary", type=Path)
    args = ap.parse_args()
    if args.summary:
        summary(args.summary)
    else:
        run(args.size, args.askers, args.seconds, args.batch, args.backend)


if __name__ == "__main__":
    main()
