"""Retrieval and answer metrics over question sets in the format of ``shared/eval``.

Each JSON line has ``question``, ``lang`` and either ``expected_source`` (a document id:
retrieval metrics), ``expect_any`` / ``expect_all`` (strings the answer must contain), or
``answerable: false`` (the bot must abstain).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.answer import QuestionError
from index.engine import Engine
from index.search import Retriever, rank_documents
from index.types import Visibility


class EvalFileError(ValueError):
    """The question file is missing or malformed."""


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question set."""

    id: str
    question: str
    lang: str
    expected_source: str | None
    expect_any: tuple[str, ...]
    expect_all: tuple[str, ...]
    answerable: bool


def load_questions(path: Path) -> list[EvalQuestion]:
    """Return the questions of a JSONL file; raise EvalFileError naming the bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"cannot read {path}: {exc}") from exc
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("question"), str):
                raise ValueError("each line needs a 'question' string")
            out.append(
                EvalQuestion(
                    id=str(row.get("id", f"line-{number}")),
                    question=row["question"],
                    lang=str(row.get("lang", "sv")),
                    expected_source=row.get("expected_source"),
                    expect_any=tuple(row.get("expect_any") or ()),
                    expect_all=tuple(row.get("expect_all") or ()),
                    answerable=bool(row.get("answerable", True)),
                )
            )
        except (ValueError, TypeError) as exc:
            raise EvalFileError(f"{path}:{number}: {exc}") from exc
    if not out:
        raise EvalFileError(f"{path}: no questions")
    return out


def retrieval_scores(ranked: list[str], expected: str) -> dict[str, float]:
    """Return hit@1, hit@5, mrr@10 and ndcg@10 of one ranking with one relevant document."""
    rank = ranked.index(expected) + 1 if expected in ranked else None
    return {
        "hit@1": float(rank == 1),
        "hit@5": float(rank is not None and rank <= 5),
        "mrr@10": 1.0 / rank if rank is not None and rank <= 10 else 0.0,
        "ndcg@10": 1.0 / math.log2(rank + 1) if rank is not None and rank <= 10 else 0.0,
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ["hit@1", "hit@5", "mrr@10", "ndcg@10"]
    out = {k: round(statistics.fmean(r[k] for r in rows), 4) for k in keys}
    out["n"] = len(rows)
    return out


def evaluate(
    engine: Engine,
    questions: list[EvalQuestion],
    *,
    visibility: Visibility = "internal",
    retriever: Retriever = "hybrid",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run a question set; return retrieval, answer and abstention metrics with failures.

    For a question with an expected document, ``answers[lang]`` holds ``answer@1`` (the
    share answered with the first quote taken from that document) and ``answered`` (the
    share answered at all).
    """
    retrieval: dict[str, list[dict[str, float]]] = {}
    answers: dict[str, list[bool]] = {}
    # For questions with an expected document: (answered at all, first quote from it).
    sourced: dict[str, list[tuple[bool, bool]]] = {}
    abstention: dict[str, list[bool]] = {}
    failures: list[dict[str, Any]] = []
    latencies: list[float] = []
    for n, q in enumerate(questions, 1):
        if q.expected_source:
            result = engine.search(q.question, visibility=visibility, retriever=retriever, top_k=50)
            ranked = [doc for doc, _ in rank_documents(result.hits)][:10]
            scores = retrieval_scores(ranked, q.expected_source)
            retrieval.setdefault(q.lang, []).append(scores)
            if scores["hit@1"] < 1:
                failures.append(
                    {
                        "id": q.id,
                        "kind": "retrieval",
                        "question": q.question,
                        "expected": q.expected_source,
                        "got": ranked[:3],
                    }
                )
            if q.answerable:
                try:
                    answer = engine.ask(q.question, visibility=visibility)
                except QuestionError as exc:
                    failures.append({"id": q.id, "kind": "question", "error": str(exc)})
                    continue
                latencies.append(answer.timings_ms.get("total", 0.0))
                first = (
                    answer.sources[answer.quotes[0].source].id
                    if answer.answered and answer.quotes
                    else None
                )
                sourced.setdefault(q.lang, []).append((answer.answered, first == q.expected_source))
        if q.expect_any or q.expect_all or not q.answerable:
            try:
                answer = engine.ask(q.question, visibility=visibility)
            except QuestionError as exc:
                failures.append({"id": q.id, "kind": "question", "error": str(exc)})
                continue
            latencies.append(answer.timings_ms.get("total", 0.0))
            if q.answerable:
                text = answer.text.casefold()
                ok = answer.answered
                if q.expect_any:
                    ok = ok and any(e.casefold() in text for e in q.expect_any)
                if q.expect_all:
                    ok = ok and all(e.casefold() in text for e in q.expect_all)
                answers.setdefault(q.lang, []).append(ok)
                if not ok:
                    failures.append(
                        {
                            "id": q.id,
                            "kind": "answer",
                            "question": q.question,
                            "answered": answer.answered,
                            "answer": answer.text,
                            "confidence": round(answer.confidence, 3),
                        }
                    )
            else:
                ok = not answer.answered
                abstention.setdefault(q.lang, []).append(ok)
                if not ok:
                    failures.append(
                        {
                            "id": q.id,
                            "kind": "abstention",
                            "question": q.question,
                            "answer": answer.text,
                            "confidence": round(answer.confidence, 3),
                        }
                    )
        if progress:
            progress(n, len(questions))

    def accuracy(groups: dict[str, list[bool]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            lang: {"accuracy": round(sum(v) / len(v), 4), "n": len(v)} for lang, v in groups.items()
        }
        every = [x for v in groups.values() for x in v]
        if every:
            out["all"] = {"accuracy": round(sum(every) / len(every), 4), "n": len(every)}
        return out

    answer_report = accuracy(answers)
    for lang, rows in sorted(sourced.items()):
        answer_report.setdefault(lang, {}).update(
            {
                "answer@1": round(sum(hit for _, hit in rows) / len(rows), 4),
                "answered": round(sum(said for said, _ in rows) / len(rows), 4),
                "n_expected_source": len(rows),
            }
        )
    return {
        "retriever": retriever,
        "retrieval": {lang: _mean(rows) for lang, rows in sorted(retrieval.items())},
        "answers": answer_report,
        "abstention": accuracy(abstention),
        "failures": failures,
    }


def passed(report: dict[str, Any]) -> bool:
    """Return whether every answer and abstention question passed."""
    return not any(f["kind"] in ("answer", "abstention", "question") for f in report["failures"])
