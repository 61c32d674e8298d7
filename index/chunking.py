"""Document -> Chunk: Swedish sentence- and heading-aware chunking, and each chunk's indexed text.

Text is first cut into *sentence units*: ordinary sentences, standalone lines (a title
line, a signature such as "Ann-Cathrin Brovall, presschef"), and lists together with the
sentence that leads into them ("Några exempel på det är:" followed by its bullet lines),
so that a list is never separated from what it is a list of. Units are then packed
greedily into chunks of at most ``max_chars`` characters, one section at a time, so a
chunk's heading and page are exact. Consecutive chunks of a section share
``overlap_sentences`` units.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.documents import Document

log = logging.getLogger(__name__)

HARD_LIMIT_FACTOR = 2
"""A unit longer than ``HARD_LIMIT_FACTOR * max_chars`` is cut at whitespace."""

# Abbreviations that never end a sentence: a capital letter after them is a name
# ("bl.a. Borlänge") or a date ("1 jan. 2020"). Compared in lower case.
_NEVER_FINAL = frozenset(
    """
    a. adr. ang. anm. art. avd. bl.a. ca. d.v.s. dir. dnr. dvs. e.kr. enl. ev. exkl. f.d.
    f.kr. f.n. f.ö. fig. forts. fr. fr.o.m. förf. hr. inkl. jfr. jr. kap. kl. m. mom. mr.
    mrs. ms. nr. o. obs. ordf. p. p.g.a. pga. prof. prop. resp. s. s.k. sid. sk. sr. t.
    t.ex. t.f. t.o.m. tel. tf. tfn. tr. u.a. v. vol. vs. ä. äv.
    """.split()
)
# Abbreviations that may also end a sentence: they do so only before a capital letter,
# never before a digit ("1 jan. 2020", "5 st. 2 kr.").
_MAYBE_FINAL = frozenset(
    """
    etc. osv. o.s.v. m.m. m.fl. mfl. e.d. o.d. o.dyl. mm. kr. mkr. tkr. mdkr. st.
    jan. feb. febr. mar. apr. jun. jul. aug. sep. sept. okt. nov. dec.
    """.split()
)
_QUOTES = "\"'”“»«‘’„"
_BULLETS = "•-*–·▪◦●"
_CLOSERS = "\"'”’»)]"

# Every pattern here sees document text: each is linear in its input, so a hostile
# document cannot hold the interpreter (and the bot's event loop) in one regex call.
# A run of punctuation is matched from its first character only: tried from every
# character of a run, 20,000 dots took 20 s (tests/index/test_linear_text.py).
_BOUNDARY = re.compile(rf"(?<![.!?…])([.!?…]+)([{re.escape(_CLOSERS)}]*)\s+")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_LIST_ITEM = re.compile(rf"^\s*(?:[{re.escape(_BULLETS)}]|\d{{1,3}}[.)]|[a-zA-Z]\))\s+\S")
_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_INITIAL = re.compile(r"[A-ZÅÄÖÉÜ]")
_LETTER_DOTS = re.compile(r"[^\W\d_](?:\.[^\W\d_])+")
_ORDINAL = re.compile(r"\d{1,3}")


@dataclass(frozen=True)
class Chunk:
    """A passage of a document that is embedded and searched as one unit."""

    doc_id: str
    ordinal: int
    text: str
    sentences: tuple[str, ...]
    heading: str | None
    page: int | None


def _collapse(text: str) -> str:
    """Return ``text`` with whitespace runs made one space, stripped."""
    return " ".join(text.split())


def _starts_sentence(char: str) -> bool:
    """Return True if a sentence may begin with ``char``."""
    return char.isupper() or char.isdigit() or char in _QUOTES or char in _BULLETS


def _is_boundary(text: str, start: int, match: re.Match[str]) -> bool:
    """Return True if the punctuation in ``match`` ends the sentence begun at ``start``."""
    following = text[match.end() : match.end() + 1]
    if not following or not _starts_sentence(following):
        return False
    if match.group(1) != ".":
        return True  # "!", "?", "…" and "..." always end a sentence before a capital
    space = text.rfind(" ", start, match.start(1))
    word_start = start if space < 0 else space + 1
    word = text[word_start : match.start(1)].lstrip("([{" + _QUOTES)
    token = word.lower() + "."
    if token in _MAYBE_FINAL:
        return following.isupper()
    if token in _NEVER_FINAL:
        return False
    if _INITIAL.fullmatch(word) or _LETTER_DOTS.fullmatch(word):
        return False  # "A. Svensson", "e.Kr." and unknown letter abbreviations
    if _ORDINAL.fullmatch(word):
        # The sentence so far, up to the number: looked at from its end, not copied, as
        # the sentence may be long and rejected numbers ("2: 1. 2: 1. ...") many.
        end = word_start
        while end > start and text[end - 1].isspace():
            end -= 1
        if end == start or text[end - 1] == ":":
            return False  # "Gör så här: 1. Ring ..." - an inline numbered item
    return True


def _split_prose(text: str) -> list[str]:
    """Return the sentences of one paragraph of running text (whitespace collapsed)."""
    sentences = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _is_boundary(text, start, match):
            sentences.append(text[start : match.end(2)].strip())
            start = match.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _blocks(paragraph: str) -> Iterator[tuple[str, str]]:
    """Yield ("prose" | "item" | "heading", text) blocks of one paragraph, in order.

    A list item takes the indented lines after it as its continuation; other lines are
    running text and are joined with spaces.
    """
    prose: list[str] = []
    item: list[str] | None = None

    def pending() -> Iterator[tuple[str, str]]:
        nonlocal prose, item
        if item is not None:
            yield "item", _collapse(" ".join(item))
            item = None
        if prose:
            yield "prose", _collapse(" ".join(prose))
            prose = []

    for line in paragraph.split("\n"):
        if not line.strip():
            continue
        if _HEADING_LINE.match(line):
            yield from pending()
            yield "heading", _collapse(line)
        elif _LIST_ITEM.match(line):
            yield from pending()
            item = [line]
        elif item is not None and line[:1].isspace():
            item.append(line)
        else:
            if item is not None:
                yield from pending()
            prose.append(line)
    yield from pending()


def split_sentences(text: str) -> list[str]:
    """Return the sentence units of ``text``, in order, whitespace collapsed.

    Sentences end at ". ! ? …" before a capital letter, digit, quote or bullet, but not
    after Swedish abbreviations ("bl.a.", "t.ex.", "dvs." ...), initials ("A. Svensson")
    or ordinals ("den 3. maj"). A blank line always ends a sentence, so a title line or a
    signature line is a sentence of its own. A sentence ending in ":" followed by list
    items becomes one unit: the lead-in, then each item on its own line, bullet kept.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Each unit as its lines: a list's items are joined to their lead-in once, at the end
    # (added one by one to a string, a list of 100,000 items took 3 s, 4 times 50,000's).
    units: list[list[str]] = []
    lead_in: int | None = None  # index in units of a sentence ending with ":"
    for paragraph in _PARAGRAPH_BREAK.split(text):
        for kind, content in _blocks(paragraph):
            if kind == "item":
                if lead_in is not None:
                    units[lead_in].append(content)
                else:
                    units.append([content])
            elif kind == "heading":
                units.append([content])
                lead_in = None
            else:
                sentences = _split_prose(content)
                units.extend([sentence] for sentence in sentences)
                lead_in = len(units) - 1 if sentences and sentences[-1].endswith(":") else None
    return ["\n".join(lines) for lines in units]


def _hard_split(text: str, max_chars: int) -> list[str]:
    """Return ``text`` cut at whitespace into pieces of at most ``max_chars`` characters.

    A word longer than ``max_chars`` is cut inside; no character is lost.
    """
    pieces = []
    text = _collapse(text)
    start = 0  # the rest starts here (not copied: a long text would be copied per piece)
    while len(text) - start > max_chars:
        cut = text.rfind(" ", start, start + max_chars + 1)
        if cut <= start:
            pieces.append(text[start : start + max_chars])
            start += max_chars
        else:
            pieces.append(text[start:cut])
            start = cut + 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _split_list(unit: str, max_chars: int) -> list[str]:
    """Return a too-long list unit as parts of whole items, each starting with the lead-in."""
    lead, *items = unit.split("\n")
    parts: list[str] = []
    current = lead
    has_items = False
    for item in items:
        candidate = f"{current}\n{item}"
        if has_items and len(candidate) > max_chars:
            parts.append(current)
            current = f"{lead}\n{item}"
        else:
            current = candidate
        has_items = True
    parts.append(current)
    return parts


def _fit(units: list[str], max_chars: int) -> list[str]:
    """Return ``units`` with lists split item-wise and overlong units hard-split."""
    fitted: list[str] = []
    for unit in units:
        if len(unit) <= max_chars:
            fitted.append(unit)
            continue
        parts = _split_list(unit, max_chars) if "\n" in unit else [unit]
        for part in parts:
            if len(part) > HARD_LIMIT_FACTOR * max_chars:
                fitted.extend(_hard_split(part, max_chars))
            else:
                fitted.append(part)
    return fitted


def _joined_length(units: list[str]) -> int:
    """Return the length of ``units`` joined with single spaces."""
    return sum(len(unit) for unit in units) + max(len(units) - 1, 0)


def _pack(units: list[str], max_chars: int, overlap: int) -> Iterator[list[str]]:
    """Yield groups of consecutive units that fit ``max_chars`` (a lone unit may not).

    Each group starts with up to ``overlap`` units of the previous one, as many as fit,
    and always adds at least one new unit, so packing ends.
    """
    start = 0
    new = 0  # index of the first unit not yet in any group
    while new < len(units):
        while start < new and _joined_length(units[start : new + 1]) > max_chars:
            start += 1
        end = new + 1
        while end < len(units) and _joined_length(units[start : end + 1]) <= max_chars:
            end += 1
        yield units[start:end]
        new = end
        start = max(end - overlap, 0) if overlap else end


def chunk_document(
    document: Document, max_chars: int = 700, overlap_sentences: int = 1
) -> list[Chunk]:
    """Return the chunks of ``document``, numbered 0..n-1 in reading order.

    Sentence units are packed greedily up to ``max_chars`` characters within each
    section; a unit longer than that is a chunk of its own (a list is split between its
    items, each part repeating the lead-in; anything longer than
    ``HARD_LIMIT_FACTOR * max_chars`` is cut at whitespace). The first
    ``overlap_sentences`` units of a chunk repeat the end of the previous chunk of the
    same section. A section's sentence units are its ``sentences`` when the document was
    read by :class:`index.documents.IsolatedReader`, else they are cut here.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences must not be negative, not {overlap_sentences}")
    chunks: list[Chunk] = []
    for section in document.sections:
        # Cut already when the document was read in the reader's child process.
        sentences: Sequence[str] | None = section.sentences
        if sentences is None:
            sentences = split_sentences(section.text)
        units = _fit(list(sentences), max_chars)
        for group in _pack(units, max_chars, overlap_sentences):
            chunks.append(
                Chunk(
                    doc_id=document.id,
                    ordinal=len(chunks),
                    text=" ".join(group),
                    sentences=tuple(group),
                    heading=section.heading,
                    page=section.page,
                )
            )
    log.debug("Cut %s into %d chunks", document.id, len(chunks))
    return chunks


PASSAGE_TEXT_VERSION = 2
"""What :func:`passage_text` makes of a chunk; a change re-reads every document."""


def lead_text(title: str, doc_id: str, chunk: Chunk) -> str:
    """Return a chunk's lead: its title, heading and first sentence (a BM25F-style field).

    Passages usually name their topic first; measured on the FAQ dev set this field adds
    about 0.02 nDCG@10 for Swedish and 0.07 for English questions (docs/RETRIEVAL.md).
    """
    parts = []
    if title and title != Path(doc_id).stem:
        parts.append(title)
    if chunk.heading:
        parts.append(chunk.heading)
    if chunk.sentences:
        parts.append(chunk.sentences[0])
    return "\n".join(parts)


def folder_context(doc_id: str) -> str:
    """Return a document's folders as words ("Fasad renovering › Puts"), or "" at the top.

    Admins file documents by topic or municipality; that is context the passage itself
    often leaves out. On the FAQ dev set it lifts multilingual-e5 nDCG@10 from 0.703 to
    0.77 (Swedish) and 0.581 to 0.61 (English) (docs/RETRIEVAL.md).
    """
    folders = Path(doc_id).parent.parts
    return " › ".join(
        " ".join(part.replace("-", " ").replace("_", " ").split()).capitalize()
        for part in folders
        if part not in ("", ".")
    )


def passage_text(title: str, doc_id: str, chunk: Chunk) -> str:
    """Return the text that is embedded and keyword-indexed for a chunk.

    The folder, the heading and a real title (not just the file name) are context that
    belongs to the passage; each is added when the passage does not already contain it.
    """
    parts = []
    folder = folder_context(doc_id)
    if folder:
        parts.append(folder)
    if title and title != Path(doc_id).stem and title not in chunk.text:
        parts.append(title)
    if chunk.heading and chunk.heading not in chunk.text:
        parts.append(chunk.heading)
    parts.append(chunk.text)
    return "\n".join(parts)
