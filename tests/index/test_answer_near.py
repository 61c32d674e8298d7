"""Closest documents (``Answer.near``), dates on sources, one source line per document."""

from __future__ import annotations

import pytest

from index.answer import NEAR_FRACTION, Source, sources_by_document
from tests.index.builds import make_engine

PUBLIC = {"allt-startade-i-almedalen.md", "sommarskola.md"}
QUESTIONS = (
    "Vad kostar sommarskolan?",
    "Vad heter hunden?",
    "Hur stor är nätverkets budget för sommarskolan?",
    "Vad är det hemliga kodordet för Almedalen?",
    "Hur många elever går i skolan på vintern?",
)


def test_a_decline_names_the_documents_that_came_closest(engine):
    answer = engine.ask("Vad kostar sommarskolan?", visibility="public")
    assert not answer.answered
    assert "sommarskola.md" in {s.id for s in answer.near}
    floor = NEAR_FRACTION * engine.settings.answer.min_confidence
    assert all(s.score >= floor for s in answer.near)
    assert answer.to_json()["sources"] == []  # near is not part of the JSON answer


@pytest.mark.parametrize("question", QUESTIONS)
def test_near_documents_are_only_ones_the_asker_may_see_and_never_cited_ones(engine, question):
    public = engine.ask(question, visibility="public")
    assert {s.id for s in public.near} <= PUBLIC
    assert all(s.visibility == "public" for s in public.near)
    internal = engine.ask(question, visibility="internal")
    cited = {s.id for s in internal.sources}
    assert not cited & {s.id for s in internal.near}
    assert len({s.id for s in internal.near}) == len(internal.near)


def test_sources_carry_the_documents_date(knowledge, tmp_path, fake_encoder):
    from tests.conftest import write_doc

    write_doc(
        knowledge,
        "daterad.md",
        "# Daterad\n\nFikat hålls varje fredag i Lindesberg klockan tre.\n",
        title="Fredagsfika",
        date="2024-05-17",
        visibility="public",
    )
    answer = make_engine(knowledge, tmp_path / "index", fake_encoder).ask(
        "När hålls fikat i Lindesberg?", visibility="public"
    )
    assert answer.answered
    [source] = [s for s in answer.sources if s.id == "daterad.md"]
    assert source.date == "2024-05-17"
    assert "2024-05-17" in answer.text


def test_sources_by_document_keeps_first_cited_order_and_distinct_places():
    def source(doc: str, location: str | None) -> Source:
        return Source(doc, doc.upper(), None, location, 1.0)

    grouped = sources_by_document(
        [source("b", "s. 2"), source("a", None), source("b", "s. 4"), source("b", "s. 2")]
    )
    assert [(s.id, places) for s, places in grouped] == [("b", ["s. 2", "s. 4"]), ("a", [])]
