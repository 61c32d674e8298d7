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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.answer import Answer, QuestionError
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


@dataclass
class _Tally:
    """What a run over a question set has found so far, by language."""

    retrieval: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    answers: dict[str, list[bool]] = field(default_factory=dict)
    # For questions with an expected document: (answered at all, first quote from it).
    sourced: dict[str, list[tuple[bool, bool]]] = field(default_factory=dict)
    abstention: dict[str, list[bool]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def report(self, retriever: Retriever) -> dict[str, Any]:
        """Return the metrics of everything tallied, with the failures."""
        answer_report = _accuracy(self.answers)
        for lang, rows in sorted(self.sourced.items()):
            answer_report.setdefault(lang, {}).update(
                {
                    "answer@1": round(sum(hit for _, hit in rows) / len(rows), 4),
                    "answered": round(sum(said for said, _ in rows) / len(rows), 4),
                    "n_expected_source": len(rows),
                }
            )
        return {
            "retriever": retriever,
            "retrieval": {lang: _mean(rows) for lang, rows in sorted(self.retrieval.items())},
            "answers": answer_report,
            "abstention": _accuracy(self.abstention),
            "failures": self.failures,
        }


def _accuracy(groups: dict[str, list[bool]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        lang: {"accuracy": round(sum(v) / len(v), 4), "n": len(v)} for lang, v in groups.items()
    }
    every = [x for v in groups.values() for x in v]
    if every:
        out["all"] = {"accuracy": round(sum(every) / len(every), 4), "n": len(every)}
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
    tally = _Tally()
    for n, q in enumerate(questions, 1):
        # A question the engine refuses is a failure; it is not counted as progress.
        if _evaluate_one(engine, q, tally, visibility, retriever) and progress:
            progress(n, len(questions))
    return tally.report(retriever)


def _evaluate_one(
    engine: Engine, q: EvalQuestion, tally: _Tally, visibility: Visibility, retriever: Retriever
) -> bool:
    """Tally one question; return False if the engine refused it (a failure)."""
    if q.expected_source:
        _rank(engine, q, tally, visibility, retriever)
        if q.answerable:
            answer = _ask(engine, q, tally, visibility)
            if answer is None:
                return False
            first = (
                answer.sources[answer.quotes[0].source].id
                if answer.answered and answer.quotes
                else None
            )
            tally.sourced.setdefault(q.lang, []).append(
                (answer.answered, first == q.expected_source)
            )
    if q.expect_any or q.expect_all or not q.answerable:
        answer = _ask(engine, q, tally, visibility)
        if answer is None:
            return False
        if q.answerable:
            _check_answer(q, answer, tally)
        else:
            _check_abstention(q, answer, tally)
    return True


def _rank(
    engine: Engine, q: EvalQuestion, tally: _Tally, visibility: Visibility, retriever: Retriever
) -> None:
    """Tally where the expected document ranks among the documents found."""
    assert q.expected_source is not None
    result = engine.search(q.question, visibility=visibility, retriever=retriever, top_k=50)
    ranked = [doc for doc, _ in rank_documents(result.hits)][:10]
    scores = retrieval_scores(ranked, q.expected_source)
    tally.retrieval.setdefault(q.lang, []).append(scores)
    if scores["hit@1"] < 1:
        tally.failures.append(
            {
                "id": q.id,
                "kind": "retrieval",
                "question": q.question,
                "expected": q.expected_source,
                "got": ranked[:3],
            }
        )


def _ask(engine: Engine, q: EvalQuestion, tally: _Tally, visibility: Visibility) -> Answer | None:
    """Return the engine's answer, or None (a failure tallied) if it refused the question."""
    try:
        answer = engine.ask(q.question, visibility=visibility)
    except QuestionError as exc:
        tally.failures.append({"id": q.id, "kind": "question", "error": str(exc)})
        return None
    tally.latencies.append(answer.timings_ms.get("total", 0.0))
    return answer


def _check_answer(q: EvalQuestion, answer: Answer, tally: _Tally) -> None:
    """Tally whether an answer holds the expected words."""
    text = answer.text.casefold()
    ok = answer.answered
    if q.expect_any:
        ok = ok and any(e.casefold() in text for e in q.expect_any)
    if q.expect_all:
        ok = ok and all(e.casefold() in text for e in q.expect_all)
    tally.answers.setdefault(q.lang, []).append(ok)
    if not ok:
        tally.failures.append(
            {
                "id": q.id,
                "kind": "answer",
                "question": q.question,
                "answered": answer.answered,
                "answer": answer.text,
                "confidence": round(answer.confidence, 3),
            }
        )


def _check_abstention(q: EvalQuestion, answer: Answer, tally: _Tally) -> None:
    """Tally whether the engine declined a question it must decline."""
    ok = not answer.answered
    tally.abstention.setdefault(q.lang, []).append(ok)
    if not ok:
        tally.failures.append(
            {
                "id": q.id,
                "kind": "abstention",
                "question": q.question,
                "answer": answer.text,
                "confidence": round(answer.confidence, 3),
            }
        )


def passed(report: dict[str, Any]) -> bool:
    """Return whether every answer and abstention question passed."""
    return not any(f["kind"] in ("answer", "abstention", "question") for f in report["failures"])
