"""Public or internal by place; admins by role or Manage Server in a staff guild."""

from __future__ import annotations

import discord
import pytest

from bot.access import is_admin, visibility_for
from bot.config import DiscordConfig

STAFF, OTHER = 100, 200
INTERNAL, GENERAL = 11, 12


@pytest.mark.parametrize(
    ("config", "guild", "channel", "parent", "expected"),
    [
        (DiscordConfig(), STAFF, GENERAL, None, "public"),
        (DiscordConfig(staff_guild_ids=[STAFF]), STAFF, GENERAL, None, "internal"),
        (DiscordConfig(staff_guild_ids=[STAFF]), OTHER, GENERAL, None, "public"),
        (DiscordConfig(staff_guild_ids=[STAFF]), None, GENERAL, None, "public"),
        (
            DiscordConfig(staff_guild_ids=[STAFF], internal_channel_ids=[INTERNAL]),
            STAFF,
            GENERAL,
            None,
            "public",
        ),
        (
            DiscordConfig(staff_guild_ids=[STAFF], internal_channel_ids=[INTERNAL]),
            STAFF,
            INTERNAL,
            None,
            "internal",
        ),
        (  # a thread of an internal channel
            DiscordConfig(staff_guild_ids=[STAFF], internal_channel_ids=[INTERNAL]),
            STAFF,
            999,
            INTERNAL,
            "internal",
        ),
        (  # an "internal" channel id in another guild gives nothing
            DiscordConfig(staff_guild_ids=[STAFF], internal_channel_ids=[INTERNAL]),
            OTHER,
            INTERNAL,
            None,
            "public",
        ),
    ],
)
def test_visibility_by_place(config, guild, channel, parent, expected):
    assert visibility_for(config, guild, channel, parent) == expected


MANAGE = discord.Permissions(manage_guild=True)
NONE = discord.Permissions.none()
CONFIG = DiscordConfig(staff_guild_ids=[STAFF], admin_role_ids=[7])


@pytest.mark.parametrize(
    ("guild", "roles", "permissions", "expected"),
    [
        (STAFF, [], MANAGE, True),
        (STAFF, [7], NONE, True),
        (STAFF, [8], NONE, False),
        (STAFF, [], NONE, False),
        (OTHER, [7], MANAGE, False),
        (None, [7], MANAGE, False),
        (STAFF, [], discord.Permissions(administrator=True, manage_guild=False), False),
    ],
)
def test_admins_are_roles_or_manage_server_in_a_staff_guild(guild, roles, permissions, expected):
    assert is_admin(CONFIG, guild, roles, permissions) is expected
