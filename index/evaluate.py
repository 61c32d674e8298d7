"""Retrieval and answer metrics over question sets.

Two formats of JSON lines, told apart by the ``gold`` field:

- ``shared/eval``: ``question``, ``lang`` and either ``expected_source`` (a document id:
  retrieval metrics and ``answer@1``), ``expect_any`` / ``expect_all`` (strings the
  **first** quote must contain), or ``answerable: false`` (the bot must abstain);
- the sentence-level gold set (``tests/gold/README.md``): ``kind``, ``source``, ``gold``,
  ``context``, ``answerable``, ``near_miss``, ``history``, ``lead``. Its answers are graded
  by the first sentence a user reads (``quote_matches``), by language and question kind.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.answer import Answer, QuestionError
from index.engine import Engine
from index.search import Retriever, rank_documents
from index.types import Visibility


class EvalFileError(ValueError):
    """The question file is missing or malformed."""


# The question kinds of the gold set (tests/gold/README.md).
KINDS = frozenset(
    {
        "who",
        "when",
        "where",
        "which",
        "how_many",
        "why",
        "what_is",
        "yes_no",
        "summary",
        "followup",
        "how",
        "what",
    }
)


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question set.

    ``kind`` is set only for a line of the gold set; ``source``, ``gold``, ``context``,
    ``near_miss``, ``history`` and ``lead`` come with it.
    """

    id: str
    question: str
    lang: str
    expected_source: str | None
    expect_any: tuple[str, ...]
    expect_all: tuple[str, ...]
    answerable: bool
    kind: str | None = None
    source: str | None = None
    gold: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    near_miss: bool = False
    history: tuple[str, ...] = ()
    lead: str | None = None


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
            out.append(_question(row, number))
        except (ValueError, TypeError) as exc:
            raise EvalFileError(f"{path}:{number}: {exc}") from exc
    if not out:
        raise EvalFileError(f"{path}: no questions")
    return out


def _question(row: dict[str, Any], number: int) -> EvalQuestion:
    """Return one line as a question; raise ValueError if a gold line is malformed."""
    question = EvalQuestion(
        id=str(row.get("id", f"line-{number}")),
        question=row["question"],
        lang=str(row.get("lang", "sv")),
        expected_source=row.get("expected_source"),
        expect_any=tuple(row.get("expect_any") or ()),
        expect_all=tuple(row.get("expect_all") or ()),
        answerable=bool(row.get("answerable", True)),
    )
    if "gold" not in row and "kind" not in row:
        return question
    kind = row.get("kind")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(sorted(KINDS))}, not {kind!r}")
    source, lead = row.get("source"), row.get("lead")
    if source is not None and not isinstance(source, str):
        raise ValueError("'source' must be a file name or null")
    if lead is not None and not isinstance(lead, str):
        raise ValueError("'lead' must be a string")
    return replace(
        question,
        kind=kind,
        source=source,
        gold=_strings(row, "gold"),
        context=_strings(row, "context"),
        near_miss=bool(row.get("near_miss", False)),
        history=_strings(row, "history"),
        lead=lead,
    )


def _strings(row: dict[str, Any], key: str) -> tuple[str, ...]:
    """Return a list-of-strings field of a gold line (absent: empty)."""
    value = row.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{key}' must be a list of strings")
    return tuple(value)


_WHITESPACE = re.compile(r"\s+")


def normalise_space(text: str) -> str:
    """Return text with every run of whitespace as one space, ends stripped."""
    return _WHITESPACE.sub(" ", text).strip()


def quote_matches(quote: str, sentence: str) -> bool:
    """Return whether a quote matches a gold sentence (tests/gold/README.md).

    After whitespace is normalised, one contains the other. Empty text matches nothing.
    """
    a, b = normalise_space(quote), normalise_space(sentence)
    return bool(a) and bool(b) and (a in b or b in a)


def _matches_any(quote: str, sentences: tuple[str, ...]) -> bool:
    return any(quote_matches(quote, s) for s in sentences)


def conversation_context(history: tuple[str, ...], limit: int) -> str | None:
    """Return the context a follow-up is asked with: the earlier questions, newest last.

    As a conversation builds it (bot/services/conversation.py): one question is the
    context itself; beyond ``limit`` characters the oldest words go first.
    """
    chain = normalise_space(" ".join(history))
    if len(chain) <= limit:
        return chain or None
    tail = chain[-limit:]
    space = tail.find(" ")
    return tail[space + 1 :] if 0 <= space < limit // 2 else tail


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


@dataclass(frozen=True)
class _Graded:
    """How the engine did on one gold question (not a summary)."""

    lang: str
    kind: str
    answerable: bool
    near_miss: bool
    answered: bool
    first_is_gold: bool  # the first sentence read is a gold one (never, if unanswerable)
    supported: bool  # every quote is a gold or context sentence
    quotes: int


@dataclass(frozen=True)
class _Summary:
    """How the engine did on one summary question."""

    lang: str
    answered: bool
    right_source: bool  # answered, every quote from the expected document
    has_lead: bool  # answered, the document's lead among the quotes
    quotes: int


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
    # Gold-set questions, graded by sentence: the follow-ups and summaries apart.
    sentences: list[_Graded] = field(default_factory=list)
    followups: list[_Graded] = field(default_factory=list)
    summaries: list[_Summary] = field(default_factory=list)

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
            "sentences": _by_language_and_kind(self.sentences),
            "followups": _by_language(self.followups, sentence_metrics),
            "summaries": _by_language(self.summaries, summary_metrics),
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


def _share(count: int, total: int) -> float | None:
    """Return count / total rounded, or None when there is nothing to divide by."""
    return round(count / total, 4) if total else None


def sentence_metrics(graded: list[_Graded]) -> dict[str, Any]:
    """Return the sentence-level metrics of a group of gold questions.

    Every one drops (or, for ``wrong`` and ``declined_wrongly``, rises) when an answer
    is wrong for its reader: ``quote@1`` (share of answerable questions whose first
    quote is gold; a decline is a miss), ``supported`` (share of answered answerable
    questions whose every quote is gold or context), ``wrong`` (answered with a first
    quote that is not gold, answered unanswerable questions included: a count, and
    ``wrong_share`` of the answered questions), ``declined_wrongly`` (share of answerable
    questions declined), ``quotes_per_answer`` (mean over answered answerable questions),
    ``answered`` (share of all), and the shares of unanswerable questions declined,
    near-misses and off-topic questions apart.
    """
    answerable = [g for g in graded if g.answerable]
    answered = [g for g in graded if g.answered]
    answered_answerable = [g for g in answerable if g.answered]
    unanswerable = [g for g in graded if not g.answerable]
    near = [g for g in unanswerable if g.near_miss]
    off_topic = [g for g in unanswerable if not g.near_miss]
    wrong = sum(1 for g in answered if not g.first_is_gold)
    quotes = [g.quotes for g in answered_answerable]
    return {
        "n": len(graded),
        "n_answerable": len(answerable),
        "quote@1": _share(sum(g.first_is_gold for g in answerable), len(answerable)),
        "supported": _share(
            sum(g.supported for g in answered_answerable), len(answered_answerable)
        ),
        "wrong": wrong,
        "wrong_share": _share(wrong, len(answered)),
        "declined_wrongly": _share(len(answerable) - len(answered_answerable), len(answerable)),
        "quotes_per_answer": round(statistics.fmean(quotes), 3) if quotes else None,
        "answered": _share(len(answered), len(graded)),
        "declined_near_miss": _share(sum(not g.answered for g in near), len(near)),
        "n_near_miss": len(near),
        "declined_off_topic": _share(sum(not g.answered for g in off_topic), len(off_topic)),
        "n_off_topic": len(off_topic),
    }


def summary_metrics(summaries: list[_Summary]) -> dict[str, Any]:
    """Return the metrics of summary questions.

    ``right_source`` and ``lead`` are the shares of summaries (a decline is a miss) quoting
    only the expected document and quoting its lead; ``answered`` the share answered;
    ``quotes_per_summary`` the mean over answered ones.
    """
    quotes = [s.quotes for s in summaries if s.answered]
    return {
        "n": len(summaries),
        "answered": _share(len(quotes), len(summaries)),
        "right_source": _share(sum(s.right_source for s in summaries), len(summaries)),
        "lead": _share(sum(s.has_lead for s in summaries), len(summaries)),
        "quotes_per_summary": round(statistics.fmean(quotes), 3) if quotes else None,
    }


def _by_language(rows: list[Any], metrics: Callable[[list[Any]], dict[str, Any]]) -> dict[str, Any]:
    """Return metrics by language, then over all (empty when there are no rows)."""
    if not rows:
        return {}
    out = {
        lang: metrics([r for r in rows if r.lang == lang])
        for lang in sorted({r.lang for r in rows})
    }
    out["all"] = metrics(rows)
    return out


def _by_language_and_kind(graded: list[_Graded]) -> dict[str, Any]:
    """Return sentence metrics keyed by language then kind, each with ``all``; then overall."""
    if not graded:
        return {}
    out: dict[str, Any] = {}
    for lang in [*sorted({g.lang for g in graded}), "all"]:
        rows = [g for g in graded if lang in ("all", g.lang)]
        out[lang] = {
            kind: sentence_metrics([g for g in rows if g.kind == kind])
            for kind in sorted({g.kind for g in rows})
        }
        out[lang]["all"] = sentence_metrics(rows)
    return out


def evaluate(
    engine: Engine,
    questions: list[EvalQuestion],
    *,
    visibility: Visibility = "internal",
    retriever: Retriever = "hybrid",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run a question set; return retrieval, answer, abstention and sentence metrics.

    For a question with an expected document, ``answers[lang]`` holds ``answer@1`` (the
    share answered with the first quote taken from that document) and ``answered`` (the
    share answered at all). Gold-set questions fill ``sentences`` (by language, then
    kind: ``sentence_metrics``), ``followups`` (the same metrics, asked with the
    conversation's earlier questions as context) and ``summaries`` (``summary_metrics``).
    Every miss is listed in ``failures`` with what was quoted first.
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
    if q.kind is not None:
        return _grade(engine, q, tally, visibility)
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


def _ask(
    engine: Engine,
    q: EvalQuestion,
    tally: _Tally,
    visibility: Visibility,
    context: str | None = None,
) -> Answer | None:
    """Return the engine's answer, or None (a failure tallied) if it refused the question."""
    try:
        answer = engine.ask(q.question, visibility=visibility, context=context)
    except QuestionError as exc:
        tally.failures.append({"id": q.id, "kind": "question", "error": str(exc)})
        return None
    tally.latencies.append(answer.timings_ms.get("total", 0.0))
    return answer


def _check_answer(q: EvalQuestion, answer: Answer, tally: _Tally) -> None:
    """Tally whether an answer's first quote, the sentence read first, holds the expected words."""
    first = answer.quotes[0].text if answer.answered and answer.quotes else None
    text = (first or "").casefold()
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
                "first_quote": first,
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
    """Return whether every answer and abstention question passed.

    Gold-set questions are measured, not passed: their misses do not fail a run.
    """
    return not any(f["kind"] in ("answer", "abstention", "question") for f in report["failures"])


def _grade(engine: Engine, q: EvalQuestion, tally: _Tally, visibility: Visibility) -> bool:
    """Grade one gold question by the sentences quoted; return False if it was refused."""
    assert q.kind is not None
    context = conversation_context(q.history, engine.settings.answer.max_question_chars)
    answer = _ask(engine, q, tally, visibility, context)
    if answer is None:
        return False
    quotes = [quote.text for quote in answer.quotes] if answer.answered else []
    if q.kind == "summary" and q.answerable:
        _grade_summary(q, answer, quotes, tally)
        return True
    at = first_read(quotes)
    first = quotes[at] if at is not None else None
    graded = _Graded(
        lang=q.lang,
        kind=q.kind,
        answerable=q.answerable,
        near_miss=q.near_miss,
        answered=answer.answered,
        first_is_gold=q.answerable and first is not None and _matches_any(first, q.gold),
        supported=all(_matches_any(quote, q.gold + q.context) for quote in quotes),
        quotes=len(quotes),
    )
    (tally.followups if q.kind == "followup" else tally.sentences).append(graded)
    if graded.first_is_gold or (not q.answerable and not answer.answered):
        return True
    if not q.answerable:
        why = "answered_unanswerable"
    elif answer.answered:
        why = "wrong_quote"
    else:
        why = "declined"
    tally.failures.append(
        {
            "id": q.id,
            "kind": why,
            "question_kind": q.kind,
            "lang": q.lang,
            "question": q.question,
            **({"history": list(q.history)} if q.history else {}),
            "first_quote": first,
            "first_source": _source_of(answer, at),
            "quotes": quotes,
            "gold": list(q.gold),
            "source": q.source,
            "confidence": round(answer.confidence, 3),
        }
    )
    return True


def first_read(quotes: list[str]) -> int | None:
    """Return the position of the quote a reader takes as the answer: the first (None: none).

    Strict on purpose: a context sentence quoted before its gold sentence is what the
    reader reads first, so it is not a correct first quote (it still counts as supported).
    """
    return 0 if quotes else None


def _source_of(answer: Answer, at: int | None) -> str | None:
    """Return the document the quote at position ``at`` comes from."""
    return None if at is None else answer.sources[answer.quotes[at].source].id


def _grade_summary(q: EvalQuestion, answer: Answer, quotes: list[str], tally: _Tally) -> None:
    """Grade a summary: every quote from the expected document, its lead among them."""
    documents = {answer.sources[quote.source].id for quote in answer.quotes}
    right_source = answer.answered and bool(quotes) and documents == {q.source}
    has_lead = answer.answered and q.lead is not None and _matches_any(q.lead, tuple(quotes))
    tally.summaries.append(_Summary(q.lang, answer.answered, right_source, has_lead, len(quotes)))
    if right_source and has_lead:
        return
    tally.failures.append(
        {
            "id": q.id,
            "kind": "summary" if answer.answered else "declined",
            "question_kind": q.kind,
            "lang": q.lang,
            "question": q.question,
            "first_quote": quotes[0] if quotes else None,
            "first_source": _source_of(answer, 0 if quotes else None),
            "sources": sorted(documents),
            "source": q.source,
            "lead": q.lead,
            "right_source": right_source,
            "has_lead": has_lead,
            "confidence": round(answer.confidence, 3),
        }
    )
