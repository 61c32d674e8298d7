"""Swedish and English texts of the bot, the CLI and the reports; Swedish command names.

Every text the project writes itself (not quoted from a document) lives in one catalogue
per language, ``bot/locales/sv.py`` and ``bot/locales/en.py``: plain Python dicts rather
than gettext ``.po`` files, so there is no compile step or extra tool, a missing key or a
mismatched ``{field}`` is caught by a test, and one person can proofread one file.
``t(key, language)`` looks a text up. The engine (index/) writes no text of its own: the
few words around its quotes (``answer.abstain``, ``answer.sources_heading``,
``answer.page``) reach it as ``Phrases`` from :func:`bot.locales.engine_phrases`, a refused
question is a ``QuestionError`` with a kind that :func:`bot.locales.question_message` says,
and argparse's own messages are translated by message id to ``cli.arg.*`` texts
(``bot/cli/parser.py``).
Slash commands are declared in English with ``locale_str`` keys; the ``CommandTranslator``
gives Swedish clients (locale ``sv-SE``) their Swedish names and descriptions, so
``/ask question:`` shows as ``/fråga fråga:``.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.locales import CATALOGUES, STRINGS, Language, en, sv, t

__all__ = ["CATALOGUES", "COMMAND_TEXTS", "STRINGS", "CommandTranslator", "Language", "t"]

# Slash command texts, by locale_str key: English is the default, Swedish for sv-SE.
COMMAND_TEXTS: dict[str, dict[Language, str]] = {
    key: {"en": en.COMMANDS[key], "sv": sv.COMMANDS.get(key, en.COMMANDS[key])}
    for key in en.COMMANDS
}

log = logging.getLogger(__name__)


def command_text(key: str) -> app_commands.locale_str:
    """Return the English text of a slash command string as a translatable ``locale_str``."""
    return app_commands.locale_str(COMMAND_TEXTS[key]["en"], key=key)


def language_of_locale(locale: discord.Locale | str | None) -> Language:
    """Return "sv" for Swedish clients and no locale, "en" for every other locale."""
    value = getattr(locale, "value", locale)
    if not value or str(value).startswith("sv"):
        return "sv"
    return "en"


class CommandTranslator(app_commands.Translator):
    """Gives slash commands their Swedish names and descriptions for ``sv-SE`` clients."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """Return the Swedish text for a command string, or None to keep the English one."""
        if locale is not discord.Locale.swedish:
            return None
        key = string.extras.get("key")
        texts = COMMAND_TEXTS.get(key) if isinstance(key, str) else None
        if texts is None:
            log.debug("no Swedish text for %r (%s)", string.message, context.location)
            return None
        return texts["sv"]
