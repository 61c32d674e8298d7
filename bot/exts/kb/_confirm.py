"""The confirmation /kb remove asks for: confirm or cancel, for the admin who asked."""

from __future__ import annotations

import secrets

import discord

from bot.i18n import Language, t

CONFIRM_TIMEOUT = 5 * 60


class ConfirmView(discord.ui.View):
    """Two buttons, confirm and cancel, for the admin who asked; the choice ends the view."""

    def __init__(self, language: Language, owner_id: int) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.owner_id = owner_id
        self.confirmed: bool | None = None
        token = secrets.token_hex(4)
        yes: discord.ui.Button[ConfirmView] = discord.ui.Button(
            label=t("kb.remove.yes", language),
            style=discord.ButtonStyle.danger,
            custom_id=f"kb:confirm:{token}:yes",
        )
        no: discord.ui.Button[ConfirmView] = discord.ui.Button(
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
