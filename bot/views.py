"""Views shared by the features: a view that tidies up after itself, a confirmation."""

from __future__ import annotations

import logging
import secrets

import discord

log = logging.getLogger(__name__)

# An interaction's token lives 15 minutes; after that its reply can no longer be edited.
INTERACTION_VIEW_SECONDS = 14 * 60


class ExpiringView(discord.ui.View):
    """A view whose buttons disappear from its message when it times out.

    Set ``message`` to the message the view was sent with (``wait=True`` for a
    follow-up); without it the timeout only stops listening, as a plain view does.
    """

    message: discord.Message | None = None

    def __init__(self, *, timeout: float | None = None) -> None:
        # A view on an interaction's reply must end before the interaction's token does.
        limit = INTERACTION_VIEW_SECONDS
        super().__init__(timeout=min(timeout or limit, limit))

    async def on_timeout(self) -> None:
        """Remove the buttons, so nobody clicks a view that no longer answers."""
        if self.message is None:
            return
        try:
            await self.message.edit(view=None)
        except discord.HTTPException as exc:  # deleted, or the token expired
            log.debug("could not remove the buttons of %s: %s", self.message.id, exc)


CONFIRM_TIMEOUT = 5 * 60


class ConfirmView(discord.ui.View):
    """Two buttons, confirm and cancel, for the person who asked; the choice ends the view.

    ``confirmed`` is True or False after a click, None when nobody chose in time.
    """

    def __init__(self, owner_id: int, yes_label: str, no_label: str) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.owner_id = owner_id
        self.confirmed: bool | None = None
        token = secrets.token_hex(4)
        yes: discord.ui.Button[ConfirmView] = discord.ui.Button(
            label=yes_label, style=discord.ButtonStyle.danger, custom_id=f"confirm:{token}:yes"
        )
        no: discord.ui.Button[ConfirmView] = discord.ui.Button(
            label=no_label, style=discord.ButtonStyle.secondary, custom_id=f"confirm:{token}:no"
        )
        yes.callback = self._yes  # type: ignore[method-assign]
        no.callback = self._no  # type: ignore[method-assign]
        self.add_item(yes)
        self.add_item(no)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Let only the person who asked answer."""
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
