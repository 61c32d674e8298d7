"""Answers with the shipped model: the right sentence in both languages, public statistics."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.config import load_config
from bot.locales import engine_phrases
from index.engine import Engine
from index.evaluate import evaluate, load_questions
from index.selection import question_shape
from tests.conftest import ROOT, SHARED, fake_calibrated, fill_knowledge, write_doc

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shipped(real_encoder, tmp_path_factory) -> Engine:
    """The shipped knowledge base and configuration with the real default model."""
    state = tmp_path_factory.mktemp("shipped")
    config = load_config(ROOT / "config.yaml", overrides={"state_dir": state}, environ={})
    engine = Engine(config.engine, real_encoder, engine_phrases())
    engine.reindex()
    return engine


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("När startade samarbetet mellan kommunerna?", "2012"),
        ("When did the collaboration between the municipalities begin?", "2012"),
        ("Since when is there a full day in Almedalen every year?", "2014"),
        ("Vilka seminarier hölls på eftermiddagen?", "sommarskola"),
    ],
)
def test_the_answer_quotes_the_sentence_that_answers_in_either_language(
    shipped, question, expected
):
    answer = shipped.ask(question, visibility="public")
    assert answer.answered, answer.evidence
    assert expected in answer.quotes[0].text  # the first quote, the one read first
    words = "Sources:" if answer.language == "en" else "Källor:"
    assert words in answer.text


def test_a_sentence_that_leans_on_the_one_before_brings_it_along(shipped):
    answer = shipped.ask("Vad handlade förmiddagens seminarium om?", visibility="public")
    assert answer.answered
    quoted = [q.text for q in answer.quotes]
    # The sentence that answers first, then the one it leans on: never "Om detta …" alone.
    assert quoted[0] == "Om detta handlade förmiddagens seminarium."
    assert len(quoted) == 2 and "lösningar" in quoted[1]


def test_the_dev_questions_all_pass_in_both_languages(shipped):
    report = evaluate(
        shipped, load_questions(SHARED / "eval" / "dev-questions.jsonl"), visibility="public"
    )
    assert [f for f in report["failures"] if f["kind"] != "retrieval"] == []
    assert report["answers"]["en"]["accuracy"] == 1.0
    assert report["abstention"]["all"]["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Hur många kommuner ingår?", "count"),
        ("How many municipalities take part?", "count"),
        ("Varför startade nätverket?", "reason"),
        ("Why was the network started?", "reason"),
    ],
)
def test_how_many_and_why_ask_for_their_kind_of_answer(question, kind):
    assert kind in question_shape(question).kinds


def test_eval_reports_answer_at_1_per_language(shipped, tmp_path):
    questions = tmp_path / "q.jsonl"
    rows = [
        {
            "question": "När startade samarbetet mellan kommunerna?",
            "lang": "sv",
            "expected_source": "allt-startade-i-almedalen.md",
        },
        {
            "question": "When did the collaboration between the municipalities begin?",
            "lang": "en",
            "expected_source": "allt-startade-i-almedalen.md",
        },
        {
            "question": "Who won the football World Cup in 2018?",
            "lang": "en",
            "expected_source": "allt-startade-i-almedalen.md",
        },
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    report = evaluate(shipped, load_questions(questions), visibility="public")
    assert report["answers"]["sv"] == {"answer@1": 1.0, "answered": 1.0, "n_expected_source": 1}
    assert report["answers"]["en"]["answer@1"] == 0.5  # the World Cup is declined
    assert report["answers"]["en"]["answered"] == 0.5


# -- what the public sees does not depend on internal documents --------------------------


PUBLIC_QUESTIONS = [
    "När startade samarbetet mellan kommunerna?",
    "Vilka kommuner ingår i nätverket?",
    "Vilka kommuner växer?",
    "Vad kostar sommarskolan?",
    "Hur stor är budgeten?",
    "Vad är kodordet?",
    "Vilka internationella nätverk har Borlänge bjudits in till?",
    "Hålls sommarskolan i juli?",
    "Vem är presschef?",
    "Vad gör Lindesberg och Nässjö för nyanlända?",
    "Berätta om Borlänges sommarskola",
]


def make(knowledge, index_dir, encoder, min_confidence=None):
    from index.engine import EngineSettings

    settings = fake_calibrated(EngineSettings(knowledge_dir=knowledge, index_dir=index_dir))
    answer = settings.answer
    if min_confidence is not None:
        answer = replace(answer, min_confidence=min_confidence)
    settings = replace(settings, answer=answer)
    engine = Engine(settings, encoder)
    engine.reindex()
    return engine


@pytest.mark.parametrize("min_confidence", [None, 0.0])
def test_public_answers_are_the_same_with_and_without_an_internal_document(
    tmp_path, fake_encoder, min_confidence
):
    """Statistics for a public question come from public chunks only (no yes/no oracle)."""
    bare = fill_knowledge(tmp_path / "bare")
    (bare / "intern" / "budget.md").unlink()
    with_internal = fill_knowledge(tmp_path / "full")
    # Words the public questions use, in internal text only: they would shift idf and the
    # municipality list if those were computed over every chunk.
    write_doc(
        with_internal,
        "intern/plan.md",
        "Kommunerna Lindesberg, Nässjö och Ludvika diskuterar sommarskolan, budgeten och "
        "kodordet i nätverket. Presschef och nyanlända nämns ofta. " * 5,
        title="Internt",
        visibility="internal",
        municipalities=["Ludvika", "Sverige", "Almedalen"],  # names public sentences hold
    )
    a = make(bare, tmp_path / "a", fake_encoder, min_confidence)
    b = make(with_internal, tmp_path / "b", fake_encoder, min_confidence)
    for question in PUBLIC_QUESTIONS:
        one = a.ask(question, visibility="public")
        two = b.ask(question, visibility="public")
        assert (one.answered, one.text) == (two.answered, two.text), question
        assert one.confidence == pytest.approx(two.confidence, abs=1e-6), question
        # The ranking's own scores, keyword statistics included, are the public ones too.
        hits_one = a.search(question, visibility="public").hits
        hits_two = b.search(question, visibility="public").hits
        assert [h.doc_id for h in hits_one] == [h.doc_id for h in hits_two], question
        assert [h.score for h in hits_one] == pytest.approx([h.score for h in hits_two], abs=1e-6)


def test_the_engine_has_no_default_visibility(tmp_path, fake_encoder):
    engine = make(fill_knowledge(tmp_path / "k"), tmp_path / "i", fake_encoder)
    with pytest.raises(TypeError, match="visibility"):
        engine.ask("När startade samarbetet?")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="visibility"):
        engine.search("När startade samarbetet?")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("question", "lead", "named"),
    [
        ("Är Nässjö med i nätverket?", "Ja.", "Nässjö"),
        ("Is Nässjö part of the network?", "The source says:", "Nässjö"),
    ],
)
def test_a_yes_no_question_is_answered_with_the_sentence_that_settles_it(
    shipped, question, lead, named
):
    answer = shipped.ask(question, visibility="public")
    assert answer.answered and answer.lead == lead
    assert named in answer.quotes[0].text
    assert not answer.text.startswith(("Nej", "No"))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Vilka kommuner ingår i nätverket?", ("Falköping", "Lindesberg", "Nässjö")),
        ("Vem skrev texten om Almedalen?", ("Brovall",)),
        ("När startade heldagen i Almedalen?", ("2014",)),
    ],
)
def test_the_first_quote_is_the_sentence_a_new_user_asked_for(shipped, question, expected):
    first = shipped.ask(question, visibility="public").quotes[0].text
    assert all(word in first for word in expected), first


def test_a_summary_of_the_press_release_is_its_lead_and_central_sentences(shipped):
    answer = shipped.ask("Sammanfatta pressmeddelandet", visibility="public")
    assert answer.kind == "summary" and answer.answered
    assert answer.quotes[0].text.startswith("Borlänge är, tillsammans med Falköping")
    assert 3 <= len(answer.quotes) <= 4


def test_small_talk_is_no_question_with_the_real_model_either(shipped):
    answer = shipped.ask("Hej! Vad kan du hjälpa till med?", visibility="public")
    assert answer.kind == "small_talk" and answer.quotes == []
