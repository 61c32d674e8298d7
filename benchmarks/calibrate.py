"""Calibrate the abstention threshold (answer.min_confidence) on questions with known answers.

Usage: .venv/bin/python benchmarks/calibrate.py

Two knowledge bases, each with questions it can and cannot answer:
- the shipped knowledge base: dev-questions (answerable ones must be answered correctly,
  unanswerable ones declined), benchmarks/calibration-negatives.jsonl (questions about
  the municipalities the documents do not answer), and every FAQ question (off topic);
- the FAQ dev set: its questions are answerable (a correct answer cites the expected
  document); the dev and negative questions are not.
Prints the confidence of each group and the accuracy at candidate thresholds.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import engine_settings, load_config  # noqa: E402
from index.embedding import create_encoder  # noqa: E402
from index.engine import Engine  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"


def read(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def engine_for(knowledge: Path, state: Path, encoder) -> Engine:
    config = load_config(
        ROOT / "config.yaml", overrides={"knowledge_dir": knowledge, "state_dir": state}
    )
    settings = engine_settings(config)
    from dataclasses import replace

    engine = Engine(replace(settings, min_confidence=0.0), encoder)
    engine.reindex()
    return engine


def main() -> None:
    config = load_config(ROOT / "config.yaml")
    encoder = create_encoder(config.model)
    dev = read(SHARED / "dev-questions.jsonl")
    negatives = read(ROOT / "benchmarks" / "calibration-negatives.jsonl")
    faq = read(SHARED / "swedish-faq-dev" / "questions.jsonl")
    rows = []  # (group, should_answer, confidence, correct_if_answered)
    with tempfile.TemporaryDirectory() as tmp:
        seed = engine_for(ROOT / "knowledge", Path(tmp) / "a", encoder)
        for q in dev:
            a = seed.ask(q["question"])
            text = a.text.casefold()
            ok = all(e.casefold() in text for e in q.get("expect_all", [])) and (
                not q.get("expect_any") or any(e.casefold() in text for e in q["expect_any"])
            )
            rows.append((f"seed/dev-{q['lang']}", q.get("answerable", True), a.confidence, ok))
        for q in negatives:
            rows.append((f"seed/neg-{q['lang']}", False, seed.ask(q["question"]).confidence, False))
        for q in faq:
            rows.append((f"seed/faq-{q['lang']}", False, seed.ask(q["question"]).confidence, False))
        faq_engine = engine_for(SHARED / "swedish-faq-dev" / "knowledge", Path(tmp) / "b", encoder)
        for q in faq:
            a = faq_engine.ask(q["question"])
            cited = {s.id for s in a.sources}
            rows.append((f"faq/faq-{q['lang']}", True, a.confidence, q["expected_source"] in cited))
        for q in dev + negatives:
            rows.append(
                (
                    f"faq/offtopic-{q['lang']}",
                    False,
                    faq_engine.ask(q["question"]).confidence,
                    False,
                )
            )

    groups: dict[str, list[float]] = {}
    for group, _, conf, _ in rows:
        groups.setdefault(group, []).append(conf)
    print("| group | n | min | median | max |")
    print("|---|---|---|---|---|")
    for group, values in sorted(groups.items()):
        values.sort()
        mid = values[len(values) // 2]
        print(f"| {group} | {len(values)} | {values[0]:.3f} | {mid:.3f} | {values[-1]:.3f} |")
    print()
    print(
        "| threshold | dev correct | wrongly answered (of should-decline) | FAQ answered"
        " | FAQ answered citing expected |"
    )
    print("|---|---|---|---|---|")
    for t in [x / 100 for x in range(20, 66, 3)]:
        dev_rows = [r for r in rows if r[0].startswith("seed/dev")]
        dev_ok = sum((r[2] >= t and r[3]) if r[1] else r[2] < t for r in dev_rows)
        decline = [r for r in rows if not r[1]]
        wrong = sum(r[2] >= t for r in decline)
        faq_rows = [r for r in rows if r[0].startswith("faq/faq")]
        answered = sum(r[2] >= t for r in faq_rows)
        cited = sum(r[2] >= t and r[3] for r in faq_rows)
        n_dev, n_dec, n_faq = len(dev_rows), len(decline), len(faq_rows)
        print(
            f"| {t:.2f} | {dev_ok}/{n_dev} | {wrong}/{n_dec} | {answered}/{n_faq}"
            f" | {cited}/{n_faq} |"
        )


if __name__ == "__main__":
    main()
