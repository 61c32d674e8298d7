"""Extractive answers: the best sentences of the top passages, quoted as written, with sources.

Nothing is generated: an answer is one to a few sentences copied from the documents plus
the bot's own fixed phrases, in the question's language. When the evidence is weak the
answer abstains instead.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from index.lexical import char_terms, stem, word_terms, words
from index.search import Hit
from index.selection import (
    FEATURES,
    WEIGHTS,
    SelectionModel,
    SentenceCandidate,
    is_title,
    leans_back,
    load_selection_model,
    promoted,
    question_shape,
    ranking_key,
    sentence_features,
)
from index.settings import AnswerSettings, ConfidenceSettings
from index.store import ChunkRecord, DocumentRecord, Index
from index.types import Language, Visibility

_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@everyone|@here|<a?:\w+:\d+>")
# Function words and question words: what a question is written in shows in them, not in
# its names ("Is Nässjö part of the network?" is English). Measured on every question of
# ../shared/eval (tests/index/test_language.py and docs/RETRIEVAL.md).
_ENGLISH_HINTS = frozenset(
    "the a an what which who whom whose when where why how is are was were does did do done "
    "can could should would will shall may might must of and or but to in on at by for with "
    "about from into over under this that these those it its be been being has have had any "
    "there their they them you your we our us he she his her i me my not no yes than then "
    "also only many much more most some all each every other such own same so too very just "
    "if as up out off get got make made need needs want tell explain give list long take "
    "takes cost costs work works mean means part between during after before apply allowed".split()
)
_SWEDISH_HINTS = frozenset(
    "och i det att en ett är som på med för av till den inte om har vad vilka vilken vilket "
    "när var varför hur vem vems kan ska skall finns de jag vi ni mellan också eller samt "
    "måste får få behöver behövs gäller gör görs göra blir bli vara varit hade ha hos under "
    "efter innan sedan än då så mycket många mer mest alla alltid aldrig någon något några "
    "inget ingen inga man min mitt mina din ditt dina sin sitt sina deras vår vårt våra er "
    "ert era han hon hans hennes dem denna detta dessa där här vart vilken vad kostar "
    "kostnad tar lång långt tid ingår ut upp över från mot utan vid åt bara även redan "
    "eftersom därför berätta förklara betyder innebär startade började del".split()
)
_SWEDISH_LETTERS = re.compile(r"[åäöÅÄÖ]")


def language_scores(text: str) -> tuple[float, float]:
    """Return (Swedish, English) evidence for a text: function words, then å/ä/ö weakly.

    A word with å, ä or ö that is not a known function word counts a half for Swedish:
    it may be a Swedish word, or only a Swedish name in an English sentence.
    """
    swedish = english = 0.0
    for token in words(text):
        in_sv, in_en = token in _SWEDISH_HINTS, token in _ENGLISH_HINTS
        if in_sv and not in_en:
            swedish += 1
        elif in_en and not in_sv:
            english += 1
        elif not in_sv and not in_en and _SWEDISH_LETTERS.search(token):
            swedish += 0.5
    return swedish, english


@dataclass(frozen=True)
class Phrases:
    """The few words the engine writes around its quotes, in one language.

    index/ holds no user-facing text: the bot fills these from its catalogues
    (``bot/locales``), so one editor proofreads every sentence a user reads. The defaults
    are neutral, for library use (benchmarks, tests): no heading and no decline sentence.
    """

    abstain: str = ""  # the answer's text when the documents do not say
    sources: str = ""  # the heading above the source list of a plain-text answer
    page: str = "{page}"  # a page as a place in a document, with {page}
    yes: str = ""  # the lead of a quote that settles a yes/no question ("Ja.")
    # The reply to small talk, by kind (index/smalltalk.py): greeting, thanks, help, bye.
    small_talk_greeting: str = ""
    small_talk_thanks: str = ""
    small_talk_help: str = ""
    small_talk_bye: str = ""
    source_says: str = ""  # the neutral lead of a quote answering a yes/no question


class QuestionError(ValueError):
    """A question that is not searched: empty, only mentions or punctuation, or too long.

    ``kind`` ("empty", "too_long") and ``details`` (``length``, ``limit``) let the caller
    say it in the asker's ``language``; the message itself is for logs.
    """

    def __init__(self, kind: str, language: Language, **details: int) -> None:
        text = f"question too long ({details.get('length')} > {details.get('limit')} characters)"
        super().__init__(text if kind == "too_long" else "empty question")
        self.kind = kind
        self.language = language
        self.details = details


@dataclass(frozen=True)
class Source:
    """A cited document."""

    id: str
    title: str
    url: str | None
    location: str | None
    score: float
    visibility: Visibility = "public"
    date: str | None = None


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
    # What the confidence was made of (cosine, lexical), for calibration; not shown.
    evidence: dict[str, float] = field(default_factory=dict)
    # Documents that came close but are not cited (the asker may see them): on abstention
    # the closest ones, otherwise relevant passages that were not quoted. Best first.
    near: list[Source] = field(default_factory=list)
    # The words before the quotes: "Ja." or "Källan säger:" for a yes/no question.
    lead: str = ""
    # "answer" (quotes or a decline), "summary" or "small_talk" (a greeting, thanks or
    # "vad kan du?": a short reply, neither an answer nor a decline).
    kind: str = "answer"

    def to_json(self) -> dict[str, Any]:
        """Return the documented JSON form (README: "ask --json")."""
        return {
            "question": self.question,
            "answered": self.answered,
            "answer": self.text,
            "quotes": [q.text for q in self.quotes],
            "sources": [
                {k: v for k, v in asdict(s).items() if k not in ("visibility", "date")}
                for s in self.sources
            ],
            "language": self.language,
            "kind": self.kind,
            "confidence": round(self.confidence, 4),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def detect_language(text: str, hint: Language | None = None) -> Language:
    """Return the language a question is written in: "sv" or "en".

    ``hint`` (a Discord user's locale, say) breaks a tie; with no evidence and no hint the
    answer is Swedish, the knowledge base's language.
    """
    swedish, english = language_scores(text)
    if english > swedish:
        return "en"
    if swedish > english:
        return "sv"
    return hint or "sv"


def clean_question(
    question: str, max_chars: int, hint: Language | None = None
) -> tuple[str, Language]:
    """Return the question stripped of mentions, and its language; raise QuestionError."""
    text = _MENTION.sub(" ", question or "")
    text = re.sub(r"\s+", " ", text).strip()
    language = detect_language(text, hint)
    if len(question or "") > max_chars:
        raise QuestionError("too_long", language, length=len(question), limit=max_chars)
    if not words(text):
        raise QuestionError("empty", language)
    return text, language


@dataclass(frozen=True)
class _Candidate:
    text: str
    hit_rank: int
    position: int
    chunk: ChunkRecord
    score: float  # the sentence model's probability that this is a correct first quote
    word_cover: float
    char_cover: float
    context_cover: float = 0.0
    semantic: float = 0.0  # cosine of the sentence's vector and the question's
    features: tuple[float, ...] = ()


def _coverage(query: set[str], sentence: set[str], weights: dict[str, float] | None) -> float:
    if not query:
        return 0.0
    if weights is None:
        return len(query & sentence) / len(query)
    total = sum(weights.get(t, 1.0) for t in query)
    return sum(weights.get(t, 1.0) for t in query & sentence) / total if total else 0.0


def location_of(chunk: ChunkRecord, phrases: Phrases) -> str | None:
    """Return where in its document a chunk stands: a page or a heading."""
    if chunk.page is not None:
        return phrases.page.format(page=chunk.page)
    return chunk.heading


def _is_list_unit(unit: str) -> bool:
    """Return whether a sentence unit is a short lead-in with its list ("Exempel är: • a • b")."""
    first, _, rest = unit.partition("\n")
    return bool(rest) and first.rstrip().endswith(":") and len(first) <= 80


def _quote_text(unit: str) -> str:
    """Return a unit as quoted: spaces collapsed, a list's line breaks kept."""
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in unit.split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class _Place:
    """A sentence unit found in the top passages, before it is scored."""

    text: str
    hit_rank: int
    position: int
    chunk: ChunkRecord
    hit_score: float
    cosine: float


def _places(
    index: Index, hits: list[tuple[Hit, ChunkRecord]], query_vector: np.ndarray | None
) -> list[_Place]:
    """Return each distinct sentence unit of the passages once, with its cosine."""
    seen: set[str] = set()
    out: list[_Place] = []
    for rank, (hit, chunk) in enumerate(hits):
        cosines: list[float] = []
        if query_vector is not None:
            vectors = index.sentence_vectors(chunk.id)
            if len(vectors) == len(chunk.sentences):
                cosines = [float(v) for v in vectors @ query_vector]
        for position, sentence in enumerate(chunk.sentences):
            key = _quote_text(sentence)
            if not key or key in seen:
                continue
            seen.add(key)
            cosine = cosines[position] if cosines else 0.0
            out.append(_Place(key, rank, position, chunk, hit.score, cosine))
    return out


def _score_sentences(
    index: Index,
    question: str,
    context: str | None,
    hits: list[tuple[Hit, ChunkRecord]],
    query_vector: np.ndarray | None = None,
    visibility: Visibility = "public",
    model: SelectionModel | None = None,
) -> list[_Candidate]:
    """Return the candidate sentences of the passages, each with its features and score."""
    model = model or load_selection_model()
    shape = question_shape(question)
    q_words = set(word_terms(question))
    q_chars = set(char_terms(question))
    c_words = set(word_terms(context)) - q_words if context else set()
    idf = index.idf(q_words | c_words, visibility)
    municipalities = index.municipalities_for(visibility)
    best_hit = max((h.score for h, _ in hits), default=1.0) or 1.0
    places = _places(index, hits, query_vector)
    document_best: dict[str, float] = {}
    for hit, _ in hits:
        document_best[hit.doc_id] = max(document_best.get(hit.doc_id, 0.0), hit.score)
    by_cosine = sorted(range(len(places)), key=lambda i: -places[i].cosine)
    cosine_rank = {i: rank for rank, i in enumerate(by_cosine)}
    top_cosine = places[by_cosine[0]].cosine if places else 0.0
    out: list[_Candidate] = []
    for i, place in enumerate(places):
        s_words = set(word_terms(place.text))
        word_cover = _coverage(q_words, s_words, idf)
        char_cover = _coverage(q_chars, set(char_terms(place.text)), None)
        context_cover = _coverage(c_words, s_words, idf) if c_words else 0.0
        title = index.documents[place.chunk.doc_id].title
        first = place.chunk.ordinal == 0 and place.position == 0
        second = (
            place.chunk.ordinal == 0
            and place.position == 1
            and is_title(place.chunk.sentences[0], title)
        )
        features = sentence_features(
            shape,
            SentenceCandidate(place.text, title, place.position, first, second),
            cosine_gap=place.cosine - top_cosine,
            cosine_rank=cosine_rank[i],
            word_cover=word_cover,
            char_cover=char_cover,
            context_cover=context_cover,
            passage=place.hit_score / best_hit,
            document=document_best[place.chunk.doc_id] / best_hit,
            municipalities=municipalities,
        )
        out.append(
            _Candidate(
                place.text,
                place.hit_rank,
                place.position,
                place.chunk,
                model.sentence.probability(features),
                word_cover,
                char_cover,
                context_cover,
                place.cosine,
                tuple(features),
            )
        )
    return out


def answer_features(
    top: Hit | None,
    candidates: list[_Candidate],
    language: Language,
    settings: ConfidenceSettings | None = None,
) -> list[float]:
    """Return the features of the answer model for candidates sorted best first.

    The cosine is mapped from [floor, floor + width] onto [0, 1] with the model's own
    floors (``ConfidenceSettings``), so the fitted weights hold for another model once its
    floors are measured.
    """
    s = settings or ConfidenceSettings()
    best = candidates[0]
    second = candidates[1].score if len(candidates) > 1 else 0.0
    cosine = max(top.dense if top else 0.0, best.semantic)
    floor = s.floor_en if language == "en" else s.floor_sv
    dense = min(max((cosine - floor) / max(s.width, 1e-9), 0.0), 1.0)
    words_cover = max(best.word_cover, best.context_cover)
    return [
        best.score,
        best.score - second,
        dense,
        words_cover,
        best.char_cover,
        float(language == "en"),
        float(bool(best.features) and (best.features[_ASKED] > 0 or promoted(best.features) > 0)),
    ]


def confidence_of(
    top: Hit | None,
    candidates: list[_Candidate],
    language: Language,
    settings: ConfidenceSettings | None = None,
    model: SelectionModel | None = None,
) -> float:
    """Return the probability that the best of ``candidates`` (sorted) answers the question."""
    if top is None or not candidates:
        return 0.0
    model = model or load_selection_model()
    return model.answer.probability(answer_features(top, candidates, language, settings))


# A document "came close" when its best sentence reaches this share of the confidence an
# answer needs (see ``near``).
NEAR_FRACTION = 0.55
NEAR_LIMIT = 5


def near_documents(
    index: Index,
    candidates: list[_Candidate],
    hits: list[Hit],
    cited: set[str],
    language: Language,
    floor: float,
    limit: int = NEAR_LIMIT,
    settings: ConfidenceSettings | None = None,
    phrases: Phrases | None = None,
    model: SelectionModel | None = None,
) -> list[Source]:
    """Return the documents of ``hits`` not in ``cited`` whose best sentence reaches ``floor``.

    Each document's closeness is the confidence its best scored sentence would have had as
    an answer; the documents come best first, at most ``limit``. ``hits`` are already
    filtered by visibility, so only documents the asker may see can be named.
    """
    hit_of = {h.chunk_id: h for h in hits}
    best: dict[str, tuple[float, _Candidate]] = {}
    for cand in candidates:
        doc_id = cand.chunk.doc_id
        if doc_id in cited or cand.chunk.id not in hit_of:
            continue
        closeness = confidence_of(hit_of[cand.chunk.id], [cand], language, settings, model)
        if closeness >= floor and closeness > best.get(doc_id, (-1.0, cand))[0]:
            best[doc_id] = (closeness, cand)
    near = []
    for doc_id, (closeness, cand) in sorted(best.items(), key=lambda kv: -kv[1][0])[:limit]:
        doc: DocumentRecord = index.documents[doc_id]
        near.append(
            Source(
                id=doc.id,
                title=doc.title or PurePosixPath(doc.id).stem,
                url=doc.url,
                location=location_of(cand.chunk, phrases or Phrases()),
                score=round(closeness, 4),
                visibility=doc.visibility,
                date=doc.date,
            )
        )
    return near


def sources_by_document(sources: list[Source]) -> list[tuple[Source, list[str]]]:
    """Return each cited document once, in first-cited order, with its distinct locations."""
    grouped: dict[str, tuple[Source, list[str]]] = {}
    for source in sources:
        first, locations = grouped.setdefault(source.id, (source, []))
        if source.location and source.location not in locations:
            locations.append(source.location)
    return list(grouped.values())


_ASKED = FEATURES.index("asked_form")


def answer_passages(hits: list[Hit], passages: int, context: str | None) -> list[Hit]:
    """Return the hits the quotes are drawn from: the top ones, or the top document's."""
    if context and hits:
        return [h for h in hits if h.doc_id == hits[0].doc_id][:passages]
    return hits[:passages]


def rank_sentences(
    index: Index,
    question: str,
    hits: list[Hit],
    context: str | None = None,
    query_vector: np.ndarray | None = None,
    visibility: Visibility = "public",
    model: SelectionModel | None = None,
) -> list[_Candidate]:
    """Return the sentences of the hits' passages, best first by the sentence model."""
    chunks = index.chunks([h.chunk_id for h in hits])
    pairs = [(h, chunks[h.chunk_id]) for h in hits if h.chunk_id in chunks]
    candidates = _score_sentences(index, question, context, pairs, query_vector, visibility, model)
    candidates.sort(key=lambda c: ranking_key(c.features, c.score))
    return candidates


def build_answer(
    index: Index,
    question: str,
    language: Language,
    hits: list[Hit],
    *,
    settings: AnswerSettings | None = None,
    context: str | None = None,
    query_vector: np.ndarray | None = None,
    visibility: Visibility = "public",
    near_floor: float | None = None,
    phrases: Phrases | None = None,
) -> Answer:
    """Return the extractive answer for ranked hits, or an abstention when evidence is weak.

    The answer is one quote, the sentence the fitted sentence model ranks first; a second
    comes only when it carries what the first lacks (``_complete``). With ``context`` (a
    follow-up), quotes come from the top document only: the follow-up is about what the
    conversation is about, and the earlier question's words count too. ``settings`` bound
    the quotes and passages, set the abstention threshold and calibrate the confidence;
    ``phrases`` are the words around the quotes in the answer's language.
    """
    settings = settings or AnswerSettings()
    max_sentences, passages, min_confidence = (
        settings.max_sentences,
        settings.passages,
        settings.min_confidence,
    )
    calibration = settings.confidence
    model = load_selection_model(settings.selection_weights or WEIGHTS)
    phrases = phrases or Phrases()
    floor = NEAR_FRACTION * min_confidence if near_floor is None else near_floor
    top_hits = answer_passages(hits, passages, context)
    candidates = rank_sentences(index, question, top_hits, context, query_vector, visibility, model)
    top = top_hits[0] if top_hits else None
    if not candidates:
        return Answer(question, False, phrases.abstain, [], [], language, 0.0)
    best = candidates[0]
    confidence = confidence_of(top, candidates, language, calibration, model)
    evidence = {
        "cosine": max(top.dense if top else 0.0, best.semantic),
        "lexical": 0.6 * best.word_cover + 0.4 * best.char_cover,
        "sentence": best.score,
    }
    answered = confidence >= min_confidence
    quotes, sources = (
        _cite(index, _complete(question, candidates, max_sentences), top_hits, phrases)
        if answered
        else ([], [])
    )
    cited = {s.id for s in sources}
    near = near_documents(
        index,
        candidates,
        top_hits,
        cited,
        language,
        floor,
        settings=calibration,
        phrases=phrases,
        model=model,
    )
    lead = _lead(question, best, phrases) if answered else ""
    text = format_answer(quotes, sources, phrases, lead) if answered else phrases.abstain
    return Answer(
        question,
        answered,
        text,
        quotes,
        sources,
        language,
        confidence,
        evidence=evidence,
        near=near,
        lead=lead,
    )


# Verbs of a yes/no question that are its form, not the relation asked about.
_YES_NO_FILLER = frozenset(
    stem(w) for w in "finns fanns gäller stämmer brukar behöver måste kommer does do did".split()
)
# A question in two parts ("Vem leder projektet och när startade det?").
_TWO_PARTS = re.compile(
    r"\b(?:och|samt|and)\s+(?:när|var|vem|vilka|vilken|vad|hur|varför|when|where|who|which|"
    r"what|how|why)\b",
    re.I,
)


def _complete(question: str, ranked: list[_Candidate], limit: int) -> list[_Candidate]:
    """Return the best sentence, and a second only where it carries what the first lacks.

    The second is the list that continues the first ("Några exempel på det är: • …"), the
    sentence that "Om detta …" leans on, or, for a question in two parts, the best sentence
    that covers question words the first does not.
    """
    best = ranked[0]
    chosen = [best]
    by_place = {(c.chunk.id, c.position): c for c in ranked}
    follower = by_place.get((best.chunk.id, best.position + 1))
    if follower is not None and _is_list_unit(follower.text) and not _is_list_unit(best.text):
        chosen.append(follower)
    before = by_place.get((best.chunk.id, best.position - 1))
    if best.position > 0 and before is not None and leans_back(best.text):
        chosen.append(before)
    if len(chosen) == 1 and limit > 1 and _TWO_PARTS.search(question[:2000]):
        said = set(word_terms(best.text))
        for cand in ranked[1:4]:
            new = set(word_terms(cand.text)) - said
            asked = set(word_terms(question))
            if cand.score >= 0.5 * best.score and new & asked - said:
                chosen.append(cand)
                break
    return chosen[: max(limit, 1)]


def _lead(question: str, best: _Candidate, phrases: Phrases) -> str:
    """Return the words before the quote: "Ja." only when the quote settles a yes/no question.

    The sentence must name every name and content word of the question ("Är Nässjö med i
    nätverket?" is settled by a sentence naming Nässjö and the network); otherwise the
    evidence is quoted under a neutral lead. The engine never says "no" because something
    is missing.
    """
    shape = question_shape(question)
    if not shape.yes_no:
        return ""
    said = set(word_terms(best.text))
    asked = shape.terms - _YES_NO_FILLER
    if asked and all(_named(term, said) for term in asked):
        return phrases.yes
    return phrases.source_says


def _named(term: str, said: set[str]) -> bool:
    """Return whether a question's stem is in a sentence, or one is a prefix of the other.

    Snowball leaves "sommarskolan" whole but cuts "sommarskola" to "sommarskol": a stem
    of four letters or more that begins the other counts as the same word.
    """
    return term in said or any(
        min(len(term), len(s)) >= 4 and (term.startswith(s) or s.startswith(term)) for s in said
    )


def _cite(
    index: Index, chosen: list[_Candidate], hits: list[Hit], phrases: Phrases
) -> tuple[list[Quote], list[Source]]:
    """Return the quotes and their sources: one source per document and place."""
    sources: list[Source] = []
    source_of: dict[tuple[str, str | None], int] = {}
    quotes: list[Quote] = []
    hit_score = {h.chunk_id: h.score for h in hits}
    for cand in chosen:
        doc: DocumentRecord = index.documents[cand.chunk.doc_id]
        location = location_of(cand.chunk, phrases)
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
                    date=doc.date,
                )
            )
        quotes.append(Quote(cand.text, source_of[key], location))
    return quotes, sources


def format_answer(
    quotes: list[Quote], sources: list[Source], phrases: Phrases, lead: str = ""
) -> str:
    """Return the plain-text answer: the quotes marked with their document, then one line each.

    A document cited at several places is listed once, with all its places; the list has
    the heading ``phrases.sources`` when there is one.
    """
    grouped = sources_by_document(sources)
    number = {doc.id: i for i, (doc, _) in enumerate(grouped, 1)}
    lines = [f"”{q.text}” [{number[sources[q.source].id]}]" for q in quotes]
    refs = []
    for i, (source, locations) in enumerate(grouped, 1):
        where = "".join(f", {place}" for place in locations)
        dated = f", {source.date}" if source.date else ""
        link = f" <{source.url}>" if source.url else ""
        refs.append(f"[{i}] {source.title} ({source.id}{where}){dated}{link}")
    heading = [phrases.sources] if phrases.sources else []
    before = [lead] if lead else []
    return "\n".join([*before, *lines]) + "\n\n" + "\n".join([*heading, *refs])
