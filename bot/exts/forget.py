"""``/glöm-mig`` (``/forget-me``): anyone deletes their own questions, votes and quoted words.

The same service as ``natverksbot forget-user`` (:meth:`RecordStore.forget_user`), so a
citizen on a public server needs no admin. The command asks first, privately, with a
confirm and a cancel button; only a confirmation deletes anything. A running bot then
drops the follow-up contexts it holds in memory (the record's forget generation rose).
"""

from __future__ import annotations

import contextlib
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import NO_MENTIONS, NatverksBot
from bot.formatting import format_notice
from bot.i18n import command_text, language_of_locale, t
from bot.views import ConfirmView

log = logging.getLogger(__name__)


class ForgetCog(commands.Cog):
    """The /glöm-mig command."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot

    @app_commands.command(
        name=command_text("forget.name"), description=command_text("forget.description")
    )
    async def forget_me(self, interaction: discord.Interaction) -> None:
        """Ask privately for confirmation, then delete everything the record holds of the asker."""
        language = language_of_locale(interaction.locale)
        user_id = interaction.user.id
        view = ConfirmView(user_id, t("forget.yes", language), t("forget.no", language))
        await interaction.response.send_message(
            format_notice(t("forget.confirm", language)),
            view=view,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        if await view.wait():  # nobody chose in time: take the buttons away
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(view=None)
        if not view.confirmed:
            await interaction.followup.send(
                t("forget.cancelled", language), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        forgotten = await self.bot.require_records().forget_user(user_id)
        log.info("a user forgot themselves through /forget-me")
        await interaction.followup.send(
            t(
                "forget.done",
                language,
                questions=t("count.question", language, n=forgotten.questions),
                votes=t("count.vote", language, n=forgotten.votes),
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: NatverksBot) -> None:
    """Load the forget-me command."""
    await bot.add_cog(ForgetCog(bot))
