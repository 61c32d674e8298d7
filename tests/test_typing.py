"""mypy, as `./run lint` runs it, refuses a plain `str` where a `Visibility` is meant.

Each snippet is checked with the project's own mypy settings (pyproject.toml), so this
fails if a visibility parameter is widened back to `str` or the settings stop checking.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]

# Full lane: mypy starts cold here, in a cache of its own (the first check reads numpy's
# and faiss's types, about 15 s; the others reuse it).
pytestmark = pytest.mark.integration

HEADER = """\
from index.store import DocumentRecord, Index
from index.types import Visibility
"""

CASES = {
    "a str to the store's per-reader mask": (
        "def mask(index: Index, who: str) -> None:\n    index.allowed_mask(who)\n",
        'Argument 1 to "allowed_mask" of "Index" has incompatible type "str"',
    ),
    "a str as a document's visibility": (
        "def record(who: str) -> DocumentRecord:\n"
        '    return DocumentRecord("a.md", "A", who, "hash")\n',
        'Argument 3 to "DocumentRecord" has incompatible type "str"',
    ),
    "a misspelt literal": (
        'def mask(index: Index) -> None:\n    index.allowed_mask("publik")\n',
        'Argument 1 to "allowed_mask" of "Index" has incompatible type "Literal[\'publik\']"',
    ),
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(tmp_path: Path, cache: Path, body: str) -> tuple[str, int]:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(HEADER + "\n\n" + textwrap.dedent(body), encoding="utf-8")
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--follow-imports=silent",  # only the snippet's errors, not index/'s
            str(snippet),
        ]
    )
    assert not stderr, stderr
    return stdout, status


@pytest.mark.parametrize(("body", "expected"), list(CASES.values()), ids=list(CASES))
def test_a_plain_str_where_a_visibility_is_meant_is_an_error(
    tmp_path, monkeypatch, cache, body, expected
):
    monkeypatch.chdir(ROOT)  # the config's paths, and `index` found from the checkout
    output, status = _mypy(tmp_path, cache, body)
    assert status == 1, output
    assert expected in output, output
    assert "[arg-type]" in output


def test_a_visibility_passes(tmp_path, monkeypatch, cache):
    monkeypatch.chdir(ROOT)
    body = (
        "def mask(index: Index, who: Visibility) -> None:\n"
        "    index.allowed_mask(who)\n"
        '    index.allowed_mask("internal")\n'
        '    DocumentRecord("a.md", "A", who, "hash")\n'
    )
    output, status = _mypy(tmp_path, cache, body)
    assert (status, output) == (0, "")
