"""Who sees what: public or internal documents by place, and who may run admin commands.

Internal documents are for the staff guilds named in the config (and, when
``internal_channel_ids`` is set, only for those channels of them and their threads).
Every other guild, every other channel and every direct message sees public documents
only. The visibility goes into the engine's search; nothing is filtered afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import discord
from discord import app_commands

from bot.config import DiscordConfig
from index.types import Visibility

_T = TypeVar("_T")


class NotAdmin(app_commands.CheckFailure):
    """The user may not run admin commands here."""


def visibility_for(
    config: DiscordConfig,
    guild_id: int | None,
    channel_id: int | None,
    parent_id: int | None = None,
) -> Visibility:
    """Return which documents a question asked in this place may be answered from."""
    if guild_id is None or guild_id not in config.staff_guild_ids:
        return "public"
    if not config.internal_channel_ids:
        return "internal"
    internal = set(config.internal_channel_ids)
    if channel_id in internal or (parent_id is not None and parent_id in internal):
        return "internal"
    return "public"


def is_admin(
    config: DiscordConfig,
    guild_id: int | None,
    role_ids: Iterable[int],
    permissions: discord.Permissions,
) -> bool:
    """Return whether someone with these roles and permissions is an admin in that guild."""
    if guild_id is None or guild_id not in config.staff_guild_ids:
        return False
    if permissions.manage_guild:
        return True
    admin_roles = set(config.admin_role_ids)
    return any(role in admin_roles for role in role_ids)


def interaction_visibility(config: DiscordConfig, interaction: discord.Interaction) -> Visibility:
    """Return the visibility for a question asked through an interaction."""
    channel = interaction.channel
    return visibility_for(
        config, interaction.guild_id, interaction.channel_id, getattr(channel, "parent_id", None)
    )


def message_visibility(config: DiscordConfig, message: discord.Message) -> Visibility:
    """Return the visibility for a question asked in a message."""
    guild_id = message.guild.id if message.guild is not None else None
    return visibility_for(
        config, guild_id, message.channel.id, getattr(message.channel, "parent_id", None)
    )


def admin_only() -> Callable[[_T], _T]:
    """Return an app-command check: configured admin roles or Manage Server, staff guild."""

    async def predicate(interaction: discord.Interaction) -> bool:
        config = interaction.client.config.discord  # type: ignore[attr-defined]
        roles = [role.id for role in getattr(interaction.user, "roles", [])]
        if not is_admin(config, interaction.guild_id, roles, interaction.permissions):
            raise NotAdmin("not an admin here")
        return True

    return app_commands.check(predicate)
