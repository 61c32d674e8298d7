"""The gold set passes benchmarks/check_gold.py, and the checker catches what it must."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest

from benchmarks.check_gold import check, content_words, shared_words
from tests.conftest import ROOT

GOLD = ROOT / "tests" / "gold"
DOC = (
    "---\ntitle: Protokoll från styrgruppen\n---\n"
    "# Styrgruppen\n\n"
    "Sammanträdet hölls den 14 mars 2024 i Nässjö stadshus. "
    "Ordförande var Karin  Lund från Falköping.\n\n"
    "Mötet beslutade att **anta** budgeten.\n"
)


def test_the_gold_set_passes_its_checks():
    """Both splits are there, and check_gold.py finds no problem in them."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "check_gold.py"), str(GOLD)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "dev" in run.stdout and "test" in run.stdout


def line(id_, question, gold, **fields):
    row = {
        "id": id_,
        "lang": "sv",
        "kind": "when",
        "question": question,
        "source": "protokoll.md",
        "gold": gold,
        "context": [],
        "answerable": True,
    }
    return {**row, **fields}


GOOD = [
    line("when", "Vilket datum träffades gruppen?", ["Sammanträdet hölls den 14 mars 2024"]),
    line("who", "Vem ledde det?", ["Ordförande var Karin Lund från Falköping."], kind="who"),
    line(
        "follow",
        "Och vem ledde det?",
        ["Ordförande var Karin Lund från Falköping."],
        kind="followup",
        history=["När träffades styrgruppen?"],
    ),
    line(
        "sum",
        "Sammanfatta protokollet",
        [],
        kind="summary",
        lead="Sammanträdet hölls den 14 mars 2024 i Nässjö stadshus.",
    ),
    line("no", "Vad kostade fikat?", [], kind="how_many", answerable=False, near_miss=True),
    line("off", "Who won the World Cup?", [], kind="who", answerable=False, source=None, lang="en"),
]


def write_split(folder, rows, *, raw_lines=(), doc=DOC, name="protokoll.md"):
    (folder / "knowledge").mkdir(parents=True)
    (folder / "knowledge" / name).write_text(doc, encoding="utf-8")
    text = [json.dumps(r, ensure_ascii=False) for r in rows] + list(raw_lines)
    (folder / "questions.jsonl").write_text("\n".join(text) + "\n", encoding="utf-8")
    return folder


def problems_of(*folders, **limits):
    out = io.StringIO()
    limits = {"min_test_per_language": 1, "min_total": 1, **limits}
    found = check(list(folders), out=out, **limits)
    return found, out.getvalue()


def test_a_clean_split_has_no_problems_and_is_described(tmp_path):
    found, printed = problems_of(write_split(tmp_path / "dev", GOOD))
    assert found == []
    assert "6 questions, 1 documents" in printed
    assert "paraphrased" in printed and "100.0% of 3" in printed


@pytest.mark.parametrize(
    ("rows", "raw_lines", "fragment"),
    [
        ([], ["{not json"], ":7: not JSON"),
        ([], ['["a list"]'], ":7: not a JSON object"),
        ([{k: v for k, v in GOOD[0].items() if k != "gold"} | {"id": "x"}], [], ":7: no 'gold'"),
        ([line("x", "Fråga?", ["Mötet beslutade"], kind="colour")], [], "unknown kind 'colour'"),
        ([line("x", "Fråga?", ["Mötet beslutade"], lang="de")], [], "'lang' must be sv or en"),
        ([line("when", "Fråga?", ["Mötet beslutade"])], [], "id 'when' also at"),
        ([line("x", "Och då?", ["Mötet beslutade"], kind="followup")], [], "non-empty 'history'"),
        ([line("x", "Fråga?", ["Mötet beslutade"], answerable=False)], [], "empty 'gold'"),
        ([line("x", "Fråga?", ["Mötet beslutade"], source="saknas.md")], [], "'saknas.md' is not"),
        ([line("x", "Sammanfatta", [], kind="summary")], [], "needs its 'lead'"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "missing-field",
        "unknown-kind",
        "unknown-language",
        "duplicate-id",
        "follow-up-without-history",
        "unanswerable-with-gold",
        "unknown-source",
        "summary-without-lead",
    ],
)
def test_a_bad_line_is_caught(tmp_path, rows, raw_lines, fragment):
    found, _ = problems_of(write_split(tmp_path / "dev", GOOD + rows, raw_lines=raw_lines))
    assert len(found) == 1, found
    assert fragment in found[0]


@pytest.mark.parametrize(
    ("gold", "hint"),
    [
        ("Sammanträdet hölls den 15 mars 2024 i Nässjö stadshus.", ""),
        ("title: Protokoll från styrgruppen", "it is in the file"),  # not in the text read
    ],
)
def test_a_gold_sentence_not_verbatim_in_its_document_is_caught(tmp_path, gold, hint):
    found, _ = problems_of(write_split(tmp_path / "dev", [*GOOD, line("x", "Datum?", [gold])]))
    assert len(found) == 1, found
    assert "not verbatim in protokoll.md" in found[0] and hint in found[0]


def test_context_and_lead_must_be_verbatim_too(tmp_path):
    rows = [
        *GOOD,
        line("c", "Datum?", ["Sammanträdet hölls den 14 mars 2024"], context=["Ett påhitt."]),
        line("l", "Sammanfatta", [], kind="summary", lead="Ingen sådan ingress."),
    ]
    found, _ = problems_of(write_split(tmp_path / "dev", rows))
    assert [re.search(r":(\d+): not verbatim", p)[1] for p in found] == ["7", "8"]


def test_a_too_copied_question_set_is_caught(tmp_path):
    copied = [
        line(
            f"copy-{i}",
            "När hölls sammanträdet i Nässjö stadshus?",  # four content words of the gold
            ["Sammanträdet hölls den 14 mars 2024 i Nässjö stadshus."],
        )
        for i in range(2)
    ]
    found, printed = problems_of(write_split(tmp_path / "dev", GOOD + copied))
    assert len(found) == 1 and "only 60% of 5" in found[0], found
    assert "sharing more: copy-0, copy-1" in printed


def test_content_words_are_stems_of_longer_non_stopwords():
    assert content_words("När hölls sammanträdet i Nässjö 2024?") == {
        "höll",
        "sammanträd",
        "nässjö",
    }
    assert shared_words("Vilka kommuner?", ["Kommunerna samarbetar.", "Inget här."]) == 1


def test_a_document_in_both_splits_is_caught(tmp_path):
    dev = write_split(tmp_path / "gold" / "dev", GOOD)
    test = write_split(tmp_path / "gold" / "test", [{**r, "id": f"t-{r['id']}"} for r in GOOD])
    found, _ = problems_of(tmp_path / "gold")
    assert len(found) == 1 and "protokoll.md: also in dev" in found[0], found
    # the same text under another name is the same document
    (test / "knowledge" / "protokoll.md").rename(test / "knowledge" / "annat.md")
    found, _ = problems_of(dev, test)
    assert any("annat.md: also in dev (protokoll.md)" in p for p in found), found


def test_the_sizes_of_the_splits_are_checked(tmp_path):
    dev = write_split(tmp_path / "gold" / "dev", GOOD)
    write_split(
        tmp_path / "gold" / "test",
        [{**r, "id": f"t-{r['id']}", "source": r["source"] and "referens.md"} for r in GOOD],
        doc=DOC.replace("Styrgruppen", "Referensgruppen"),
        name="referens.md",
    )
    found, _ = problems_of(tmp_path / "gold", min_test_per_language=2, min_total=13)
    assert len(found) == 2, found
    assert "1 questions in en, the test split needs at least 2" in found[0]
    assert "the gold set has 12 questions; it needs at least 13" in found[1]
    found, _ = problems_of(dev, min_test_per_language=2, min_total=13)  # dev alone
    assert found == []


def test_a_gold_set_without_both_splits_is_a_problem(tmp_path):
    write_split(tmp_path / "gold" / "dev", GOOD)
    found, _ = problems_of(tmp_path / "gold")
    assert len(found) == 1 and "test: no questions.jsonl" in found[0]
