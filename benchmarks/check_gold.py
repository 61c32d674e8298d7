"""Check the sentence-level gold set (tests/gold/README.md): format, verbatim gold, splits.

Usage: .venv/bin/python benchmarks/check_gold.py [FOLDER ...]

A FOLDER is one split (it holds ``questions.jsonl`` and ``knowledge/``) or the gold set
itself (it holds ``dev/`` and ``test/``; both must be there). Default: tests/gold.

Checked: every line is a JSON object with the required fields and a known kind; ids are
unique; every gold, context and lead string is in its source document as the index reads
it (whitespace normalised); no document is in two splits; the test split has at least 100
questions per language and the whole set at least 300 (when both splits are checked);
follow-ups have a history; unanswerable questions have no gold; and the questions are
paraphrased: at least 75 % of the answerable ones (summaries apart) share at most two
content words with their best-overlapping gold sentence (content words: casefolded words
of three letters or more, not stopwords, Swedish Snowball stems, as index/lexical.py).

Prints per split the questions per language and kind and the share paraphrased; exits 1
with one line per problem.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import ROOT

from index.documents import load_documents
from index.evaluate import KINDS, normalise_space
from index.lexical import STOPWORDS, stem, words

LANGUAGES = ("sv", "en")
REQUIRED = {
    "id": str,
    "lang": str,
    "kind": str,
    "question": str,
    "gold": list,
    "context": list,
    "answerable": bool,
}
MIN_TEST_PER_LANGUAGE = 100
MIN_TOTAL = 300
MAX_SHARED_WORDS = 2
MIN_PARAPHRASED = 0.75


@dataclass
class Split:
    """One split as read: its questions (with line numbers) and its documents' texts."""

    name: str
    folder: Path
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # document id -> normalised text
    raw: dict[str, str] = field(default_factory=dict)  # document id -> normalised file text
    hashes: dict[str, str] = field(default_factory=dict)  # document id -> content hash

    @property
    def questions(self) -> Path:
        return self.folder / "questions.jsonl"


def content_words(text: str) -> set[str]:
    """Return the stems of a text's content words: three letters or more, not stopwords."""
    return {stem(w) for w in words(text) if sum(c.isalpha() for c in w) >= 3 and w not in STOPWORDS}


def shared_words(question: str, gold: list[str]) -> int:
    """Return how many content words a question shares with its best-overlapping gold."""
    asked = content_words(question)
    return max((len(asked & content_words(g)) for g in gold), default=0)


def splits_of(folders: list[Path], problems: list[str]) -> list[Path]:
    """Return the split folders named: a gold set folder stands for its dev and test."""
    out = []
    for folder in folders:
        if (folder / "questions.jsonl").is_file():
            out.append(folder)
        elif (folder / "dev").is_dir() or (folder / "test").is_dir() or folder.name == "gold":
            for name in ("dev", "test"):
                if (folder / name / "questions.jsonl").is_file():
                    out.append(folder / name)
                else:
                    problems.append(f"{folder / name}: no questions.jsonl (both splits needed)")
        else:
            problems.append(f"{folder}: neither a split (questions.jsonl) nor a gold set")
    return out


def read_split(folder: Path, problems: list[str]) -> Split:
    """Read a split's questions and documents; add a problem per unreadable line or file."""
    split = Split(folder.name, folder)
    try:
        lines = split.questions.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{split.questions}: cannot read: {exc}")
        lines = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            problems.append(f"{split.questions}:{number}: not JSON: {exc}")
            continue
        if not isinstance(row, dict):
            problems.append(f"{split.questions}:{number}: not a JSON object")
            continue
        split.rows.append((number, row))
    knowledge = folder / "knowledge"
    if not knowledge.is_dir():
        problems.append(f"{knowledge}: no knowledge folder")
        return split
    loaded = load_documents(knowledge)
    for skipped in loaded.skipped:
        problems.append(f"{knowledge / skipped.path}: unreadable: {skipped.reason}")
    for doc in loaded.documents:
        split.texts[doc.id] = normalise_space(doc.text)
        split.hashes[doc.id] = doc.content_hash
        try:
            split.raw[doc.id] = normalise_space((knowledge / doc.id).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            split.raw[doc.id] = ""
    return split


def check_line(split: Split, number: int, row: dict[str, Any]) -> list[str]:
    """Return the problems of one question line."""
    where = f"{split.questions}:{number}"
    problems = []
    for key, kind in REQUIRED.items():
        if key not in row:
            problems.append(f"{where}: no '{key}'")
        elif not isinstance(row[key], kind):
            problems.append(f"{where}: '{key}' must be a {kind.__name__}")
    if "source" not in row:
        problems.append(f"{where}: no 'source'")
    if problems:
        return problems
    lists = {key: row.get(key) for key in ("gold", "context", "history")}
    for key, value in lists.items():
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            problems.append(f"{where}: '{key}' must be a list of strings")
    if row["kind"] not in KINDS:
        problems.append(f"{where}: unknown kind {row['kind']!r}")
    if row["lang"] not in LANGUAGES:
        problems.append(f"{where}: 'lang' must be sv or en, not {row['lang']!r}")
    if not row["question"].strip():
        problems.append(f"{where}: empty question")
    if problems:
        return problems
    source, lead = row["source"], row.get("lead")
    if row["kind"] == "followup" and not row.get("history"):
        problems.append(f"{where}: a follow-up needs a non-empty 'history'")
    if not row["answerable"]:
        if row["gold"] or row["context"]:
            problems.append(f"{where}: an unanswerable question has empty 'gold' and 'context'")
    elif row["kind"] == "summary":
        if not isinstance(lead, str) or not lead.strip():
            problems.append(f"{where}: a summary needs its 'lead'")
    elif not row["gold"]:
        problems.append(f"{where}: an answerable question needs a 'gold' sentence")
    if source is None:
        if row["answerable"]:
            problems.append(f"{where}: an answerable question needs its 'source'")
        return problems
    if not isinstance(source, str) or source not in split.texts:
        problems.append(f"{where}: source {source!r} is not a document of {split.folder}")
        return problems
    quoted = [*row["gold"], *row["context"], *([lead] if isinstance(lead, str) else [])]
    for sentence in quoted:
        text = normalise_space(sentence)
        if not text:
            problems.append(f"{where}: an empty gold, context or lead string")
        elif text not in split.texts[source]:
            hint = (
                " (it is in the file: markup the index drops?)" if text in split.raw[source] else ""
            )
            problems.append(f"{where}: not verbatim in {source}{hint}: {_short(sentence)}")
    return problems


def _short(text: str, limit: int = 70) -> str:
    text = normalise_space(text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def paraphrased_share(split: Split) -> tuple[float | None, int]:
    """Return the share of answerable non-summary questions paraphrased, and their count."""
    rows = _graded_rows(split)
    if not rows:
        return None, 0
    fine = sum(shared_words(r["question"], r["gold"]) <= MAX_SHARED_WORDS for r in rows)
    return fine / len(rows), len(rows)


def copied_ids(split: Split) -> list[str]:
    """Return the ids of questions sharing more than two content words with their gold."""
    return [
        str(r.get("id"))
        for r in _graded_rows(split)
        if shared_words(r["question"], r["gold"]) > MAX_SHARED_WORDS
    ]


def _graded_rows(split: Split) -> list[dict[str, Any]]:
    """Return the answerable, non-summary questions with gold sentences (the overlap rule's)."""
    return [
        row
        for _, row in split.rows
        if row.get("answerable") is True
        and row.get("kind") != "summary"
        and isinstance(row.get("question"), str)
        and isinstance(row.get("gold"), list)
        and row["gold"]
        and all(isinstance(g, str) for g in row["gold"])
    ]


def check(
    folders: list[Path],
    *,
    min_test_per_language: int = MIN_TEST_PER_LANGUAGE,
    min_total: int = MIN_TOTAL,
    out: Any = None,
) -> list[str]:
    """Check the splits in ``folders``; print what each holds to ``out``; return the problems."""
    problems: list[str] = []
    splits = [read_split(folder, problems) for folder in splits_of(folders, problems)]
    seen: dict[str, str] = {}
    for split in splits:
        for number, row in split.rows:
            problems += check_line(split, number, row)
            key = row.get("id")
            if isinstance(key, str):
                where = f"{split.questions}:{number}"
                if key in seen:
                    problems.append(f"{where}: id {key!r} also at {seen[key]}")
                else:
                    seen[key] = where
        languages = Counter(row.get("lang") for _, row in split.rows)
        if split.name == "test":
            for lang in LANGUAGES:
                if languages[lang] < min_test_per_language:
                    problems.append(
                        f"{split.questions}: {languages[lang]} questions in {lang},"
                        f" the test split needs at least {min_test_per_language}"
                    )
        share, counted = paraphrased_share(split)
        if share is not None and share < MIN_PARAPHRASED:
            problems.append(
                f"{split.questions}: only {share:.0%} of {counted} answerable questions share"
                f" at most {MAX_SHARED_WORDS} content words with their gold sentence"
                f" (at least {MIN_PARAPHRASED:.0%} must): paraphrase more"
            )
        _describe(split, share, counted, out or sys.stdout)
    for i, first in enumerate(splits):
        for second in splits[i + 1 :]:
            by_hash = {h: d for d, h in first.hashes.items()}
            for doc, digest in second.hashes.items():
                other = doc if doc in first.hashes else by_hash.get(digest)
                if other is not None:
                    problems.append(
                        f"{second.folder / 'knowledge' / doc}: also in {first.name}"
                        f" ({other}): a document belongs to one split"
                    )
    names = {split.name for split in splits}
    total = sum(len(split.rows) for split in splits)
    if {"dev", "test"} <= names and total < min_total:
        problems.append(f"the gold set has {total} questions; it needs at least {min_total}")
    return problems


def _describe(split: Split, share: float | None, counted: int, out: Any) -> None:
    """Print a split's questions per language and kind, and its paraphrased share."""
    counts = Counter((row.get("lang"), row.get("kind")) for _, row in split.rows)
    kinds = sorted({str(kind) for _, kind in counts})
    langs = sorted({str(lang) for lang, _ in counts})
    print(f"{split.folder}: {len(split.rows)} questions, {len(split.texts)} documents", file=out)
    width = max([4, *(len(k) for k in kinds)])
    print(f"  {'kind':<{width}}" + "".join(f"{lang:>6}" for lang in langs), file=out)
    for kind in kinds:
        cells = "".join(f"{counts[(lang, kind)]:>6}" for lang in langs)
        print(f"  {kind:<{width}}{cells}", file=out)
    if share is not None:
        print(
            f"  paraphrased (at most {MAX_SHARED_WORDS} content words shared with the gold):"
            f" {share:.1%} of {counted}",
            file=out,
        )
        copied = copied_ids(split)
        if copied:
            more = f" and {len(copied) - 10} more" if len(copied) > 10 else ""
            print(f"  sharing more: {', '.join(copied[:10])}{more}", file=out)


def main(argv: list[str]) -> int:
    """Check the folders named (default tests/gold); print problems; return 1 if any."""
    folders = [Path(a) for a in argv] or [ROOT / "tests" / "gold"]
    problems = check(folders)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
