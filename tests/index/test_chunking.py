from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import HARD_LIMIT_FACTOR, chunk_document, split_sentences
from index.documents import Document, Section, markdown_sections, read_document

KNOWLEDGE = Path(__file__).parents[2] / "knowledge"
NETWORKS = ("Nordic safe cities", "Strong cities", "Policy Planners Network Meeting")


def make_document(*sections: Section, doc_id: str = "test.md") -> Document:
    return Document(
        id=doc_id,
        title="Test",
        sections=tuple(sections),
        visibility="public",
        content_hash="0" * 64,
    )


def words(text: str) -> list[str]:
    return text.split()


def normalise(text: str) -> str:
    return " ".join(text.split())


def is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(any(word == candidate for candidate in remaining) for word in needle)


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Vi träffade bl.a. Borlänge kommun. Sedan åkte vi hem.",
            ["Vi träffade bl.a. Borlänge kommun.", "Sedan åkte vi hem."],
        ),
        ("Nätverk, t.ex. Strong cities, finns.", ["Nätverk, t.ex. Strong cities, finns."]),
        ("Kommunerna, dvs. Borlänge och Nässjö, deltog.", None),
        ("Kommunerna, d.v.s. Borlänge och Nässjö, deltog.", None),
        ("Det kom ca. 500 personer.", None),
        ("Han är f.d. Kommunalråd i Falun.", None),
        ("Mötet ställdes in p.g.a. Corona.", None),
        ("Mötet ställdes in pga. Sjukdom.", None),
        ("Gäller fr.o.m. Januari t.o.m. December i år.", None),
        ("Så kallade s.k. Trygghetsvandringar ordnas.", None),
        ("Borlänge resp. Falun deltar.", None),
        ("Se jfr. Bilaga 2 för detaljer.", None),
        ("Seminariet börjar kl. 10 i Visby.", None),
        ("Ärende nr. 5 behandlades.", None),
        ("Ring tel. 0243-740 00 för information.", None),
        ("Inkl. Moms blir det mer.", None),
        ("Priset exkl. Moms är lägre.", None),
        ("Enl. Beslutet ska vi börja.", None),
        ("Det gäller bl a Borlänge och Nässjö.", None),
        ("Det gäller t.ex Borlänge och Nässjö.", None),
        ("Avtalet gäller från 1 jan. 2020 och framåt.", None),
        ("Det hände den 3. maj i Visby.", None),
        ("Beslutet fattades 2012-05-01 i Visby.", None),
        ("Beslutet fattades 1.5.2012 i Visby.", None),
        ("Det kostade 1 000 kronor.", None),
        ("Räntan var 3.5 procent och summan 10.000 kronor.", None),
        ("Presschef A. Svensson svarade.", None),
        ("Ann-Cathrin B. Brovall svarade.", None),
        ("Så här gör du: 1. Ring oss.", None),
        ("Det kostar 5 kr. per månad.", None),
        (
            "Vi köpte äpplen, päron m.m. Sedan åkte vi hem.",
            ["Vi köpte äpplen, päron m.m.", "Sedan åkte vi hem."],
        ),
        ("Vi läste, skrev osv. Det tog tid.", ["Vi läste, skrev osv.", "Det tog tid."]),
        ("Vi läste, skrev etc. 2020 var ett bra år.", None),
        (
            "Vem f-n tar ansvar? Ingen vet! Eller… Det blev bra.",
            ["Vem f-n tar ansvar?", "Ingen vet!", "Eller…", "Det blev bra."],
        ),
        (
            "Med rubriken ”Vem f-n tar ansvar?”. I år med fokus på tillväxt.",
            ["Med rubriken ”Vem f-n tar ansvar?”.", "I år med fokus på tillväxt."],
        ),
        ("Han sa: ”Hej då.” Sedan gick han.", ["Han sa: ”Hej då.”", "Sedan gick han."]),
        ("Det hände 2012. 2014 kom nästa.", ["Det hände 2012.", "2014 kom nästa."]),
        ("Det är bra. och sedan mer.", None),
        (
            "Allt startade i Almedalen\n\nBorlänge är med.",
            ["Allt startade i Almedalen", "Borlänge är med."],
        ),
        (
            "Detta är ett exempel.\n\nAnn-Cathrin Brovall, presschef\n\nFoto av en trycksak",
            ["Detta är ett exempel.", "Ann-Cathrin Brovall, presschef", "Foto av en trycksak"],
        ),
        ("Borlänge är\nmed i  nätverket.", ["Borlänge är med i nätverket."]),
        (
            "Samhället utvecklas.\u00a0 Med det följer utmaningar.",
            ["Samhället utvecklas.", "Med det följer utmaningar."],
        ),
        ("en rad utan punkt\n \nen till", ["en rad utan punkt", "en till"]),
        ("", []),
        (" \n\n ", []),
    ],
)
def test_split_sentences(text, expected):
    if expected is None:  # the whole text is one sentence
        expected = [text]
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Några exempel på det är:\n\n  • Nordic safe cities.\n  • Strong   cities.\n\nSlut.",
            ["Några exempel på det är:\n• Nordic safe cities.\n• Strong cities.", "Slut."],
        ),
        (
            "Gör så här:\n1. Ring oss.\n2) Skriv till oss\n   med post.\nKlart.",
            ["Gör så här:\n1. Ring oss.\n2) Skriv till oss med post.", "Klart."],
        ),
        (
            "Intro. Lista:\n- ett\n* två\n– tre\n· fyra",
            ["Intro.", "Lista:\n- ett\n* två\n– tre\n· fyra"],
        ),
        (
            "Ingen inledning.\n\n• Första punkten.\n• Andra punkten.",
            ["Ingen inledning.", "• Första punkten.", "• Andra punkten."],
        ),
        (
            "Lista:\n\nEn vanlig mening.\n\n• punkt",
            ["Lista:", "En vanlig mening.", "• punkt"],
        ),
    ],
)
def test_lists_stay_with_their_lead_in(text, expected):
    assert split_sentences(text) == expected


# --------------------------------------------------------------------------- chunks

PUNKTER = ["Punkt ett.", "Punkt två.", "Punkt tre.", "Punkt fyr.", "Punkt fem."]


@pytest.mark.parametrize(
    ("overlap", "expected"),
    [
        (0, [[0, 1, 2], [3, 4]]),
        (1, [[0, 1, 2], [2, 3, 4]]),
        (2, [[0, 1, 2], [1, 2, 3], [2, 3, 4]]),
        (3, [[0, 1, 2], [1, 2, 3], [2, 3, 4]]),
        (10, [[0, 1, 2], [1, 2, 3], [2, 3, 4]]),
    ],
)
def test_chunks_pack_greedily_with_overlap(overlap, expected):
    document = make_document(Section(" ".join(PUNKTER)))

    chunks = chunk_document(document, max_chars=32, overlap_sentences=overlap)

    assert [list(chunk.sentences) for chunk in chunks] == [
        [PUNKTER[i] for i in group] for group in expected
    ]
    assert [chunk.ordinal for chunk in chunks] == list(range(len(expected)))
    assert all(chunk.text == " ".join(chunk.sentences) for chunk in chunks)
    assert all(len(chunk.text) <= 32 for chunk in chunks)


def test_chunks_never_span_sections_and_keep_heading_and_page():
    document = make_document(
        *markdown_sections("Intro.\n\n# Bakgrund\nEtt. Två.\n\n## Nätverk\nTre. Fyra."),
        Section("Sida fem. Sida fem igen.", page=5),
    )

    chunks = chunk_document(document, max_chars=700)

    assert [(c.ordinal, c.text, c.heading, c.page) for c in chunks] == [
        (0, "Intro.", None, None),
        (1, "Ett. Två.", "Bakgrund", None),
        (2, "Tre. Fyra.", "Bakgrund › Nätverk", None),
        (3, "Sida fem. Sida fem igen.", None, 5),
    ]
    assert {c.doc_id for c in chunks} == {"test.md"}


def test_a_sentence_longer_than_max_chars_is_a_chunk_of_its_own():
    long_sentence = "Detta " + "är en mycket lång mening " * 5 + "slut."
    document = make_document(Section(f"Kort. {long_sentence} Kort igen."))

    chunks = chunk_document(document, max_chars=100, overlap_sentences=0)

    assert 100 < len(long_sentence) <= HARD_LIMIT_FACTOR * 100
    assert [c.text for c in chunks] == ["Kort.", long_sentence, "Kort igen."]


def test_a_huge_sentence_is_cut_at_whitespace_without_losing_words():
    huge = "Början " + " ".join(f"ord{i}" for i in range(120)) + " slut."

    chunks = chunk_document(make_document(Section(huge)), max_chars=100, overlap_sentences=1)

    assert len(chunks) > 2
    assert all(len(c.text) <= 100 for c in chunks)
    assert is_subsequence(words(huge), [w for c in chunks for w in words(c.text)])


def test_a_word_longer_than_max_chars_is_cut_without_losing_characters():
    url = "https://example.se/" + "x" * 50
    chunks = chunk_document(make_document(Section(url)), max_chars=20, overlap_sentences=0)
    assert "".join(c.text for c in chunks) == url
    assert all(len(c.text) <= 20 for c in chunks)


def test_an_oversized_list_is_split_between_items_repeating_the_lead_in():
    items = [f"• Nätverk nummer {n} med ett ganska långt namn." for n in range(1, 7)]
    text = "Några exempel på det är:\n" + "\n".join(items)

    chunks = chunk_document(make_document(Section(text)), max_chars=120, overlap_sentences=0)

    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text.startswith("Några exempel på det är:\n• ")
        assert len(chunk.text) <= 120
    assert [line for c in chunks for line in c.text.split("\n")[1:]] == items


@pytest.mark.parametrize("max_chars", [700, 400, 300])
def test_seed_document_keeps_lead_in_and_all_three_networks_together(max_chars):
    document = read_document(KNOWLEDGE / "allt-startade-i-almedalen.md", KNOWLEDGE)

    chunks = chunk_document(document, max_chars=max_chars)

    with_lead_in = [c for c in chunks if "Några exempel på det är:" in c.text]
    assert with_lead_in
    for chunk in with_lead_in:
        assert all(network in chunk.text for network in NETWORKS)
        assert "Några exempel på det är:\n• Nordic safe cities" in chunk.text
    assert chunks[-1].text.endswith("Ann-Cathrin Brovall, presschef Foto av en trycksak med texten")
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_seed_document_signature_line_is_its_own_sentence():
    document = read_document(KNOWLEDGE / "allt-startade-i-almedalen.md", KNOWLEDGE)
    sentences = split_sentences(document.text)
    assert sentences[0] == "Allt startade i Almedalen"
    assert sentences[-2:] == ["Ann-Cathrin Brovall, presschef", "Foto av en trycksak med texten"]


@pytest.mark.parametrize(
    ("max_chars", "overlap"),
    [(0, 1), (-5, 0), (100, -1)],
)
def test_chunk_document_rejects_bad_settings(max_chars, overlap):
    with pytest.raises(ValueError):
        chunk_document(make_document(Section("Text.")), max_chars, overlap)


def test_empty_document_sections_give_no_chunks():
    assert chunk_document(make_document(Section("  \n\n "))) == []


# --------------------------------------------------------------------------- property

WORDS = st.sampled_from(
    "kommun samarbete nätverk flyktingar integration år seminarium Almedalen arbete "
    "utmaningar lösningar och i på för med att som är har Borlänge Nässjö Falköping".split()
)
ABBREVIATIONS = st.sampled_from(
    "bl.a. t.ex. dvs. d.v.s. ca. f.d. m.m. o.s.v. osv. p.g.a. fr.o.m. t.o.m. s.k. resp. "
    "jfr. kl. nr. st. tel. etc. e.d. ang. inkl. exkl. enl. f.ö. m.fl. mfl. t.ex".split()
)
NUMBERS = st.sampled_from(
    ["1 000", "3.5", "10.000", "2012-05-01", "1.5.2012", "1 jan. 2020", "den 3. maj", "A. Svensson"]
)
TERMINATORS = st.sampled_from([".", ".", ".", "!", "?", "…", "?”.", ":"])


@st.composite
def sentences(draw) -> str:
    first = draw(WORDS).capitalize()
    rest = draw(st.lists(st.one_of(WORDS, WORDS, ABBREVIATIONS, NUMBERS), max_size=14))
    return " ".join([first, *rest]) + draw(TERMINATORS)


@st.composite
def blocks(draw) -> str:
    kind = draw(st.sampled_from(["prose", "prose", "list", "heading", "line"]))
    if kind == "heading":
        return "#" * draw(st.integers(1, 3)) + " " + draw(sentences()).rstrip(".!?…:”")
    if kind == "line":  # a standalone line without punctuation, like a signature
        return " ".join(draw(st.lists(WORDS, min_size=1, max_size=5)))
    if kind == "list":
        lead = draw(sentences()).rstrip(".!?…:”") + ":"
        bullet = draw(st.sampled_from(["  • ", "- ", "* ", "– ", "1. ", "2) "]))
        items = draw(st.lists(sentences(), min_size=1, max_size=6))
        gap = draw(st.sampled_from(["\n", "\n\n"]))
        return lead + gap + "\n".join(bullet + item for item in items)
    separators = st.sampled_from([" ", " ", "  ", "\n", "\u00a0 "])
    parts = draw(st.lists(st.tuples(sentences(), separators), min_size=1, max_size=6))
    return "".join(sentence + separator for sentence, separator in parts).rstrip()


@st.composite
def swedish_texts(draw) -> str:
    return "\n\n".join(draw(st.lists(blocks(), min_size=1, max_size=8)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=swedish_texts(), max_chars=st.integers(20, 400), overlap=st.integers(0, 3))
def test_no_text_is_lost(text, max_chars, overlap):
    sections = markdown_sections(text)
    document = make_document(*sections)

    chunks = chunk_document(document, max_chars=max_chars, overlap_sentences=overlap)

    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert all(c.text == " ".join(c.sentences) for c in chunks)
    per_section = [
        chunk_document(make_document(section), max_chars, overlap) for section in sections
    ]
    # Sections are chunked independently: a chunk never spans two sections.
    assert [(c.text, c.heading, c.page) for c in chunks] == [
        (c.text, section.heading, section.page)
        for section, own in zip(sections, per_section, strict=True)
        for c in own
    ]
    for section, own in zip(sections, per_section, strict=True):
        units = split_sentences(section.text)
        # The splitter itself keeps every word, in order.
        assert words(" ".join(units)) == words(section.text)
        own_texts = [normalise(c.text) for c in own]
        # Every word of the section appears, in order, in the section's chunks.
        assert is_subsequence(words(section.text), [w for t in own_texts for w in words(t)])
        for unit in units:
            whole = len(unit) <= max_chars or (
                "\n" not in unit and len(unit) <= HARD_LIMIT_FACTOR * max_chars
            )
            if whole:  # a unit that fits is never cut
                assert any(normalise(unit) in t for t in own_texts), unit
        for chunk in own:
            assert len(chunk.text) <= max_chars or len(chunk.sentences) == 1


def test_no_text_is_lost_in_the_seed_document():
    document = read_document(KNOWLEDGE / "allt-startade-i-almedalen.md", KNOWLEDGE)
    for max_chars, overlap in [(700, 1), (200, 0), (80, 2)]:
        chunks = chunk_document(document, max_chars=max_chars, overlap_sentences=overlap)
        joined = [w for c in chunks for w in words(c.text)]
        assert is_subsequence(words(document.text), joined)
