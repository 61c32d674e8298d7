"""Retrieval, answer and sentence-level metrics, and the whole dev set with the real model."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from index.engine import Engine, EngineSettings
from index.evaluate import (
    EvalFileError,
    conversation_context,
    evaluate,
    first_read,
    load_questions,
    quote_matches,
)
from tests.index.builds import make_engine

SEED_ID = "allt-startade-i-almedalen.md"
STARTED = "När startade samarbetet mellan kommunerna?"
NETWORKS = "Vilka internationella nätverk har Borlänge bjudits in till?"
MORNING = "Vad handlade förmiddagens seminarium om?"
OFF_TOPIC = "Hur bokar jag tvättstugan?"


def test_eval_metrics_rank_one_relevant_document():
    from index.evaluate import retrieval_scores

    assert retrieval_scores(["a", "b"], "a") == {
        "hit@1": 1.0,
        "hit@5": 1.0,
        "mrr@10": 1.0,
        "ndcg@10": 1.0,
    }
    second = retrieval_scores(["x", "a"], "a")
    assert second["hit@1"] == 0.0 and second["mrr@10"] == 0.5
    assert np.isclose(second["ndcg@10"], 1 / np.log2(3))
    assert retrieval_scores(["x"] * 10, "a")["ndcg@10"] == 0.0


@pytest.mark.integration
def test_real_model_answers_every_dev_question(real_encoder, tmp_path):
    """The shipped knowledge base with the packaged MiniLM passes the whole dev set."""
    from index.evaluate import evaluate, load_questions, passed
    from tests.conftest import ROOT, SHARED

    path = SHARED / "eval" / "dev-questions.jsonl"
    if not path.is_file():
        pytest.skip("shared dev questions not present")
    settings = EngineSettings(knowledge_dir=ROOT / "knowledge", index_dir=tmp_path / "index")
    engine = Engine(replace(settings), real_encoder)
    engine.reindex()
    report = evaluate(engine, load_questions(path))
    assert passed(report), report["failures"]
    assert report["answers"]["all"]["accuracy"] == 1.0
    assert report["abstention"]["all"]["accuracy"] == 1.0


# --------------------------------------------------------------------------- the gold format


def gold_line(question, gold=(), *, kind="when", lang="sv", **fields):
    """One line of the gold set (tests/gold/README.md)."""
    row = {
        "id": fields.pop("id", f"q-{abs(hash((question, tuple(gold)))) % 10**6}"),
        "lang": lang,
        "kind": kind,
        "question": question,
        "source": fields.pop("source", SEED_ID),
        "gold": list(gold),
        "context": list(fields.pop("context", [])),
        "answerable": fields.pop("answerable", True),
        **fields,
    }
    return row


def run_gold(engine, tmp_path, *rows):
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return evaluate(engine, load_questions(path))


def first_quote(engine, question, context=None):
    answer = engine.ask(question, visibility="internal", context=context)
    assert answer.answered, question
    return [q.text for q in answer.quotes]


@pytest.fixture
def engine(knowledge, tmp_path, fake_encoder) -> Engine:
    return make_engine(knowledge, tmp_path / "index", fake_encoder)


@pytest.mark.parametrize(
    ("quote", "sentence", "matches"),
    [
        ("Skolan har funnits sedan 2015.", "Skolan har funnits sedan 2015.", True),
        ("Skolan  har\nfunnits sedan 2015. ", " Skolan har funnits\tsedan 2015.", True),
        ("Några exempel är:\n• Nordic safe cities", "• Nordic safe cities", True),
        ("sedan 2015", "Skolan har funnits sedan 2015.", True),
        ("Skolan har funnits sedan 2016.", "Skolan har funnits sedan 2015.", False),
        ("skolan har funnits sedan 2015.", "Skolan har funnits sedan 2015.", False),
        ("", "Skolan har funnits sedan 2015.", False),
        ("Skolan har funnits sedan 2015.", "   ", False),
    ],
    ids=[
        "same",
        "whitespace",
        "gold-inside-quote",
        "quote-inside-gold",
        "other",
        "case",
        "empty",
        "blank",
    ],
)
def test_a_quote_matches_a_gold_sentence_when_one_contains_the_other(quote, sentence, matches):
    assert quote_matches(quote, sentence) is matches


@pytest.mark.parametrize(("quotes", "at"), [([], None), (["G"], 0), (["C", "G"], 0)])
def test_the_sentence_read_first_is_the_first_quote(quotes, at):
    assert first_read(quotes) == at


def test_a_follow_up_is_asked_with_the_conversation_so_far():
    assert conversation_context((), 100) is None
    assert conversation_context(("Berätta om sommarskolan",), 100) == "Berätta om sommarskolan"
    assert conversation_context(("Ett  två", "tre fyra"), 100) == "Ett två tre fyra"
    assert conversation_context(("gammalt ord", "nyare frågan"), 13) == "nyare frågan"


def test_the_loader_reads_the_gold_format_beside_the_shared_formats(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "lang": "sv", "question": "Vem?", "expect_any": ["X"], "answerable": True},
        {"id": "b", "lang": "en", "question": "Where?", "expected_source": "d.md"},
        gold_line("Sammanfatta", ["Lead."], kind="summary", lead="Lead.", id="c"),
        gold_line("Och sen?", ["G."], kind="followup", history=["Först?"], id="d"),
        gold_line("Vad kostar det?", kind="how_many", answerable=False, near_miss=True, id="e"),
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    a, b, c, d, e = load_questions(path)
    assert (a.kind, a.expect_any, a.gold) == (None, ("X",), ())
    assert (b.kind, b.expected_source) == (None, "d.md")
    assert (c.kind, c.source, c.gold, c.lead) == ("summary", SEED_ID, ("Lead.",), "Lead.")
    assert (d.kind, d.history) == ("followup", ("Först?",))
    assert (e.answerable, e.near_miss, e.gold) == (False, True, ())


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"kind": "colour"}, "'kind'"),
        ({"kind": None}, "'kind'"),
        ({"gold": "En mening."}, "'gold'"),
        ({"context": [1]}, "'context'"),
        ({"history": "Först?"}, "'history'"),
        ({"lead": ["x"]}, "'lead'"),
    ],
)
def test_a_malformed_gold_line_is_named(tmp_path, fields, fragment):
    path = tmp_path / "q.jsonl"
    good = gold_line("Vem?", ["X."], id="ok")
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, **fields}), encoding="utf-8")
    with pytest.raises(EvalFileError, match=rf":2: .*{fragment}"):
        load_questions(path)


def test_quote_at_1_drops_and_wrong_rises_when_gold_is_not_what_is_quoted_first(engine, tmp_path):
    quoted = first_quote(engine, STARTED)
    other = "Under Almedalsveckan presenterade kommunerna en handlingsplan för de kommande åren."
    assert not quote_matches(quoted[0], other)
    right = run_gold(engine, tmp_path, gold_line(STARTED, [quoted[0]], id="s"))
    wrong = run_gold(engine, tmp_path, gold_line(STARTED, [other], id="s"))

    good, bad = right["sentences"]["sv"]["when"], wrong["sentences"]["sv"]["when"]
    assert (good["quote@1"], good["wrong"], good["wrong_share"]) == (1.0, 0, 0.0)
    assert (bad["quote@1"], bad["wrong"], bad["wrong_share"]) == (0.0, 1, 1.0)
    assert right["sentences"]["all"]["all"]["quote@1"] == 1.0
    assert wrong["sentences"]["all"]["all"]["quote@1"] == 0.0
    assert right["failures"] == []
    (failure,) = wrong["failures"]
    assert failure["kind"] == "wrong_quote" and failure["question"] == STARTED
    assert failure["first_quote"] == quoted[0] and failure["gold"] == [other]
    assert failure["first_source"] == SEED_ID


def test_an_extra_unsupported_quote_lowers_supported(engine, tmp_path):
    quoted = first_quote(engine, MORNING)  # "Om detta …" and the sentence it leans on
    assert len(quoted) >= 2, quoted
    every = gold_line(MORNING, [quoted[0]], kind="which", context=quoted[1:], id="n")
    fewer = gold_line(MORNING, [quoted[0]], kind="which", context=quoted[1:-1], id="n")

    supported = run_gold(engine, tmp_path, every)["sentences"]["sv"]["which"]
    unsupported = run_gold(engine, tmp_path, fewer)["sentences"]["sv"]["which"]
    assert supported["supported"] == 1.0 and unsupported["supported"] == 0.0
    assert supported["quote@1"] == unsupported["quote@1"] == 1.0
    assert supported["quotes_per_answer"] == len(quoted)


def test_a_decline_raises_declined_wrongly_and_counts_as_a_miss(knowledge, tmp_path, fake_encoder):
    answering = make_engine(knowledge, tmp_path / "index", fake_encoder)
    declining = make_engine(knowledge, tmp_path / "strict", fake_encoder, min_confidence=1.01)
    line = gold_line(STARTED, [first_quote(answering, STARTED)[0]], id="s")

    answered = run_gold(answering, tmp_path, line)["sentences"]["sv"]["all"]
    declined_report = run_gold(declining, tmp_path, line)
    declined = declined_report["sentences"]["sv"]["all"]
    assert (answered["declined_wrongly"], answered["quote@1"], answered["answered"]) == (0, 1, 1)
    assert (declined["declined_wrongly"], declined["quote@1"], declined["answered"]) == (1, 0, 0)
    assert declined["supported"] is None and declined["quotes_per_answer"] is None
    (failure,) = declined_report["failures"]
    assert failure["kind"] == "declined" and failure["first_quote"] is None


def test_an_answered_unanswerable_question_is_wrong(engine, tmp_path):
    report = run_gold(
        engine,
        tmp_path,
        gold_line(STARTED, answerable=False, near_miss=True, id="near"),
        gold_line(OFF_TOPIC, kind="how", answerable=False, source=None, id="off"),
    )
    every = report["sentences"]["sv"]["all"]
    assert every["wrong"] == 1 and every["wrong_share"] == 1.0  # one answered, wrongly
    assert every["quote@1"] is None and every["n_answerable"] == 0
    assert (every["declined_near_miss"], every["n_near_miss"]) == (0.0, 1)
    assert (every["declined_off_topic"], every["n_off_topic"]) == (1.0, 1)
    assert every["answered"] == 0.5
    (failure,) = report["failures"]
    assert failure["kind"] == "answered_unanswerable" and failure["id"] == "near"
    assert failure["first_quote"] and failure["gold"] == []


def test_a_context_sentence_quoted_first_is_supported_but_not_a_correct_first_quote(
    engine, tmp_path
):
    quoted = first_quote(engine, MORNING)
    assert len(quoted) >= 2, quoted
    first, rest = quoted[0], quoted[1:]
    context_first = gold_line(MORNING, rest, kind="what", context=[first], id="m")
    gold_first = gold_line(MORNING, [first], kind="what", context=rest, id="m")

    read = run_gold(engine, tmp_path, context_first)["sentences"]["sv"]["what"]
    assert (read["quote@1"], read["supported"], read["wrong"]) == (0.0, 1.0, 1)
    right = run_gold(engine, tmp_path, gold_first)["sentences"]["sv"]["what"]
    assert (right["quote@1"], right["supported"], right["wrong"]) == (1.0, 1.0, 0)


def test_metrics_are_kept_by_language_and_kind(engine, tmp_path):
    started = first_quote(engine, STARTED)[0]
    report = run_gold(
        engine,
        tmp_path,
        gold_line(STARTED, [started], id="sv"),
        gold_line("When did the cooperation start?", [started], lang="en", id="en"),
        gold_line(MORNING, ["Ingen sådan mening."], kind="what", id="miss"),
    )
    sentences = report["sentences"]
    assert set(sentences) == {"sv", "en", "all"}
    assert set(sentences["sv"]) == {"when", "what", "all"}
    assert sentences["sv"]["when"]["quote@1"] == 1.0
    assert sentences["sv"]["what"]["quote@1"] == 0.0
    assert sentences["sv"]["all"]["quote@1"] == 0.5
    assert sentences["all"]["when"]["n"] == 2
    assert report["followups"] == {} and report["summaries"] == {}
    assert report["answers"] == {} and report["retrieval"] == {}


def test_a_follow_up_is_graded_apart_given_its_context(engine, tmp_path):
    history = ["Berätta om Borlänges sommarskola"]
    question = "Och när startade den?"
    with_context = first_quote(engine, question, context=history[-1])
    alone = first_quote(engine, question)
    assert not quote_matches(alone[0], with_context[0])  # the context changes the answer
    report = run_gold(
        engine,
        tmp_path,
        gold_line(question, [with_context[0]], kind="followup", history=history,
                  source="sommarskola.md", id="f"),
    )  # fmt: skip
    assert report["sentences"] == {}
    assert report["followups"]["sv"]["quote@1"] == 1.0
    assert report["followups"]["all"]["n"] == 1


def test_a_summary_is_graded_by_its_document_and_its_lead(engine, tmp_path):
    question = "Sammanfatta dokumentet om sommarskolan"
    quoted = first_quote(engine, question)
    lead = "Borlänges sommarskola hålls varje år i juli för nyanlända elever."
    assert lead in quoted
    right = gold_line(question, kind="summary", source="sommarskola.md", lead=lead, id="r")
    elsewhere = {**right, "source": SEED_ID, "id": "e"}
    other_lead = {**right, "lead": "Skolan har funnits sedan 2015.", "id": "l"}
    report = run_gold(engine, tmp_path, right, elsewhere, other_lead)

    assert report["sentences"] == {}
    summaries = report["summaries"]["sv"]
    assert summaries["n"] == 3 and summaries["answered"] == 1.0
    assert summaries["right_source"] == round(2 / 3, 4)
    assert summaries["lead"] == round(2 / 3, 4)
    assert summaries["quotes_per_summary"] == len(quoted)
    failed = {f["id"]: (f["right_source"], f["has_lead"]) for f in report["failures"]}
    assert failed == {"e": (False, True), "l": (True, False)}


def test_the_dev_format_checks_the_expected_words_in_the_first_quote(engine, tmp_path):
    quoted = first_quote(engine, MORNING)
    assert len(quoted) >= 2, quoted
    first = next(w for w in quoted[0].split() if w.isalpha() and w not in quoted[1])
    later = next(w for w in quoted[1].split() if w.isalpha() and w not in quoted[0])
    path = tmp_path / "dev.jsonl"
    rows = [
        {"id": "first", "question": MORNING, "expect_any": [first]},
        {"id": "later", "question": MORNING, "expect_any": [later]},
        {"id": "all", "question": MORNING, "expect_all": [first, later]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    report = evaluate(engine, load_questions(path))
    assert report["answers"]["sv"] == {"accuracy": round(1 / 3, 4), "n": 3}
    assert sorted(f["id"] for f in report["failures"]) == ["all", "later"]
    assert all(f["first_quote"] == quoted[0] for f in report["failures"])
