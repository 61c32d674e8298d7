"""Hybrid search, visibility, extractive answers, abstention and question checks."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.locales import engine_phrases
from index.answer import QuestionError, answer_types, clean_question, detect_language
from index.engine import Engine, EngineSettings
from index.lexical import char_terms, word_terms
from index.search import hybrid_search
from tests.conftest import SEED, fake_calibrated, write_doc
from tests.ranking import assert_finds_what_exact_finds


def make_engine(knowledge: Path, tmp_path: Path, encoder, **changes) -> Engine:
    settings = EngineSettings(knowledge_dir=knowledge, index_dir=tmp_path / "index")
    engine = Engine(replace(fake_calibrated(settings), **changes), encoder, engine_phrases())
    engine.reindex()
    return engine


@pytest.fixture
def engine(knowledge, tmp_path, fake_encoder) -> Engine:
    return make_engine(knowledge, tmp_path, fake_encoder)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# -- keyword analysis ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Samarbetet startade i Almedalen", ["samarbet", "start", "almedal"]),
        ("och det att i en", []),  # stopwords only
        ("Flyktingpolitik och integration", ["flyktingpolitik", "integration"]),
        ("What is the plan?", ["plan"]),  # English function words are stopwords too
    ],
)
def test_word_terms_are_swedish_stems_without_stopwords(text, expected):
    assert word_terms(text) == expected


def test_char_ngrams_let_a_compound_match_its_parts():
    compound = set(char_terms("flyktingpolitik", 3))
    assert set(char_terms("politik", 3)) - {"_po"} <= compound
    assert set(char_terms("flykting", 3)) - {"ng_"} <= compound


# -- questions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("När startade samarbetet mellan kommunerna?", "sv"),
        ("Vem är presschef?", "sv"),
        ("Which municipalities cooperate on refugee policy?", "en"),
        ("Who won the football World Cup in 2018?", "en"),
        ("What is Nordic safe cities?", "en"),
        ("Borlänge", "sv"),  # no evidence either way: Swedish is the default
    ],
)
def test_language_follows_the_question(question, language):
    assert detect_language(question) == language


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("", "empty"),
        ("    ", "empty"),
        ("???!!", "empty"),
        ("<@123456789>", "empty"),
        ("<@!123> <@&456> @everyone @here", "empty"),
        ("x" * 501, "too_long"),
        ("När startade det? " * 40, "too_long"),
    ],
)
def test_unfit_questions_are_refused_with_a_clear_message(question, kind):
    with pytest.raises(QuestionError) as caught:
        clean_question(question, 500)
    assert caught.value.kind == kind
    assert str(caught.value)  # a message for the user, never empty


def test_mentions_are_removed_from_an_otherwise_fine_question():
    text, language = clean_question("<@123> När startade samarbetet?", 500)
    assert text == "När startade samarbetet?"
    assert language == "sv"


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("När startade samarbetet?", {"time"}),
        ("Vem är presschef?", {"person"}),
        ("Vilka kommuner ingår i nätverket?", {"municipality"}),
        ("Which municipalities cooperate?", {"municipality"}),
        ("Vad kostar ett månadskort?", {"number"}),
        ("Vad presenterade kommunerna?", set()),
    ],
)
def test_answer_types_name_what_a_question_asks_for(question, kinds):
    assert answer_types(question) == kinds


# -- visibility ------------------------------------------------------------------------


def test_public_search_never_ranks_an_internal_chunk_even_when_it_is_the_only_match(engine):
    index = engine.index
    query = "Blåklocka kodordet budget"
    vector = engine.encoder.encode_queries([query])[0]
    internal = hybrid_search(index, query, vector, visibility="internal", top_k=10)
    assert internal.hits[0].doc_id == "intern/budget.md"
    public = hybrid_search(index, query, vector, visibility="public", top_k=50)
    assert all(index.documents[h.doc_id].visibility == "public" for h in public.hits)
    for retriever in ("dense", "words", "chars", "lead", "keyword"):
        hits = hybrid_search(index, query, vector, visibility="public", retriever=retriever).hits
        assert "intern/budget.md" not in {h.doc_id for h in hits}, retriever


def test_public_answer_has_no_trace_of_an_internal_document(engine):
    answer = engine.ask("Vad är kodordet i budgeten? Blåklocka", visibility="public")
    shown = answer.to_json()
    dumped = str([shown["answer"], shown["quotes"], shown["sources"]])
    assert "Blåklocka" not in dumped
    assert "intern/budget.md" not in dumped
    assert "Intern budget" not in dumped
    internal = engine.ask("Vad är kodordet i budgeten? Blåklocka", visibility="internal")
    assert internal.answered and "Blåklocka" in internal.text


def test_hnsw_index_answers_and_filters_visibility_like_the_exact_one(
    knowledge, tmp_path, fake_encoder
):
    exact = make_engine(knowledge, tmp_path / "exact", fake_encoder)
    hnsw = make_engine(knowledge, tmp_path / "hnsw", fake_encoder, dense_index="hnsw")
    assert hnsw.index.manifest["dense_index"] == "hnsw"
    assert exact.index.manifest["dense_index"] == "exact"
    vector = fake_encoder.encode_queries(["Blåklocka budget"])[0]
    for visibility in ("public", "internal"):
        # Tiny index: fewer chunks than the 2*M links a node has in the bottom layer, so
        # every chunk links to every other and HNSW finds all of them. Ties in any order.
        assert_finds_what_exact_finds(exact.index, hnsw.index, vector, 10, visibility, 1.0)
    public_ids = hnsw.index.search_dense(vector, 10, "public")[1]
    assert all(hnsw.index.public_mask[i] for i in public_ids)


def test_approximate_index_is_chosen_above_the_configured_size(knowledge, tmp_path, fake_encoder):
    engine = make_engine(knowledge, tmp_path, fake_encoder, dense_index="auto", approximate_above=3)
    assert engine.index.size > 3
    assert engine.index.manifest["dense_index"] == "hnsw"


# -- answers ---------------------------------------------------------------------------


def test_answer_quotes_sentences_verbatim_and_cites_the_document(engine):
    answer = engine.ask("När startade samarbetet mellan kommunerna?", visibility="internal")
    assert answer.answered
    assert "2012" in answer.text
    assert 1 <= len(answer.quotes) <= 3
    body = squash(SEED.read_text(encoding="utf-8"))
    for quote in answer.quotes:
        assert squash(quote.text) in body  # nothing invented: every quote is in the document
    assert answer.sources[0].id == SEED.name
    assert answer.sources[0].title == "Allt startade i Almedalen"
    assert "Källor:" in answer.text
    assert answer.language == "sv"
    assert set(answer.timings_ms) == {"encode", "search", "answer", "total"}


def test_a_lead_in_brings_its_list_along(engine):
    answer = engine.ask(
        "Vilka internationella nätverk har Borlänge bjudits in till?", visibility="internal"
    )
    assert "Nordic safe cities" in answer.text
    assert "Strong cities" in answer.text
    assert "Policy Planners Network Meeting" in answer.text


def test_english_question_gets_english_words_around_swedish_quotes(engine):
    answer = engine.ask("What is Nordic safe cities?", visibility="internal")
    assert answer.language == "en"
    if answer.answered:
        assert "Sources:" in answer.text and "Källor:" not in answer.text
    else:
        assert answer.text == "I can't find anything about that in the knowledge base."


@pytest.mark.parametrize(
    "question",
    ["Vad kostar ett månadskort på bussen i Borlänge?", "Hur bokar jag tvättstugan?"],
)
def test_weak_evidence_abstains_in_swedish(engine, question):
    answer = engine.ask(question, visibility="internal")
    assert not answer.answered
    assert answer.text == "Det hittar jag inget om i kunskapsbasen."
    assert answer.quotes == [] and answer.sources == []


def test_without_phrases_the_engine_writes_no_words_of_its_own(knowledge, tmp_path, fake_encoder):
    # index/ holds no user-facing text: the bot's catalogues give the words (bot/locales).
    settings = EngineSettings(knowledge_dir=knowledge, index_dir=tmp_path / "index")
    engine = Engine(fake_calibrated(settings), fake_encoder)
    engine.reindex()
    declined = engine.ask("Hur bokar jag tvättstugan?", visibility="internal")
    assert not declined.answered and declined.text == ""
    answered = engine.ask("När startade samarbetet mellan kommunerna?", visibility="internal")
    assert answered.answered and "2012" in answered.text
    assert "Källor" not in answered.text and "Sources" not in answered.text
    assert answered.text.splitlines()[-1].startswith("[1] ")


def test_threshold_comes_from_settings(knowledge, tmp_path, fake_encoder):
    strict = make_engine(knowledge, tmp_path, fake_encoder, min_confidence=1.01)
    assert not strict.ask(
        "När startade samarbetet mellan kommunerna?", visibility="internal"
    ).answered


def test_follow_up_uses_the_earlier_question_as_context(engine):
    alone = engine.ask("Och när startade den?", visibility="internal")
    follow = engine.ask(
        "Och när startade den?", context="Berätta om Borlänges sommarskola", visibility="internal"
    )
    assert "2015" in follow.text
    assert follow.sources[0].id == "sommarskola.md"
    assert alone.text != follow.text


def test_page_and_heading_become_the_source_location(knowledge, tmp_path, fake_encoder):
    write_doc(
        knowledge,
        "handbok.md",
        "# Mottagande\n\n## Bostäder\n\nNyanlända får hjälp med bostad av bosättningsenheten.\n",
        title="Handbok",
        visibility="public",
    )
    engine = make_engine(knowledge, tmp_path, fake_encoder)
    answer = engine.ask("Vem hjälper nyanlända med bostad?", visibility="internal")
    assert answer.answered
    assert answer.sources[0].location == "Mottagande › Bostäder"


def test_an_index_swap_is_picked_up_by_reload(knowledge, tmp_path, fake_encoder):
    engine = make_engine(knowledge, tmp_path, fake_encoder)
    old = engine.index
    write_doc(knowledge, "ny.md", "Fritidsgården Kompassen öppnade 2019 i Falköping.\n")
    engine.reindex()
    assert engine.index is not old
    answer = engine.ask("När öppnade fritidsgården Kompassen?", visibility="internal")
    assert answer.answered and "2019" in answer.text


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
