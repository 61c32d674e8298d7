"""Extractive summaries: a document's lead sentence and its most central sentences, cited.

"Sammanfatta …", "Summarize …" and "Vad handlar … om?" ask for a document, not a fact:
the answer is the best-matching document the asker may see, told by its own sentences.
The lead comes first; then the two or three sentences closest on average to all the
others (centrality over the stored sentence vectors), in document order.
"""

from __future__ import annotations

import numpy as np

from index.answer import Answer, Phrases, _Candidate, _cite, _quote_text, format_answer
from index.search import Hit, rank_documents
from index.selection import is_byline, is_caption, is_title
from index.store import ChunkRecord, Index
from index.types import Language

SHORTEST = 40
"""A unit shorter than this (a heading line, "Välkommen!") is not summary material."""


def _central_count(units: int) -> int:
    """Return how many central sentences follow the lead: 2, or 3 for a long document."""
    return 3 if units > 15 else 2


def build_summary(
    index: Index,
    question: str,
    language: Language,
    hits: list[Hit],
    *,
    visibility: str = "public",
    phrases: Phrases | None = None,
) -> Answer:
    """Return an extractive summary of the best-matching document among ``hits``.

    ``hits`` are already filtered by what the asker may see, so the summary never reads a
    document the asker may not.
    """
    phrases = phrases or Phrases()
    ranked = rank_documents(hits)
    if not ranked:
        return Answer(question, False, phrases.abstain, [], [], language, 0.0)
    doc_id = ranked[0][0]
    ids = index.chunk_ids_of(doc_id)
    chunks = sorted(index.chunks(ids).values(), key=lambda c: c.ordinal)
    units = _units(index, chunks)
    title = index.documents[doc_id].title
    material = [
        i
        for i, (text, _, _) in enumerate(units)
        if len(text) >= SHORTEST
        and not is_title(text, title)
        and not is_caption(text)
        and not is_byline(text)
    ]
    if not material:
        return Answer(question, False, phrases.abstain, [], [], language, 0.0)
    lead, rest = material[0], material[1:]
    chosen = [lead, *_most_central(index, units, rest, _central_count(len(material)))]
    chosen.sort()
    top = next(h for h in hits if h.doc_id == doc_id)
    candidates = [
        _Candidate(units[i][0], 0, units[i][2], units[i][1], 1.0, 0.0, 0.0) for i in chosen
    ]
    quotes, sources = _cite(index, candidates, [top], phrases)
    return Answer(
        question,
        True,
        format_answer(quotes, sources, phrases),
        quotes,
        sources,
        language,
        float(top.dense),
        evidence={"cosine": float(top.dense)},
        kind="summary",
    )


def _units(index: Index, chunks: list[ChunkRecord]) -> list[tuple[str, ChunkRecord, int]]:
    """Return each distinct sentence unit of a document in order, with its chunk and place."""
    seen: set[str] = set()
    out = []
    for chunk in chunks:
        for position, sentence in enumerate(chunk.sentences):
            text = _quote_text(sentence)
            if text and text not in seen:
                seen.add(text)
                out.append((text, chunk, position))
    return out


def _most_central(
    index: Index, units: list[tuple[str, ChunkRecord, int]], among: list[int], count: int
) -> list[int]:
    """Return the ``count`` units of ``among`` with the highest mean cosine to all units."""
    if len(among) <= count:
        return among
    by_chunk = {chunk.id: index.sentence_vectors(chunk.id) for _, chunk, _ in units}
    if any(len(by_chunk[c.id]) != len(c.sentences) for _, c, _ in units):
        return among[:count]  # no usable vectors: the first sentences after the lead
    matrix = np.stack([by_chunk[chunk.id][position] for _, chunk, position in units])
    centrality = (matrix @ matrix.T).mean(axis=1)
    return sorted(among, key=lambda i: -centrality[i])[:count]
