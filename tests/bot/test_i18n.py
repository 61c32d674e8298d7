"""Strings exist in both languages; Swedish clients get Swedish command names."""

from __future__ import annotations

import re
import string

import discord
import pytest
from discord import app_commands

from bot.i18n import COMMAND_TEXTS, STRINGS, CommandTranslator, language_of_locale, t


def _forms(text: str | dict[str, str]) -> list[str]:
    return list(text.values()) if isinstance(text, dict) else [text]


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_string_has_both_languages_with_the_same_placeholders(key):
    texts = STRINGS[key]
    assert set(texts) == {"sv", "en"}
    fields = [_fields(form) for text in texts.values() for form in _forms(text)]
    assert all(f == fields[0] for f in fields)
    counted = [isinstance(text, dict) for text in texts.values()]
    assert counted in ([True, True], [False, False])  # counted in both languages, or neither
    if counted[0]:
        assert all(set(text) == {"one", "other"} for text in texts.values())
        assert "n" in fields[0]


@pytest.mark.parametrize("key", sorted(k for k in COMMAND_TEXTS if k.endswith(".name")))
def test_command_names_are_valid_discord_names_in_both_languages(key):
    for name in COMMAND_TEXTS[key].values():
        assert re.fullmatch(r"[-_\w]{1,32}", name) and name == name.lower()


@pytest.mark.parametrize(
    ("key", "locale", "expected"),
    [
        ("ask.name", discord.Locale.swedish, "fråga"),
        ("ask.question.name", discord.Locale.swedish, "fråga"),
        ("reindex.name", discord.Locale.swedish, "omindexera"),
        ("ask.description", discord.Locale.swedish, "Ställ en fråga om nätverkets dokument"),
        ("ask.name", discord.Locale.american_english, None),
        ("ask.name", discord.Locale.finnish, None),
    ],
)
async def test_the_translator_gives_swedish_clients_swedish_texts(key, locale, expected):
    string_ = app_commands.locale_str(COMMAND_TEXTS[key]["en"], key=key)
    context = app_commands.TranslationContext(app_commands.TranslationContextLocation.other, None)
    assert await CommandTranslator().translate(string_, locale, context) == expected


async def test_unknown_strings_are_left_untranslated():
    context = app_commands.TranslationContext(app_commands.TranslationContextLocation.other, None)
    plain = app_commands.locale_str("whatever")
    assert await CommandTranslator().translate(plain, discord.Locale.swedish, context) is None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("sv-SE", "sv"), (discord.Locale.swedish, "sv"), ("en-US", "en"), ("fi", "en"), (None, "sv")],
)
def test_language_of_a_client_locale(locale, expected):
    assert language_of_locale(locale) == expected


def test_strings_are_formatted_in_the_language_asked_for():
    assert t("rate_limited.user", "en", n=5).endswith("try again in 5 seconds.")
    assert t("rate_limited.user", "xx", n=5).endswith("igen om 5 sekunder.")


def test_the_two_catalogues_have_exactly_the_same_keys():
    from bot.locales import en, sv

    assert set(sv.STRINGS) == set(en.STRINGS)
    assert set(sv.COMMANDS) == set(en.COMMANDS)


@pytest.mark.parametrize(
    "jargon",
    [
        "Bäddar in",
        "bäddar in",
        "inbäddade",
        "Byter till nya index",
        "Index redan",
        "Index byggt",
        "Svara med 👍",
        "ersätt: True",
        "Posta",
        "publik",
        # Issue 22: wordings replaced by Swedish that reads as Swedish.
        "Pröva att fråga",
        "med andra ord",
        "Närmast kom",
        "saltad hash",
        "för gammalt för knappen",
        "Läser in och indexerar",
        "läser in och indexerar",
        "Förlåt",
        "Nämn mig",
        "Frågor sedan start",
        "Den här servern har ställt",
        "tillståndsmapp",
        "språkmodellen",
        "prompter",
        "snedstreck",
        "borttagen {when}",
        "kan tas tillbaka med /kb",
    ],
)
def test_the_swedish_catalogue_has_none_of_the_known_bad_wordings(jargon):
    from bot.locales import sv

    texts = [form for text in sv.STRINGS.values() for form in _forms(text)]
    texts += sv.COMMANDS.values()
    assert not [text for text in texts if jargon in text]


# Every counted text, with the values it needs besides n, and its forms for 1 and for 2
# (0 takes the form of 2) in Swedish and English.
COUNTED = {
    "answer.more_sources": ({}, "1 källa till", "2 källor till", "1 more source", "2 more sources"),
    "rate_limited.user": ({}, "om 1 sekund.", "om 2 sekunder.", "in 1 second.", "in 2 seconds."),
    "rate_limited.guild": ({}, "om 1 sekund.", "om 2 sekunder.", "in 1 second.", "in 2 seconds."),
    "rate_limited.global": ({}, "om 1 sekund.", "om 2 sekunder.", "in 1 second.", "in 2 seconds."),
    "kb.removed": ({"name": "x"}, "i 1 dag ", "i 2 dagar ", "for 1 day ", "for 2 days "),
    "kb.list.footer": (
        {"public": 0, "internal": 0, "size": "1 kB"},
        "1 dokument ·",
        "2 dokument ·",
        "1 document ·",
        "2 documents ·",
    ),
    "kb.list.chunks": ({}, "1 avsnitt", "2 avsnitt", "1 chunk", "2 chunks"),
    "help.documents": ({}, "1 dokument", "2 dokument", "1 document", "2 documents"),
    "help.stored_text": ({}, "i 1 dag ", "i 2 dagar ", "for 1 day ", "for 2 days "),
    "help.follow_up.plain": ({}, "1 minut ", "2 minuter ", "1 minute ", "2 minutes "),
    "health.index.ok": ({"build": "b"}, "1 avsnitt)", "2 avsnitt)", "1 passage)", "2 passages)"),
    "cli.fetch.summary": (
        {"seconds": 1, "added": 0, "updated": 0, "unchanged": 0, "removed": 0, "failed": 0},
        "1 sida på",
        "2 sidor på",
        "1 page in",
        "2 pages in",
    ),
    "cli.synced": (
        {"where": "w", "names": "x"},
        "1 kommando registrerat",
        "2 kommandon registrerade",
        "Synced 1 command ",
        "Synced 2 commands ",
    ),
    "cli.eval.retrieval_misses": (
        {},
        "1 fråga utan",
        "2 frågor utan",
        "1 question ",
        "2 questions ",
    ),
    "cli.kb.moved": (
        {"id": "x", "key": "k"},
        "i 1 dag.",
        "i 2 dagar.",
        "for 1 day.",
        "for 2 days.",
    ),
    "count.row": ({}, "1 rad", "2 rader", "1 row", "2 rows"),
    "count.question": ({}, "1 fråga", "2 frågor", "1 question", "2 questions"),
    "count.vote": ({}, "1 röst", "2 röster", "1 vote", "2 votes"),
    "count.follow_up": ({}, "1 följdfråga", "2 följdfrågor", "1 follow-up", "2 follow-ups"),
    "count.logged_change": (
        {},
        "1 loggad ändring",
        "2 loggade ändringar",
        "1 logged change",
        "2 logged changes",
    ),
    "count.change": ({}, "1 ändring", "2 ändringar", "1 change", "2 changes"),
    "count.file": ({}, "1 fil", "2 filer", "1 file", "2 files"),
}


def test_every_counted_text_is_in_the_table():
    assert {key for key, texts in STRINGS.items() if isinstance(texts["sv"], dict)} == set(COUNTED)


@pytest.mark.parametrize("key", sorted(COUNTED))
@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.parametrize("language", ["sv", "en"])
def test_counted_texts_take_the_form_of_their_count(key, n, language):
    values, sv_one, sv_other, en_one, en_other = COUNTED[key]
    one, other = (sv_one, sv_other) if language == "sv" else (en_one, en_other)
    expected = one if n == 1 else other.replace("2", str(n), 1)
    assert expected in t(key, language, n=n, **values)


# A count in a plain text must not stand before a noun that takes a plural form.
_COUNT_BEFORE_NOUN = re.compile(
    r"\{\w+\} (tecken|characters|minuter|minutes|dagar|days|sekunder|seconds|dokument|"
    r"documents|frågor|questions|källor|sources|sidor|pages|avsnitt|chunks|passages|kommandon|"
    r"commands|röster|votes|rader|rows|filer|files)\b"
)
# "({length} tecken)": a question too long is at least 2 characters; "{limit} tecken" is
# the same word for 1 in Swedish, and the English text says "under {limit}".
# "{pages} sidor, fler än {limit}": more pages than a limit of at least 1 is at least 2.
_NOT_COUNTED = {"question.too_long", "reason.pdf_pages"}


def test_no_plain_text_puts_a_count_before_a_noun():
    found = [
        key
        for key, texts in STRINGS.items()
        for text in texts.values()
        if isinstance(text, str) and _COUNT_BEFORE_NOUN.search(text)
    ]
    assert set(found) <= _NOT_COUNTED


def test_a_counted_text_without_its_count_is_a_clear_error():
    with pytest.raises(TypeError, match="n="):
        t("help.documents", "sv")


@pytest.mark.parametrize(
    "jargon",
    ["re-embedded", "salted hash", "with other words", "too old for the button", "Try asking"],
)
def test_the_english_catalogue_has_none_of_the_known_bad_wordings(jargon):
    from bot.locales import en

    texts = [form for text in en.STRINGS.values() for form in _forms(text)]
    assert not [text for text in texts if jargon in text]


@pytest.mark.parametrize(
    ("key", "values", "swedish"),
    [
        ("answer.footer_declined", {}, "Försök formulera frågan på ett annat sätt."),
        (
            "kb.removed",
            {"name": "x", "n": 30},
            "Tog bort x. Dokumentet ligger i papperskorgen i 30 dagar och kan återställas"
            " med /kb återställ.",
        ),
        ("reindex.stage.embed", {}, "Indexerar avsnitt"),
        ("cli.progress.embed", {}, "indexerar avsnitt"),
        ("answer.near", {}, "De här dokumenten ligger närmast:"),
        ("answer.gone", {}, "Knappen fungerar inte längre för det här svaret. Ställ frågan igen."),
        ("status.questions", {}, "Frågor sedan boten startade"),
        ("cli.cmd.sync", {}, "registrera slash-kommandona hos Discord"),
        ("kb.trash.removed", {"when": "igår"}, "borttaget igår"),
    ],
)
def test_the_swedish_texts_of_issue_22(key, values, swedish):
    assert t(key, "sv", **values) == swedish
