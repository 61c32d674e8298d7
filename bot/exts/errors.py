"""The one place where failures become replies: known errors politely, the rest logged.

Slash-command errors arrive through the command tree's ``on_error``; questions asked in
messages and button clicks hand theirs over with ``bot.report_error`` (the ``user_error``
event). Known errors (a question that is empty or too long, a rate limit, a refused
admin command, a reindex already running, a missing index) get a short reply in the
asker's language; anything else is logged with its traceback and the user gets a
generic apology. Nobody ever sees a traceback.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.access import NotAdmin
from bot.client import NO_MENTIONS, EngineNotReadyError, NatverksBot
from bot.formatting import format_notice
from bot.i18n import Language, language_of_locale, t
from bot.ratelimit import RateLimitedError
from bot.services.errors import describe_error
from index.answer import detect_language
from index.store import StoreError

log = logging.getLogger(__name__)

Target = discord.Interaction | discord.Message


def describe(error: BaseException, language: Language) -> str | None:
    """Return the polite message for a known error, or None for an unexpected one."""
    if isinstance(error, RateLimitedError):
        return t(f"rate_limited.{error.scope}", language, n=error.seconds)
    if isinstance(error, NotAdmin | app_commands.MissingPermissions):
        return t("not_admin", language)
    if isinstance(error, app_commands.CommandNotFound):  # e.g. an outdated registration
        return t("command_not_here", language)
    if isinstance(error, app_commands.NoPrivateMessage):
        return t("guild_only", language)
    if isinstance(error, EngineNotReadyError):
        return t("error.not_ready", language)
    return describe_error(error, language)  # the engine's and the services' errors


def language_of(target: Target, error: BaseException) -> Language:
    """Return the language to answer in: the question's, else the user's client locale."""
    language = getattr(error, "language", None)
    if language in ("sv", "en"):
        return language
    if isinstance(target, discord.Message):
        return detect_language(target.content) if target.content else "sv"
    return language_of_locale(target.locale)


def unwrap(error: BaseException) -> BaseException:
    """Return the error a command raised, without discord.py's wrapper."""
    if isinstance(error, app_commands.CommandInvokeError | commands.CommandInvokeError):
        return error.original
    return error


class ErrorsCog(commands.Cog):
    """Turns errors into short replies and logs the unexpected ones."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot
        self._previous_tree_handler = bot.tree.on_error

    async def cog_load(self) -> None:
        """Take over the command tree's error handler."""
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        """Give the command tree its previous error handler back."""
        self.bot.tree.on_error = self._previous_tree_handler  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Answer a failed slash command."""
        await self.reply(interaction, unwrap(error))

    @commands.Cog.listener()
    async def on_user_error(self, target: Target, error: Exception) -> None:
        """Answer a failed question asked in a message, or a failed button click."""
        await self.reply(target, unwrap(error))

    async def reply(self, target: Target, error: BaseException) -> None:
        """Send the polite message for ``error`` to ``target`` (ephemeral for interactions)."""
        language = language_of(target, error)
        text = describe(error, language)
        if text is None:
            log.error("unexpected error answering %s", _where(target), exc_info=error)
            text = t("error.generic", language)
        elif isinstance(error, StoreError | EngineNotReadyError):
            log.warning("%s: %s", _where(target), error)
        else:
            log.info("refused %s: %s", _where(target), error)
        try:
            await _send(target, format_notice(text))
        except discord.HTTPException as exc:
            # An expired interaction or a deleted message: nothing left to answer.
            log.warning("could not tell %s about an error: %s", _where(target), exc)


async def _send(target: Target, text: str) -> None:
    if isinstance(target, discord.Message):
        await target.channel.send(
            text,
            reference=target.to_reference(fail_if_not_exists=False),
            allowed_mentions=NO_MENTIONS,
        )
    elif target.response.is_done():
        await target.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await target.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


def _where(target: Target) -> str:
    """Return what a log line calls ``target``: never a direct message's channel or a user."""
    if isinstance(target, discord.Message):
        if target.guild is None:  # a direct message's channel id stands for the person
            return f"message {target.id} in a direct message"
        return f"message {target.id} in channel {target.channel.id}"
    command = target.command.qualified_name if target.command else "component"
    return f"interaction {target.id} ({command})"


async def setup(bot: NatverksBot) -> None:
    """Load the error handler."""
    await bot.add_cog(ErrorsCog(bot))
