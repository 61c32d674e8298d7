"""YAML from the knowledge folder: no anchors or aliases, and no value taken blindly.

Anyone who can put a file in the knowledge folder reaches these readers (the folder sync
indexes it): front matter and the visibility lists must refuse a "billion laughs" at
once, with a one-line reason, and the rest of the folder must still be indexed.
"""

from __future__ import annotations

import time

import pytest
import yaml

from index.documents import (
    VISIBILITY_FILE,
    DocumentError,
    load_yaml,
    read_document,
    read_visibility_list,
)
from tests.conftest import write_doc
from tests.index.builds import build

NO_ALIASES = "anchors and aliases (&name, *name) are not allowed"


def laughs(levels: int = 6, width: int = 9) -> list[str]:
    """The lines of a "billion laughs": each anchor repeats the one before ``width`` times.

    The last anchor is ``*l{levels-1}``, standing for width**levels strings (six levels:
    531,441; nine: 387 million) in a few hundred bytes.
    """
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return lines


def bomb_front_matter(key: str) -> str:
    return "---\n" + "\n".join([*laughs(), f"{key}: *l5"]) + "\n---\n# Rubrik\n\nText.\n"


def one_line(reason: str) -> bool:
    return "\n" not in reason and len(reason) < 300


@pytest.mark.parametrize("key", ["visibility", "title", "date", "topics"])
def test_a_billion_laughs_in_front_matter_is_refused_at_once_and_the_rest_is_indexed(
    knowledge, tmp_path, fake_encoder, key
):
    (knowledge / "skratt.md").write_text(bomb_front_matter(key), encoding="utf-8")
    started = time.perf_counter()
    summary = build(knowledge, tmp_path / "index", fake_encoder)
    assert time.perf_counter() - started < 5  # the expansion alone took seconds and gigabytes
    [skipped] = summary.skipped
    assert skipped.path == "skratt.md"
    assert skipped.reason == f"invalid YAML in front matter (line 2): {NO_ALIASES}"
    assert summary.documents == 3


def test_a_billion_laughs_in_a_visibility_list_skips_only_the_documents_it_would_decide(
    knowledge, tmp_path, fake_encoder
):
    folder = knowledge / "delad"
    folder.mkdir()
    (folder / "plan.txt").write_text("Planen för nätverket.\n", encoding="utf-8")
    write_doc(folder, "egen.md", "# Egen\n\nDen säger själv.\n", visibility="public")
    (folder / VISIBILITY_FILE).write_text(
        "\n".join([*laughs(), "plan.txt: *l5"]) + "\n", encoding="utf-8"
    )
    started = time.perf_counter()
    summary = build(knowledge, tmp_path / "index", fake_encoder)
    assert time.perf_counter() - started < 5
    [skipped] = summary.skipped
    assert skipped.path == "delad/plan.txt"
    assert skipped.reason == f"{VISIBILITY_FILE} is not valid YAML: {NO_ALIASES} (line 1)"
    assert summary.documents == 4  # the three elsewhere, and the Markdown file that says


@pytest.mark.parametrize(
    "text",
    [
        "base: &base {visibility: public}\nother: *base\n",
        "base: &b public\n",
        "<<: *undefined\n",
        "a.pdf: !!str &x public\n",
    ],
    ids=["alias", "anchor", "merge", "tagged-anchor"],
)
def test_any_anchor_or_alias_is_refused(text):
    with pytest.raises(yaml.YAMLError, match=r"anchors and aliases"):
        load_yaml(text)


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("visibility: {public: yes}", "front matter 'visibility' must be 'public' or 'internal',"
         " not a mapping"),
        ("visibility: [public]", "front matter 'visibility' must be 'public' or 'internal',"
         " not a list"),
        ("visibility: " + "x" * 5000, "front matter 'visibility' must be 'public' or 'internal',"
         " not '" + "x" * 79 + "…'"),
        ("title: " + "9" * 40, "front matter 'title' must be text, not a number this long"),
        ("title: " + "9" * 5000, "invalid YAML in front matter: a value cannot be read: "),
        ("date: 2024-13-45", "invalid YAML in front matter: a value cannot be read: "),
        ("author: {namn: Anna}", "front matter 'author' must be text, not a mapping"),
    ],
)  # fmt: skip
def test_a_front_matter_value_of_the_wrong_kind_is_a_one_line_reason(tmp_path, front, reason):
    path = tmp_path / "dok.md"
    path.write_text(f"---\n{front}\n---\n# Rubrik\n\nText.\n", encoding="utf-8")
    with pytest.raises(DocumentError) as refused:
        read_document(path, tmp_path)
    assert str(refused.value).startswith(reason)
    assert one_line(str(refused.value))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("plan.txt: [public]\n", "the visibility of 'plan.txt' must be 'public' or 'internal',"
         " not a list"),
        ("plan.txt: " + "9" * 5000 + "\n", "is not valid YAML: a value cannot be read: "),
        ("plan.txt: " + "9" * 50 + "\n", "the visibility of 'plan.txt' must be 'public' or"
         " 'internal', not a number"),
        ("2024: public\n", "each line must start with a file name, not a number"),
        ("? " + "x" * 500 + "\n: hemlig\n", "the visibility of '" + "x" * 79 + "…' must be"),
    ],
)  # fmt: skip
def test_a_visibility_list_of_the_wrong_kind_is_a_one_line_reason(tmp_path, text, reason):
    (tmp_path / VISIBILITY_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(DocumentError) as refused:
        read_visibility_list(tmp_path)
    assert reason in str(refused.value)
    assert one_line(str(refused.value))


def test_a_visibility_list_python_cannot_hold_does_not_stop_the_reindex(
    knowledge, tmp_path, fake_encoder
):
    (knowledge / "plan.txt").write_text("Planen.\n", encoding="utf-8")
    (knowledge / VISIBILITY_FILE).write_text("plan.txt: " + "9" * 5000 + "\n", encoding="utf-8")
    summary = build(knowledge, tmp_path / "index", fake_encoder)
    assert {s.path for s in summary.skipped} >= {"plan.txt"}
    assert "a value cannot be read" in summary.skipped[0].reason
