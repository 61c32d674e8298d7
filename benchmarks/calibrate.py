"""Calibrate the abstention threshold (answer.min_confidence) on questions with known answers.

Usage: .venv/bin/python benchmarks/calibrate.py [EVIDENCE.json]
(with a file: the evidence is saved there, and read from there on the next run)

Two knowledge bases, each with questions it can and cannot answer:
- the shipped knowledge base: dev-questions (answerable ones must be answered correctly,
  unanswerable ones declined), benchmarks/calibration-negatives.jsonl (questions about
  the municipalities the documents do not answer), and every FAQ question (off topic);
- the FAQ dev set: its questions are answerable (a correct answer cites the expected
  document); the dev and negative questions are not.
Prints the confidence of each group and the accuracy at candidate thresholds.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
from _common import ROOT

from bot.config import load_config
from index.embedding import create_encoder
from index.engine import Engine

SHARED = ROOT.parent / "shared" / "eval"


def read(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def engine_for(knowledge: Path, state: Path, encoder) -> Engine:
    config = load_config(
        ROOT / "config.yaml", overrides={"knowledge_dir": knowledge, "state_dir": state}
    )
    settings = config.engine
    from dataclasses import replace

    engine = Engine(replace(settings, answer=replace(settings.answer, min_confidence=0.0)), encoder)
    engine.reindex()
    return engine


def confidence(row, floor_sv, floor_en, width, share_sv, share_en, typed_bonus):
    _, lang, _, cosine, lexical, _, typed = row
    floor, share = (floor_en, share_en) if lang == "en" else (floor_sv, share_sv)
    dense = min(max((cosine - floor) / width, 0.0), 1.0)
    mixed = (1 - share) * dense + share * lexical + typed_bonus * typed
    return min(1.0, max(mixed, lexical if lexical >= 0.7 else 0.0))  # lexical_alone


def main() -> None:
    config = load_config(ROOT / "config.yaml")
    encoder = create_encoder(config.engine.model)
    dev = read(SHARED / "dev-questions.jsonl")
    negatives = read(ROOT / "benchmarks" / "calibration-negatives.jsonl")
    # Paraphrases of dev questions, English ones among them, that must be answered too.
    positives = read(ROOT / "benchmarks" / "calibration-positives.jsonl")
    faq = read(SHARED / "swedish-faq-dev" / "questions.jsonl")
    # (group, lang, should_answer, cosine, lexical, correct_if_answered)
    rows = []

    def add(group, q, should, answer, correct):
        ev = answer.evidence
        rows.append(
            (
                group,
                q["lang"],
                should,
                ev.get("cosine", 0.0),
                ev.get("lexical", 0.0),
                correct,
                ev.get("typed", 0.0),
            )
        )

    saved = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if saved is not None and saved.is_file():
        rows = [tuple(r) for r in json.loads(saved.read_text(encoding="utf-8"))]
        report(rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        seed = engine_for(ROOT / "knowledge", Path(tmp) / "a", encoder)
        for q in dev + positives:
            a = seed.ask(q["question"], visibility="internal")
            text = a.text.casefold()
            ok = all(e.casefold() in text for e in q.get("expect_all", [])) and (
                not q.get("expect_any") or any(e.casefold() in text for e in q["expect_any"])
            )
            add(f"seed/dev-{q['lang']}", q, q.get("answerable", True), a, ok)
        for q in negatives:
            add(
                f"seed/neg-{q['lang']}",
                q,
                False,
                seed.ask(q["question"], visibility="internal"),
                False,
            )
        for q in faq:
            add(
                f"seed/faq-{q['lang']}",
                q,
                False,
                seed.ask(q["question"], visibility="internal"),
                False,
            )
        faq_engine = engine_for(SHARED / "swedish-faq-dev" / "knowledge", Path(tmp) / "b", encoder)
        for q in faq:
            a = faq_engine.ask(q["question"], visibility="internal")
            first = a.sources[a.quotes[0].source].id if a.quotes else None
            add(f"faq/faq-{q['lang']}", q, True, a, first == q["expected_source"])
        for q in dev + negatives:
            a = faq_engine.ask(q["question"], visibility="internal")
            add(f"faq/offtopic-{q['lang']}", q, False, a, False)

    if saved is not None:  # keep the evidence, to try other settings without asking again
        saved.write_text(json.dumps(rows), encoding="utf-8")
    report(rows)


def report(rows: list) -> None:
    """Print the evidence per group and the best confidence settings over it."""
    print("| group | n | cosine min | median | max | lexical median |")
    print("|---|---|---|---|---|---|")
    groups = sorted({r[0] for r in rows})
    for group in groups:
        cos = sorted(r[3] for r in rows if r[0] == group)
        lex = sorted(r[4] for r in rows if r[0] == group)
        m = len(cos) // 2
        print(
            f"| {group} | {len(cos)} | {cos[0]:.3f} | {cos[m]:.3f} | {cos[-1]:.3f} | {lex[m]:.3f} |"
        )

    # Every dev question must pass; then fewest should-decline questions answered; then the
    # widest margin between the dev questions' confidences and the threshold.
    grid = itertools.product(
        [0.80, 0.82, 0.84],
        [0.72, 0.74, 0.76, 0.78],
        [0.08, 0.10, 0.12],
        [0, 0.2, 0.4],
        [0.2, 0.4, 0.6],
        [0, 0.1, 0.2],
    )
    dev = [r for r in rows if r[0].startswith("seed/dev")]
    decline = [r for r in rows if not r[2]]
    faq = {lang: [r for r in rows if r[0] == f"faq/faq-{lang}"] for lang in ("sv", "en")}
    results = []
    for setting in grid:
        conf = {id(r): confidence(r, *setting) for r in rows}
        for t in [x / 100 for x in range(5, 90, 2)]:
            if not all((conf[id(r)] >= t and r[5]) if r[2] else conf[id(r)] < t for r in dev):
                continue
            wrong = sum(conf[id(r)] >= t for r in decline)
            at1 = {k: sum(conf[id(r)] >= t and r[5] for r in v) / len(v) for k, v in faq.items()}
            margin = min(abs(conf[id(r)] - t) for r in dev)
            results.append((wrong, -margin, setting, t, at1))
    # The answer@1 targets (0.50 sv, 0.35 en) with a little room, where possible.
    meets = [r for r in results if r[4]["sv"] >= 0.52 and r[4]["en"] >= 0.37]
    results = meets or results
    results.sort(key=lambda x: (x[0], x[1]))
    print("\nsettings where every dev question passes (fewest wrongly answered, widest margin):")
    print(
        "| floor sv | floor en | width | lexical sv | lexical en | type | threshold | dev margin"
        " | wrongly answered | answer@1 sv | answer@1 en |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for wrong, margin, setting, t, at1 in results[:12]:
        print(
            "| " + " | ".join(str(v) for v in setting) + f" | {t:.2f} | {-margin:.3f} |"
            f" {wrong}/{len(decline)} | {at1['sv']:.3f} | {at1['en']:.3f} |"
        )


if __name__ == "__main__":
    main()
