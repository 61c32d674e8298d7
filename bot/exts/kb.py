"""``/kb``: the knowledge base for staff-guild admins.

Subcommands: status, add, remove, restore, list, fetch, report, and ``source add|remove|list``
for the web pages of ``sources.yaml``.

Every subcommand is guild-only, hidden by default permissions (Manage Server) and checked
with ``admin_only`` (the configured admin roles also pass; other guilds are refused).
The work happens off the event loop: attachments are downloaded with aiohttp, files are
parsed and written on worker threads (:mod:`bot.services.knowledge`), web pages are fetched with
aiohttp (:mod:`bot.services.sources`), reports are built from a read-only connection
(:mod:`bot.services.report`) and the index is updated on the reindex thread. One change to the
knowledge folder runs at a time; each is logged in the state database (who as the salted
hash, what, when) and followed by an incremental reindex whose summary is the reply.
A removal is confirmed with a button first; removed documents and replaced versions go
to the trash in the state folder, from where ``/kb restore`` brings them back.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.access import admin_only, interaction_visibility, is_admin
from bot.client import NO_MENTIONS, NatverksBot, add_staff_cog
from bot.formatting import (
    EMBED_COLOUR,
    clip,
    format_build_summary,
    format_notice,
    format_status,
    one_line,
)
from bot.i18n import Language, command_text, language_of_locale, t
from bot.services.knowledge import (
    FileInfo,
    KnowledgeError,
    TrashEntry,
    check_size,
    format_size,
    is_web_page,
    list_documents,
    list_trash,
    prepare_upload,
    removable_document,
    restore_document,
    sanitise_name,
    store_document,
    trash_document,
)
from bot.services.records import DATABASE_NAME, ChangeRecord
from bot.services.report import Report, build_report, render_png
from bot.services.sources import (
    FetchReport,
    SourcesError,
    UnsafeURLError,
    add_source,
    check_url_resolves,
    fetch_sources,
    fetched_pages,
    load_sources,
    remove_source,
)
from bot.views import ExpiringView
from index.build import BuildSummary
from index.store import IndexLockedError, StoreError

log = logging.getLogger(__name__)

ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)
PAGE_SIZE = 10
LIST_TIMEOUT = 14 * 60  # an interaction's token lives 15 minutes
CONFIRM_TIMEOUT = 5 * 60
AUTOCOMPLETE_CHOICES = 25
CHOICE_LIMIT = 100
REPORT_DAYS = 7
REPORT_TOP = 5
REPORT_IMAGE = "report.png"


_MARKDOWN = re.compile(r"([\\*_~|`\[\]<>#])")
_MASS_MENTION = re.compile(r"@(everyone|here)")


def escape_inline(text: str) -> str:
    """Return ``text`` safe inside a line: no markdown, links, mentions or timestamps act.

    Unlike :func:`bot.formatting.escape` it adds nothing for line-start markers ("1.",
    "-"), which only act at the start of a line and would show as a stray backslash.
    """
    return _MASS_MENTION.sub("@\u200b\\1", _MARKDOWN.sub(r"\\\1", text))


@dataclass(frozen=True)
class _Listed:
    """A document file as /kb list shows it."""

    file: FileInfo
    visibility: str | None
    chunks: int | None
    skipped: str | None


class KnowledgeCog(commands.Cog):
    """The /kb commands: the knowledge base's status and contents, for admins."""

    kb = app_commands.Group(
        name=command_text("kb.name"),
        description=command_text("kb.description"),
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=ADMIN_PERMISSIONS,
    )

    source = app_commands.Group(
        name=command_text("kb.source.name"),
        description=command_text("kb.source.description"),
        parent=kb,
    )

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot
        self._changing = asyncio.Lock()

    # -- status --------------------------------------------------------------------

    @kb.command(
        name=command_text("kb.status.name"), description=command_text("kb.status.description")
    )
    @admin_only()
    async def status(self, interaction: discord.Interaction) -> None:
        """Show model, documents, chunks, last indexed, index size, questions since start."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        engine = self.bot.require_engine()
        info = await self.bot.run_engine(engine.status)
        embed = format_status(
            info, self.bot.questions_since_start, self.bot.answered_since_start, language
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # -- add -----------------------------------------------------------------------

    @kb.command(name=command_text("kb.add.name"), description=command_text("kb.add.description"))
    @app_commands.rename(
        file=command_text("kb.add.file.name"),
        visibility=command_text("kb.add.visibility.name"),
        replace=command_text("kb.add.replace.name"),
    )
    @app_commands.describe(
        file=command_text("kb.add.file.description"),
        visibility=command_text("kb.add.visibility.description"),
        replace=command_text("kb.add.replace.description"),
    )
    @app_commands.choices(
        visibility=[
            app_commands.Choice(name=command_text("kb.visibility.public"), value="public"),
            app_commands.Choice(name=command_text("kb.visibility.internal"), value="internal"),
        ]
    )
    @admin_only()
    async def add(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        visibility: str,
        replace: bool = False,
    ) -> None:
        """Check, store and index an uploaded document; reply with the reindex summary."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = self.bot.config
        limit = int(config.discord.max_upload_mb * 1_000_000)
        chosen = "public" if visibility == "public" else "internal"
        try:
            name = sanitise_name(file.filename)
            check_size(file.size, limit)  # Discord says the size: refuse before downloading
            try:
                data = await file.read()
            except discord.HTTPException as exc:
                log.warning("could not download attachment %s: %s", file.id, exc)
                await self._reply(interaction, t("kb.add.download_failed", language))
                return
            async with self._changing:
                prepared, _ = await asyncio.to_thread(
                    prepare_upload,
                    name,
                    data,
                    chosen,
                    max_bytes=limit,
                    limits=config.documents.limits(),
                )
                stored = await asyncio.to_thread(
                    store_document,
                    config.knowledge_dir,
                    name,
                    prepared,
                    chosen,
                    replace=replace,
                    trash_dir=config.trash_dir,
                )
                await self._log(
                    interaction,
                    "replace" if stored.replaced else "add",
                    stored.id,
                    visibility=stored.visibility,
                    size=stored.size,
                    sha256=stored.sha256,
                    detail=file.filename if file.filename != stored.id else None,
                )
                summary = await self._reindex()
        except KnowledgeError as exc:
            log.info("refused /kb add of %r: %s", file.filename, exc)
            values = {k: escape_inline(str(v)) for k, v in exc.values.items()}
            await self._reply(interaction, t(exc.key, language, **values))
            return
        header = t(
            "kb.add.replaced" if stored.replaced else "kb.add.saved",
            language,
            name=f"**{escape_inline(stored.id)}**",
            visibility=t(f"visibility.{stored.visibility}", language),
            size=format_size(stored.size),
        )
        if stored.previous is not None:
            header += " " + t("kb.add.previous_kept", language)
        await self._reply_reindexed(interaction, header, summary)

    # -- remove --------------------------------------------------------------------

    @kb.command(
        name=command_text("kb.remove.name"), description=command_text("kb.remove.description")
    )
    @app_commands.rename(document=command_text("kb.remove.document.name"))
    @app_commands.describe(document=command_text("kb.remove.document.description"))
    @admin_only()
    async def remove(self, interaction: discord.Interaction, document: str) -> None:
        """Ask for confirmation, then move a document to the trash and reindex."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = self.bot.config
        try:
            info = await asyncio.to_thread(removable_document, config.knowledge_dir, document)
            name = f"**{escape_inline(info.id)}**"
            view = _ConfirmView(language, interaction.user.id)
            await interaction.followup.send(
                format_notice(t("kb.remove.confirm", language, name=name)),
                view=view,
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
                wait=True,
            )
            if await view.wait() or not view.confirmed:
                await self._reply(interaction, t("kb.remove.cancelled", language))
                return
            async with self._changing:
                removed = await asyncio.to_thread(
                    trash_document, config.knowledge_dir, config.trash_dir, info.id
                )
                await self._log(
                    interaction,
                    "remove",
                    removed.id,
                    visibility=removed.visibility,
                    size=removed.size,
                    detail=f"trash {removed.key}",
                )
                summary = await self._reindex()
        except KnowledgeError as exc:
            log.info("refused /kb remove of %r: %s", document, exc)
            values = {k: f"**{escape_inline(str(v))}**" for k, v in exc.values.items()}
            await self._reply(interaction, t(exc.key, language, **values))
            return
        text = t(
            "kb.removed",
            language,
            name=f"**{escape_inline(removed.id)}**",
            days=config.knowledge.trash_days,
        )
        await self._reply_reindexed(interaction, text, summary)

    # -- restore -------------------------------------------------------------------

    @kb.command(
        name=command_text("kb.restore.name"), description=command_text("kb.restore.description")
    )
    @app_commands.rename(document=command_text("kb.restore.document.name"))
    @app_commands.describe(document=command_text("kb.restore.document.description"))
    @admin_only()
    async def restore(self, interaction: discord.Interaction, document: str) -> None:
        """Bring a document back from the trash (the current version goes there) and reindex."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = self.bot.config
        try:
            async with self._changing:
                restored = await asyncio.to_thread(
                    restore_document, config.knowledge_dir, config.trash_dir, document
                )
                entry = restored.entry
                await self._log(
                    interaction,
                    "restore",
                    entry.id,
                    visibility=entry.visibility,
                    size=entry.size,
                    detail=f"trash {entry.key}",
                )
                summary = await self._reindex()
        except KnowledgeError as exc:
            log.info("refused /kb restore of %r: %s", document, exc)
            values = {k: f"**{escape_inline(str(v))}**" for k, v in exc.values.items()}
            await self._reply(interaction, t(exc.key, language, **values))
            return
        text = t("kb.restored", language, name=f"**{escape_inline(entry.id)}**")
        if restored.displaced is not None:
            text += " " + t("kb.restored.displaced", language)
        await self._reply_reindexed(interaction, text, summary)

    @restore.autocomplete("document")
    async def _trash_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Return the trash entries whose name contains what the admin typed (admins only)."""
        if not self._may_administer(interaction):
            return []
        language = language_of_locale(interaction.locale)
        needle = (current or "").casefold()
        entries = await asyncio.to_thread(list_trash, self.bot.config.trash_dir)
        choices = []
        for entry in entries:
            if needle not in entry.id.casefold():
                continue
            choices.append(app_commands.Choice(name=_trash_label(entry, language), value=entry.key))
            if len(choices) == AUTOCOMPLETE_CHOICES:
                break
        return choices

    def _may_administer(self, interaction: discord.Interaction) -> bool:
        roles = [role.id for role in getattr(interaction.user, "roles", [])]
        return is_admin(
            self.bot.config.discord, interaction.guild_id, roles, interaction.permissions
        )

    # -- sources -------------------------------------------------------------------

    @source.command(
        name=command_text("kb.source.add.name"),
        description=command_text("kb.source.add.description"),
    )
    @app_commands.rename(
        url=command_text("kb.source.url.name"),
        visibility=command_text("kb.add.visibility.name"),
    )
    @app_commands.describe(
        url=command_text("kb.source.url.description"),
        visibility=command_text("kb.source.visibility.description"),
    )
    @app_commands.choices(
        visibility=[
            app_commands.Choice(name=command_text("kb.visibility.public"), value="public"),
            app_commands.Choice(name=command_text("kb.visibility.internal"), value="internal"),
        ]
    )
    @admin_only()
    async def source_add(self, interaction: discord.Interaction, url: str, visibility: str) -> None:
        """Check a web address, add it to sources.yaml, fetch the page once and reindex."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = self.bot.config
        chosen = "public" if visibility == "public" else "internal"
        url = url.strip()
        allowed = config.sources.allowed_hosts
        try:
            await check_url_resolves(url, allowed)
            async with self._changing:
                await asyncio.to_thread(
                    add_source, config.knowledge_dir, url, chosen, allowed_hosts=allowed
                )
                await self._log(interaction, "source-add", url, visibility=chosen, detail=url)
                report = await fetch_web_sources(self.bot, only_urls={url})
                for result in report.results:
                    if result.outcome in ("added", "updated", "removed"):
                        await self._log(
                            interaction, f"fetch-{result.outcome}", result.doc_id, detail=url
                        )
                summary = await self._reindex() if report.changed else None
        except UnsafeURLError as exc:
            log.info("refused /kb source add of %r: %s", url, exc)
            reason = escape_inline(clip(str(exc), 300))
            await self._reply(interaction, t("kb.source.refused", language, reason=reason))
            return
        except SourcesError as exc:
            reason = escape_inline(clip(str(exc), 300))
            await self._reply(interaction, t("kb.source.bad_list", language, reason=reason))
            return
        text = t(
            "kb.source.added",
            language,
            url=f"<{clip(url, 300)}>",
            visibility=t(f"visibility.{chosen}", language),
        )
        text += "\n" + format_fetch_report(report, language)
        if report.changed:
            await self._reply_reindexed(interaction, text, summary)
        else:
            await self._reply(interaction, text)

    @source.command(
        name=command_text("kb.source.remove.name"),
        description=command_text("kb.source.remove.description"),
    )
    @app_commands.rename(url=command_text("kb.source.url.name"))
    @app_commands.describe(url=command_text("kb.source.url.description"))
    @admin_only()
    async def source_remove(self, interaction: discord.Interaction, url: str) -> None:
        """Remove a web page from sources.yaml with its stored copy, and reindex."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            async with self._changing:
                removed = await asyncio.to_thread(remove_source, self.bot.config.knowledge_dir, url)
                await self._log(interaction, "source-remove", removed.url, detail=removed.url)
                summary = await self._reindex()
        except SourcesError as exc:
            reason = escape_inline(clip(str(exc), 300))
            await self._reply(interaction, t("kb.source.bad_list", language, reason=reason))
            return
        text = t("kb.source.removed", language, url=f"<{clip(removed.url, 300)}>")
        await self._reply_reindexed(interaction, text, summary)

    @source_remove.autocomplete("url")
    async def _source_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Return the listed pages whose address contains what the admin typed (admins only)."""
        if not self._may_administer(interaction):
            return []
        needle = (current or "").casefold()
        try:
            sources = await asyncio.to_thread(load_sources, self.bot.config.knowledge_dir)
        except SourcesError:
            return []
        urls = [s.url for s in sources if needle in s.url.casefold() and len(s.url) <= 100]
        return [app_commands.Choice(name=u, value=u) for u in urls[:AUTOCOMPLETE_CHOICES]]

    @source.command(
        name=command_text("kb.source.list.name"),
        description=command_text("kb.source.list.description"),
    )
    @admin_only()
    async def source_list(self, interaction: discord.Interaction) -> None:
        """Show the pages of sources.yaml: address, visibility, when last fetched."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        root = self.bot.config.knowledge_dir
        try:
            sources = await asyncio.to_thread(load_sources, root)
        except SourcesError as exc:
            reason = escape_inline(clip(str(exc), 300))
            await self._reply(interaction, t("kb.fetch.bad_list", language, reason=reason))
            return
        if not sources:
            await self._reply(interaction, t("kb.source.list.empty", language))
            return
        fetched = await asyncio.to_thread(fetched_pages, root)
        lines = []
        for page in sources:
            state = fetched.get(page.url, {})
            when = state.get("fetched_at")
            if state.get("error"):
                status = t("kb.source.list.error", language)
            elif when:
                moment = datetime.fromisoformat(str(when))
                status = t(
                    "kb.source.list.fetched",
                    language,
                    when=discord.utils.format_dt(moment, "R"),
                )
            else:
                status = t("kb.source.list.never", language)
            title = f" {escape_inline(clip(page.title, 100))}" if page.title else ""
            lines.append(
                f"<{clip(page.url, 300)}>{title}\n"
                f"{t(f'visibility.{page.visibility}', language)} · {status}"
            )
        embed = discord.Embed(
            title=t("kb.source.list.title", language, count=len(sources)),
            description=clip("\n".join(lines), 4096),
            colour=EMBED_COLOUR,
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @remove.autocomplete("document")
    async def _document_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Return the documents whose name contains what the admin typed (admins only)."""
        if not self._may_administer(interaction):
            return []
        root = self.bot.config.knowledge_dir

        def matching() -> list[str]:
            needle = (current or "").casefold()
            found = []
            for info in list_documents(root):
                if len(info.id) > CHOICE_LIMIT or needle not in info.id.casefold():
                    continue
                if info.id.startswith("web/") and is_web_page(root, root / info.id):
                    continue
                found.append(info.id)
                if len(found) == AUTOCOMPLETE_CHOICES:
                    break
            return found

        names = await asyncio.to_thread(matching)
        return [app_commands.Choice(name=name, value=name) for name in names]

    # -- list ----------------------------------------------------------------------

    @kb.command(name=command_text("kb.list.name"), description=command_text("kb.list.description"))
    @admin_only()
    async def list_documents(self, interaction: discord.Interaction) -> None:
        """Show the documents page by page: visibility, size, chunks, last change."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        entries = await self.bot.run_engine(self._listing)
        view = _ListView(entries, language, interaction.user.id)
        if view.pages > 1:
            view.message = await interaction.followup.send(
                embed=view.embed(),
                view=view,
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
                wait=True,
            )
        else:
            await interaction.followup.send(
                embed=view.embed(), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    def _listing(self) -> list[_Listed]:
        """Return the documents with what the live index knows of them (blocking)."""
        files = list_documents(self.bot.config.knowledge_dir)
        chunks: Counter[str] = Counter()
        visibility: dict[str, str] = {}
        skipped: dict[str, str] = {}
        engine = self.bot.require_engine()
        try:
            index = engine.index
        except StoreError as exc:
            log.info("listing without an index: %s", exc)
        else:
            chunks = Counter(index.chunk_doc_ids)
            visibility = {doc_id: d.visibility for doc_id, d in index.documents.items()}
            skipped = {
                str(s.get("path")): str(s.get("reason"))
                for s in index.manifest.get("skipped", [])
                if isinstance(s, dict)
            }
        return [
            _Listed(
                f,
                visibility.get(f.id),
                chunks[f.id] if f.id in visibility else None,
                skipped.get(f.id),
            )
            for f in files
        ]

    # -- fetch ---------------------------------------------------------------------

    @kb.command(
        name=command_text("kb.fetch.name"), description=command_text("kb.fetch.description")
    )
    @admin_only()
    async def fetch(self, interaction: discord.Interaction) -> None:
        """Fetch the web pages of sources.yaml, store their text and reindex if any changed."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            async with self._changing:
                report = await fetch_web_sources(self.bot)
                for result in report.results:
                    if result.outcome in ("added", "updated", "removed"):
                        await self._log(
                            interaction, f"fetch-{result.outcome}", result.doc_id, detail=result.url
                        )
                summary = await self._reindex() if report.changed else None
        except SourcesError as exc:
            await self._reply(interaction, t("kb.fetch.bad_list", language, reason=str(exc)))
            return
        text = format_fetch_report(report, language)
        if report.changed:
            await self._reply_reindexed(interaction, text, summary)
        else:
            await self._reply(interaction, text)

    # -- report --------------------------------------------------------------------

    @kb.command(
        name=command_text("kb.report.name"), description=command_text("kb.report.description")
    )
    @admin_only()
    async def report(self, interaction: discord.Interaction) -> None:
        """Show the admin, privately, the last seven days' summary with the chart as an image.

        What it shows follows the place, as answers do: where only public documents are
        answered from, only questions asked in such places count and only public
        documents are named. The words of direct-message questions never show in Discord
        (they are counted); ``natverksbot report`` on the server shows everything.
        """
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        first_day = date.today() - timedelta(days=REPORT_DAYS - 1)
        since = datetime.combine(first_day, datetime.min.time()).timestamp()
        database = self.bot.config.state_dir / DATABASE_NAME
        place = interaction_visibility(self.bot.config.discord, interaction)
        show_document = None
        if place == "public":
            public = await self.bot.run_engine(self._public_documents)
            show_document = public.__contains__
        result = await asyncio.to_thread(
            build_report,
            database,
            since=since,
            until=time.time(),
            top=REPORT_TOP,
            visibility="public" if place == "public" else None,
            direct_questions=False,
            show_document=show_document,
        )
        image = await asyncio.to_thread(render_png, result, language)
        embed = format_report(result, language, self._guild_name)
        embed.set_image(url=f"attachment://{REPORT_IMAGE}")
        await interaction.followup.send(
            embed=embed,
            file=discord.File(io.BytesIO(image), filename=REPORT_IMAGE),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    def _public_documents(self) -> frozenset[str]:
        """Return the ids of the live index's public documents (none without an index)."""
        try:
            index = self.bot.require_engine().index
        except StoreError as exc:
            log.info("report without an index names no documents: %s", exc)
            return frozenset()
        return frozenset(
            doc_id for doc_id, d in index.documents.items() if d.visibility == "public"
        )

    def _guild_name(self, guild_id: int | None, language: Language) -> str:
        if guild_id is None:
            return t("kb.report.direct", language)
        guild = self.bot.get_guild(guild_id)
        return escape_inline(guild.name) if guild is not None else str(guild_id)

    # -- shared --------------------------------------------------------------------

    async def _reindex(self) -> BuildSummary | None:
        """Return the incremental reindex's summary, or None when another process holds it."""
        engine = self.bot.require_engine()
        try:
            return await self.bot.run_reindex(engine.reindex)
        except IndexLockedError as exc:
            log.warning("the change is indexed later: %s", exc)
            return None

    async def _log(
        self, interaction: discord.Interaction, action: str, document: str, **values: Any
    ) -> None:
        """Log a change by the user of ``interaction`` in the state database."""
        await self.bot.record(
            "log_change",
            ChangeRecord(
                action=action,
                document=document,
                via="discord",
                user_id=interaction.user.id,
                **values,
            ),
        )
        log.info("knowledge base: %s %s (guild %s)", action, document, interaction.guild_id)

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        """Answer privately with ``text``."""
        await interaction.followup.send(
            format_notice(text), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def _reply_reindexed(
        self, interaction: discord.Interaction, text: str, summary: BuildSummary | None
    ) -> None:
        """Answer privately: ``text`` and the reindex summary (None: it runs later)."""
        language = language_of_locale(interaction.locale)
        if summary is None:
            await self._reply(interaction, f"{text}\n{t('kb.index_later', language)}")
            return
        embed = discord.Embed(
            description=format_build_summary(summary, language), colour=EMBED_COLOUR
        )
        await interaction.followup.send(
            format_notice(text), embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
        )


class _ConfirmView(discord.ui.View):
    """Two buttons, confirm and cancel, for the admin who asked; the choice ends the view."""

    def __init__(self, language: Language, owner_id: int) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.owner_id = owner_id
        self.confirmed: bool | None = None
        token = secrets.token_hex(4)
        yes: discord.ui.Button[_ConfirmView] = discord.ui.Button(
            label=t("kb.remove.yes", language),
            style=discord.ButtonStyle.danger,
            custom_id=f"kb:confirm:{token}:yes",
        )
        no: discord.ui.Button[_ConfirmView] = discord.ui.Button(
            label=t("kb.remove.no", language),
            style=discord.ButtonStyle.secondary,
            custom_id=f"kb:confirm:{token}:no",
        )
        yes.callback = self._yes  # type: ignore[method-assign]
        no.callback = self._no  # type: ignore[method-assign]
        self.add_item(yes)
        self.add_item(no)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Let only the admin who asked answer."""
        return interaction.user.id == self.owner_id

    async def _yes(self, interaction: discord.Interaction) -> None:
        await self._choose(interaction, confirmed=True)

    async def _no(self, interaction: discord.Interaction) -> None:
        await self._choose(interaction, confirmed=False)

    async def _choose(self, interaction: discord.Interaction, *, confirmed: bool) -> None:
        self.confirmed = confirmed
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        self.stop()
        await interaction.response.edit_message(view=self)


def _trash_label(entry: TrashEntry, language: Language) -> str:
    """Return how /kb restore offers a trash entry: its name, why and when it went."""
    when = datetime.fromtimestamp(entry.trashed_at).astimezone().strftime("%Y-%m-%d %H:%M")
    key = "kb.trash.replaced" if entry.reason == "replace" else "kb.trash.removed"
    suffix = f" · {t(key, language, when=when)}"
    return clip(entry.id, 100 - len(suffix)) + suffix


class _ListView(ExpiringView):
    """Pages of /kb list with ◀ / ▶ buttons, for the admin who asked; gone on timeout."""

    def __init__(self, entries: list[_Listed], language: Language, owner_id: int) -> None:
        super().__init__(timeout=LIST_TIMEOUT)
        self.entries = entries
        self.language = language
        self.owner_id = owner_id
        self.page = 0
        self.pages = max(1, -(-len(entries) // PAGE_SIZE))
        token = secrets.token_hex(4)
        self.previous_button: discord.ui.Button[_ListView] = discord.ui.Button(
            label=t("kb.list.previous", language),
            emoji="◀️",
            style=discord.ButtonStyle.secondary,
            custom_id=f"kb:list:{token}:previous",
        )
        self.next_button: discord.ui.Button[_ListView] = discord.ui.Button(
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
        embed.description = clip("\n".join(_list_line(e, language) for e in shown), 4096)
        public = sum(1 for e in self.entries if e.visibility == "public")
        internal = sum(1 for e in self.entries if e.visibility == "internal")
        embed.set_footer(
            text=t(
                "kb.list.footer",
                language,
                count=len(self.entries),
                public=public,
                internal=internal,
                size=format_size(sum(e.file.size for e in self.entries)),
            )
        )
        return embed


def _list_line(entry: _Listed, language: Language) -> str:
    """Return one document's line: name, then visibility · size · chunks · last change."""
    parts = []
    if entry.visibility is not None:
        parts.append(t(f"visibility.{entry.visibility}", language))
    parts.append(format_size(entry.file.size))
    if entry.skipped is not None:
        parts.append(
            escape_inline(clip(one_line(t("kb.list.skipped", language, reason=entry.skipped)), 120))
        )
    elif entry.chunks is None:
        parts.append(t("kb.list.not_indexed", language))
    else:
        parts.append(t("kb.list.chunks", language, chunks=entry.chunks))
    when = discord.utils.format_dt(datetime.fromtimestamp(entry.file.modified).astimezone(), "R")
    parts.append(t("kb.list.changed", language, when=when))
    return f"**{escape_inline(clip(entry.file.id, 200))}**\n" + " · ".join(parts)


async def fetch_web_sources(bot: NatverksBot, only_urls: set[str] | None = None) -> FetchReport:
    """Fetch the configured web sources with the bot's settings (raises SourcesError)."""
    config = bot.config
    return await fetch_sources(
        config.knowledge_dir,
        default_visibility=config.default_visibility,
        timeout=config.sources.timeout_seconds,
        max_bytes=int(config.sources.max_mb * 1_000_000),
        concurrency=config.sources.concurrency,
        allowed_hosts=config.sources.allowed_hosts,
        only_urls=only_urls,
    )


def format_fetch_report(report: FetchReport, language: Language) -> str:
    """Return what a fetch did: counts, then each failed page with its reason."""
    if not report.results:
        return t("kb.fetch.none", language)
    lines = [
        t(
            "kb.fetch.summary",
            language,
            added=report.count("added"),
            updated=report.count("updated"),
            unchanged=report.count("unchanged"),
            removed=report.count("removed"),
            failed=report.count("failed"),
        )
    ]
    if report.failed:
        lines.append(t("kb.fetch.failed", language))
        lines += [
            f"• <{clip(r.url, 300)}>: {escape_inline(clip(one_line(r.reason or ''), 200))}"
            for r in report.failed
        ]
    return "\n".join(lines)


def format_report(
    report: Report,
    language: Language,
    guild_name: Callable[[int | None, Language], str] | None = None,
) -> discord.Embed:
    """Return the week's report as an embed (the chart goes in as its image)."""
    embed = discord.Embed(
        title=t(
            "kb.report.title",
            language,
            since=f"{report.since:%Y-%m-%d}",
            until=f"{report.until:%Y-%m-%d}",
        ),
        colour=EMBED_COLOUR,
    )
    none = t("kb.report.none", language)
    name_of = guild_name or (
        lambda guild_id, _: t("kb.report.direct", language) if guild_id is None else str(guild_id)
    )
    share = "–" if report.answered_share is None else f"{report.answered_share * 100:.0f} %"
    latency = "–" if report.median_latency_ms is None else f"{report.median_latency_ms:.0f} ms"
    embed.add_field(name=t("kb.report.asked", language), value=str(report.asked))
    embed.add_field(
        name=t("kb.report.answered", language),
        value=t("kb.report.answered_value", language, answered=report.answered, share=share),
    )
    embed.add_field(name=t("kb.report.latency", language), value=latency)

    def block(lines: list[str]) -> str:
        return clip("\n".join(lines), 1024) if lines else none

    embed.add_field(
        name=t("kb.report.gaps", language),
        value=block([f"{g.count}× {escape_inline(clip(g.question, 150))}" for g in report.gaps]),
        inline=False,
    )
    embed.add_field(
        name=t("kb.report.cited", language),
        value=block([f"{s.cited}× {escape_inline(clip(s.document, 150))}" for s in report.cited]),
        inline=False,
    )
    embed.add_field(
        name=t("kb.report.feedback", language),
        value=block(
            [
                f"👍 {s.up} 👎 {s.down} {escape_inline(clip(s.document, 150))}"
                for s in report.feedback
            ]
        ),
        inline=False,
    )
    embed.add_field(
        name=t("kb.report.guilds", language),
        value=block(
            [
                f"{name_of(g.guild_id, language)}: {g.asked} / {g.answered}"
                for g in report.guilds[:10]
            ]
        ),
        inline=False,
    )
    return embed


async def setup(bot: NatverksBot) -> None:
    """Load the /kb commands, as guild commands of the staff guilds only."""
    await add_staff_cog(bot, KnowledgeCog(bot))
