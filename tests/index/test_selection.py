"""Sentence selection: what a question asks for, what a sentence is, the fitted weights."""

from __future__ import annotations

import json
import time

import pytest

from index.selection import (
    ANSWER_FEATURES,
    FEATURES,
    WEIGHTS,
    SelectionWeightsError,
    asks_for_form,
    is_byline,
    is_caption,
    is_credit,
    kind_signals,
    load_selection_model,
    question_names,
    question_shape,
    ranking_key,
)
from index.smalltalk import small_talk


@pytest.mark.parametrize(
    ("text", "byline", "credit", "caption"),
    [
        ("Ann-Cathrin Brovall, presschef", True, False, False),
        ("Text: Karin Sjöberg, kommunikatör i Borlänge kommun", True, False, False),
        ("Av Maja Hedlund", True, False, False),
        ("Vid protokollet: Johan Ekström", True, False, False),
        ("Foto: Emir Hadžić", False, True, True),
        ("Bilden visar deltagare i språkcaféet.", False, False, True),
        ("Anna Berg", False, False, False),  # a bare name is no signature
        ("Borlänge delar med sig av kunskap och erfarenhet.", False, False, False),
    ],
)
def test_bylines_credits_and_captions_are_told_apart(text, byline, credit, caption):
    assert (is_byline(text), is_credit(text), is_caption(text)) == (byline, credit, caption)


@pytest.mark.parametrize(
    ("question", "line", "wanted"),
    [
        ("Vem skrev texten om Almedalen?", "Ann-Cathrin Brovall, presschef", True),
        ("Who wrote the press release?", "Text: Karin Sjöberg, kommunikatör", True),
        ("Vem tog bilden?", "Foto: Emir Hadžić", True),
        ("Vad visar bilden?", "Bilden visar deltagare i språkcaféet.", True),
        ("Vad visar bilden?", "Foto: Emir Hadžić", False),  # a credit is not the caption
        ("När startade samarbetet?", "Ann-Cathrin Brovall, presschef", False),
    ],
)
def test_a_form_line_is_the_answer_only_to_the_question_that_asks_for_it(question, line, wanted):
    assert asks_for_form(question_shape(question), line) is wanted


def test_the_municipalities_asked_for_are_counted_in_the_sentence():
    shape = question_shape("Vilka kommuner ingår i nätverket?")
    towns = frozenset({"Borlänge", "Falköping", "Lindesberg", "Nässjö"})
    four = "Borlänge är, tillsammans med Falköping, Lindesberg och Nässjö, en viktig aktör."
    one = "Även till konferenser där ett fåtal kommuner bjuds in har Borlänge fått inbjudan."
    assert kind_signals(shape, four, towns)["named"] == 1.0
    assert kind_signals(shape, one, towns)["named"] == 0.25


def test_names_in_a_question_are_the_capitalised_words_after_its_first():
    assert question_names("Är Nässjö med i nätverket?") == {"nässjö"}
    assert question_names("Vem skrev texten?") == frozenset()


def test_the_asked_form_comes_first_and_an_unasked_form_line_last():
    plain = [0.0] * len(FEATURES)
    asked = list(plain)
    asked[FEATURES.index("asked_form")] = 1.0
    form = list(plain)
    form[FEATURES.index("form_line")] = 1.0
    ranked = sorted([(form, 0.9), (plain, 0.5), (asked, 0.1)], key=lambda r: ranking_key(*r))
    assert [r[1] for r in ranked] == [0.1, 0.5, 0.9]


def test_the_shipped_weights_are_fitted_for_the_features_of_this_code():
    model = load_selection_model(WEIGHTS)
    assert model.sentence.features == FEATURES
    assert model.answer.features == ANSWER_FEATURES
    assert model.version >= 1
    fitted = json.loads(WEIGHTS.read_text(encoding="utf-8"))["fitted"]
    assert fitted["split"] == "tests/gold/dev"  # never the test split


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"sentence": {"features": ["words"], "weights": [1.0]}, "answer": {}}',
        "[]",
    ],
)
def test_weights_for_other_features_or_malformed_are_refused(tmp_path, content):
    path = tmp_path / "weights.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SelectionWeightsError):
        load_selection_model(path)


@pytest.mark.parametrize(
    ("text", "kind", "language"),
    [
        ("Hej!", "greeting", "sv"),
        ("Hej boten", "greeting", "sv"),
        ("Tack så mycket!", "thanks", "sv"),
        ("Thanks!", "thanks", "en"),
        ("Hej! Vad kan du hjälpa till med?", "help", "sv"),
        ("Hello, what can you do?", "help", "en"),
        ("Hej då", "bye", "sv"),
    ],
)
def test_small_talk_is_recognised_with_its_language(text, kind, language):
    talk = small_talk(text)
    assert talk is not None and (talk.kind, talk.language) == (kind, language)


@pytest.mark.parametrize(
    "text",
    ["Hej! Vad kostar bygglov?", "Tack, men när startade samarbetet?", "Vad kan du om SFI?", ""],
)
def test_a_greeting_followed_by_a_question_is_a_question(text):
    assert small_talk(text) is None


# Every pattern here sees question or document text: linear on its worst input.
WORST = [
    "." * 1_000_000,
    "a " * 500_000,
    "A" * 1_000_000,
    "Aa " * 333_333,
    "vad är " + "? a" * 300_000,
    "1" * 1_000_000,
    "” " * 500_000,
    "i X" * 333_333,
    "Vilka " * 166_666,
]


@pytest.mark.parametrize("text", WORST, ids=lambda t: repr(t[:8]))
def test_question_and_sentence_functions_take_linear_time(text):
    shape = question_shape("Vilka kommuner och när, vem skrev, var, varför, vad heter bilden?")
    towns = frozenset({"Borlänge", "Nässjö"})
    for function in (
        question_shape.__wrapped__,
        small_talk,
        lambda t: kind_signals(shape, t, towns),
        is_byline,
        is_credit,
        is_caption,
        question_names,
    ):
        started = time.thread_time()
        function(text)
        assert time.thread_time() - started < 2.0, function
