"""Extractive answers: the best sentences of the top passages, quoted as written, with sources.

Nothing is generated: an answer is one to a few sentences copied from the documents plus
the bot's own fixed phrases, in the question's language. When the evidence is weak the
answer abstains instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from index.lexical import char_terms, word_terms, words
from index.search import Hit
from index.store import ChunkRecord, DocumentRecord, Index

Language = Literal["sv", "en"]

_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@everyone|@here|<a?:\w+:\d+>")
_ENGLISH_HINTS = frozenset(
    "the what which who whom whose when where why how is are was were does did do can could "
    "should would will of and to in on for with about from this that these those it its be "
    "has have had any there their they you your we our".split()
)
_SWEDISH_HINTS = frozenset(
    "och det att en ett är som på med för av till den inte om har vad vilka vilken vilket "
    "när var varför hur vem kan ska finns de jag vi ni mellan också eller samt".split()
)

MESSAGES: dict[str, dict[Language, str]] = {
    "abstain": {
        "sv": "Det hittar jag inget om i kunskapsbasen.",
        "en": "I can't find anything about that in the knowledge base.",
    },
    "sources": {"sv": "Källor:", "en": "Sources:"},
    "empty": {
        "sv": "Skriv en fråga, till exempel: När startade samarbetet mellan kommunerna?",
        "en": (
            "Please write a question, for example: "
            "When did the municipalities start working together?"
        ),
    },
    "too_long": {
        "sv": "Frågan är för lång ({length} tecken). Korta den till högst {limit} tecken.",
        "en": "The question is too long ({length} characters). Please keep it under {limit}.",
    },
    "page": {"sv": "s. {page}", "en": "p. {page}"},
}


class QuestionError(ValueError):
    """A question that is not searched: empty, only mentions or punctuation, or too long."""

    def __init__(self, kind: str, message: str, language: Language) -> None:
        super().__init__(message)
        self.kind = kind
        self.language = language


@dataclass(frozen=True)
class Source:
    """A cited document."""

    id: str
    title: str
    url: str | None
    location: str | None
    score: float
    visibility: str = "public"


@dataclass(frozen=True)
class Quote:
    """A sentence quoted exactly as it stands in a document."""

    text: str
    source: int  # index into Answer.sources
    location: str | None = None


@dataclass
class Answer:
    """The result of asking: an extractive, cited answer or an abstention."""

    question: str
    answered: bool
    text: str
    quotes: list[Quote]
    sources: list[Source]
    language: Language
    confidence: float
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the documented JSON form (README: "ask --json")."""
        return {
            "question": self.question,
            "answered": self.answered,
            "answer": self.text,
            "quotes": [q.text for q in self.quotes],
            "sources": [
                {k: v for k, v in asdict(s).items() if k != "visibility"} for s in self.sources
            ],
            "language": self.language,
            "confidence": round(self.confidence, 4),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def detect_language(text: str) -> Language:
    """Return "en" for a question written in English, else "sv" (the default)."""
    tokens = words(text)
    if not tokens:
        return "sv"
    if re.search(r"[åäöÅÄÖ]", text):
        return "sv"
    english = sum(t in _ENGLISH_HINTS for t in tokens)
    swedish = sum(t in _SWEDISH_HINTS for t in tokens)
    return "en" if english > swedish else "sv"


def clean_question(question: str, max_chars: int) -> tuple[str, Language]:
    """Return the question stripped of mentions, and its language; raise QuestionError."""
    text = _MENTION.sub(" ", question or "")
    text = re.sub(r"\s+", " ", text).strip()
    language = detect_language(text)
    if len(question or "") > max_chars:
        raise QuestionError(
            "too_long",
            MESSAGES["too_long"][language].format(length=len(question), limit=max_chars),
            language,
        )
    if not words(text):
        raise QuestionError("empty", MESSAGES["empty"][language], language)
    return text, language


def _idf(index: Index, terms: set[str]) -> dict[str, float]:
    """Return BM25 idf of each stem from the words index (unknown stems get the maximum)."""
    n = max(index.words.size, 1)
    indptr = index.words.weights.indptr
    out = {}
    for term in terms:
        col = index.words.vocabulary.get(term)
        df = 0 if col is None else int(indptr[col + 1] - indptr[col])
        out[term] = math.log1p((n - df + 0.5) / (df + 0.5))
    return out


@dataclass(frozen=True)
class _Candidate:
    text: str
    hit_rank: int
    position: int
    chunk: ChunkRecord
    score: float
    word_cover: float
    char_cover: float
    context_cover: float = 0.0


def _coverage(query: set[str], sentence: set[str], weights: dict[str, float] | None) -> float:
    if not query:
        return 0.0
    if weights is None:
        return len(query & sentence) / len(query)
    total = sum(weights.get(t, 1.0) for t in query)
    return sum(weights.get(t, 1.0) for t in query & sentence) / total if total else 0.0


def location_of(chunk: ChunkRecord, language: Language) -> str | None:
    """Return where in its document a chunk stands: a page or a heading."""
    if chunk.page is not None:
        return MESSAGES["page"][language].format(page=chunk.page)
    return chunk.heading


# Answer types: what kind of text a question asks for, and what such a sentence contains.
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_NUMBER = re.compile(r"\d")
_ANSWER_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:när|vilket år|sedan när|when|what year|since when)\b", re.I), "time"),
    (re.compile(r"\b(?:vem|vilka personer|who)\b", re.I), "person"),
    (
        re.compile(r"\b(?:vilka|vilken|which|what)\b.*\b(?:kommun\w*|municipalit\w*)", re.I),
        "municipality",
    ),
    (
        re.compile(
            r"\b(?:kostar|kostnad\w*|pris\w*|hur mycket|hur många|belopp|cost\w*|price|"
            r"how much|how many)\b",
            re.I,
        ),
        "number",
    ),
)
_PERSON = re.compile(
    r"\b[A-ZÅÄÖ][a-zåäöé]+(?:-[A-ZÅÄÖ][a-zåäöé]+)? [A-ZÅÄÖ][a-zåäöé]+\b|"
    r"\b\w*(?:chef|ordförande|minister|direktör|samordnare|handläggare)\b",
)


def answer_types(question: str) -> set[str]:
    """Return the kinds of answer a question asks for (time, person, municipality, number)."""
    return {kind for pattern, kind in _ANSWER_TYPES if pattern.search(question)}


def _type_match(kinds: set[str], sentence: str, municipalities: frozenset[str]) -> float:
    """Return 1.0 when a sentence holds the kind of answer asked for, else 0."""
    if not kinds:
        return 0.0
    found = 0.0
    if "time" in kinds and _YEAR.search(sentence):
        found = 1.0
    if "person" in kinds and _PERSON.search(sentence):
        found = 1.0
    if "number" in kinds and _NUMBER.search(sentence):
        found = 1.0
    if "municipality" in kinds and municipalities:
        named = sum(1 for m in municipalities if m in sentence)
        found = max(found, min(named / 2, 1.0))
    return found


def _is_list_unit(unit: str) -> bool:
    """Return whether a sentence unit is a short lead-in with its list ("Exempel är: • a • b")."""
    first, _, rest = unit.partition("\n")
    return bool(rest) and first.rstrip().endswith(":") and len(first) <= 80


def _quote_text(unit: str) -> str:
    """Return a unit as quoted: spaces collapsed, a list's line breaks kept."""
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in unit.split("\n"))
    return "\n".join(line for line in lines if line)


def _score_sentences(
    index: Index, question: str, context: str | None, hits: list[tuple[Hit, ChunkRecord]]
) -> list[_Candidate]:
    q_words = set(word_terms(question))
    q_chars = set(char_terms(question))
    c_words = set(word_terms(context)) - q_words if context else set()
    idf = _idf(index, q_words | c_words)
    kinds = answer_types(question)
    municipalities = index.municipalities
    best_hit = max((h.score for h, _ in hits), default=1.0) or 1.0
    seen: set[str] = set()
    out: list[_Candidate] = []
    for rank, (hit, chunk) in enumerate(hits):
        for position, sentence in enumerate(chunk.sentences):
            key = _quote_text(sentence)
            if not key or key in seen:
                continue
            seen.add(key)
            s_words = set(word_terms(sentence))
            s_chars = set(char_terms(sentence))
            word_cover = _coverage(q_words, s_words, idf)
            char_cover = _coverage(q_chars, s_chars, None)
            # A follow-up ("Och när startade den?") names little itself: the passage found
            # with the earlier question in the query and the earlier question's words count more.
            context_cover = _coverage(c_words, s_words, idf) if c_words else 0.0
            passage_weight = 0.45 if c_words else 0.2
            score = (
                0.45 * word_cover
                + 0.35 * char_cover
                + 0.2 * context_cover
                + passage_weight * (hit.score / best_hit)
                + 0.25 * _type_match(kinds, sentence, municipalities)
                - 0.02 * rank
            )
            out.append(
                _Candidate(key, rank, position, chunk, score, word_cover, char_cover, context_cover)
            )
    return out


def confidence_of(top: Hit | None, best: _Candidate | None, language: Language) -> float:
    """Return a score in [0, 1] for how well the evidence answers the question.

    Lexical coverage of the question by the best sentence is the main signal for Swedish;
    for English questions over Swedish text the dense cosine carries more of it.
    """
    if top is None or best is None:
        return 0.0
    lexical = 0.6 * best.word_cover + 0.4 * best.char_cover
    dense = min(max(top.dense, 0.0), 1.0)
    if language == "en":
        return min(1.0, max(lexical, 0.5 * lexical + 0.8 * dense))
    return min(1.0, max(lexical, 0.7 * lexical + 0.5 * dense))


def _follow_up_confidence(
    index: Index,
    question: str,
    context: str,
    chosen: list[_Candidate],
    top: Hit | None,
    language: Language,
) -> float:
    """Return the confidence of a follow-up: how well all quotes cover both questions."""
    q_words = set(word_terms(question))
    c_words = set(word_terms(context)) - q_words
    idf = _idf(index, q_words | c_words)
    weights = {**{t: 0.5 * idf[t] for t in c_words}, **{t: idf[t] for t in q_words}}
    said_words = set().union(*(word_terms(c.text) for c in chosen))
    q_chars = set(char_terms(question)) | set(char_terms(context))
    said_chars = set().union(*(char_terms(c.text) for c in chosen))
    pseudo = _Candidate(
        "",
        0,
        0,
        chosen[0].chunk,
        0.0,
        _coverage(q_words | c_words, said_words, weights),
        _coverage(q_chars, said_chars, None),
    )
    return confidence_of(top, pseudo, language)


def build_answer(
    index: Index,
    question: str,
    language: Language,
    hits: list[Hit],
    *,
    context: str | None = None,
    max_sentences: int = 3,
    passages: int = 4,
    min_confidence: float = 0.37,
) -> Answer:
    """Return the extractive answer for ranked hits, or an abstention when evidence is weak.

    With ``context`` (a follow-up), quotes come from the top document only: the follow-up
    is about what the conversation is about, and the earlier question's words count too.
    """
    top_hits = hits[:passages]
    if context and top_hits:
        top_hits = [h for h in hits if h.doc_id == hits[0].doc_id][:passages]
    chunks = index.chunks([h.chunk_id for h in top_hits])
    pairs = [(h, chunks[h.chunk_id]) for h in top_hits if h.chunk_id in chunks]
    candidates = _score_sentences(index, question, context, pairs)
    candidates.sort(key=lambda c: -c.score)
    best = candidates[0] if candidates else None
    top = top_hits[0] if top_hits else None
    if best is None:
        return Answer(question, False, MESSAGES["abstain"][language], [], [], language, 0.0)

    chosen = [best]
    for cand in candidates[1:]:
        if len(chosen) >= max_sentences:
            break
        related = cand.word_cover > 0 or cand.char_cover > 0.3 or cand.context_cover > 0
        if cand.score >= 0.75 * best.score and related:
            chosen.append(cand)
    if context:
        confidence = _follow_up_confidence(index, question, context, chosen, top, language)
    else:
        confidence = confidence_of(top, best, language)
    if confidence < min_confidence:
        return Answer(question, False, MESSAGES["abstain"][language], [], [], language, confidence)

    # A sentence followed by a short lead-in and its list ("Några exempel på det är: • …")
    # is incomplete without the list, so the list comes along.
    by_place = {(c.chunk.id, c.position): c for c in candidates}
    for cand in list(chosen):
        follower = by_place.get((cand.chunk.id, cand.position + 1))
        nxt = cand.chunk.sentences[cand.position + 1 : cand.position + 2]
        if follower and nxt and _is_list_unit(nxt[0]) and follower not in chosen:
            chosen.append(follower)
    # Quotes from one passage read best in document order.
    chosen.sort(key=lambda c: (c.hit_rank, c.chunk.ordinal, c.position))

    sources: list[Source] = []
    source_of: dict[tuple[str, str | None], int] = {}
    quotes: list[Quote] = []
    hit_score = {h.chunk_id: h.score for h in top_hits}
    for cand in chosen:
        doc: DocumentRecord = index.documents[cand.chunk.doc_id]
        location = location_of(cand.chunk, language)
        key = (doc.id, location)
        if key not in source_of:
            source_of[key] = len(sources)
            sources.append(
                Source(
                    id=doc.id,
                    title=doc.title or PurePosixPath(doc.id).stem,
                    url=doc.url,
                    location=location,
                    score=round(float(hit_score.get(cand.chunk.id, 0.0)), 4),
                    visibility=doc.visibility,
                )
            )
        quotes.append(Quote(cand.text, source_of[key], location))
    text = format_answer(quotes, sources, language)
    return Answer(question, True, text, quotes, sources, language, confidence)


def format_answer(quotes: list[Quote], sources: list[Source], language: Language) -> str:
    """Return the plain-text answer: the quotes, each marked with its source, then sources."""
    lines = [f"”{q.text}” [{q.source + 1}]" for q in quotes]
    refs = []
    for i, source in enumerate(sources, 1):
        where = f", {source.location}" if source.location else ""
        link = f" <{source.url}>" if source.url else ""
        refs.append(f"[{i}] {source.title} ({source.id}{where}){link}")
    return "\n".join(lines) + "\n\n" + MESSAGES["sources"][language] + "\n" + "\n".join(refs)
