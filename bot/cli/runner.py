"""The bot commands: ``run`` (the bot until SIGINT/SIGTERM) and ``sync-commands``.

The token comes only from the environment variable ``DISCORD_TOKEN``; a missing or
malformed one is a one-line error and exit status 2, and the token is never printed or
logged. A token Discord rejects, or no way to reach Discord, is one line and exit 1.
``run`` loads the model, builds the index on first use (before the event loop
starts, so nothing blocks it), then runs until SIGINT or SIGTERM and closes cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Mapping

import aiohttp
import discord

from bot.client import NatverksBot, create_bot
from bot.command_sync import record_sync
from bot.config import Config
from bot.locales import t
from bot.services.errors import EXIT_ERROR, EXIT_USAGE, describe_error
from bot.services.health import SystemdNotifier
from bot.services.indexing import ensure_index, open_engine
from bot.services.records import RecordsError
from index.engine import Engine
from index.store import IndexIncompatibleError, StoreError

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"
EXIT_OK = 0

_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class TokenError(Exception):
    """DISCORD_TOKEN is missing or not shaped like a bot token (the message never quotes it)."""


def read_token(environ: Mapping[str, str] | None = None, language: str = "en") -> str:
    """Return the bot token from DISCORD_TOKEN; raise TokenError when missing or malformed.

    A bot token is three base64url parts separated by dots, the first being the bot's
    user id; a client secret or public key pasted by mistake is refused here.
    """
    env = os.environ if environ is None else environ
    token = (env.get(TOKEN_ENV) or "").strip()
    if not token:
        raise TokenError(t("runner.token_missing", language, env=TOKEN_ENV))
    if not _TOKEN.fullmatch(token) or not _is_user_id(token.split(".", 1)[0]):
        raise TokenError(t("runner.token_malformed", language, env=TOKEN_ENV))
    return token


def _is_user_id(part: str) -> bool:
    try:
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return False
    return decoded.isdigit()


# What failing to reach Discord looks like: no network, DNS, refused, timed out, 5xx.
_UNREACHABLE = (aiohttp.ClientError, OSError, asyncio.TimeoutError, discord.GatewayNotFound)


def _fail(message: str, status: int, language: str = "en") -> int:
    print(t("cli.error", language, message=message), file=sys.stderr)
    return status


def describe(error: BaseException, language: str) -> str:
    """Return a known error as the operator's one line (see ``describe_error``)."""
    return describe_error(error, language, operator=True) or str(error)


def _unreachable(exc: BaseException, language: str) -> int:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return _fail(t("runner.unreachable", language, reason=reason), EXIT_ERROR, language)


# While the bot starts, each step asks systemd (Type=notify) for this much more time.
START_STEP_SECONDS = 300


def build_engine(config: Config, notifier: SystemdNotifier | None = None) -> Engine:
    """Return the engine with the configured model, its index built or loaded (blocking).

    Under systemd, the model's preparation and each step of a first index extend the
    start-up timeout and say what is happening (``systemctl status``).
    """
    notifier = notifier or SystemdNotifier()
    language = config.cli_language

    def starting(status: str) -> None:
        notifier.notify(f"EXTEND_TIMEOUT_USEC={START_STEP_SECONDS * 1_000_000}", f"STATUS={status}")

    def before_prepare() -> None:
        print(t("cli.preparing_model", language), file=sys.stderr, flush=True)
        starting(t("cli.preparing_model", language))

    engine = open_engine(config, before_prepare=before_prepare)

    def before_build(incompatible: IndexIncompatibleError | None) -> None:
        if incompatible is None:
            print(t("cli.first_index", language), file=sys.stderr)
        else:
            log.warning("%s; rebuilding the index with the configured model", incompatible)
        starting(t("cli.first_index", language))

    def progress(stage: str, done: int, total: int) -> None:
        if stage in ("read", "embed", "write"):
            starting(f"{t(f'cli.progress.{stage}', language)} {done}/{total}")

    ensure_index(engine, progress if notifier.enabled else None, before_build=before_build)
    return engine


def _with_token(config: Config, use: Callable[[str], int]) -> int:
    """Return what ``use(token)`` returns, or exit status 2 when the token is missing or bad."""
    try:
        token = read_token(language=config.cli_language)
    except TokenError as exc:
        return _fail(str(exc), EXIT_USAGE, config.cli_language)
    return use(token)


def run_bot(config: Config) -> int:
    """Run the bot until SIGINT/SIGTERM; return the exit status."""
    return _with_token(config, lambda token: _run(config, token))


def _run(config: Config, token: str) -> int:
    language = config.cli_language
    notifier = SystemdNotifier()
    try:
        engine = build_engine(config, notifier)
        return asyncio.run(_serve(create_bot(config, engine), token, notifier))
    except RecordsError as exc:  # the state folder cannot hold the question record
        return _fail(describe(exc, language), EXIT_ERROR, language)
    except (OSError, StoreError) as exc:  # a read-only or full state folder, say
        reason = describe(exc, language)
        return _fail(t("runner.cannot_start", language, reason=reason), EXIT_ERROR, language)


async def _serve(bot: NatverksBot, token: str, notifier: SystemdNotifier | None = None) -> int:
    language = bot.config.cli_language
    notifier = notifier or SystemdNotifier()
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
            # bot.start(token), in its two steps: systemd hears READY=1 once the bot is
            # logged in and set up (records, features, index), before the gateway connects,
            # so a gateway outage never fails the start; the watchdog pings follow from
            # the heartbeat extension.
            await bot.login(token)
            notifier.notify("READY=1", "STATUS=" + t("runner.ready", language))
            await bot.connect()
    except discord.LoginFailure:
        return _fail(t("runner.token_refused", language, env=TOKEN_ENV), EXIT_ERROR, language)
    except discord.PrivilegedIntentsRequired:
        return _fail(t("runner.intents", language), EXIT_ERROR, language)
    except _UNREACHABLE as exc:
        return _unreachable(exc, language)
    except discord.DiscordServerError as exc:
        return _fail(t("runner.server_error", language, status=exc.status), EXIT_ERROR, language)
    finally:
        notifier.notify("STOPPING=1")
        for sig in installed:
            loop.remove_signal_handler(sig)
    log.info("closed cleanly")
    return EXIT_OK


def _request_close(bot: NatverksBot, sig: signal.Signals) -> None:
    log.info("%s received: closing", sig.name)
    asyncio.ensure_future(bot.close())


def sync_commands(config: Config, guild_id: int | None = None) -> int:
    """Register the slash commands; print what went where; return the exit status.

    Without ``guild_id``: the commands for everyone globally, and the admin commands
    (``/kb``, ``/reindex``) as guild commands of each staff guild, so no other server
    ever sees them. With ``guild_id``: everything that guild should have, at once (the
    global commands copied to it, for trying out, plus its admin commands if it is a
    staff guild). A successful sync records the commands' fingerprint in the state folder
    (:mod:`bot.command_sync`), which ``status`` and the bot's start compare with the code's.
    """
    return _with_token(config, lambda token: _sync_with(config, token, guild_id))


def _sync_with(config: Config, token: str, guild_id: int | None) -> int:
    try:
        return asyncio.run(_sync(create_bot(config, load_engine=False), token, guild_id))
    except _UNREACHABLE as exc:
        return _unreachable(exc, config.cli_language)


async def _sync(bot: NatverksBot, token: str, guild_id: int | None) -> int:
    language = bot.config.cli_language
    async with bot:
        try:
            await bot.login(token)
        except discord.LoginFailure:
            return _fail(t("runner.token_refused", language, env=TOKEN_ENV), EXIT_ERROR, language)
        # The code's commands, before a --guild sync copies the global ones to that guild.
        fingerprint = await bot.commands_fingerprint()
        targets: list[int | None]
        if guild_id is None:
            targets = [None, *bot.config.discord.staff_guild_ids]
        else:
            targets = [guild_id]
            bot.tree.copy_global_to(guild=discord.Object(guild_id))
        done = []
        for target in targets:
            guild = discord.Object(target) if target is not None else None
            try:
                synced = await bot.tree.sync(guild=guild)
            except discord.Forbidden:
                return _fail(t("runner.no_access", language, guild=target), EXIT_ERROR, language)
            except discord.HTTPException as exc:
                reason = exc.text or exc.status
                return _fail(
                    t("runner.commands_refused", language, reason=reason), EXIT_ERROR, language
                )
            done.append((target, synced))
        await asyncio.to_thread(record_sync, bot.config.state_dir, fingerprint, targets)
    for target, synced in done:
        names = ", ".join(sorted(c.name for c in synced))
        where = (
            t("cli.synced.guild", language, guild=target)
            if target is not None
            else t("cli.synced.global", language)
        )
        print(t("cli.synced", language, n=len(synced), where=where, names=names))
    return EXIT_OK


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """Run the Discord bot until SIGINT/SIGTERM."""
    return run_bot(config)


def cmd_sync_commands(args: argparse.Namespace, config: Config) -> int:
    """Register the slash commands globally or for one guild."""
    return sync_commands(config, guild_id=args.guild)
