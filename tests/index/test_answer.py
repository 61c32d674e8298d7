"""Extractive answers: question checks, quotes, sources, abstention, follow-ups, visibility."""

from __future__ import annotations

import re

import pytest

from index.answer import QuestionError, clean_question, detect_language
from index.engine import Engine, EngineSettings
from index.selection import question_shape
from tests.conftest import SEED, fake_calibrated, write_doc
from tests.index.builds import make_engine


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


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
        ("Vilka kommuner ingår i samarbetet?", {"municipality"}),
        ("Which municipalities cooperate?", {"municipality"}),
        ("Vad kostar ett månadskort?", {"number"}),
        ("Vad presenterade kommunerna?", set()),
        ("Vem skrev texten?", {"person", "author"}),
        ("Vilka har nätverket träffat?", {"met", "organisation"}),
        ("Hur många kommuner ingår?", {"count", "municipality"}),
        ("Varför behövs samarbetet?", {"reason"}),
        ("Vad är Strong cities?", {"definition"}),
        ("Vad visar bilden?", {"caption"}),
    ],
)
def test_question_shape_names_what_a_question_asks_for(question, kinds):
    assert question_shape(question).kinds == kinds


def test_public_answer_has_no_trace_of_an_internal_document(engine):
    answer = engine.ask("Vad är kodordet i budgeten? Blåklocka", visibility="public")
    shown = answer.to_json()
    dumped = str([shown["answer"], shown["quotes"], shown["sources"]])
    assert "Blåklocka" not in dumped
    assert "intern/budget.md" not in dumped
    assert "Intern budget" not in dumped
    internal = engine.ask("Vad är kodordet i budgeten? Blåklocka", visibility="internal")
    assert internal.answered and "Blåklocka" in internal.text


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
    strict = make_engine(knowledge, tmp_path / "index", fake_encoder, min_confidence=1.01)
    assert not strict.ask(
        "När startade samarbetet mellan kommunerna?", visibility="internal"
    ).answered


def test_follow_up_uses_the_earlier_question_as_context(engine):
    alone = engine.ask("Och när startade den?", visibility="internal")
    follow = engine.ask(
        "Och när startade den?", context="Berätta om Borlänges sommarskola", visibility="internal"
    )
    assert follow.answered and follow.sources[0].id == "sommarskola.md"
    assert alone.text != follow.text


def test_page_and_heading_become_the_source_location(knowledge, tmp_path, fake_encoder):
    write_doc(
        knowledge,
        "handbok.md",
        "# Mottagande\n\n## Bostäder\n\nNyanlända får hjälp med bostad av bosättningsenheten.\n",
        title="Handbok",
        visibility="public",
    )
    engine = make_engine(knowledge, tmp_path / "index", fake_encoder)
    answer = engine.ask("Vem hjälper nyanlända med bostad?", visibility="internal")
    assert answer.answered
    assert answer.sources[0].location == "Mottagande › Bostäder"
