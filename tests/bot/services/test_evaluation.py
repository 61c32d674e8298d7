"""The eval report's sentence-level table, in the CLI's language."""

from __future__ import annotations

import json

import pytest

from bot.services.evaluation import sentence_report_lines
from index.evaluate import evaluate, load_questions
from tests.conftest import fill_knowledge
from tests.index.builds import make_engine

STARTED = "När startade samarbetet mellan kommunerna?"
QUOTED = "Samarbetet kommunerna emellan startade i Almedalen 2012"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A real gold run on the fake engine: two kinds, a follow-up, a summary, a decline."""
    from tests.conftest import FakeEncoder

    tmp = tmp_path_factory.mktemp("eval")
    engine = make_engine(fill_knowledge(tmp / "knowledge"), tmp / "index", FakeEncoder())
    seed, summer = "allt-startade-i-almedalen.md", "sommarskola.md"
    lead = "Borlänges sommarskola hålls varje år i juli för nyanlända elever."
    rows = [
        {"kind": "when", "question": STARTED, "gold": [QUOTED]},
        {"kind": "who", "question": "Vem är presschef?", "gold": ["Nej."]},
        {"kind": "how", "question": "Hur bokar jag tvättstugan?", "answerable": False},
        {"kind": "how_many", "question": STARTED, "answerable": False, "near_miss": True},
        {"kind": "followup", "question": "Och när?", "history": ["Sommarskolan?"], "gold": [lead]},
        {"kind": "summary", "question": "Sammanfatta sommarskolan", "source": summer, "lead": lead},
        {"kind": "when", "question": "When did it start?", "gold": [QUOTED], "lang": "en"},
    ]
    path = tmp / "gold.jsonl"
    lines = [
        json.dumps({"id": str(i), "lang": "sv", "source": seed, **r}) for i, r in enumerate(rows)
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return evaluate(engine, load_questions(path))


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Sentences", "kind", "supported", "declined wrongly", "Follow-ups", "summaries"]),
        ("sv", ["Meningar", "typ", "belagda", "felaktigt avböjda", "Följdfrågor", "sammanfatt"]),
    ],
)
def test_the_table_speaks_the_cli_language(report, language, words):
    text = "\n".join(sentence_report_lines(report, language))
    for word in words:
        assert word in text


def test_a_row_per_language_and_kind_with_its_figures(report):
    lines = sentence_report_lines(report, "en")
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in lines}
    # n, answerable, quote@1, supported, wrong, wrong/answered, declined wrongly, ...
    assert rows[("sv", "when")][:3] == ["1", "1", "1.000"]
    assert rows[("sv", "who")][2] == "0.000"
    assert rows[("sv", "how")][2] == "–"  # no answerable question: no quote@1
    assert rows[("sv", "all")][:2] == ["4", "2"]
    assert rows[("sv", "all")][4] == "2"  # the wrong presschef quote and the near-miss
    assert rows[("all", "all")][:2] == ["5", "3"]  # over both languages
    assert ("all", "when") not in rows  # kinds over all languages are in the JSON only
    assert ("sv", "followup") in rows
    declines = next(line for line in lines if line.startswith("unanswerable sv"))
    assert "0.000 of near-misses (n=1)" in declines and "1.000 of off-topic" in declines
    assert any(line.startswith("summaries sv:") for line in lines)


def test_a_set_without_gold_questions_adds_no_lines():
    empty = {"sentences": {}, "followups": {}, "summaries": {}}
    assert sentence_report_lines(empty, "sv") == []
    assert sentence_report_lines({"retrieval": {}}, "en") == []
