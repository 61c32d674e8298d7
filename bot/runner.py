"""Running the bot (``natverksbot run``) and syncing its slash commands (``sync-commands``).

The token comes only from the environment variable ``DISCORD_TOKEN``; a missing or
malformed one is a one-line error and exit status 2, and the token is never printed or
logged. ``run`` loads the model, builds the index on first use (before the event loop
starts, so nothing blocks it), then runs until SIGINT or SIGTERM and closes cleanly.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import re
import signal
import sys
from collections.abc import Mapping

import discord

from bot.cli import os_error_line
from bot.client import NatverksBot, create_bot
from bot.config import Config, engine_settings
from bot.records import RecordsError
from index.embedding import create_encoder
from index.engine import Engine
from index.store import IndexIncompatibleError, StoreError

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class TokenError(Exception):
    """DISCORD_TOKEN is missing or not shaped like a bot token (the message never quotes it)."""


def read_token(environ: Mapping[str, str] | None = None) -> str:
    """Return the bot token from DISCORD_TOKEN; raise TokenError when missing or malformed.

    A bot token is three base64url parts separated by dots, the first being the bot's
    user id; a client secret or public key pasted by mistake is refused here.
    """
    env = os.environ if environ is None else environ
    token = (env.get(TOKEN_ENV) or "").strip()
    if not token:
        raise TokenError(
            f"{TOKEN_ENV} is not set: export the bot token from the Discord developer portal"
        )
    if not _TOKEN.fullmatch(token) or not _is_user_id(token.split(".", 1)[0]):
        raise TokenError(
            f"{TOKEN_ENV} is not a bot token (expected three dot-separated base64url parts;"
            " copy the token from the Bot page, not the client secret)"
        )
    return token


def _is_user_id(part: str) -> bool:
    try:
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return False
    return decoded.isdigit()


def _fail(message: str, status: int) -> int:
    print(f"natverksbot: error: {message}", file=sys.stderr)
    return status


def build_engine(config: Config) -> Engine:
    """Return the engine with the configured model, its index built or loaded (blocking)."""
    engine = Engine(engine_settings(config), create_encoder(config.model))
    if not engine.has_index():
        print("Bygger index första gången ...", file=sys.stderr)
        summary = engine.reindex()
        log.info("first index built: %s", summary.as_dict())
        return engine
    try:
        engine.reload()
    except IndexIncompatibleError as exc:
        log.warning("%s; rebuilding the index with the configured model", exc)
        engine.reindex()
    return engine


def run_bot(config: Config) -> int:
    """Run the bot until SIGINT/SIGTERM; return the exit status."""
    try:
        token = read_token()
    except TokenError as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        engine = build_engine(config)
        return asyncio.run(_serve(create_bot(config, engine), token))
    except RecordsError as exc:  # the state folder cannot hold the question record
        return _fail(str(exc), EXIT_ERROR)
    except (OSError, StoreError) as exc:  # a read-only or full state folder, say
        text = os_error_line(exc) if isinstance(exc, OSError) else str(exc)
        return _fail(f"cannot start: {text}", EXIT_ERROR)


async def _serve(bot: NatverksBot, token: str) -> int:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, _request_close, bot, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            log.debug("cannot handle %s here", sig.name)
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        return _fail(f"Discord refused the token in {TOKEN_ENV}: reset it and try again", 1)
    except discord.PrivilegedIntentsRequired:
        return _fail("Discord asks for privileged intents; the bot needs none", 1)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    log.info("closed cleanly")
    return EXIT_OK


def _request_close(bot: NatverksBot, sig: signal.Signals) -> None:
    log.info("%s received: closing", sig.name)
    asyncio.ensure_future(bot.close())


def sync_commands(config: Config, guild_id: int | None = None) -> int:
    """Register the slash commands globally or in one guild; print how many; return status."""
    try:
        token = read_token()
    except TokenError as exc:
        return _fail(str(exc), EXIT_USAGE)
    return asyncio.run(_sync(create_bot(config, load_engine=False), token, guild_id))


async def _sync(bot: NatverksBot, token: str, guild_id: int | None) -> int:
    async with bot:
        try:
            await bot.login(token)
        except discord.LoginFailure:
            return _fail(f"Discord refused the token in {TOKEN_ENV}: reset it and try again", 1)
        try:
            if guild_id is None:
                synced = await bot.tree.sync()
            else:
                guild = discord.Object(guild_id)
                bot.tree.copy_global_to(guild=guild)
                synced = await bot.tree.sync(guild=guild)
        except discord.Forbidden:
            return _fail(
                f"no access to guild {guild_id}: invite the bot there with the"
                " applications.commands scope",
                1,
            )
        except discord.HTTPException as exc:
            return _fail(f"Discord refused the commands: {exc.text or exc.status}", 1)
    names = ", ".join(sorted(c.name for c in synced))
    where = (
        f"to guild {guild_id}" if guild_id is not None else "globally (may take a while to show)"
    )
    print(f"Synced {len(synced)} commands {where}: {names}")
    return EXIT_OK
