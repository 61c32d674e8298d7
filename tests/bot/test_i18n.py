"""Strings exist in both languages; Swedish clients get Swedish command names."""

from __future__ import annotations

import re
import string

import discord
import pytest
from discord import app_commands

from bot.i18n import COMMAND_TEXTS, STRINGS, CommandTranslator, language_of_locale, t


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_string_has_both_languages_with_the_same_placeholders(key):
    texts = STRINGS[key]
    assert set(texts) == {"sv", "en"}
    fields = {
        lang: {f for _, f, _, _ in string.Formatter().parse(text) if f}
        for lang, text in texts.items()
    }
    assert fields["sv"] == fields["en"]


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
    assert t("rate_limited.user", "en", seconds=5).endswith("try again in 5 seconds.")
    assert t("rate_limited.user", "xx", seconds=5).endswith("igen om 5 sekunder.")


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
    ],
)
def test_the_swedish_catalogue_has_none_of_the_known_bad_wordings(jargon):
    from bot.locales import sv

    texts = [*sv.STRINGS.values(), *sv.COMMANDS.values()]
    assert not [text for text in texts if jargon in text]
