"""The catalogues of texts, one module per language, and ``t`` to look one up.

Discord-free, so the command line can use it without importing discord.py.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from bot.locales import en, sv
from index.types import Language

if TYPE_CHECKING:  # the engine (numpy, FAISS) loads only when an answer is needed
    from index.answer import Phrases, QuestionError

# One catalogue per language (bot/locales/<language>.py), so that one editor can proofread
# all of a language's texts in one file. Both must have the same keys and fields (tested).
CATALOGUES: dict[Language, ModuleType] = {"sv": sv, "en": en}

# A text, or a counted text's forms: {"one": text when n == 1, "other": text otherwise}.
Text = str | dict[str, str]

# key -> {"sv": text, "en": text}: the lookup everything uses (and may extend).
STRINGS: dict[str, dict[Language, Text]] = {
    key: {"sv": sv.STRINGS[key], "en": en.STRINGS.get(key, sv.STRINGS[key])} for key in sv.STRINGS
}


def t(key: str, language: str, /, **values: object) -> str:
    """Return the text ``key`` in ``language`` (Swedish when unknown), formatted.

    A counted text (its forms in a dict) needs ``n``, the count: the form "one" is used
    when ``n`` is 1, "other" for every other count (0, 2 …), in Swedish and English alike.
    """
    texts = STRINGS[key]
    text = texts.get(language, texts["sv"])  # type: ignore[call-overload]
    if isinstance(text, dict):
        if "n" not in values:
            raise TypeError(f"{key} is a counted text: pass its count as n=")
        text = text[plural_form(values["n"])]
    return text.format(**values) if values else text


def plural_form(n: object) -> str:
    """Return the form a count takes in Swedish and English: "one" for 1, else "other"."""
    return "one" if n == 1 else "other"


def engine_phrases() -> dict[Language, Phrases]:
    """Return the words the engine writes around its quotes, by language, from the catalogues."""
    from index.answer import Phrases

    return {
        language: Phrases(
            abstain=t("answer.abstain", language),
            sources=t("answer.sources_heading", language),
            page=t("answer.page", language, page="{page}"),
            yes=t("answer.yes", language),
            source_says=t("answer.source_says", language),
            small_talk_greeting=t("answer.small_talk.greeting", language),
            small_talk_thanks=t("answer.small_talk.thanks", language),
            small_talk_help=t("answer.small_talk.help", language),
            small_talk_bye=t("answer.small_talk.bye", language),
        )
        for language in CATALOGUES
    }


def question_message(error: QuestionError) -> str:
    """Return why a question was not searched, in the question's language."""
    return t(f"question.{error.kind}", error.language, **error.details)
