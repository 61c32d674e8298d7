"""The abstention threshold (answer.min_confidence) against sentence-level correctness.

Usage:
    .venv/bin/python benchmarks/calibrate.py [--split tests/gold/dev] [--split tests/gold/test]
        [--evidence FILE]

Each split's knowledge folder is indexed with the configured model and every question of
the split is asked through the engine itself (``Engine.ask`` with ``min_confidence`` 0, so
its own confidence, the fitted answer model's probability, decides nothing yet). An answer
is right when its first quote is a gold sentence (``index.evaluate.quote_matches``); an
answered unanswerable question is wrong. Summaries are left out (they are not declined).

Printed per split and language, at each threshold: the share answered, ``wrong`` (the share
of answered questions whose first quote is not gold) and ``declined_wrongly`` (the share of
answerable questions declined), and the configured threshold's row. Choose on dev
(``benchmarks/fit_selection.py`` does, from held-out documents); report test. The shipped
dev questions (../shared/eval/dev-questions.jsonl) are checked at the configured threshold:
every one must pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from _common import ROOT, SHARED

from bot.config import load_config
from index.embedding import create_encoder
from index.engine import Engine
from index.evaluate import evaluate, load_questions, passed, quote_matches


def engine_for(knowledge: Path, state: Path, encoder) -> Engine:
    config = load_config(
        ROOT / "config.yaml",
        overrides={"knowledge_dir": knowledge, "state_dir": state},
        environ={},
    )
    settings = config.engine
    answer = replace(settings.answer, min_confidence=0.0)
    engine = Engine(replace(settings, answer=answer), encoder)
    engine.reindex()
    return engine


def graded(engine: Engine, split: Path) -> list[dict]:
    """Return one row per question: language, answerable, confidence, first quote right."""
    rows = []
    for q in load_questions(split / "questions.jsonl"):
        if q.kind == "summary":
            continue
        context = q.history[-1] if q.history else None
        answer = engine.ask(q.question, visibility="internal", context=context)
        first = answer.quotes[0].text if answer.quotes else ""
        rows.append(
            {
                "lang": q.lang,
                "answerable": q.answerable,
                "confidence": answer.confidence,
                "right": q.answerable and any(quote_matches(first, g) for g in q.gold),
            }
        )
    return rows


def table(rows: list[dict], configured: float) -> list[str]:
    """Return the trade-off at thresholds as Markdown lines, the configured one marked."""
    lines = [
        "| threshold | answered | quote@1 | wrong (of answered) | declined_wrongly |",
        "|---|---|---|---|---|",
    ]
    answerable = [r for r in rows if r["answerable"]] or [{}]
    marks = sorted({round(t / 100, 2) for t in range(0, 80, 5)} | {configured})
    for t in marks:
        said = [r for r in rows if r["confidence"] >= t]
        right = sum(r["right"] for r in said)
        wrong = len(said) - right
        declined = sum(1 for r in answerable if r and r["confidence"] < t)
        mark = " ← configured" if t == configured else ""
        lines.append(
            f"| {t:.2f}{mark} | {len(said) / len(rows):.3f} | {right / len(answerable):.3f} |"
            f" {wrong / max(len(said), 1):.3f} | {declined / len(answerable):.3f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, action="append", help="a gold split folder")
    parser.add_argument("--evidence", type=Path, help="keep the graded rows here, reuse them")
    args = parser.parse_args()
    splits = args.split or [ROOT / "tests" / "gold" / "dev", ROOT / "tests" / "gold" / "test"]
    config = load_config(ROOT / "config.yaml", environ={})
    configured = config.engine.answer.min_confidence
    saved = (
        json.loads(args.evidence.read_text()) if args.evidence and args.evidence.is_file() else {}
    )
    encoder = None
    with tempfile.TemporaryDirectory() as tmp:
        for split in splits:
            if str(split) not in saved:
                encoder = encoder or create_encoder(config.engine.model)
                engine = engine_for(split / "knowledge", Path(tmp) / split.name, encoder)
                saved[str(split)] = graded(engine, split)
            rows = saved[str(split)]
            for lang in ("sv", "en"):
                print(f"\n{split.name} ({lang}, {sum(r['lang'] == lang for r in rows)} questions)")
                print("\n".join(table([r for r in rows if r["lang"] == lang], configured)))
        if args.evidence:
            args.evidence.write_text(json.dumps(saved), encoding="utf-8")
        # The shipped knowledge base's own questions pass at the configured threshold.
        encoder = encoder or create_encoder(config.engine.model)
        shipped = Engine(
            load_config(
                ROOT / "config.yaml", overrides={"state_dir": Path(tmp) / "shipped"}, environ={}
            ).engine,
            encoder,
        )
        shipped.reindex()
        report = evaluate(shipped, load_questions(SHARED / "eval" / "dev-questions.jsonl"))
        print(
            f"\nshipped dev questions at {configured}: {'all pass' if passed(report) else 'FAIL'}"
        )
        if not passed(report):
            print(json.dumps(report["failures"], ensure_ascii=False, indent=1))
            sys.exit(1)


if __name__ == "__main__":
    main()
