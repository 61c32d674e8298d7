"""The bot: ``create_bot(config)`` builds a ``commands.Bot`` without connecting it.

Dependencies (config, engine) go into the constructor; asynchronous start-up (the record
store, the translator, the extensions, warming the index) happens in ``setup_hook``.
Everything slow runs off the event loop: questions on the engine pool
(``discord.engine_workers`` threads), reindexing on a thread of its own, and every
database call on the single records thread. Slash commands are synced only on request
(``natverksbot sync-commands``), never on start.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import discord
from discord.ext import commands

from bot.command_sync import commands_state, tree_fingerprint
from bot.config import Config
from bot.i18n import CommandTranslator
from bot.ratelimit import RateLimiter
from bot.services.indexing import open_engine
from bot.services.record_store import AsyncRecordStore, open_record_store
from bot.services.records import ChangeRecord
from index.embedding import Encoder
from index.engine import Engine

log = logging.getLogger(__name__)

T = TypeVar("T")

# Every message the bot sends passes this too: no text can ping anyone.
NO_MENTIONS = discord.AllowedMentions.none()

# The features, loaded in this order by setup_hook; errors first so it sees every failure.
EXTENSIONS = (
    "bot.exts.errors",
    "bot.exts.heartbeat",
    "bot.exts.answers",
    "bot.exts.help",
    "bot.exts.forget",
    "bot.exts.admin",
    "bot.exts.kb",
    "bot.exts.retention",
    "bot.exts.sync",
)

# Custom event for a failure to show the user: ``bot.dispatch(USER_ERROR, target, error)``
# where target is the Interaction or Message to answer; the errors extension replies.
USER_ERROR = "user_error"


WARM_UP_QUESTION = "Hur ansöker jag om bygglov?"
"""Searched once as each reader at start-up; never recorded or answered."""


def warm_up(engine: Engine) -> None:
    """Load the index and the encoder, and search once as each reader.

    The first question after a start otherwise paid for loading the model (about 5 s on
    2 busy cores: the tokenizer, the ONNX session, the first run's memory) and for the
    index's pages; now the bot pays before it connects. A failing search is logged and
    the bot starts anyway: each question then reports its own error.
    """
    indexed = engine.has_index()
    if indexed:
        engine.reload()
    try:
        if not indexed:
            engine.encoder.encode_queries([WARM_UP_QUESTION])
        for visibility in ("public", "internal") if indexed else ():
            engine.search(WARM_UP_QUESTION, visibility=visibility)
    except Exception:
        log.exception("warming the engine up failed")


class EngineNotReadyError(Exception):
    """The bot has no engine yet (it was built for syncing commands only)."""


def bot_intents(*, message_content: bool = False) -> discord.Intents:
    """Return the gateway intents: the defaults, and message content only when configured.

    ``message_content`` is ``discord.message_content``: Discord's one privileged intent
    the bot may use, enabled in the developer portal first.
    """
    intents = discord.Intents.default()
    intents.message_content = message_content
    intents.members = False
    intents.presences = False
    intents.guild_messages = True
    intents.dm_messages = True
    return intents


def quiet_voice_warnings() -> None:
    """Stop discord.py warning about voice libraries: the bot never uses voice."""
    discord.VoiceClient.warn_nacl = False
    if hasattr(discord.VoiceClient, "warn_dave"):
        discord.VoiceClient.warn_dave = False


class NatverksBot(commands.Bot):
    """Nätverksboten: answers questions from the engine in Discord."""

    def __init__(self, config: Config, engine: Engine | None) -> None:
        quiet_voice_warnings()
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(message_content=config.discord.message_content),
            allowed_mentions=NO_MENTIONS,
            help_command=None,
        )
        self.config = config
        self.engine = engine
        discord_config = config.discord
        self.executor = ThreadPoolExecutor(
            discord_config.engine_workers, thread_name_prefix="engine"
        )
        self.reindex_executor = ThreadPoolExecutor(1, thread_name_prefix="reindex")
        self.records_executor = ThreadPoolExecutor(1, thread_name_prefix="records")
        # The question record, its calls awaited on the records thread (setup_hook opens it).
        self.records: AsyncRecordStore | None = None
        self.rate_limiter = RateLimiter(
            discord_config.rate_limit.per_user_per_minute,
            discord_config.rate_limit.per_guild_per_minute,
            discord_config.rate_limit.global_per_minute,
        )
        self.questions_since_start = 0
        self.answered_since_start = 0
        self._closed_resources = False

    # -- start-up and shutdown -------------------------------------------------------

    async def setup_hook(self) -> None:
        """Open the record store, load the features, log the start, warm the engine."""
        # The bot's first start makes the salt; every other command needs it to exist.
        store = await self.in_records_thread(
            open_record_store, self.config.state_dir, create_salt=True
        )
        self.records = AsyncRecordStore(store, self.records_executor)
        await self.load_features()
        if self.engine is not None:  # a bot that answers, not one made to sync commands
            await self._log_start()
            await self.run_engine(warm_up, self.engine)

    async def load_features(self) -> None:
        """Set the slash commands' translator and load the extensions, with their commands."""
        await self.tree.set_translator(CommandTranslator())
        for name in EXTENSIONS:
            await self.load_extension(name)

    async def commands_fingerprint(self) -> str:
        """Return the fingerprint of the slash commands a full ``sync-commands`` registers."""
        return await tree_fingerprint(self.tree, self.config.discord.staff_guild_ids)

    async def _log_start(self) -> None:
        """Log the version, and whether the slash commands need a ``sync-commands``."""
        from bot.version import version

        fingerprint = await self.commands_fingerprint()
        state = await asyncio.to_thread(commands_state, self.config.state_dir, fingerprint)
        if state.in_sync:
            log.info("natverksboten %s starting; slash commands as synced", version())
        elif state.synced is None:
            log.warning(
                "natverksboten %s starting; no sync of the slash commands recorded in %s: "
                "run `natverksbot sync-commands`",
                version(),
                self.config.state_dir,
            )
        else:
            log.warning(
                "natverksboten %s starting; the slash commands differ from those synced at %s "
                "(by %s): run `natverksbot sync-commands`",
                version(),
                state.synced.synced_at,
                state.synced.version,
            )

    async def close(self) -> None:
        """Disconnect, then close the record store and the worker threads."""
        await super().close()
        if self._closed_resources:
            return
        self._closed_resources = True
        # Unloading stops the features' background tasks (the daily retention purge).
        for name in reversed(list(self.extensions)):
            try:
                await self.unload_extension(name)
            except Exception:
                log.exception("could not unload %s", name)
        records, self.records = self.records, None
        if records is not None:
            try:
                await records.close()
            except RuntimeError:  # the records thread is already gone
                records.store.close()
        # Questions or a reindex still running finish on their threads; nothing waits.
        for pool in (self.executor, self.reindex_executor, self.records_executor):
            pool.shutdown(wait=False, cancel_futures=True)

    async def on_ready(self) -> None:
        """Log, once per connection, who the bot is and how many servers it is in."""
        log.info("connected as %s to %d servers", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message, /) -> None:
        """Ignore prefix commands: the bot has none; the answers extension reads messages."""

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Log an exception that escaped an event handler, with its traceback."""
        log.exception("unhandled error in %s", event_method)

    # -- running blocking work off the event loop ------------------------------------

    async def run_engine(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Return ``func(*args, **kwargs)`` run on the engine pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    async def run_reindex(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Return ``func(*args, **kwargs)`` run on the reindex thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.reindex_executor, functools.partial(func, *args, **kwargs)
        )

    async def in_records_thread(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Return ``func(*args, **kwargs)`` run on the single records thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.records_executor, functools.partial(func, *args, **kwargs)
        )

    def require_records(self) -> AsyncRecordStore:
        """Return the question record; raise RuntimeError before setup_hook opened it."""
        if self.records is None:
            raise RuntimeError("the record store is not open")
        return self.records

    async def log_changes(self, changes: Iterable[ChangeRecord]) -> None:
        """Write change-log entries to the record store, on the records thread."""
        records = self.require_records()
        for change in changes:
            await records.log_change(change)

    def require_engine(self) -> Engine:
        """Return the engine, or raise EngineNotReadyError when there is none."""
        if self.engine is None:
            raise EngineNotReadyError("the bot has no engine")
        return self.engine

    async def tell_admins(self, text: str) -> bool:
        """Post ``text`` in ``discord.admin_channel_id``; return whether it was posted.

        Without an admin channel, or when posting fails, the text is only logged.
        """
        channel_id = self.config.discord.admin_channel_id
        log.warning("for the admins: %s", text)
        if channel_id is None:
            return False
        try:
            channel = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                log.warning("admin_channel_id %s is not a text channel", channel_id)
                return False
            await channel.send(text[:2000], allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not post to the admin channel %s: %s", channel_id, exc)
            return False
        return True

    def report_error(self, target: discord.Interaction | discord.Message, error: Exception) -> None:
        """Hand a failure to the errors extension, which answers ``target`` politely."""
        self.dispatch(USER_ERROR, target, error)


def staff_guilds(config: Config) -> list[discord.Object]:
    """Return the staff guilds, where the admin commands are registered as guild commands."""
    return [discord.Object(guild_id) for guild_id in config.discord.staff_guild_ids]


async def add_staff_cog(bot: NatverksBot, cog: commands.Cog) -> None:
    """Add a cog whose slash commands exist only in the staff guilds (none without any)."""
    guilds = staff_guilds(bot.config)
    if guilds:
        await bot.add_cog(cog, guilds=guilds)
        return
    await bot.add_cog(cog)
    for command in cog.get_app_commands():  # no staff guild: no admin command anywhere
        bot.tree.remove_command(command.name)


def create_bot(
    config: Config,
    engine: Engine | None = None,
    *,
    encoder: Encoder | None = None,
    load_engine: bool = True,
) -> NatverksBot:
    """Return the bot, not connected: ``bot.start(token)`` (or ``login``/``connect``) runs it.

    Without ``engine`` one is built from the config, with ``encoder`` or the configured
    model (loaded here, so call this before the event loop is busy). ``load_engine=False``
    builds a bot without an engine, enough to sync slash commands.
    """
    if engine is None and load_engine:
        engine = open_engine(config, encoder)
    return NatverksBot(config, engine)


def code_fingerprint(config: Config) -> str:
    """Return the fingerprint of the code's slash commands under ``config``.

    Without Discord and without touching the state folder: a bot without an engine loads
    its features, is fingerprinted and unloads them before anything yields to the event
    loop, so their background tasks (the daily purge) never run.
    """
    return asyncio.run(_code_fingerprint(config))


async def _code_fingerprint(config: Config) -> str:
    bot = NatverksBot(config, None)
    try:
        await bot.load_features()
        return await bot.commands_fingerprint()
    finally:
        for name in reversed(list(bot.extensions)):
            await bot.unload_extension(name)
        await bot.close()
