"""One good quote, yes/no leads, summaries and small talk, with the fake encoder."""

from __future__ import annotations

import pytest

from tests.conftest import SEED


def test_an_answer_is_one_quote_unless_a_second_carries_what_it_lacks(engine):
    answer = engine.ask("När startade samarbetet mellan kommunerna?", visibility="internal")
    assert answer.answered and len(answer.quotes) == 1


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("Hålls sommarskolan i juli?", "Ja."),  # the quote names the school, July and "hålls"
        ("Hålls sommarskolan i augusti?", "Källan säger:"),  # the quote does not settle it
    ],
)
def test_a_yes_no_question_says_yes_only_when_the_quote_settles_it(engine, question, lead):
    answer = engine.ask(question, visibility="internal")
    assert answer.answered, answer.confidence
    assert answer.lead == lead
    assert answer.text.startswith(lead + "\n”")
    assert "Nej" not in answer.text and "No." not in answer.text


def test_a_question_that_is_not_yes_no_gets_no_lead(engine):
    answer = engine.ask("När startade samarbetet mellan kommunerna?", visibility="internal")
    assert answer.lead == ""


@pytest.mark.parametrize(
    "question",
    ["Sammanfatta pressmeddelandet om Almedalen", "Vad handlar texten om Almedalen om?"],
)
def test_a_summary_is_the_documents_lead_and_central_sentences_in_order(engine, question):
    answer = engine.ask(question, visibility="internal")
    assert answer.kind == "summary" and answer.answered
    assert {s.id for s in answer.sources} == {SEED.name}
    body = SEED.read_text(encoding="utf-8")
    quoted = [q.text for q in answer.quotes]
    assert quoted[0].startswith("Borlänge är, tillsammans med Falköping")  # the lead
    assert 3 <= len(quoted) <= 4
    places = [body.index(q.split("\n")[0][:40]) for q in quoted]
    assert places == sorted(places)  # in document order
    assert "Allt startade i Almedalen" not in quoted  # the title line is no summary
    assert not any(q.startswith("Foto") for q in quoted)


def test_a_summary_reads_only_documents_the_asker_may_see(engine):
    answer = engine.ask("Sammanfatta budgeten", visibility="public")
    assert "intern/budget.md" not in {s.id for s in answer.sources}
    assert "Blåklocka" not in answer.text


@pytest.mark.parametrize(
    ("message", "language"),
    [("Hej!", "sv"), ("Tack!", "sv"), ("Hello, what can you do?", "en"), ("Hej då", "sv")],
)
def test_small_talk_gets_a_short_reply_not_a_decline(engine, message, language):
    answer = engine.ask(message, visibility="public")
    assert answer.kind == "small_talk" and not answer.answered
    assert answer.language == language
    assert answer.quotes == [] and answer.sources == [] and answer.near == []
    assert "/" in answer.text  # the pointer to /hjälp or /help
    assert answer.text not in (
        "Det hittar jag inget om i kunskapsbasen.",
        "I can't find anything about that in the knowledge base.",
    )


def test_a_greeting_with_a_question_is_answered_as_a_question(engine):
    answer = engine.ask("Hej! När startade samarbetet mellan kommunerna?", visibility="internal")
    assert answer.kind == "answer" and answer.answered
