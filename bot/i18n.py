"""Swedish and English strings of the bot, and the Swedish names of its slash commands.

Every text the bot writes itself (not quoted from a document) comes from ``STRINGS`` in
both languages. Slash commands are declared in English with ``locale_str`` keys; the
``CommandTranslator`` gives Swedish clients (locale ``sv-SE``) their Swedish names and
descriptions, so ``/ask question:`` shows as ``/fråga fråga:``.
"""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands

log = logging.getLogger(__name__)

Language = Literal["sv", "en"]

STRINGS: dict[str, dict[Language, str]] = {
    # Answers.
    "answer.sources": {"sv": "Källor", "en": "Sources"},
    "answer.sources_more": {"sv": "Källor (forts.)", "en": "Sources (cont.)"},
    "answer.more_sources": {"sv": "… och {count} källor till", "en": "… and {count} more sources"},
    "answer.footer": {
        "sv": "Ordagranna citat ur nätverkets dokument. Hjälpte svaret? Svara med 👍 eller 👎.",
        "en": "Quoted word for word from the network's documents. Did it help? Vote 👍 or 👎.",
    },
    "answer.footer_cut": {
        "sv": "Svaret är förkortat: läs resten i källorna. Hjälpte det? Svara med 👍 eller 👎.",
        "en": "The answer is shortened: read the rest in the sources. Did it help? Vote 👍 or 👎.",
    },
    "answer.omitted": {"sv": "[…]", "en": "[…]"},
    # Feedback buttons.
    "feedback.up": {"sv": "Bra svar", "en": "Helpful"},
    "feedback.down": {"sv": "Dåligt svar", "en": "Not helpful"},
    "feedback.recorded": {
        "sv": "Tack! Din röst ({emoji}) är sparad.",
        "en": "Thank you! Your vote ({emoji}) is saved.",
    },
    "feedback.changed": {
        "sv": "Din röst är ändrad till {emoji}.",
        "en": "Your vote is changed to {emoji}.",
    },
    "feedback.same": {
        "sv": "Du har redan röstat {emoji} på det här svaret.",
        "en": "You have already voted {emoji} on this answer.",
    },
    "feedback.missing": {
        "sv": "Det här svaret finns inte längre kvar, så rösten kan inte sparas.",
        "en": "This answer is no longer on record, so the vote cannot be saved.",
    },
    # Limits and refusals.
    "rate_limited.user": {
        "sv": "Du har ställt många frågor på kort tid. Försök igen om {seconds} sekunder.",
        "en": "You have asked many questions in a short time. "
        "Please try again in {seconds} seconds.",
    },
    "rate_limited.guild": {
        "sv": "Den här servern har ställt många frågor på kort tid. "
        "Försök igen om {seconds} sekunder.",
        "en": "This server has asked many questions in a short time. "
        "Please try again in {seconds} seconds.",
    },
    "not_admin": {
        "sv": "Det här kommandot är bara för administratörer på personalens server.",
        "en": "This command is only for administrators on the staff server.",
    },
    "guild_only": {
        "sv": "Det här kommandot fungerar bara på en server, inte i direktmeddelanden.",
        "en": "This command only works on a server, not in direct messages.",
    },
    # Errors.
    "error.generic": {
        "sv": "Förlåt, något gick fel när jag skulle svara. Försök igen om en stund.",
        "en": "Sorry, something went wrong while answering. Please try again in a while.",
    },
    "error.no_index": {
        "sv": "Kunskapsbasen är inte indexerad än. Be en administratör köra /omindexera.",
        "en": "The knowledge base is not indexed yet. Ask an administrator to run /reindex.",
    },
    "error.store": {
        "sv": "Kunskapsbasen går inte att läsa just nu. En administratör har fått veta det.",
        "en": "The knowledge base cannot be read right now. An administrator has been told.",
    },
    "error.not_ready": {
        "sv": "Jag håller fortfarande på att starta. Försök igen om en liten stund.",
        "en": "I am still starting up. Please try again in a little while.",
    },
    # Reindex.
    "reindex.started": {"sv": "Omindexering startad …", "en": "Reindex started …"},
    "reindex.running": {
        "sv": "En omindexering pågår redan (startade för {seconds} s sedan). "
        "Vänta tills den är klar.",
        "en": "A reindex is already running (started {seconds} s ago). Wait for it to finish.",
    },
    "reindex.locked": {
        "sv": "En omindexering pågår redan i en annan process. Vänta tills den är klar.",
        "en": "A reindex is already running in another process. Wait for it to finish.",
    },
    "reindex.stage.scan": {"sv": "Letar efter dokument", "en": "Looking for documents"},
    "reindex.stage.read": {"sv": "Läser dokument", "en": "Reading documents"},
    "reindex.stage.embed": {"sv": "Bäddar in avsnitt", "en": "Embedding passages"},
    "reindex.stage.write": {"sv": "Skriver index", "en": "Writing the index"},
    "reindex.stage.swap": {"sv": "Byter till nya index", "en": "Switching to the new index"},
    "reindex.stage.done": {"sv": "Klar", "en": "Done"},
    "reindex.progress": {
        "sv": "Omindexering pågår ({elapsed} s): {stage} {done}/{total}",
        "en": "Reindexing ({elapsed} s): {stage} {done}/{total}",
    },
    "reindex.built": {"sv": "Index byggt: {build}", "en": "Index built: {build}"},
    "reindex.unchanged": {"sv": "Index redan aktuellt", "en": "Index up to date"},
    "summary.documents": {"sv": "dokument", "en": "documents"},
    "summary.chunks": {"sv": "avsnitt", "en": "chunks"},
    "summary.embedded": {"sv": "nyinbäddade", "en": "re-embedded"},
    "summary.reused": {"sv": "återanvända", "en": "reused"},
    "summary.changes": {"sv": "tillagda / ändrade / borttagna", "en": "added / updated / removed"},
    "summary.skipped": {"sv": "överhoppade", "en": "skipped"},
    "summary.seconds": {"sv": "sekunder", "en": "seconds"},
    "summary.skipped_file": {"sv": "överhoppad", "en": "skipped"},
    "summary.more_skipped": {"sv": "… och {count} till", "en": "… and {count} more"},
    # Status.
    "status.title": {"sv": "Kunskapsbasen", "en": "Knowledge base"},
    "status.model": {"sv": "Modell", "en": "Model"},
    "status.documents": {"sv": "Dokument", "en": "Documents"},
    "status.documents_value": {
        "sv": "{total} ({public} publika, {internal} interna)",
        "en": "{total} ({public} public, {internal} internal)",
    },
    "status.chunks": {"sv": "Avsnitt", "en": "Chunks"},
    "status.built_at": {"sv": "Senast indexerad", "en": "Last indexed"},
    "status.size": {"sv": "Indexets storlek", "en": "Index size"},
    "status.questions": {"sv": "Frågor sedan start", "en": "Questions since start"},
    "status.questions_value": {
        "sv": "{asked} ({answered} besvarade)",
        "en": "{asked} ({answered} answered)",
    },
}

# Slash command texts, by locale_str key: English is the default, Swedish for sv-SE.
COMMAND_TEXTS: dict[str, dict[Language, str]] = {
    "ask.name": {"en": "ask", "sv": "fråga"},
    "ask.description": {
        "en": "Ask a question about the network's documents",
        "sv": "Ställ en fråga om nätverkets dokument",
    },
    "ask.question.name": {"en": "question", "sv": "fråga"},
    "ask.question.description": {
        "en": "Your question, in Swedish or English",
        "sv": "Din fråga, på svenska eller engelska",
    },
    "reindex.name": {"en": "reindex", "sv": "omindexera"},
    "reindex.description": {
        "en": "Update the index from the knowledge folder (admins)",
        "sv": "Uppdatera indexet från kunskapsmappen (administratörer)",
    },
    "kb.name": {"en": "kb", "sv": "kb"},
    "kb.description": {
        "en": "The knowledge base (admins)",
        "sv": "Kunskapsbasen (administratörer)",
    },
    "kb.status.name": {"en": "status", "sv": "status"},
    "kb.status.description": {
        "en": "Show what is indexed, when and how big",
        "sv": "Visa vad som är indexerat, när och hur stort",
    },
}


def t(key: str, language: str, **values: object) -> str:
    """Return the bot's string ``key`` in ``language`` (Swedish when unknown), formatted."""
    texts = STRINGS[key]
    text = texts.get(language, texts["sv"])  # type: ignore[call-overload]
    return text.format(**values) if values else text


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
