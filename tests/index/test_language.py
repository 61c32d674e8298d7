"""Language detection: what a question is written in, not which names it holds."""

from __future__ import annotations

import json

import pytest

from index.answer import detect_language
from tests.conftest import SHARED


def eval_questions() -> list[tuple[str, str]]:
    out = []
    for path in sorted((SHARED / "eval").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((row["question"], row["lang"]))
    return out


def test_every_eval_question_is_detected_in_its_language():
    questions = eval_questions()
    assert len(questions) > 500
    wrong = [(q, lang) for q, lang in questions if detect_language(q) != lang]
    assert len(wrong) <= 0.01 * len(questions), wrong  # >= 99 % right


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Is Nässjö part of the network?", "en"),
        ("Who is Ann-Cathrin Brovall?", "en"),
        ("When did Borlänge join?", "en"),
        ("What does ROT-avdrag mean?", "en"),
        ("Why Almedalen?", "en"),
        ("How many municipalities are in Falköping's network?", "en"),
        ("Ingår Nässjö i nätverket?", "sv"),
        ("Varför Almedalen?", "sv"),
        ("Hur många kommuner?", "sv"),
        ("Vem är Anna Svensson?", "sv"),
        ("Vad betyder integration?", "sv"),
        ("Var ligger Lindesberg", "sv"),
        ("Bygglov för altan", "sv"),
    ],
)
def test_short_and_mixed_questions(question, language):
    assert detect_language(question) == language


@pytest.mark.parametrize(
    ("question", "hint", "language"),
    [
        ("Almedalen 2012", "en", "en"),  # no evidence: the asker's locale decides
        ("Almedalen 2012", None, "sv"),  # nor a locale: Swedish, the documents' language
        ("Nordic safe cities", "en", "en"),
        ("When did it start?", "sv", "en"),  # evidence beats the locale
        ("När startade det?", "en", "sv"),
    ],
)
def test_the_locale_breaks_ties_only(question, hint, language):
    assert detect_language(question, hint) == language
