"""Which sentence answers: the features of a candidate sentence and the weights that rank them.

The answer step starts from the model's own ranking (the cosine of each stored sentence
vector with the question's) and adds only what measurably beats it on the gold dev split
(tests/gold/dev): the words the sentence shares with the question, the kind of answer the
question asks for (a year for "när", the municipalities for "vilka kommuner", a byline
for "vem skrev"), and what a sentence is (a title, a photo caption or a byline is not an
answer, except to the question that asks for it).

Two logistic regressions weigh these features, fitted on the dev split by
``benchmarks/fit_selection.py`` and kept in ``index/selection_weights.json``:

- ``sentence``: the probability that a candidate is a correct first quote; candidates are
  ranked by it;
- ``answer``: the probability that the best candidate is a correct answer at all; below
  the configured ``min_confidence`` the engine declines.

Every pattern here sees question or document text, so each is linear in its input
(``tests/index/test_selection.py`` feeds each 1 MB of its worst case).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from index.lexical import STOPWORDS, stem, words

WEIGHTS = Path(__file__).with_name("selection_weights.json")

# -- what the question asks for -------------------------------------------------------

_TIME = re.compile(
    r"\b(?:när|vilket år|vilket datum|vilken dag|vilken tid|sedan när|hur länge|"
    r"when|what year|which year|what date|what time|since when|how long)\b",
    re.I,
)
_PERSON = re.compile(r"\b(?:vem|vems|vilka personer|who|whom|whose)\b", re.I)
_MET = re.compile(r"\b(?:träffa\w*|mött|möte\w*|met|meet\w*)\b", re.I)
_WHICH = re.compile(r"\b(?:vilka|vilken|vilket|which|what)\b", re.I)
_MUNICIPALITY_WORD = re.compile(r"\b(?:kommun\w*|municipalit\w*|towns?|cities)\b", re.I)
_ORGANISATION_WORD = re.compile(
    r"\b(?:organisation\w*|nätverk\w*|aktör\w*|network\w*|organi[sz]ation\w*|partners?)\b",
    re.I,
)
_COUNT_Q = re.compile(r"\b(?:hur många|hur mycket|antal\w*|how many|how much|number of)\b", re.I)
_COST_Q = re.compile(r"\b(?:kostar|kostnad\w*|pris\w*|belopp\w*|cost\w*|price\w*)\b", re.I)
_REASON_Q = re.compile(
    r"\b(?:varför|av vilken anledning|vad är syftet|syftet med|why|what is the purpose|"
    r"purpose of|what for)\b",
    re.I,
)
_NAME_Q = re.compile(
    r"\b(?:vad heter|vad kallas|vilket namn|vad har \w+ för namn|med vilken rubrik|"
    r"vilken rubrik|what is the name|what's the name|what is \w+ called|called|titled|"
    r"name of)\b",
    re.I,
)
_NAMED_THING = re.compile(
    r"[”\"«“][^”\"»“]{2,80}[”\"»“]|\b(?:med rubriken|med namnet|heter|kallas|kallad|"
    r"rubriken|titeln)\b",
    re.I,
)
_PLACE_Q = re.compile(r"\b(?:var|vart|where|vilken lokal|vilken plats|which room)\b", re.I)
_DEFINITION_Q = re.compile(
    r"^\s*(?:vad är|vad betyder|vad innebär|vad menas med|what is|what are|what does|"
    r"what's|vad är det för)\s+(.+?)[?.!\s]*$",
    re.I,
)
_AUTHOR_Q = re.compile(
    r"\b(?:vem skrev|vem har skrivit|skriven av|författa\w*|avsändare|undertecknad|"
    r"förde protokollet|protokollför\w*|vid protokollet|justera\w* protokollet|"
    r"who wrote|who has written|written by|author\w*|signed|took the minutes|"
    r"kept the minutes|minute[- ]?taker)\b",
    re.I,
)
_CAPTION_Q = re.compile(
    r"\b(?:bild\w*|foto\w*|fotografi\w*|photo\w*|picture\w*|image\w*)\b",
    re.I,
)
_TOOK = re.compile(r"\b(?:tog|fotograferade|took|photographed)\b", re.I)
_YES_NO_SV = re.compile(
    r"^\s*(?:är|var|har|hade|finns|fanns|kan|kommer|ska|skall|får|gäller|ingår|deltar|"
    r"deltog|brukar|behöver|måste|blir|blev|erbjuder|erbjuds|hålls|ligger|stämmer)\s",
    re.I,
)
_YES_NO_EN = re.compile(
    r"^\s*(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should|must|may)\s",
    re.I,
)
_SUMMARY_Q = re.compile(
    r"\b(?:sammanfatta\w*|sammanfattning|summari[sz]\w*|summary|give me an overview|"
    r"ge en översikt)\b",
    re.I,
)
# "Vad handlar pressmeddelandet om?" asks for a document's summary; "Vad handlade
# seminariet om?" asks for a fact in one: the subject must be a document.
_ABOUT = re.compile(
    r"^\s*(?:vad handlar|vad går|what is|what's|what are)\s+(?:\w+\s+){0,3}?"
    r"(?:texten|text|dokument\w*|pressmeddelande\w*|rapport\w*|protokoll\w*|"
    r"handlingsplan\w*|program\w*|nyhet\w*|artikel\w*|artikeln|rutin\w*|nyhetsbrev\w*|"
    r"inbjudan|sidan|document|press release|report|minutes|plan|programme|program|"
    r"article|newsletter|routine|invitation|page)(?:\s+[^\W\d_]+){0,3}?\s+(?:om|ut på|about)"
    r"\s*[?.!]*\s*$",
    re.I,
)

# -- what a sentence is ----------------------------------------------------------------

_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_DATE = re.compile(
    r"\b(?:\d{1,2} (?:jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec)\w*|"
    r"(?:januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|"
    r"december)|kl\.? ?\d{1,2}[.:]\d\d|\d{1,2}[.:]\d\d|vecka \d+|"
    r"(?:måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag)\w*|"
    r"våren|hösten|sommaren|vintern)\b",
    re.I,
)
_DIGIT = re.compile(r"\d")
_NUMBER_WORD = re.compile(
    r"\b(?:två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|tjugo|trettio|hundra|tusen|"
    r"miljon\w*|procent|hälften|dubbelt)\b",
    re.I,
)
_REASON = re.compile(
    r"\b(?:för att|eftersom|därför|syfte\w*|mål\w*|avsikt\w*|behov\w*|orsak\w*|skäl\w*|"
    r"på grund av|så att|anledning\w*|bidra\w* till|förbättra\w*|underlätta\w*)\b",
    re.I,
)
_ROLE = re.compile(
    r"\b\w*(?:chef|ordförande|minister|ministrar|direktör|samordnare|handläggare|ansvarig|"
    r"strateg|rektor|kommunalråd|sekreterare|projektledare|utvecklare|forskare|"
    r"talare|moderator|politiker|tjänsteperson\w*|medarbetare|representant\w*)\b",
    re.I,
)
_NAME = re.compile(r"\b[A-ZÅÄÖÉ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)? [A-ZÅÄÖÉ][a-zåäöéü]+")
_CAPTION = re.compile(
    r"^\s*(?:foto|bild|bilden|bildtext|fotografi|fotograf|photo|på bilden)\b", re.I
)
# "Foto: Emir Hadžić", "Fotograf: …", "Bild: …": who took the picture.
_CREDIT = re.compile(r"^\s*(?:foto|fotograf|bild|photo)\s*:\s*[A-ZÅÄÖÉ]", re.I)
# A signature: "Ann-Cathrin Brovall, presschef", "Text: Karin Sjöberg, kommunikatör …",
# "Av Maja Hedlund", "Vid protokollet: Johan Ekström".
_BYLINE = re.compile(
    r"^\s*(?:(?i:text|av|skriven av|författare|kontakt|vid protokollet|sekreterare|"
    r"justeras|justerare|ordförande)\s*:?\s*)?"
    r"[A-ZÅÄÖÉ][\w-]+(?: [A-ZÅÄÖÉ][\w-]+){1,3}(?:\s*[,–-]\s*[^.!?\n]{2,60})?$"
)
_LABELLED = re.compile(
    r"^\s*(?:text|av|skriven av|författare|vid protokollet|sekreterare|justeras|justerare)"
    r"\b",
    re.I,
)
_PLACE = re.compile(
    r"\b(?:i|på|vid|till|in|at)\s+[A-ZÅÄÖ][\wåäö-]+|"
    r"\b\w*(?:salen|salong|rummet|rum|lokal\w*|stadshus\w*|huset|biblioteket|skolan|"
    r"torget|gatan|vägen|plan \d)\b",
)
_LEANS_BACK = re.compile(
    r"^\s*(?:om detta|om det|det|detta|dessa|denna|där|därför|de|dit|då|this|these|that|it)\b",
    re.I,
)
_PARENTHESIS = re.compile(r"\(")


@dataclass(frozen=True)
class QuestionShape:
    """What a question asks for, read from its words."""

    kinds: frozenset[str]
    terms: frozenset[str]  # stems of its content words
    subject: frozenset[str]  # stems of X in "vad är X?" (a definition), else empty
    names: frozenset[str] = frozenset()  # stems of the names it mentions
    yes_no: bool = False
    summary: bool = False


@lru_cache(maxsize=4096)
def question_shape(question: str) -> QuestionShape:
    """Return what a question asks for: its answer kinds, its terms, its form."""
    kinds: set[str] = set()
    text = question[:2000]
    if _TIME.search(text):
        kinds.add("time")
    if _PERSON.search(text):
        kinds.add("person")
        if _MET.search(text):
            kinds.add("met")
    asked = _asked_noun(text)
    if asked is not None:
        if _MUNICIPALITY_WORD.fullmatch(asked):
            kinds.add("municipality")
        elif _ORGANISATION_WORD.fullmatch(asked):
            kinds.add("organisation")
    if (_WHICH.search(text) or _PERSON.search(text)) and _MET.search(text):
        kinds.add("met")
    if _COUNT_Q.search(text):
        kinds.add("count")
    if _COST_Q.search(text):
        kinds.add("number")
    if _REASON_Q.search(text):
        kinds.add("reason")
    if _PLACE_Q.search(text):
        kinds.add("place")
    if _NAME_Q.search(text):
        kinds.add("name")
    if _AUTHOR_Q.search(text):
        kinds.add("author")
    if _CAPTION_Q.search(text):
        kinds.add("photographer" if "person" in kinds or _TOOK.search(text) else "caption")
    subject: frozenset[str] = frozenset()
    if match := _DEFINITION_Q.match(text):
        kinds.add("definition")
        subject = frozenset(_content_stems(match.group(1)))
    yes_no = bool(_YES_NO_SV.match(text) or _YES_NO_EN.match(text))
    summary = bool(_SUMMARY_Q.search(text)) or bool(_ABOUT.match(text))
    return QuestionShape(
        frozenset(kinds),
        frozenset(_content_stems(text)),
        subject,
        question_names(text),
        yes_no,
        summary,
    )


_WH_THEN = re.compile(
    r"\b(?:vilka|vilken|vilket|which|what|hur många|how many|antalet|number of)"
    r"((?:\s+[^\W\d_]+){1,3})",
    re.I,
)


def _asked_noun(text: str) -> str | None:
    """Return the noun a "which/how many" question asks for ("kommuner", "networks")."""
    match = _WH_THEN.search(text)
    if not match:
        return None
    for word in match.group(1).split():
        if _MUNICIPALITY_WORD.fullmatch(word) or _ORGANISATION_WORD.fullmatch(word):
            return word
    return None


# Capitalised words inside a question: the names it asks about ("Är Nässjö med?").
_CAPITALISED = re.compile(r"(?<=[\w,;:] )[A-ZÅÄÖÉ][\wåäöéü-]+")


def question_names(question: str) -> frozenset[str]:
    """Return the stems of the names a question mentions (capitalised, not first)."""
    return frozenset(stem(w.casefold()) for w in _CAPITALISED.findall(question[:2000]))


def _content_stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def is_caption(sentence: str) -> bool:
    """Return whether a sentence unit is a photo caption ("Foto: …", "Bilden visar …")."""
    return bool(_CAPTION.match(sentence))


def is_byline(sentence: str) -> bool:
    """Return whether a unit is a signature such as "Ann-Cathrin Brovall, presschef"."""
    if len(sentence) > 90 or "\n" in sentence or is_credit(sentence):
        return False
    match = _BYLINE.match(sentence)
    # A bare name ("Anna Berg") is a signature only with a label ("Av Anna Berg") or a role.
    return bool(match) and ("," in sentence or "–" in sentence or bool(_LABELLED.match(sentence)))


def is_credit(sentence: str) -> bool:
    """Return whether a unit credits a photographer ("Foto: Emir Hadžić")."""
    return len(sentence) <= 90 and "\n" not in sentence and bool(_CREDIT.match(sentence))


def asks_for_form(shape: QuestionShape, sentence: str) -> bool:
    """Return whether a unit is the very form the question asks for.

    "Vem skrev …" wants the byline, "Vem tog bilden?" the photo credit and "Vad visar
    bilden?" the caption: the one case where such a line is the answer.
    """
    kinds = shape.kinds
    return (
        ("author" in kinds and is_byline(sentence))
        or ("photographer" in kinds and is_credit(sentence))
        or ("caption" in kinds and is_caption(sentence) and not is_credit(sentence))
    )


def is_title(sentence: str, title: str) -> bool:
    """Return whether a unit is the document's title line."""
    a = " ".join(words(sentence))
    return bool(a) and a == " ".join(words(title))


def is_list(sentence: str) -> bool:
    """Return whether a unit is a lead-in with its list."""
    return "\n" in sentence


def leans_back(sentence: str) -> bool:
    """Return whether a sentence leans on the one before it ("Om detta …", "Det …")."""
    return bool(_LEANS_BACK.match(sentence))


@dataclass(frozen=True)
class SentenceCandidate:
    """What the features of one candidate sentence are computed from."""

    sentence: str
    title: str  # its document's title
    position: int  # its place among its passage's sentence units
    first_of_document: bool  # the document's first unit (a title line or the lead)
    second_of_document: bool  # the lead sentence when the first unit is a title line


FEATURES: tuple[str, ...] = (
    "cosine_gap",  # cosine minus the best candidate's (0 for the best)
    "cosine_top",  # 1 for the model's first choice, 0.5 for its second ...
    "words",  # idf-weighted share of the question's stems in the sentence
    "chars",  # share of the question's character n-grams in the sentence
    "context",  # a follow-up: share of the earlier question's stems
    "passage",  # its passage's search score, relative to the best passage
    "document",  # its document's best passage score, relative to the best passage
    "kind",  # holds the kind of answer asked for (a year for "när" ...)
    "kind_time",  # a year or date, for "när"
    "kind_person",  # a name or role, for "vem"
    "kind_count",  # a number or a list, for "hur många"
    "kind_reason",  # "eftersom", "för att" ..., for "varför"
    "kind_place",  # a place, for "var"
    "kind_named",  # the municipalities asked about, named
    "kind_name",  # a name in quotes or "med rubriken", for "vad heter"
    "names",  # share of the question's names that the sentence names
    "settles",  # a yes/no question: the share of its names the sentence names
    "form_line",  # a title, caption, credit or byline the question does not ask for
    "title",  # the document's title line
    "caption",  # a photo caption
    "byline",  # a signature
    "asked_form",  # a byline for "vem skrev", a caption for "vad visar bilden"
    "short",  # under 40 characters
    "leans_back",  # "Om detta …": not understood alone
    "list",  # a lead-in with its list
    "definition",  # names the subject of "vad är X" with a parenthesis or "är"
    "lead",  # the document's lead sentence
)


def kind_signals(
    shape: QuestionShape, sentence: str, municipalities: frozenset[str]
) -> dict[str, float]:
    """Return, per kind of answer the question asks for, how well a sentence holds it."""
    kinds = shape.kinds
    out = dict.fromkeys(("time", "person", "count", "reason", "place", "named", "name"), 0.0)
    if "time" in kinds:
        out["time"] = 1.0 if _YEAR.search(sentence) else 0.75 if _DATE.search(sentence) else 0.0
    if kinds & {"person", "met"}:
        name, role = bool(_NAME.search(sentence)), bool(_ROLE.search(sentence))
        out["person"] = 1.0 if name and role else 0.6 if name or role else 0.0
    if kinds & {"count", "number"} and (
        _DIGIT.search(sentence) or _NUMBER_WORD.search(sentence) or is_list(sentence)
    ):
        out["count"] = 1.0
    if "reason" in kinds and _REASON.search(sentence):
        out["reason"] = 1.0
    if "place" in kinds and _PLACE.search(sentence):
        out["place"] = 1.0
    if "municipality" in kinds and municipalities:
        named = sum(1 for m in municipalities if m in sentence)
        out["named"] = min(named / max(len(municipalities), 1), 1.0)
    if "organisation" in kinds and is_list(sentence):
        out["named"] = 0.75
    if "name" in kinds and _NAMED_THING.search(sentence):
        out["name"] = 1.0
    return out


def kind_match(shape: QuestionShape, sentence: str, municipalities: frozenset[str]) -> float:
    """Return how well a sentence holds the kind of answer asked for, in [0, 1]."""
    return max(kind_signals(shape, sentence, municipalities).values())


def is_form_line(sentence: str, title: str) -> bool:
    """Return whether a unit is a title, a photo caption or credit, or a byline."""
    return (
        is_title(sentence, title)
        or is_caption(sentence)
        or is_credit(sentence)
        or is_byline(sentence)
    )


def definition_match(shape: QuestionShape, sentence: str) -> float:
    """Return 1 when a sentence defines the subject of "vad är X" ("X (…)", "X är …")."""
    if not shape.subject:
        return 0.0
    best = 0.0
    for line in sentence.split("\n"):
        head = re.split(r"[(:–]| är | är\b| is | means ", line, maxsplit=1)[0]
        stems = set(_content_stems(head))
        if stems and shape.subject <= stems | shape.subject and shape.subject & stems:
            share = len(shape.subject & stems) / len(shape.subject)
            shaped = bool(_PARENTHESIS.search(line)) or " är " in line or ":" in line
            best = max(best, share * (1.0 if shaped else 0.5))
    return best


def sentence_features(
    shape: QuestionShape,
    candidate: SentenceCandidate,
    *,
    cosine_gap: float,
    cosine_rank: int,
    word_cover: float,
    char_cover: float,
    context_cover: float,
    passage: float,
    document: float,
    municipalities: frozenset[str],
) -> list[float]:
    """Return a candidate's features, in the order of ``FEATURES``."""
    sentence = candidate.sentence
    caption = is_caption(sentence)
    byline = is_byline(sentence)
    title = is_title(sentence, candidate.title) or (
        candidate.first_of_document and not re.search(r"[.!?:]\s*$", sentence)
    )
    asked = asks_for_form(shape, sentence)
    lead = candidate.second_of_document or (candidate.first_of_document and not title)
    signals = kind_signals(shape, sentence, municipalities)
    names = shape.names
    named = len(names & set(_content_stems(sentence))) / len(names) if names else 0.0
    # A byline that names what is asked ("Vem är presschef?") is an answer after all.
    form = (title or caption or (byline and not word_cover) or is_credit(sentence)) and not asked
    return [
        cosine_gap,
        1.0 / (1 + cosine_rank),
        word_cover,
        char_cover,
        context_cover,
        passage,
        document,
        max(signals.values()),
        signals["time"],
        signals["person"],
        signals["count"],
        signals["reason"],
        signals["place"],
        signals["named"],
        signals["name"],
        named,
        named if shape.yes_no else 0.0,
        float(form),
        float(title),
        float(caption),
        float(byline),
        float(asked),
        float(len(sentence) < 40),
        float(leans_back(sentence)),
        float(is_list(sentence)),
        definition_match(shape, sentence),
        float(lead),
    ]


_ASKED_FORM = FEATURES.index("asked_form")
_FORM_LINE = FEATURES.index("form_line")


_NAMED = FEATURES.index("kind_named")
_SETTLES = FEATURES.index("settles")


def ranking_key(features: Sequence[float], probability: float) -> tuple[float, float, float, float]:
    """Return the sort key of a candidate (ascending is best first).

    The line a question asks for by its form ("Vem skrev …?" the byline, "Vem tog
    bilden?" the photo credit) comes first; a title, caption or byline the question does
    not ask for comes last. "Vilka kommuner …?" wants the sentence that names the most of
    them, and "vilka nätverk …?" a list: those come before the rest. Otherwise the fitted
    model's probability decides.
    """
    return (-features[_ASKED_FORM], features[_FORM_LINE], -promoted(features), -probability)


def promoted(features: Sequence[float]) -> float:
    """Return how strongly a rule puts a candidate first (0: the fitted model decides).

    "Vilka kommuner …?" wants the sentence naming the most of them, "vilka nätverk …?" a
    list, and "Är Nässjö med …?" a sentence that names Nässjö.
    """
    named = features[_NAMED] if features[_NAMED] >= 0.5 else 0.0
    return max(named, features[_SETTLES] if features[_SETTLES] >= 1.0 else 0.0)


ANSWER_FEATURES: tuple[str, ...] = (
    "probability",  # the best candidate's sentence probability
    "margin",  # its lead over the second best
    "cosine",  # the best cosine of passage or sentence with the question
    "words",  # the best candidate's word coverage
    "chars",  # its character coverage
    "english",  # 1 for an English question (its cosines with Swedish text run lower)
    "rule",  # 1 when a rule, not the fitted model, put the best candidate first
)


@dataclass(frozen=True)
class Logistic:
    """A fitted logistic regression over named features."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, values: list[float]) -> float:
        """Return the model's probability for one row of feature values."""
        z = self.bias + sum(w * v for w, v in zip(self.weights, values, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


@dataclass(frozen=True)
class SelectionModel:
    """The two fitted models the answer step uses."""

    version: int
    sentence: Logistic
    answer: Logistic


class SelectionWeightsError(ValueError):
    """The weights file is missing, malformed or for other features."""


def _logistic(data: object, expected: tuple[str, ...], name: str) -> Logistic:
    if not isinstance(data, dict):
        raise SelectionWeightsError(f"{name}: not a mapping")
    features = tuple(data.get("features") or ())
    if features != expected:
        raise SelectionWeightsError(f"{name}: fitted for features {features}, not {expected}")
    weights = tuple(float(w) for w in data.get("weights") or ())
    if len(weights) != len(features):
        raise SelectionWeightsError(f"{name}: {len(weights)} weights for {len(features)}")
    return Logistic(features, weights, float(data.get("bias", 0.0)))


@lru_cache(maxsize=4)
def load_selection_model(path: Path = WEIGHTS) -> SelectionModel:
    """Return the fitted selection weights; raise SelectionWeightsError if unusable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SelectionWeightsError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SelectionWeightsError(f"{path}: not a mapping")
    return SelectionModel(
        version=int(data.get("version", 0)),
        sentence=_logistic(data.get("sentence"), FEATURES, "sentence"),
        answer=_logistic(data.get("answer"), ANSWER_FEATURES, "answer"),
    )
