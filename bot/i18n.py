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
    # Knowledge base: names, uploads, removals.
    "visibility.public": {"sv": "publik", "en": "public"},
    "visibility.internal": {"sv": "intern", "en": "internal"},
    "kb.name.empty": {
        "sv": "Filen har inget användbart namn. Byt namn på den och försök igen.",
        "en": "The file has no usable name. Rename it and try again.",
    },
    "kb.name.unsupported": {
        "sv": "Filtypen {suffix} kan kunskapsbasen inte läsa. Tillåtna filtyper: {supported}.",
        "en": "The knowledge base cannot read the file type {suffix}. Allowed: {supported}.",
    },
    "kb.name.no_suffix": {
        "sv": "Filnamnet saknar filändelse, så filtypen är okänd. Tillåtna filtyper: {supported}.",
        "en": "The file name has no extension, so its type is unknown. Allowed: {supported}.",
    },
    "kb.name.reserved": {
        "sv": "Namnet {name} hoppas över vid indexeringen. Byt namn på filen och försök igen.",
        "en": "The name {name} is skipped by indexing. Rename the file and try again.",
    },
    "kb.name.windows": {
        "sv": "Namnet {name} är reserverat i Windows och går inte att öppna där. Byt namn på filen"
        " och försök igen.",
        "en": "The name {name} is reserved on Windows and cannot be opened there. Rename the file"
        " and try again.",
    },
    "kb.add.empty": {
        "sv": "Filen är tom (0 byte). Inget sparades.",
        "en": "The file is empty (0 bytes). Nothing was saved.",
    },
    "kb.add.too_large": {
        "sv": "Filen är för stor ({size}); gränsen är {limit}. Inget sparades.",
        "en": "The file is too large ({size}); the limit is {limit}. Nothing was saved.",
    },
    "kb.add.unreadable": {
        "sv": "Filen går inte att läsa och sparades inte: {reason}",
        "en": "The file cannot be read and was not saved: {reason}",
    },
    "kb.add.exists": {
        "sv": "Det finns redan ett dokument som heter {name}. "
        "Välj ersätt: True för att byta ut det.",
        "en": "A document called {name} already exists. Choose replace: True to replace it.",
    },
    "kb.add.not_a_file": {
        "sv": "{name} finns redan i kunskapsmappen och är inte en fil.",
        "en": "{name} already exists in the knowledge folder and is not a file.",
    },
    "kb.add.download_failed": {
        "sv": "Filen kunde inte hämtas från Discord. Försök igen.",
        "en": "The file could not be downloaded from Discord. Please try again.",
    },
    "kb.add.saved": {
        "sv": "Sparade {name} ({visibility}, {size}).",
        "en": "Saved {name} ({visibility}, {size}).",
    },
    "kb.add.replaced": {
        "sv": "Ersatte {name} ({visibility}, {size}).",
        "en": "Replaced {name} ({visibility}, {size}).",
    },
    "kb.remove.missing": {
        "sv": "Det finns inget dokument som heter {name}.",
        "en": "There is no document called {name}.",
    },
    "kb.remove.web": {
        "sv": "{name} är en hämtad webbsida. Ta bort den ur sources.yaml i stället; "
        "kopian försvinner vid nästa hämtning.",
        "en": "{name} is a fetched web page. Remove it from sources.yaml instead; "
        "the copy goes at the next fetch.",
    },
    "kb.removed": {
        "sv": "Tog bort {name}. Den ligger i papperskorgen i {days} dagar och kan tas "
        "tillbaka med /kb återställ.",
        "en": "Removed {name}. It stays in the trash for {days} days and can be brought back "
        "with /kb restore.",
    },
    "kb.remove.confirm": {
        "sv": "Ta bort {name}? Dokumentet flyttas till papperskorgen och försvinner ur svaren.",
        "en": "Remove {name}? The document moves to the trash and leaves the answers.",
    },
    "kb.remove.yes": {"sv": "Ta bort", "en": "Remove"},
    "kb.remove.no": {"sv": "Avbryt", "en": "Cancel"},
    "kb.remove.cancelled": {"sv": "Inget togs bort.", "en": "Nothing was removed."},
    "kb.add.previous_kept": {
        "sv": "Den tidigare versionen ligger i papperskorgen (/kb återställ).",
        "en": "The previous version is in the trash (/kb restore).",
    },
    "kb.restore.missing": {
        "sv": "Det finns inget i papperskorgen som heter {name}.",
        "en": "There is nothing called {name} in the trash.",
    },
    "kb.restored": {"sv": "Återställde {name}.", "en": "Restored {name}."},
    "kb.restored.displaced": {
        "sv": "Versionen som låg där flyttades till papperskorgen.",
        "en": "The version that was there moved to the trash.",
    },
    "kb.trash.removed": {"sv": "borttagen {when}", "en": "removed {when}"},
    "kb.trash.replaced": {"sv": "ersatt {when}", "en": "replaced {when}"},
    "kb.source.refused": {
        "sv": "Adressen går inte att lägga till: {reason}. Inget sparades.",
        "en": "The address cannot be added: {reason}. Nothing was saved.",
    },
    "kb.source.bad_list": {
        "sv": "sources.yaml kunde inte ändras: {reason}. Inget sparades.",
        "en": "sources.yaml could not be changed: {reason}. Nothing was saved.",
    },
    "kb.source.added": {
        "sv": "Lade till {url} ({visibility}) i sources.yaml.",
        "en": "Added {url} ({visibility}) to sources.yaml.",
    },
    "kb.source.removed": {
        "sv": "Tog bort {url} ur sources.yaml, och den sparade kopian av sidan.",
        "en": "Removed {url} from sources.yaml, and the stored copy of the page.",
    },
    "kb.source.list.title": {"sv": "Webbkällor ({count})", "en": "Web sources ({count})"},
    "kb.source.list.empty": {
        "sv": "sources.yaml listar inga webbsidor. Lägg till en med /kb källa lägg-till.",
        "en": "sources.yaml lists no web pages. Add one with /kb source add.",
    },
    "kb.source.list.fetched": {"sv": "hämtad {when}", "en": "fetched {when}"},
    "kb.source.list.never": {"sv": "inte hämtad än", "en": "not fetched yet"},
    "kb.source.list.error": {"sv": "senaste hämtningen misslyckades", "en": "last fetch failed"},
    "kb.index_later": {
        "sv": "Indexet uppdateras av en annan process just nu; ändringen kommer med vid nästa "
        "omindexering.",
        "en": "Another process is updating the index right now; the change is included in the "
        "next reindex.",
    },
    # /kb list
    "kb.list.title": {
        "sv": "Dokument i kunskapsbasen ({page}/{pages})",
        "en": "Documents in the knowledge base ({page}/{pages})",
    },
    "kb.list.empty": {"sv": "Kunskapsmappen är tom.", "en": "The knowledge folder is empty."},
    "kb.list.footer": {
        "sv": "{count} dokument · {public} publika · {internal} interna · {size}",
        "en": "{count} documents · {public} public · {internal} internal · {size}",
    },
    "kb.list.chunks": {"sv": "{chunks} avsnitt", "en": "{chunks} chunks"},
    "kb.list.not_indexed": {"sv": "inte indexerad", "en": "not indexed"},
    "kb.list.skipped": {"sv": "överhoppad: {reason}", "en": "skipped: {reason}"},
    "kb.list.changed": {"sv": "ändrad {when}", "en": "changed {when}"},
    "kb.list.previous": {"sv": "Föregående", "en": "Previous"},
    "kb.list.next": {"sv": "Nästa", "en": "Next"},
    # /kb fetch and the sync
    "kb.fetch.none": {
        "sv": "sources.yaml listar inga webbsidor.",
        "en": "sources.yaml lists no web pages.",
    },
    "kb.fetch.bad_list": {
        "sv": "sources.yaml går inte att läsa: {reason}",
        "en": "sources.yaml cannot be read: {reason}",
    },
    "kb.fetch.summary": {
        "sv": "Webbsidor: {added} nya, {updated} ändrade, {unchanged} oförändrade, "
        "{removed} borttagna, {failed} misslyckade.",
        "en": "Web pages: {added} new, {updated} changed, {unchanged} unchanged, "
        "{removed} removed, {failed} failed.",
    },
    "kb.fetch.failed": {
        "sv": "Misslyckades (senaste fungerande kopia behålls):",
        "en": "Failed (the last good copy is kept):",
    },
    "sync.reindexed": {
        "sv": "Kunskapsmappen har ändrats och indexet är uppdaterat. Ändrade filer: {files}",
        "en": "The knowledge folder changed and the index is updated. Changed files: {files}",
    },
    # /kb report
    "kb.report.title": {
        "sv": "Veckorapport {since} – {until}",
        "en": "Weekly report {since} – {until}",
    },
    "kb.report.asked": {"sv": "Frågor", "en": "Questions"},
    "kb.report.answered": {"sv": "Besvarade", "en": "Answered"},
    "kb.report.answered_value": {"sv": "{answered} ({share})", "en": "{answered} ({share})"},
    "kb.report.latency": {"sv": "Mediantid till svar", "en": "Median time to answer"},
    "kb.report.gaps": {
        "sv": "Vanligaste obesvarade frågorna",
        "en": "Most frequent unanswered questions",
    },
    "kb.report.cited": {"sv": "Mest citerade dokument", "en": "Most cited documents"},
    "kb.report.feedback": {"sv": "👍 / 👎 per dokument", "en": "👍 / 👎 per document"},
    "kb.report.guilds": {"sv": "Per server", "en": "Per server"},
    "kb.report.direct": {"sv": "direktmeddelanden", "en": "direct messages"},
    "kb.report.none": {"sv": "inga", "en": "none"},
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
    "kb.add.name": {"en": "add", "sv": "lägg-till"},
    "kb.add.description": {
        "en": "Add a document to the knowledge base and reindex",
        "sv": "Lägg till ett dokument i kunskapsbasen och indexera om",
    },
    "kb.add.file.name": {"en": "file", "sv": "fil"},
    "kb.add.file.description": {
        "en": "Markdown, text, HTML, PDF or Word (.docx)",
        "sv": "Markdown, text, HTML, PDF eller Word (.docx)",
    },
    "kb.add.visibility.name": {"en": "visibility", "sv": "synlighet"},
    "kb.add.visibility.description": {
        "en": "Who may get answers from it",
        "sv": "Vilka som får svar ur dokumentet",
    },
    "kb.add.replace.name": {"en": "replace", "sv": "ersätt"},
    "kb.add.replace.description": {
        "en": "Replace a document of the same name",
        "sv": "Ersätt ett dokument med samma namn",
    },
    "kb.visibility.public": {"en": "public (everyone)", "sv": "publik (alla)"},
    "kb.visibility.internal": {"en": "internal (staff only)", "sv": "intern (bara personal)"},
    "kb.remove.name": {"en": "remove", "sv": "ta-bort"},
    "kb.remove.description": {
        "en": "Remove a document from the knowledge base and reindex",
        "sv": "Ta bort ett dokument ur kunskapsbasen och indexera om",
    },
    "kb.remove.document.name": {"en": "document", "sv": "dokument"},
    "kb.remove.document.description": {
        "en": "The document's name (path under knowledge/)",
        "sv": "Dokumentets namn (sökväg under knowledge/)",
    },
    "kb.list.name": {"en": "list", "sv": "lista"},
    "kb.list.description": {
        "en": "List the documents: visibility, size, chunks, last change",
        "sv": "Lista dokumenten: synlighet, storlek, avsnitt, senaste ändring",
    },
    "kb.fetch.name": {"en": "fetch", "sv": "hämta"},
    "kb.fetch.description": {
        "en": "Fetch the web pages listed in sources.yaml and reindex",
        "sv": "Hämta webbsidorna i sources.yaml och indexera om",
    },
    "kb.restore.name": {"en": "restore", "sv": "återställ"},
    "kb.restore.description": {
        "en": "Bring back a removed document, or the previous version of a replaced one",
        "sv": "Ta tillbaka ett borttaget dokument, eller den förra versionen av ett ersatt",
    },
    "kb.restore.document.name": {"en": "document", "sv": "dokument"},
    "kb.restore.document.description": {
        "en": "The document in the trash",
        "sv": "Dokumentet i papperskorgen",
    },
    "kb.source.name": {"en": "source", "sv": "källa"},
    "kb.source.description": {
        "en": "The web pages of sources.yaml",
        "sv": "Webbsidorna i sources.yaml",
    },
    "kb.source.add.name": {"en": "add", "sv": "lägg-till"},
    "kb.source.add.description": {
        "en": "Add a web page to sources.yaml and fetch it",
        "sv": "Lägg till en webbsida i sources.yaml och hämta den",
    },
    "kb.source.url.name": {"en": "url", "sv": "adress"},
    "kb.source.url.description": {
        "en": "The page's address (http or https)",
        "sv": "Sidans adress (http eller https)",
    },
    "kb.source.visibility.description": {
        "en": "Who may see answers from the page",
        "sv": "Vilka som får se svar från sidan",
    },
    "kb.source.remove.name": {"en": "remove", "sv": "ta-bort"},
    "kb.source.remove.description": {
        "en": "Remove a web page from sources.yaml, with its stored copy",
        "sv": "Ta bort en webbsida ur sources.yaml, med den sparade kopian",
    },
    "kb.source.list.name": {"en": "list", "sv": "lista"},
    "kb.source.list.description": {
        "en": "Show the web pages of sources.yaml",
        "sv": "Visa webbsidorna i sources.yaml",
    },
    "kb.report.name": {"en": "report", "sv": "rapport"},
    "kb.report.description": {
        "en": "Post the week's summary of questions, with a chart",
        "sv": "Posta veckans sammanfattning av frågorna, med diagram",
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
