"""``/kb``: the knowledge base for staff-guild admins (the cog is in :mod:`._cog`)."""

from __future__ import annotations

from bot.client import NatverksBot, add_staff_cog
from bot.exts.kb._cog import KnowledgeCog


async def setup(bot: NatverksBot) -> None:
    """Load the /kb commands, as guild commands of the staff guilds only."""
    await add_staff_cog(bot, KnowledgeCog(bot))
