"""Answers, summaries and status always fit Discord's limits and never format or ping."""

from __future__ import annotations

import re

import pytest

from bot.formatting import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    cut,
    embed_size,
    escape,
    escaped_within,
    format_answer,
    format_build_summary,
    format_progress,
    format_status,
    safe_url,
    source_fields,
)
from index.answer import Answer, Quote, Source
from index.build import BuildSummary
from index.documents import SkippedFile
from tests.fakes.discord import validate_message_body

# ---------------------------------------------------------------- text helpers


@pytest.mark.parametrize(
    ("text", "limit", "expected", "was_cut"),
    [
        ("Kort.", 10, "Kort.", False),
        ("", 5, "", False),
        ("Första meningen. Andra meningen. Tredje.", 30, "Första meningen. …", True),
        (
            "Första meningen! Andra meningen? Tredje.",
            36,
            "Första meningen! Andra meningen? …",
            True,
        ),
        ("Ord utan punkt som fortsätter länge", 20, "Ord utan punkt som …", True),
        ("x" * 50, 10, "x" * 9 + "…", True),
        ("Kort. " + "y" * 100, 40, "y" * 0 + "Kort. " + "y" * 33 + "…", True),
        ("abc", 1, "…", True),
        ("”Citat.” Och mer text här efter.", 12, "”Citat.” …", True),
    ],
)
def test_cut_prefers_sentences_then_words(text, limit, expected, was_cut):
    assert cut(text, limit) == (expected, was_cut)
    assert len(cut(text, limit)[0]) <= limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vanlig text", "vanlig text"),
        ("**fet** _kursiv_ ~~struken~~", r"\*\*fet\*\* \_kursiv\_ \~\~struken\~\~"),
        ("||spoiler||", r"\|\|spoiler\|\|"),
        ("`kod`", r"\`kod\`"),
        ("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))"),
        ("@everyone och @here", "@\u200beveryone och @\u200bhere"),
        ("<@&123456789012345678>", r"\<@&123456789012345678\>"),
        ("<@123> <#456> <t:1:R>", r"\<@123\> \<#456\> \<t:1:R\>"),
        ("# Rubrik", r"\# Rubrik"),
        ("> citat", r"\> citat"),
        ("- punkt", r"\- punkt"),
        ("1. lista", r"\1. lista"),
        ("a - b", "a - b"),
        ("C:\\mapp", "C:\\\\mapp"),
    ],
)
def test_escape_disarms_markdown_links_and_mentions(text, expected):
    assert escape(text) == expected


def test_escaped_text_cut_to_fit_never_ends_in_a_lone_backslash():
    text = "*" * 5000
    for limit in (1, 2, 3, 100, 101, 4096):
        shown, was_cut = escaped_within(text, limit)
        assert len(shown) <= limit and was_cut
        assert not re.search(r"(?<!\\)(\\\\)*\\$", shown.removesuffix("…"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.borlange.se/", "https://www.borlange.se/"),
        ("http://example.org/a_(b)", "http://example.org/a_%28b%29"),
        ("javascript:alert(1)", None),
        ("ftp://example.org/fil", None),
        ("https:///utan-värd", None),
        ("https://example.org/med mellanslag", None),
        ("https://example.org/\nrad", None),
        ("https://example.org/" + "a" * 600, None),
        ("", None),
        (None, None),
        ("  https://example.org/x  ", "https://example.org/x"),
        ("https://example.org/<script>", "https://example.org/%3Cscript%3E"),
    ],
)
def test_only_plain_http_links_are_made(url, expected):
    assert safe_url(url) == expected


# ---------------------------------------------------------------- answers


def _source(i: int, title: str | None = None, **kw) -> Source:
    return Source(
        id=kw.pop("id", f"dok/{i}.md"),
        title=title if title is not None else f"Dokument {i}",
        url=kw.pop("url", None),
        location=kw.pop("location", None),
        score=1.0,
        **kw,
    )


def _answer(quotes, sources, *, question="Vad gäller?", language="sv", answered=True) -> Answer:
    return Answer(question, answered, "", quotes, sources, language, 0.9)


def _many(n: int, title_len: int, url_len: int = 0, location: str | None = "Avsnitt") -> Answer:
    sources = [
        _source(
            i,
            title=(f"{i} " + "Titel " * title_len)[:title_len],
            url=("https://example.org/" + "u" * url_len) if url_len else None,
            location=location,
        )
        for i in range(n)
    ]
    quotes = [Quote(f"Mening nummer {i}.", i) for i in range(n)]
    return _answer(quotes, sources)


CASES = {
    "one quote, one source": _answer(
        [Quote("Samarbetet startade 2012.", 0, "Inledning")],
        [_source(0, "Allt startade i Almedalen", url="https://x.se/", location="Inledning")],
    ),
    "abstention": Answer(
        "Vad?", False, "Det hittar jag inget om i kunskapsbasen.", [], [], "sv", 0
    ),
    "english": _answer([Quote("It began in 2012.", 0)], [_source(0)], language="en"),
    "a 10,000-character quote": _answer(
        [Quote("Ett långt stycke text. " * 435, 0)], [_source(0, url="https://x.se/a")]
    ),
    "a 10,000-character quote without any sentence end": _answer(
        [Quote("ord " * 2500, 0)], [_source(0)]
    ),
    "a 10,000-character word": _answer([Quote("x" * 10_000, 0)], [_source(0)]),
    "10,000 markdown characters": _answer([Quote("*_" * 5000, 0)], [_source(0, "**" * 300)]),
    "40 sources with 300-character titles": _many(40, 300),
    "40 sources with titles and 400-character links": _many(40, 300, 400),
    "25 sources with titles and links": _many(25, 300, 60),
    "10 sources with short titles": _many(10, 30, 40),
    "100 sources": _many(100, 300, 100),
    "300 sources": _many(300, 300, 100),
    "a 1000-character question": _answer(
        [Quote("Svar.", 0)], [_source(0)], question="Varför " * 150
    ),
    "mentions and links everywhere": _answer(
        [Quote("@everyone <@&123456789012345678> [x](javascript:alert(1)) ||s||", 0, "@here")],
        [
            _source(
                0,
                "<@123456789012345678> @everyone [klick](javascript:x)",
                url="javascript:alert(1)",
                location="<@&1> # rubrik",
            )
        ],
        question="@everyone <@&123456789012345678> vad?",
    ),
    "an empty title and newlines": _answer(
        [Quote("Rad ett.\nRad två.\n\n> citat", 0)], [_source(0, "", id="tom.md")]
    ),
    "a 2000-character url": _answer(
        [Quote("Svar.", 0)], [_source(0, url="https://example.org/" + "a" * 2000)]
    ),
}


@pytest.mark.parametrize("answer", CASES.values(), ids=CASES.keys())
def test_every_answer_fits_every_discord_limit(answer):
    formatted = format_answer(answer)
    embeds = formatted.embed_dicts()
    validate_message_body({"content": formatted.content or "", "embeds": embeds})
    assert len(embeds) == 1
    assert sum(embed_size(e) for e in embeds) <= EMBED_TOTAL_LIMIT
    [embed] = embeds
    assert len(embed["title"]) <= TITLE_LIMIT
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    assert all(len(f["value"]) <= FIELD_VALUE_LIMIT for f in embed.get("fields", []))


@pytest.mark.parametrize("answer", CASES.values(), ids=CASES.keys())
def test_every_source_is_listed_by_number_when_that_can_fit(answer):
    text = "\n".join(f["value"] for f in format_answer(answer).embed_dicts()[0].get("fields", []))
    listed = sorted(int(n) for n in re.findall(r"\*\*\[(\d+)\]\*\*", text))
    expected = list(range(1, len(answer.sources) + 1)) if answer.answered else []
    if len(answer.sources) <= 40:
        assert listed == expected
        assert "… och" not in text
    else:  # beyond what 6000 characters can hold, the last ones are counted instead
        assert listed == expected[: len(listed)]
        left = len(answer.sources) - len(listed)
        assert (f"… och {left} källor till" in text) == (left > 0)
        assert left > 0 or len(answer.sources) == 100


@pytest.mark.parametrize("answer", CASES.values(), ids=CASES.keys())
def test_nothing_in_an_answer_can_ping_link_or_format(answer):
    embed = format_answer(answer).embed_dicts()[0]
    texts = [embed["title"], embed["description"], embed["footer"]["text"]]
    texts += [f["name"] + "\n" + f["value"] for f in embed.get("fields", [])]
    for text in texts:
        assert not re.search(r"@(everyone|here)", text)
        assert not re.search(r"(?<!\\)<[@#]", text)
        assert not re.search(r"(?<!\\)\]\(javascript:", text)


def test_a_normal_answer_reads_well():
    embed = format_answer(CASES["one quote, one source"]).embed_dicts()[0]
    assert embed["title"] == "Vad gäller?"
    assert embed["description"] == "> ”Samarbetet startade 2012.” **[1]**"
    assert embed["fields"] == [
        {
            "name": "Källor",
            "value": "**[1]** [Allt startade i Almedalen](https://x.se/) · Inledning",
            "inline": False,
        }
    ]
    assert embed["footer"]["text"].startswith("Ordagranna citat")


def test_a_quoted_list_keeps_its_lines_inside_the_blockquote():
    quote = Quote("Några exempel:\n• Nordic safe cities.\n\n- Strong cities.", 0)
    embed = format_answer(_answer([quote], [_source(0)])).embed_dicts()[0]
    assert embed["description"] == (
        "> ”Några exempel:\n> • Nordic safe cities.\n> \\- Strong cities.” **[1]**"
    )


def test_an_abstention_has_no_sources_and_says_so():
    embed = format_answer(CASES["abstention"]).embed_dicts()[0]
    assert embed["description"] == "Det hittar jag inget om i kunskapsbasen."
    assert "fields" not in embed or embed["fields"] == []


def test_a_long_quote_is_cut_at_a_sentence_and_the_footer_says_so():
    formatted = format_answer(CASES["a 10,000-character quote"])
    embed = formatted.embed_dicts()[0]
    assert formatted.shortened
    assert embed["description"].endswith("text. …” **[1]**")
    assert embed["footer"]["text"].startswith("Svaret är förkortat")
    assert "(https://x.se/a)" in embed["fields"][0]["value"]


def test_sources_keep_links_while_they_fit_then_titles_shrink_then_links_go():
    short = format_answer(CASES["10 sources with short titles"]).embed_dicts()[0]
    values = "\n".join(f["value"] for f in short["fields"])
    assert values.count("](https://example.org/") == 10
    many = format_answer(CASES["25 sources with titles and links"]).embed_dicts()[0]
    values = "\n".join(f["value"] for f in many["fields"])
    assert values.count("](https://example.org/") == 25
    assert max(len(line) for line in values.splitlines()) < 300
    crowded = format_answer(CASES["40 sources with titles and 400-character links"])
    values = "\n".join(f["value"] for f in crowded.embed_dicts()[0]["fields"])
    assert "https://" not in values and values.count("**[") == 40


def test_source_fields_give_up_gracefully_with_no_room():
    fields, left_out = source_fields(_many(5, 50).sources, "sv", budget=10)
    assert left_out == 5 and fields == [("Källor", "… och 5 källor till")]


# ---------------------------------------------------------------- summaries and status


def _summary(skipped: int = 0, changed: bool = True) -> BuildSummary:
    return BuildSummary(
        documents=40,
        chunks=900,
        embedded=12,
        reused=888,
        skipped=[SkippedFile(f"mapp/fil-{i}.pdf", "cannot read ``` " * 5) for i in range(skipped)],
        added=["a.md"],
        updated=["b.md", "c.md"],
        removed=[],
        changed=changed,
        seconds=3.25,
        build="20250101T000000Z",
    )


@pytest.mark.parametrize(("skipped", "language"), [(0, "sv"), (3, "en"), (500, "sv")])
def test_the_reindex_summary_is_the_clis_within_one_message(skipped, language):
    text = format_build_summary(_summary(skipped), language)
    assert len(text) <= CONTENT_LIMIT
    assert text.startswith("```\n") and text.endswith("\n```") and text.count("```") == 2
    lines = text.splitlines()
    assert lines[1] == (
        "Indexet är byggt (2025-01-01 00:00 UTC)"
        if language == "sv"
        else "Index built (2025-01-01 00:00 UTC)"
    )
    assert "1 / 2 / 0" in text and "3.25" in text and "900" in text
    if skipped == 3:
        assert text.count("skipped mapp/fil-") == 3
    if skipped == 500:
        assert re.search(r"… och \d+ till", text)


def test_an_unchanged_index_says_so():
    assert "Indexet är redan aktuellt" in format_build_summary(_summary(changed=False), "sv")


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("read", "Omindexering pågår (7 s): Läser dokument 3/40"),
        ("embed", "Omindexering pågår (7 s): Indexerar avsnitt 3/40"),
        ("odd", "Omindexering pågår (7 s): odd 3/40"),
    ],
)
def test_progress_lines(stage, expected):
    assert format_progress(stage, 3, 40, 7.9, "sv") == expected


def test_status_embed_lists_what_admins_need():
    info = {
        "model_id": "fake-trigram-64",
        "dimension": 64,
        "documents": 3,
        "public_documents": 2,
        "internal_documents": 1,
        "chunks": 7,
        "built_at": "2025-01-02T03:04:05+00:00",
        "disk_bytes": 2_500_000,
    }
    embed = format_status(info, 5, 4, "sv").to_dict()
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Modell"] == "fake-trigram-64 (64 dim)"
    assert fields["Dokument"] == "3 (2 offentliga, 1 interna)"
    assert fields["Avsnitt"] == "7"
    assert fields["Senast indexerad"].startswith("<t:1735787045")
    assert fields["Indexets storlek"] == "2.50 MB"
    assert fields["Frågor sedan boten startade"] == "5 (4 besvarade)"
    validate_message_body({"embeds": [embed]})


# ---------------------------------------------------------------- sources per document


def test_a_document_cited_at_two_places_is_one_numbered_line_with_both_places():
    source = dict(title="Handlingsplan", url="https://x.se/plan", date="2019-07-05")
    answer = _answer(
        [Quote("Första.", 0), Quote("Andra.", 1), Quote("Tredje.", 2)],
        [
            _source(0, id="plan.pdf", location="s. 3", **source),
            _source(1, id="plan.pdf", location="s. 5", **source),
            _source(2, "Annat", id="annat.md"),
        ],
    )
    embed = format_answer(answer).embed_dicts()[0]
    assert embed["description"] == ("> ”Första.” **[1]**\n> ”Andra.” **[1]**\n> ”Tredje.” **[2]**")
    [sources] = embed["fields"]
    assert sources["value"].splitlines() == [
        "**[1]** [Handlingsplan](https://x.se/plan) · s. 3, s. 5 · 2019-07-05",
        "**[2]** Annat",
    ]


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("Handlingsplan › Mål", " · Mål"),
        ("Handlingsplan", ""),
        ("handlingsplan › Mål › Delmål", " · Mål › Delmål"),
        ("Bakgrund", " · Bakgrund"),
    ],
)
def test_a_heading_path_never_repeats_the_title(location, shown):
    answer = _answer([Quote("Text.", 0)], [_source(0, "Handlingsplan", location=location)])
    [sources] = format_answer(answer).embed_dicts()[0]["fields"]
    assert sources["value"] == "**[1]** Handlingsplan" + shown


def test_the_plain_text_answer_lists_each_document_once_with_its_places_and_date():
    from bot.locales import engine_phrases
    from index.answer import format_answer as plain_answer

    sources = [
        _source(0, "Plan", id="plan.pdf", location="s. 3", date="2019-07-05"),
        _source(1, "Plan", id="plan.pdf", location="s. 5", date="2019-07-05"),
    ]
    text = plain_answer([Quote("A.", 0), Quote("B.", 1)], sources, engine_phrases()["sv"])
    assert text == "”A.” [1]\n”B.” [1]\n\nKällor:\n[1] Plan (plan.pdf, s. 3, s. 5), 2019-07-05"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Läs mer på https://x.se/a_b.", "Läs mer på `https://x.se/a_b`."),
        ("(se http://y.se/sida)", "(se `http://y.se/sida`)"),
        ("https://x.se/`kod`", "https:\u200b//x.se/\\`kod\\`"),
        ("- punkt https://a.se - b", "\\- punkt `https://a.se` - b"),
        ("https://x.se/@everyone", "`https://x.se/@\u200beveryone`"),
        # Glued to a word, Discord still links from the scheme on (issue 18, item 8).
        ("Läs på1https://x.se/a", "Läs på1`https://x.se/a`"),
        ("x_https://x.se/a", "x\\_`https://x.se/a`"),
        ("Se éhttps://x.se/a.", "Se é`https://x.se/a`."),
        ("123://a.se/b", "123://a.se/b"),
        ("1://xhttps://a.se", "1://`xhttps://a.se`"),
    ],
)
def test_raw_urls_are_shown_but_neither_linked_nor_previewed(text, expected):
    assert escape(text) == expected


def test_a_quoted_raw_url_is_inert_in_the_answer():
    answer = _answer([Quote("Anmäl dig på https://example.org/anmalan i dag.", 0)], [_source(0)])
    description = format_answer(answer).embed_dicts()[0]["description"]
    assert "`https://example.org/anmalan`" in description
    assert not re.search(r"(?<!`)https://", description)


# ---------------------------------------------------------------- declines


def _declined(near: list[Source], language: str = "sv") -> Answer:
    text = "Det hittar jag inget om i kunskapsbasen."
    return Answer("Vad kostar det?", False, text, [], [], language, 0.2, near=near)


def test_a_decline_names_up_to_three_closest_documents_by_title_only():
    near = [_source(i, f"Nära {i}", url=f"https://x.se/{i}", location="s. 2") for i in range(5)]
    embed = format_answer(_declined(near)).embed_dicts()[0]
    assert embed["description"].splitlines() == [
        "Det hittar jag inget om i kunskapsbasen.",
        "",
        "De här dokumenten ligger närmast:",
        "• Nära 0",
        "• Nära 1",
        "• Nära 2",
    ]
    assert "fields" not in embed or embed["fields"] == []
    assert "Ordagranna citat" not in embed["footer"]["text"]
    assert "👍" not in embed["footer"]["text"]


def test_a_decline_without_close_documents_says_only_that():
    embed = format_answer(_declined([])).embed_dicts()[0]
    assert embed["description"] == "Det hittar jag inget om i kunskapsbasen."


def test_the_help_hint_is_added_to_the_footer_when_asked_for():
    plain = format_answer(CASES["one quote, one source"]).embed_dicts()[0]["footer"]["text"]
    hinted = format_answer(CASES["one quote, one source"], help_hint=True)
    assert "/hjälp" not in plain
    assert hinted.embed_dicts()[0]["footer"]["text"] == plain + " " + (
        "Skriv /hjälp för att se vad jag kan svara på och hur frågor sparas."
    )


def test_more_sources_show_the_left_out_and_nearby_documents_the_asker_may_see():
    from bot.formatting import format_more_sources

    crowded = _many(300, 200, 400)
    formatted = format_answer(crowded)
    assert formatted.left_out > 0
    crowded.near = [
        _source(900, "Offentlig granne", visibility="public"),
        _source(901, "Hemlig granne", visibility="internal"),
    ]
    public = format_more_sources(crowded, formatted.left_out, "sv", "public").to_dict()
    internal = format_more_sources(crowded, formatted.left_out, "sv", "internal").to_dict()
    shown_public = "\n".join(f["value"] for f in public["fields"])
    shown_internal = "\n".join(f["value"] for f in internal["fields"])
    assert "Offentlig granne" in shown_public and "Hemlig granne" not in shown_public
    assert "Hemlig granne" in shown_internal
    assert f"**[{300 - formatted.left_out + 1}]**" in shown_public
    assert embed_size(public) <= EMBED_TOTAL_LIMIT
    validate_message_body({"embeds": [public]})
    validate_message_body({"embeds": [internal]})


@pytest.mark.parametrize(
    ("contact", "shown"),
    [
        ("Ring kommunens växel, 0243-740 00.", "Ring kommunens växel, 0243-740 00."),
        (
            "@everyone <@123> **fet** https://x.se/a",
            "@\u200beveryone \\<@123\\> \\*\\*fet\\*\\* `https://x.se/a`",
        ),
        (
            "https://www.kommun.se/kontakt/",
            "[www.kommun.se/kontakt](https://www.kommun.se/kontakt/)",
        ),
        ("https://x.se/a_(b)", "[x.se/a\\_(b)](https://x.se/a_%28b%29)"),
        ("javascript://x.se", "`javascript://x.se`"),
    ],
)
def test_a_decline_ends_with_the_contact_safely(contact, shown):
    embed = format_answer(_declined([_source(1, "Nära")]), contact=contact).embed_dicts()[0]
    assert embed["description"].splitlines()[-2:] == ["", f"Vill du fråga en människa? {shown}"]
    assert "Nära" in embed["description"]


def test_an_answer_never_carries_the_contact():
    embed = format_answer(CASES["one quote, one source"], contact="Ring oss").embed_dicts()[0]
    assert "Ring oss" not in embed["description"]


def test_the_contact_line_survives_a_decline_that_fills_the_description():
    near = [_source(i, "N" * 119) for i in range(40)]
    embed = format_answer(_declined(near), near_limit=40, contact="Ring oss").embed_dicts()[0]
    assert embed["description"].endswith("Vill du fråga en människa? Ring oss")
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
