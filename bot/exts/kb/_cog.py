"""``/kb``: the knowledge base for staff-guild admins.

Subcommands: status, add, remove, restore, list, fetch, report, and ``source add|remove|list``
for the web pages of ``sources.yaml``.

Every subcommand is guild-only, hidden by default permissions (Manage Server) and checked
with ``admin_only`` (the configured admin roles also pass; other guilds are refused).
The work happens off the event loop: attachments are downloaded with aiohttp, files are
parsed and written on worker threads (:mod:`bot.services.knowledge`), web pages are fetched
with aiohttp (:mod:`bot.services.fetching`), reports are built from a read-only connection
(:mod:`bot.services.report`) and the index is updated on the reindex thread
(:mod:`bot.services.indexing`). One change to the knowledge folder runs at a time; each is
logged in the state database (who as the salted hash, what, when) and followed by an
incremental reindex whose summary is the reply. A removal is confirmed with a button
first; removed documents and replaced versions go to the trash in the state folder, from
where ``/kb restore`` brings them back.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.access import Visibility, admin_only, interaction_visibility, is_admin
from bot.client import NO_MENTIONS, NatverksBot
from bot.exts.kb._listing import ListView, listed_documents, matching, trash_label
from bot.exts.kb._report import (
    REPORT_DAYS,
    REPORT_IMAGE,
    REPORT_TOP,
    format_report,
    public_documents,
)
from bot.exts.kb._sources import sources_embed
from bot.formatting import (
    EMBED_COLOUR,
    clip,
    escape_inline,
    format_build_summary,
    format_fetch_report,
    format_notice,
    format_status,
)
from bot.i18n import Language, command_text, language_of_locale, t
from bot.locales.reasons import say_reason
from bot.services.changes import trash_change
from bot.services.fetching import fetch_and_log
from bot.services.indexing import reindex_unless_locked
from bot.services.knowledge import (
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
from bot.services.report import build_report, render_png
from bot.services.web import (
    FetchReport,
    SourcesError,
    add_source,
    fetched_pages,
    load_sources,
    remove_source,
)
from bot.services.web.policy import UnsafeURLError, check_url_resolves
from bot.views import ConfirmView
from index.build import BuildSummary
from index.documents import ParsedFile

log = logging.getLogger(__name__)

T = TypeVar("T")

ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)
AUTOCOMPLETE_CHOICES = 25
CHOICE_LIMIT = 100
VISIBILITY_CHOICES = [
    app_commands.Choice(name=command_text("kb.visibility.public"), value="public"),
    app_commands.Choice(name=command_text("kb.visibility.internal"), value="internal"),
]


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
    @app_commands.choices(visibility=VISIBILITY_CHOICES)
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
        chosen: Visibility = "public" if visibility == "public" else "internal"
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
                prepared = await asyncio.to_thread(
                    prepare_upload,
                    name,
                    data,
                    chosen,
                    max_bytes=limit,
                    limits=config.documents,
                )
                stored = await asyncio.to_thread(
                    store_document,
                    config.knowledge_dir,
                    name,
                    prepared.data,
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
                summary = await self._reindex(prepared.parsed)
        except KnowledgeError as exc:
            await self._refuse(interaction, "add", file.filename, exc, bold=False)
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

    # -- remove and restore ----------------------------------------------------------

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
        except KnowledgeError as exc:
            await self._refuse(interaction, "remove", document, exc)
            return
        name = f"**{escape_inline(info.id)}**"
        view = ConfirmView(
            interaction.user.id, t("kb.remove.yes", language), t("kb.remove.no", language)
        )
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
        moved = await self._move(
            interaction,
            "remove",
            document,
            lambda: trash_document(config.knowledge_dir, config.trash_dir, info.id),
            lambda removed: removed,
        )
        if moved is None:
            return
        removed, summary = moved
        text = t(
            "kb.removed",
            language,
            name=f"**{escape_inline(removed.id)}**",
            n=config.knowledge.trash_days,
        )
        await self._reply_reindexed(interaction, text, summary)

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
        moved = await self._move(
            interaction,
            "restore",
            document,
            lambda: restore_document(config.knowledge_dir, config.trash_dir, document),
            lambda restored: restored.entry,
        )
        if moved is None:
            return
        restored, summary = moved
        text = t("kb.restored", language, name=f"**{escape_inline(restored.entry.id)}**")
        if restored.displaced is not None:
            text += " " + t("kb.restored.displaced", language)
        await self._reply_reindexed(interaction, text, summary)

    async def _move(
        self,
        interaction: discord.Interaction,
        action: str,
        subject: str,
        move: Callable[[], T],
        entry_of: Callable[[T], TrashEntry],
    ) -> tuple[T, BuildSummary | None] | None:
        """Move a document to or from the trash as one logged change, then reindex.

        Returns what ``move`` returned and the reindex summary, or None when the move
        was refused (the admin has been told why).
        """
        try:
            async with self._changing:
                moved = await asyncio.to_thread(move)
                entry = entry_of(moved)
                change = trash_change(action, entry, "discord", interaction.user.id)
                await self._log_change(interaction, change)
                summary = await self._reindex()
        except KnowledgeError as exc:
            await self._refuse(interaction, action, subject, exc)
            return None
        return moved, summary

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
            choices.append(app_commands.Choice(name=trash_label(entry, language), value=entry.key))
            if len(choices) == AUTOCOMPLETE_CHOICES:
                break
        return choices

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
    @app_commands.choices(visibility=VISIBILITY_CHOICES)
    @admin_only()
    async def source_add(self, interaction: discord.Interaction, url: str, visibility: str) -> None:
        """Check a web address, add it to sources.yaml, fetch the page once and reindex."""
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = self.bot.config
        chosen: Visibility = "public" if visibility == "public" else "internal"
        url = url.strip()
        allowed = config.sources.allowed_hosts
        try:
            await check_url_resolves(url, allowed)
            async with self._changing:
                await asyncio.to_thread(
                    add_source, config.knowledge_dir, url, chosen, allowed_hosts=allowed
                )
                await self._log(interaction, "source-add", url, visibility=chosen, detail=url)
                report, summary = await self._fetch(interaction, only_urls={url})
        except UnsafeURLError as exc:
            log.info("refused /kb source add of %r: %s", url, exc)
            reason = escape_inline(clip(str(exc), 300))
            await self._reply(interaction, t("kb.source.refused", language, reason=reason))
            return
        except SourcesError as exc:
            await self._reply_sources_error(interaction, "kb.source.bad_list", exc)
            return
        text = t(
            "kb.source.added",
            language,
            url=f"<{clip(url, 300)}>",
            visibility=t(f"visibility.{chosen}", language),
        )
        await self._reply_fetched(interaction, text + "\n", report, summary)

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
            await self._reply_sources_error(interaction, "kb.source.bad_list", exc)
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
            await self._reply_sources_error(interaction, "kb.fetch.bad_list", exc)
            return
        if not sources:
            await self._reply(interaction, t("kb.source.list.empty", language))
            return
        fetched = await asyncio.to_thread(fetched_pages, root)
        embed = sources_embed(sources, fetched, language)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # -- list ----------------------------------------------------------------------

    @kb.command(name=command_text("kb.list.name"), description=command_text("kb.list.description"))
    @app_commands.rename(match=command_text("kb.list.filter.name"))
    @app_commands.describe(match=command_text("kb.list.filter.description"))
    @admin_only()
    async def list_documents(
        self, interaction: discord.Interaction, match: str | None = None
    ) -> None:
        """Show the documents page by page: visibility, size, chunks, last change.

        ``match`` (the option ``filter``) keeps those whose id or title contains it,
        ignoring case.
        """
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        engine = self.bot.require_engine()
        entries = await self.bot.run_engine(listed_documents, engine, self.bot.config.knowledge_dir)
        if match and match.strip():
            entries = matching(entries, match)
            if not entries:
                text = t("kb.list.no_match", language, filter=escape_inline(clip(match, 100)))
                await self._reply(interaction, text)
                return
        view = ListView(entries, language, interaction.user.id)
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
                report, summary = await self._fetch(interaction)
        except SourcesError as exc:
            reason = escape_inline(clip(exc.say(language), 300))
            await self._reply(interaction, t("kb.fetch.bad_list", language, reason=reason))
            return
        await self._reply_fetched(interaction, "", report, summary)

    async def _fetch(
        self, interaction: discord.Interaction, only_urls: set[str] | None = None
    ) -> tuple[FetchReport, BuildSummary | None]:
        """Fetch (and log) the web sources for the user; reindex when a page changed."""
        report = await fetch_and_log(
            self.bot.config,
            self.bot.log_changes,
            via="discord",
            user_id=interaction.user.id,
            only_urls=only_urls,
        )
        summary = await self._reindex() if report.changed else None
        return report, summary

    async def _reply_fetched(
        self,
        interaction: discord.Interaction,
        text: str,
        report: FetchReport,
        summary: BuildSummary | None,
    ) -> None:
        """Answer privately: ``text``, what the fetch did and, if it changed a page, the reindex."""
        text += format_fetch_report(report, language_of_locale(interaction.locale))
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
        (they are counted); ``natverksbot report`` on the server shows them. The words of
        private ("only me") questions show in no report at all.
        """
        language = language_of_locale(interaction.locale)
        await interaction.response.defer(ephemeral=True, thinking=True)
        first_day = date.today() - timedelta(days=REPORT_DAYS - 1)
        since = datetime.combine(first_day, datetime.min.time()).timestamp()
        database = self.bot.config.state_dir / DATABASE_NAME
        place = interaction_visibility(self.bot.config.discord, interaction)
        show_document = None
        if place == "public":
            public = await self.bot.run_engine(public_documents, self.bot.require_engine())
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

    def _guild_name(self, guild_id: int | None, language: Language) -> str:
        if guild_id is None:
            return t("kb.report.direct", language)
        guild = self.bot.get_guild(guild_id)
        return escape_inline(guild.name) if guild is not None else str(guild_id)

    # -- shared --------------------------------------------------------------------

    async def _reindex(self, upload: ParsedFile | None = None) -> BuildSummary | None:
        """Return the incremental reindex's summary, or None when another process holds it.

        ``upload``: the parse of the upload just stored, which the reindex takes as it is.
        """
        engine = self.bot.require_engine()
        if upload is not None:
            engine.uploads.add(upload)
        return await self.bot.run_reindex(reindex_unless_locked, engine)

    async def _log(
        self, interaction: discord.Interaction, action: str, document: str, **values: Any
    ) -> None:
        """Log a change by the user of ``interaction`` in the state database."""
        change = ChangeRecord(
            action=action, document=document, via="discord", user_id=interaction.user.id, **values
        )
        await self._log_change(interaction, change)

    async def _log_change(self, interaction: discord.Interaction, change: ChangeRecord) -> None:
        """Log ``change`` in the state database (on the records thread)."""
        await self.bot.log_changes([change])
        log.info(
            "knowledge base: %s %s (guild %s)", change.action, change.document, interaction.guild_id
        )

    async def _refuse(
        self,
        interaction: discord.Interaction,
        action: str,
        subject: str,
        exc: KnowledgeError,
        *,
        bold: bool = True,
    ) -> None:
        """Tell the admin why the knowledge folder refused ``action`` on ``subject``."""
        log.info("refused /kb %s of %r: %s", action, subject, exc)
        language = language_of_locale(interaction.locale)
        values = dict(exc.values)
        if "reason" in values:  # a document reader's English diagnostic
            values["reason"] = say_reason(str(values["reason"]), language)
        values = {k: escape_inline(str(v)) for k, v in values.items()}
        if bold:
            values = {k: f"**{v}**" for k, v in values.items()}
        await self._reply(interaction, t(exc.key, language, **values))

    async def _reply_sources_error(
        self, interaction: discord.Interaction, key: str, exc: SourcesError
    ) -> None:
        """Answer privately that sources.yaml (or an entry of it) is not right, and why."""
        language = language_of_locale(interaction.locale)
        reason = escape_inline(clip(exc.say(language), 300))
        await self._reply(interaction, t(key, language, reason=reason))

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
