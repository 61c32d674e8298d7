"""Near-duplicate unanswered questions grouped into knowledge gaps (report/grouping.py)."""

from __future__ import annotations

import pytest

from bot.services.report import group_questions, question_key


def test_the_two_phrasings_of_when_the_collaboration_started_count_together():
    [gap] = group_questions(["när började samarbetet", "När startade samarbetet?"])
    assert gap.count == 2
    assert {gap.question, *gap.variants} == {"när började samarbetet", "När startade samarbetet?"}
    assert question_key("när började samarbetet") == question_key("När startade samarbetet?")


@pytest.mark.parametrize(
    ("a", "b", "together"),
    [
        ("Vad kostar bygglov?", "vad kostar ett bygglov", True),
        ("Vad kostar bygglov?", "Vad är priset för bygglov?", True),  # synonym
        ("Vad kostar bygglov?", "Vad kostar byglov?", True),  # a typo: trigrams
        ("När startade samarbetet?", "När slutade samarbetet?", False),
        ("När startade samarbetet?", "Vad kostar bygglov?", False),
        ("Vem är ordförande i nätverket?", "Vem leder sommarskolan?", False),
    ],
)
def test_near_duplicates_are_grouped_and_different_questions_are_not(a, b, together):
    gaps = group_questions([a, b])
    assert (len(gaps) == 1) == together


def test_groups_are_ordered_by_frequency_with_the_commonest_phrasing_shown():
    questions = ["Vem är ordförande?"] + ["Vad kostar bygglov?"] * 2 + ["vad kostar ett bygglov"]
    gaps = group_questions(questions, top=1)
    assert [(g.question, g.count, g.variants) for g in gaps] == [
        ("Vad kostar bygglov?", 3, ("vad kostar ett bygglov",))
    ]
