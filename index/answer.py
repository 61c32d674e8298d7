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

from index.lexical import char_terms, word_terms, words
from index.search import Hit
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
    score: float
    word_cover: float
    char_cover: float
    context_cover: float = 0.0
    semantic: float = 0.0  # cosine of the sentence's vector and the question's
    typed: float = 0.0  # 1 when it holds the kind of answer asked for (a year for "när")


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


# Answer types: what kind of text a question asks for, and what such a sentence contains.
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_MONTH = re.compile(
    r"\b(?:januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|"
    r"december|january|february|march|may|june|july|august|october)\b",
    re.I,
)
_NUMBER = re.compile(r"\d")
_ANSWER_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:när|vilket år|sedan när|when|what year|since when)\b", re.I), "time"),
    (re.compile(r"\b(?:vem|vilka personer|who)\b", re.I), "person"),
    (
        re.compile(
            r"\b(?:kostar|kostnad\w*|pris\w*|hur mycket|belopp|cost\w*|price|how much)\b",
            re.I,
        ),
        "number",
    ),
    (re.compile(r"\b(?:hur många|how many|antal\w*|number of)\b", re.I), "count"),
    (re.compile(r"\b(?:varför|why|vad är syftet|what is the purpose)\b", re.I), "reason"),
)
# A count is a number, a number word, or a list; a reason says why or what for.
_COUNT = re.compile(
    r"\d|\b(?:två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|tjugo|hundra|tusen|"
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|thousand)\b",
    re.I,
)
_REASON = re.compile(
    r"\b(?:för att|eftersom|därför|syfte\w*|mål\w*|avsikt\w*|behov\w*|orsak\w*|skäl\w*|"
    r"på grund av|because|in order to|so that|purpose|aim\w*|reason\w*|goal\w*)\b",
    re.I,
)
# "Which ... municipality": a question word, then later on its line a municipality word.
# Two searches, not r"\b(?:which|...)\b.*\bkommun": tried after every question word, that
# pattern's ".*" made "what what what ..." quadratic (100 kB of it: 99 s).
_WHICH = re.compile(r"\b(?:vilka|vilken|which|what|hur många|how many)\b", re.I)
_MUNICIPALITY_WORD = re.compile(r"\b(?:kommun|municipalit)", re.I)
# "Borlänge, Falun och Nässjö": two capitalised words, then "och" and a third. The first
# word is taken whole from its start (it holds a capital with a letter after it), which
# finds what r"[A-ZÅÄÖ]\w+(?:, [A-ZÅÄÖ]\w+)+,? (?:och|samt|and) [A-ZÅÄÖ]\w+" found, but
# in linear time: that pattern was tried from every capital of a long word (20,000
# capitals: 18 s), and after every word of a long list.
_ENUMERATION = re.compile(r"\b(?=\w*[A-ZÅÄÖ]\w)\w+, [A-ZÅÄÖ]\w+,? (?:och|samt|and) [A-ZÅÄÖ]\w")
# A sentence that leans on the one before it ("Om detta …", "Det …", "Dessa …") is not
# understood alone: the one before comes along.
_LEANS_BACK = re.compile(
    r"^(?:om detta|om det|det|detta|dessa|denna|där|därför|this|these)\b",
    re.I,
)
_PERSON = re.compile(
    r"\b[A-ZÅÄÖ][a-zåäöé]+(?:-[A-ZÅÄÖ][a-zåäöé]+)? [A-ZÅÄÖ][a-zåäöé]+\b|"
    r"\b\w*(?:chef|ordförande|minister|direktör|samordnare|handläggare)\b",
)


def answer_types(question: str) -> set[str]:
    """Return the kinds of answer a question asks for (time, person, municipality, number)."""
    kinds = {kind for pattern, kind in _ANSWER_TYPES if pattern.search(question)}
    if _asks_for_municipalities(question):
        kinds.add("municipality")
    return kinds


def _asks_for_municipalities(question: str) -> bool:
    """Return whether a line of the question has a question word and, after it, "kommun"."""
    for line in question.split("\n"):
        which = _WHICH.search(line)
        if which is not None and _MUNICIPALITY_WORD.search(line, which.end()):
            return True
    return False


def _type_match(kinds: set[str], sentence: str, municipalities: frozenset[str]) -> float:
    """Return 1.0 when a sentence holds the kind of answer asked for, else 0."""
    if not kinds:
        return 0.0
    found = 0.0
    if "time" in kinds and _YEAR.search(sentence):
        found = 1.0
    elif "time" in kinds and _MONTH.search(sentence):
        found = 0.5  # a month answers "when" less often than a year does
    if "person" in kinds and _PERSON.search(sentence):
        found = 1.0
    if "number" in kinds and _NUMBER.search(sentence):
        found = 1.0
    if "count" in kinds and (
        _COUNT.search(sentence) or _is_list_unit(sentence) or _ENUMERATION.search(sentence)
    ):
        found = 1.0
    if "reason" in kinds and _REASON.search(sentence):
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
    index: Index,
    question: str,
    context: str | None,
    hits: list[tuple[Hit, ChunkRecord]],
    query_vector: np.ndarray | None = None,
    visibility: Visibility = "public",
    semantic_weight: float = 0.5,
) -> list[_Candidate]:
    q_words = set(word_terms(question))
    q_chars = set(char_terms(question))
    c_words = set(word_terms(context)) - q_words if context else set()
    idf = index.idf(q_words | c_words, visibility)
    kinds = answer_types(question)
    municipalities = index.municipalities_for(visibility)
    best_hit = max((h.score for h, _ in hits), default=1.0) or 1.0
    seen: set[str] = set()
    out: list[_Candidate] = []
    semantic: dict[tuple[int, int], float] = {}
    if query_vector is not None:
        for _, chunk in hits:
            vectors = index.sentence_vectors(chunk.id)
            if len(vectors) == len(chunk.sentences):
                for position, value in enumerate(vectors @ query_vector):
                    semantic[(chunk.id, position)] = float(value)
    # The model's cosines sit in a narrow band: what tells sentences apart is where each
    # stands between the lowest and the highest of this question's candidates.
    low, high = (min(semantic.values()), max(semantic.values())) if semantic else (0.0, 0.0)
    spread = high - low
    for rank, (hit, chunk) in enumerate(hits):
        for position, sentence in enumerate(chunk.sentences):
            key = _quote_text(sentence)
            if not key or key in seen:
                continue
            seen.add(key)
            cosine = semantic.get((chunk.id, position), 0.0)
            relative = (cosine - low) / spread if spread > 0 else 0.0
            s_words = set(word_terms(sentence))
            s_chars = set(char_terms(sentence))
            word_cover = _coverage(q_words, s_words, idf)
            char_cover = _coverage(q_chars, s_chars, None)
            # A follow-up ("Och när startade den?") names little itself: the passage found
            # with the earlier question in the query and the earlier question's words count more.
            context_cover = _coverage(c_words, s_words, idf) if c_words else 0.0
            passage_weight = 0.45 if c_words else 0.2
            typed = _type_match(kinds, sentence, municipalities)
            score = (
                0.45 * word_cover
                + 0.35 * char_cover
                + 0.2 * context_cover
                + semantic_weight * relative
                + passage_weight * (hit.score / best_hit)
                + 0.25 * typed
                - 0.02 * rank
            )
            out.append(
                _Candidate(
                    key,
                    rank,
                    position,
                    chunk,
                    score,
                    word_cover,
                    char_cover,
                    context_cover,
                    cosine,
                    typed,
                )
            )
    return out


def confidence_of(
    top: Hit | None,
    best: _Candidate | None,
    language: Language,
    settings: ConfidenceSettings | None = None,
) -> float:
    """Return a score in [0, 1] for how well the evidence answers the question.

    The model's cosine carries it in both languages (an English question over Swedish text
    has few words in common with its answer); the lexical coverage of the question by the
    best sentence adds its share.
    """
    s = settings or ConfidenceSettings()
    if top is None or best is None:
        return 0.0
    lexical = 0.6 * best.word_cover + 0.4 * best.char_cover
    cosine = max(top.dense, best.semantic)
    floor, share = (s.floor_en, s.lexical_en) if language == "en" else (s.floor_sv, s.lexical_sv)
    dense = min(max((cosine - floor) / max(s.width, 1e-9), 0.0), 1.0)
    mixed = (1 - share) * dense + share * lexical + s.answer_type * best.typed
    alone = lexical if lexical >= s.lexical_alone else 0.0
    return min(1.0, max(mixed, alone))


def _follow_up_confidence(
    index: Index,
    question: str,
    context: str,
    chosen: list[_Candidate],
    top: Hit | None,
    language: Language,
    visibility: Visibility,
    settings: ConfidenceSettings | None = None,
) -> float:
    """Return the confidence of a follow-up: how well all quotes cover both questions."""
    q_words = set(word_terms(question))
    c_words = set(word_terms(context)) - q_words
    idf = index.idf(q_words | c_words, visibility)
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
        semantic=max(c.semantic for c in chosen),
        typed=max(c.typed for c in chosen),
    )
    return confidence_of(top, pseudo, language, settings)


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
        closeness = confidence_of(hit_of[cand.chunk.id], cand, language, settings)
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

    With ``context`` (a follow-up), quotes come from the top document only: the follow-up
    is about what the conversation is about, and the earlier question's words count too.
    ``settings`` bound the quotes and passages, set the abstention threshold and calibrate
    the confidence; ``phrases`` are the words around the quotes in the answer's language.
    """
    settings = settings or AnswerSettings()
    max_sentences, passages, min_confidence = (
        settings.max_sentences,
        settings.passages,
        settings.min_confidence,
    )
    calibration = settings.confidence
    phrases = phrases or Phrases()
    floor = NEAR_FRACTION * min_confidence if near_floor is None else near_floor
    top_hits = hits[:passages]
    if context and top_hits:
        top_hits = [h for h in hits if h.doc_id == hits[0].doc_id][:passages]
    chunks = index.chunks([h.chunk_id for h in top_hits])
    pairs = [(h, chunks[h.chunk_id]) for h in top_hits if h.chunk_id in chunks]
    semantic_weight = calibration.quote_semantic
    candidates = _score_sentences(
        index, question, context, pairs, query_vector, visibility, semantic_weight
    )
    candidates.sort(key=lambda c: -c.score)
    best = candidates[0] if candidates else None
    top = top_hits[0] if top_hits else None
    if best is None:
        return Answer(question, False, phrases.abstain, [], [], language, 0.0)

    chosen = _choose(best, candidates, max_sentences)
    if context:
        confidence = _follow_up_confidence(
            index, question, context, chosen, top, language, visibility, calibration
        )
    else:
        confidence = confidence_of(top, best, language, calibration)
    evidence = {
        "cosine": max(top.dense if top else 0.0, best.semantic),
        "lexical": 0.6 * best.word_cover + 0.4 * best.char_cover,
        "typed": best.typed,
    }
    answered = confidence >= min_confidence
    quotes, sources = (
        _cite(index, _complete(chosen, candidates), top_hits, phrases) if answered else ([], [])
    )
    cited = {s.id for s in sources}
    near = near_documents(
        index, candidates, top_hits, cited, language, floor, settings=calibration, phrases=phrases
    )
    text = format_answer(quotes, sources, phrases) if answered else phrases.abstain
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
    )


def _choose(best: _Candidate, candidates: list[_Candidate], limit: int) -> list[_Candidate]:
    """Return the best sentence and those nearly as good that share the question's words."""
    chosen = [best]
    for cand in candidates[1:]:
        if len(chosen) >= limit:
            break
        related = cand.word_cover > 0 or cand.char_cover > 0.3 or cand.context_cover > 0
        if cand.score >= 0.75 * best.score and related:
            chosen.append(cand)
    return chosen


def _complete(chosen: list[_Candidate], candidates: list[_Candidate]) -> list[_Candidate]:
    """Return the chosen sentences with what they need to be read alone, in document order."""
    chosen = list(chosen)
    # A sentence followed by a short lead-in and its list ("Några exempel på det är: • …")
    # is incomplete without the list, so the list comes along.
    by_place = {(c.chunk.id, c.position): c for c in candidates}
    for cand in list(chosen):
        follower = by_place.get((cand.chunk.id, cand.position + 1))
        nxt = cand.chunk.sentences[cand.position + 1 : cand.position + 2]
        if follower and nxt and _is_list_unit(nxt[0]) and follower not in chosen:
            chosen.append(follower)
    # A sentence that leans on the one before it brings that one along.
    for cand in list(chosen):
        before = by_place.get((cand.chunk.id, cand.position - 1))
        if cand.position > 0 and _LEANS_BACK.match(cand.text) and before is not None:
            if before not in chosen:
                chosen.append(before)
    # Quotes from one passage read best in document order.
    chosen.sort(key=lambda c: (c.hit_rank, c.chunk.ordinal, c.position))
    return chosen


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


def format_answer(quotes: list[Quote], sources: list[Source], phrases: Phrases) -> str:
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
    return "\n".join(lines) + "\n\n" + "\n".join([*heading, *refs])
