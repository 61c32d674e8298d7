"""Views shared by the features: a paged or temporary view that tidies up after itself."""

from __future__ import annotations

import logging

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
