"""``/hjälp`` (``/help``): what the bot knows, how to ask, what is stored; always private.

What the bot knows is ``discord.help_description`` when set, else one line per top
folder of the knowledge base, built from the documents the asker may see: how many,
and their commonest topics (or titles). Answers point here once per user (the footer).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import PurePosixPath

import discord
from discord import app_commands
from discord.ext import commands

from bot.access import interaction_visibility
from bot.client import NO_MENTIONS, NatverksBot
from bot.config import DiscordConfig
from bot.formatting import EMBED_COLOUR, clip, escape
from bot.i18n import Language, command_text, language_of_locale, t
from index.engine import DocumentInfo
from index.types import Visibility

log = logging.getLogger(__name__)

FOLDERS_SHOWN = 12
NAMES_PER_FOLDER = 4


def knowledge_summary(
    documents: Iterable[DocumentInfo], visibility: Visibility, language: Language
) -> list[str]:
    """Return one line per top folder: its document count and commonest topics or titles.

    Only documents ``visibility`` may see are counted or named.
    """
    folders: dict[str, list[DocumentInfo]] = defaultdict(list)
    for doc in documents:
        if visibility != "internal" and doc.visibility != "public":
            continue
        parts = PurePosixPath(doc.doc_id).parts
        folders[parts[0] if len(parts) > 1 else ""].append(doc)
    lines = []
    for folder in sorted(folders, key=lambda f: (f == "", f.casefold()))[:FOLDERS_SHOWN]:
        docs = folders[folder]
        topics = Counter(topic for doc in docs for topic in doc.topics)
        names = [name for name, _ in topics.most_common(NAMES_PER_FOLDER)] or [
            doc.title for doc in docs[:NAMES_PER_FOLDER] if doc.title
        ]
        about = ", ".join(escape(clip(name, 60)) for name in names)
        count = t("help.documents", language, n=len(docs))
        line = count + (f": {about}" if about else "")
        if list(folders) == [""]:  # only the root: "Övriga" would be other than nothing
            lines.append(line)
            continue
        label = f"{folder}/" if folder else t("help.other_documents", language)
        lines.append(f"**{escape(label)}** – {line}")
    return lines


def help_embed(bot: NatverksBot, visibility: Visibility, language: Language) -> discord.Embed:
    """Return the /hjälp text for someone asking where ``visibility`` applies."""
    config = bot.config.discord
    embed = discord.Embed(title=t("help.title", language), colour=EMBED_COLOUR)
    if config.help_description:
        knows = clip(escape(config.help_description), 1024)
    else:
        engine = bot.engine
        lines: list[str] = []
        if engine is not None and engine.has_index():
            lines = knowledge_summary(engine.documents(), visibility, language)
        knows = clip("\n".join(lines), 1024) if lines else t("help.nothing_yet", language)
    embed.add_field(name=t("help.knows", language), value=knows, inline=False)
    embed.add_field(
        name=t("help.how", language),
        value=t("help.how_text", language, follow_up=_follow_up_text(config, language)),
        inline=False,
    )
    embed.add_field(
        name=t("help.stored", language),
        value=t("help.stored_text", language, n=config.retention_days),
        inline=False,
    )
    embed.add_field(
        name=t("help.delete", language), value=t("help.delete_text", language), inline=False
    )
    return embed


def _follow_up_text(config: DiscordConfig, language: Language) -> str:
    """Return how to ask a follow-up in a thread: mention the bot, or just write there."""
    if not config.message_content:  # Discord shows the bot only messages that mention it
        return t("help.follow_up.mention", language)
    minutes = config.thread_idle_minutes
    shown = int(minutes) if minutes.is_integer() else minutes
    return t("help.follow_up.plain", language, n=shown)


class HelpCog(commands.Cog):
    """The /hjälp command."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot

    @app_commands.command(
        name=command_text("help.name"), description=command_text("help.description")
    )
    async def help(self, interaction: discord.Interaction) -> None:
        """Show, privately, what the bot knows, how to ask and what is stored."""
        language = language_of_locale(interaction.locale)
        visibility = interaction_visibility(self.bot.config.discord, interaction)
        embed = await self.bot.run_engine(help_embed, self.bot, visibility, language)
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
        )


async def setup(bot: NatverksBot) -> None:
    """Load the help command."""
    await bot.add_cog(HelpCog(bot))
