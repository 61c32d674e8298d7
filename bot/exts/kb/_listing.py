"""``/kb list``: the knowledge folder's documents with what the live index knows of them."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import discord

from bot.formatting import EMBED_COLOUR, clip, escape_inline, one_line
from bot.i18n import Language, t
from bot.locales.reasons import say_reason
from bot.services.knowledge import FileInfo, TrashEntry, format_size, list_documents
from bot.views import ExpiringView
from index.engine import Engine
from index.store import StoreError
from index.types import Visibility

log = logging.getLogger(__name__)

PAGE_SIZE = 10
LIST_TIMEOUT = 14 * 60  # an interaction's token lives 15 minutes


@dataclass(frozen=True)
class Listed:
    """A document file as /kb list shows it."""

    file: FileInfo
    visibility: Visibility | None
    chunks: int | None
    skipped: str | None
    title: str | None = None


def listed_documents(engine: Engine, knowledge_dir: Path) -> list[Listed]:
    """Return the documents with what the live index knows of them (blocking)."""
    files = list_documents(knowledge_dir)
    indexed: dict[str, tuple[Visibility, int]] = {}
    titles: dict[str, str] = {}
    skipped: dict[str, str] = {}
    try:
        documents = engine.documents()
        indexed = {d.doc_id: (d.visibility, d.chunks) for d in documents}
        titles = {d.doc_id: d.title for d in documents}
        skipped = {s.path: s.reason for s in engine.skipped_files()}
    except StoreError as exc:
        log.info("listing without an index: %s", exc)
    return [
        Listed(
            f,
            indexed[f.id][0] if f.id in indexed else None,
            indexed[f.id][1] if f.id in indexed else None,
            skipped.get(f.id),
            titles.get(f.id),
        )
        for f in files
    ]


def matching(entries: list[Listed], text: str) -> list[Listed]:
    """Return the entries whose document id or title contains ``text``, ignoring case."""
    wanted = text.strip().casefold()
    return [e for e in entries if wanted in f"{e.file.id}\n{e.title or ''}".casefold()]


def list_line(entry: Listed, language: Language) -> str:
    """Return one document's line: name, then visibility · size · chunks · last change."""
    parts = []
    if entry.visibility is not None:
        parts.append(t(f"visibility.{entry.visibility}", language))
    parts.append(format_size(entry.file.size))
    if entry.skipped is not None:
        parts.append(
            escape_inline(
                clip(
                    one_line(
                        t("kb.list.skipped", language, reason=say_reason(entry.skipped, language))
                    ),
                    120,
                )
            )
        )
    elif entry.chunks is None:
        parts.append(t("kb.list.not_indexed", language))
    else:
        parts.append(t("kb.list.chunks", language, n=entry.chunks))
    when = discord.utils.format_dt(datetime.fromtimestamp(entry.file.modified).astimezone(), "R")
    parts.append(t("kb.list.changed", language, when=when))
    return f"**{escape_inline(clip(entry.file.id, 200))}**\n" + " · ".join(parts)


def trash_label(entry: TrashEntry, language: Language) -> str:
    """Return how /kb restore offers a trash entry: its name, why and when it went."""
    when = datetime.fromtimestamp(entry.trashed_at).astimezone().strftime("%Y-%m-%d %H:%M")
    key = "kb.trash.replaced" if entry.reason == "replace" else "kb.trash.removed"
    suffix = f" · {t(key, language, when=when)}"
    return clip(entry.id, 100 - len(suffix)) + suffix


class ListView(ExpiringView):
    """Pages of /kb list with ◀ / ▶ buttons, for the admin who asked; gone on timeout."""

    def __init__(self, entries: list[Listed], language: Language, owner_id: int) -> None:
        super().__init__(timeout=LIST_TIMEOUT)
        self.entries = entries
        self.language = language
        self.owner_id = owner_id
        self.page = 0
        self.pages = max(1, -(-len(entries) // PAGE_SIZE))
        token = secrets.token_hex(4)
        self.previous_button: discord.ui.Button[ListView] = discord.ui.Button(
            label=t("kb.list.previous", language),
            emoji="◀️",
            style=discord.ButtonStyle.secondary,
            custom_id=f"kb:list:{token}:previous",
        )
        self.next_button: discord.ui.Button[ListView] = discord.ui.Button(
            label=t("kb.list.next", language),
            emoji="▶️",
            style=discord.ButtonStyle.secondary,
            custom_id=f"kb:list:{token}:next",
        )
        self.previous_button.callback = self._previous  # type: ignore[method-assign]
        self.next_button.callback = self._next  # type: ignore[method-assign]
        self.add_item(self.previous_button)
        self.add_item(self.next_button)
        self._update_buttons()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Let only the admin who listed turn the pages."""
        return interaction.user.id == self.owner_id

    async def _previous(self, interaction: discord.Interaction) -> None:
        await self._turn(interaction, -1)

    async def _next(self, interaction: discord.Interaction) -> None:
        await self._turn(interaction, +1)

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = min(max(0, self.page + step), self.pages - 1)
        self._update_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    def _update_buttons(self) -> None:
        self.previous_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.pages - 1

    def embed(self) -> discord.Embed:
        """Return the current page as an embed."""
        language = self.language
        embed = discord.Embed(
            title=t("kb.list.title", language, page=self.page + 1, pages=self.pages),
            colour=EMBED_COLOUR,
        )
        if not self.entries:
            embed.description = t("kb.list.empty", language)
            return embed
        shown = self.entries[self.page * PAGE_SIZE : (self.page + 1) * PAGE_SIZE]
        embed.description = clip("\n".join(list_line(e, language) for e in shown), 4096)
        public = sum(1 for e in self.entries if e.visibility == "public")
        internal = sum(1 for e in self.entries if e.visibility == "internal")
        embed.set_footer(
            text=t(
                "kb.list.footer",
                language,
                n=len(self.entries),
                public=public,
                internal=internal,
                size=format_size(sum(e.file.size for e in self.entries)),
            )
        )
        return embed
