"""FakeDiscord: the world, its lifecycle and what tests observe; the fixture."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

import discord
import pytest_asyncio
import yarl
from aiohttp import web

from tests.fakes.discord.gateway import GatewayConnection, GatewayMixin, GatewaySession
from tests.fakes.discord.interactions import InteractionsMixin
from tests.fakes.discord.protocol import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    API_PREFIX,
    CHANNEL_DM,
    CHANNEL_NEWS,
    CHANNEL_TEXT,
    CHANNEL_VOICE,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    PRIVILEGED_INTENTS,
    T,
    UserLike,
    _now_iso,
    _sid,
    _Snowflakes,
)
from tests.fakes.discord.records import (
    BotMessage,
    FakeGuild,
    FakeInteraction,
    RecordedRequest,
    UploadedFile,
    _Notifier,
)
from tests.fakes.discord.rest import RestMixin

log = logging.getLogger(__name__)

_TIMERS = frozenset({"BaseView.__timeout_task_impl", "Loop._loop"})
"""Coroutines a bot's handler may start that wait for time, not for Discord (idle() skips)."""

# --------------------------------------------------------------------------------------
# the fake


class FakeDiscord(GatewayMixin, InteractionsMixin, RestMixin):
    """An in-process fake of Discord's REST API and gateway; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = "fake-discord-token",
        bot_name: str = "Nätverksboten",
        heartbeat_interval: float = 41.25,
        interaction_deadline: float = 3.0,
        message_content_rule: bool = True,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
    ) -> None:
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        self.message_content_rule = message_content_rule
        self.allowed_privileged_intents = allowed_privileged_intents
        self._ids = _Snowflakes()
        self._notifier = _Notifier()

        self.users: dict[int, dict[str, Any]] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.attachments: dict[int, UploadedFile] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self._dm_channels: dict[int, int] = {}
        self._ephemeral: set[int] = set()
        self._message_interaction: dict[int, FakeInteraction] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}

        self.bot_user = self.add_user(bot_name, bot=True)
        self.bot_user.update(verified=True, mfa_enabled=False, locale="sv-SE", email=None)
        self.application_id = int(self.bot_user["id"])
        self.owner_user = self.add_user("ägare")
        self.default_user = self.add_user("testare")

        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.unknown_gateway_payloads: list[dict[str, Any]] = []
        self.internal_errors: list[str] = []
        self.bot_messages: list[BotMessage] = []
        self._consumed: set[int] = set()
        self.deleted_messages: list[int] = []
        self.typing: list[tuple[int, float]] = []
        self.reactions: list[tuple[int, int, str, float]] = []
        self.synced_commands: dict[int | None, list[dict[str, Any]]] = {}
        # (method, route template) -> seconds to hold a response back after handling it.
        self.response_delays: dict[tuple[str, str], float] = {}
        self.presence_updates: list[dict[str, Any]] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.identify_count = 0
        # What idle() waits for: REST requests being handled, the bots run_bot started and
        # the tasks each bot started for an event (see _track_handlers).
        self.requests_in_flight = 0
        self._bots: list[discord.Client] = []
        self._readers: set[asyncio.Task[Any]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

        self._routes = self._build_routes()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Return the base URL of the fake's HTTP server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Return what ``discord.http.Route.BASE`` must be."""
        return f"{self.url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Return the gateway URL (``ws://``)."""
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start the HTTP/websocket server (on a free port by default)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close every gateway connection and stop the server."""
        for conn in self.connections:
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await conn.close(1001, "FakeDiscord stopped")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def patched(self) -> Iterator[FakeDiscord]:
        """Point discord.py's REST base and default gateway at this fake; restore on exit."""
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield self
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        self._patch_cm = self.patched()
        self._patch_cm.__enter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._patch_cm.__exit__(None, None, None)
        await self.stop()

    @contextlib.asynccontextmanager
    async def run_bot(
        self,
        bot: discord.Client,
        *,
        timeout: float = 5.0,
        guild_ready_timeout: float | None = 0.05,
    ) -> AsyncIterator[discord.Client]:
        """Log ``bot`` in, connect it and wait for ``on_ready``; close it on exit.

        ``guild_ready_timeout`` replaces discord.py's wait for further GUILD_CREATEs (2 s by
        default) so that ``on_ready`` fires quickly; ``None`` keeps the bot's own value.
        """
        if guild_ready_timeout is not None:
            bot._connection.guild_ready_timeout = guild_ready_timeout
        try:
            await bot.login(self.token)
        except BaseException:
            await bot.close()
            raise
        loop = asyncio.get_running_loop()
        previous_factory = loop.get_task_factory()
        loop.set_task_factory(self._track_handlers(previous_factory))
        task = asyncio.create_task(bot.connect(reconnect=True), name="fake-discord-bot")
        self._readers.add(task)
        self._bots.append(bot)
        ready = asyncio.create_task(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                if task in done:
                    task.result()
                    raise RuntimeError("FakeDiscord: the bot stopped before it was ready")
                raise TimeoutError(f"FakeDiscord: the bot was not ready within {timeout}s")
            yield bot
        finally:
            ready.cancel()
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(task, timeout)
                except TimeoutError:
                    task.cancel()
            self._bots.remove(bot)
            self._readers.discard(task)
            loop.set_task_factory(previous_factory)

    def _track_handlers(self, previous: Any) -> Callable[..., asyncio.Task[Any]]:
        """Return a task factory that records the tasks a bot starts to handle an event.

        discord.py reads the gateway in the task of ``bot.connect()`` and starts a task for
        every listener, command and component it dispatches to; those tasks may start more.
        A task counts when the task that created it is a reader or a counted task, except
        the timers that wait for nothing the fake sends (a view's timeout, an ext.tasks loop).
        """

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task:
            if previous is None:
                task = asyncio.Task(coro, loop=loop, **kwargs)
            else:
                task = previous(loop, coro, **kwargs)
            parent = asyncio.current_task(loop)
            if (
                parent is not None
                and (parent in self._readers or parent in self._handlers)
                and getattr(coro, "__qualname__", "") not in _TIMERS
            ):
                self._handlers.add(task)
                task.add_done_callback(self._handler_done)
            return task

        return factory

    def _handler_done(self, task: asyncio.Task[Any]) -> None:
        self._handlers.discard(task)
        self._notifier.notify()

    def _busy(self) -> list[str]:
        """Return what keeps the fake from being idle, in words ([] when it is idle)."""
        busy = [f"task {t.get_name()}" for t in self._handlers if not t.done()]
        if self.requests_in_flight:
            busy.append(f"{self.requests_in_flight} REST request(s) in flight")
        for bot in self._bots:
            ws = bot.ws
            if ws is None or bot.is_closed():
                continue
            session = self.sessions.get(ws.session_id or "")
            read = ws.sequence or 0
            if session is not None and session.connection is not None and read < session.seq:
                busy.append(f"events {read + 1}..{session.seq} not yet read by the bot")
        return busy

    async def idle(self, timeout: float = 5.0) -> None:
        """Return once the bot has handled every event and no REST request is in flight.

        Wait for this, never sleep, before asserting that nothing (more) arrived. Idle
        means: every event the fake dispatched has been read by each bot ``run_bot``
        started, every task the bot started to handle one (listeners, commands, components
        and the tasks they start) has finished, and no REST request is in flight. A handler
        that waits for a user (a confirmation view's ``wait()``) is busy until it times out.
        """
        if not self._bots:
            raise RuntimeError("FakeDiscord.idle(): no bot is running (use run_bot)")

        def what() -> str:
            return "the bot to be idle (busy: " + ", ".join(self._busy()) + ")"

        await self._notifier.wait_for(lambda: True if not self._busy() else None, timeout, what)

    async def wait_until(
        self, check: Callable[[], T | None], *, timeout: float = 5.0, what: str = "a condition"
    ) -> T:
        """Return ``check()`` once it is not None (re-checked on every record and every 10 ms)."""
        return await self._notifier.wait_for(check, timeout, lambda: what)

    async def wait_ready(self, timeout: float = 5.0) -> GatewaySession:
        """Wait until the fake has sent READY and every GUILD_CREATE to an identified bot."""

        def check() -> GatewaySession | None:
            for session in self.sessions.values():
                if session.connection is not None and session.ready_sent:
                    return session
            return None

        return await self._notifier.wait_for(check, timeout, lambda: "the bot to IDENTIFY")

    # ---------------------------------------------------------------- world building

    def add_user(
        self,
        name: str,
        *,
        bot: bool = False,
        user_id: int | None = None,
        global_name: str | None = None,
    ) -> dict[str, Any]:
        """Create a user; return its payload."""
        uid = user_id or self._ids.next()
        user = {
            "id": str(uid),
            "username": name,
            "discriminator": "0",
            "global_name": global_name,
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        self.users[uid] = user
        return user

    def add_guild(
        self,
        name: str = "Testgille",
        *,
        guild_id: int | None = None,
        owner: UserLike | None = None,
        locale: str = "sv-SE",
        channels: Sequence[str] = ("allmänt",),
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    ) -> FakeGuild:
        """Create a guild with @everyone, a managed bot role, text channels and members.

        The bot, the owner (``owner_user`` by default) and ``default_user`` are members.
        """
        gid = guild_id or self._ids.next()
        owner_user = self._user(owner) if owner is not None else self.owner_user
        guild = FakeGuild(
            id=gid,
            name=name,
            owner_id=int(owner_user["id"]),
            preferred_locale=locale,
            joined_at=_now_iso(),
        )
        self.guilds[gid] = guild
        guild.roles[gid] = self._role_payload(gid, "@everyone", everyone_permissions, position=0)
        bot_role = self.add_role(guild, self.bot_user["username"], bot_permissions)
        bot_role["managed"] = True
        bot_role["tags"] = {"bot_id": self.bot_user["id"]}
        self.add_member(guild, self.bot_user, roles=[bot_role])
        self.add_member(guild, owner_user)
        self.add_member(guild, self.default_user)
        for channel_name in channels:
            self.add_channel(guild, channel_name)
        return guild

    def add_role(
        self, guild: Any, name: str, permissions: int = 0, *, role_id: int | None = None
    ) -> dict[str, Any]:
        """Create a role in ``guild``; return its payload."""
        g = self._guild(guild)
        rid = role_id or self._ids.next()
        role = self._role_payload(rid, name, permissions, position=len(g.roles))
        g.roles[rid] = role
        return role

    @staticmethod
    def _role_payload(rid: int, name: str, permissions: int, *, position: int) -> dict[str, Any]:
        return {
            "id": str(rid),
            "name": name,
            "permissions": str(int(getattr(permissions, "value", permissions))),
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }

    def add_channel(
        self,
        guild: Any,
        name: str,
        *,
        type: int = CHANNEL_TEXT,
        topic: str | None = None,
        parent_id: int | None = None,
        nsfw: bool = False,
    ) -> dict[str, Any]:
        """Create a guild channel; return its payload."""
        g = self._guild(guild)
        cid = self._ids.next()
        channel: dict[str, Any] = {
            "id": str(cid),
            "type": type,
            "guild_id": str(g.id),
            "name": name,
            "position": len(g.channels),
            "permission_overwrites": [],
            "parent_id": None if parent_id is None else str(parent_id),
            "nsfw": nsfw,
            "flags": 0,
        }
        if type in (CHANNEL_TEXT, CHANNEL_NEWS):
            channel.update(topic=topic, last_message_id=None, rate_limit_per_user=0)
        if type == CHANNEL_VOICE:
            channel.update(bitrate=64000, user_limit=0, rtc_region=None)
        g.channels[cid] = channel
        self.channels[cid] = channel
        return channel

    def add_member(
        self, guild: Any, user: UserLike, *, roles: Sequence[Any] = (), nick: str | None = None
    ) -> dict[str, Any]:
        """Make ``user`` a member of ``guild`` with ``roles``; return the member payload."""
        g = self._guild(guild)
        u = self._user(user)
        member = {
            "user": u,
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": [_sid(r) for r in roles],
            "joined_at": _now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        g.members[int(u["id"])] = member
        return member

    def add_attachment(
        self,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Store ``data`` and return an attachment object whose URLs the fake serves."""
        aid = self._ids.next()
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.attachments[aid] = UploadedFile(
            filename=filename, data=bytes(data), content_type=ctype
        )
        url = f"{self.url}/attachments/{aid}/{urllib.parse.quote(filename)}"
        attachment: dict[str, Any] = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": ctype,
        }
        if description is not None:
            attachment["description"] = description
        return attachment

    def dm_channel(self, user: UserLike) -> dict[str, Any]:
        """Return the DM channel between ``user`` and the bot (created on first use)."""
        u = self._user(user)
        uid = int(u["id"])
        if uid not in self._dm_channels:
            cid = self._ids.next()
            self.channels[cid] = {
                "id": str(cid),
                "type": CHANNEL_DM,
                "last_message_id": None,
                "recipients": [u],
                "flags": 0,
            }
            self._dm_channels[uid] = cid
        return self.channels[self._dm_channels[uid]]

    @staticmethod
    def mention(target: Mapping[str, Any]) -> str:
        """Return the mention markup of a user (``<@id>``) or a role (``<@&id>``)."""
        if "username" in target:
            return f"<@{target['id']}>"
        return f"<@&{target['id']}>"

    # ---------------------------------------------------------------- lookups

    def _user(self, user: UserLike) -> dict[str, Any]:
        uid = int(user["id"]) if isinstance(user, Mapping) else int(user)
        try:
            return self.users[uid]
        except KeyError:
            raise LookupError(f"FakeDiscord: unknown user {uid} (use add_user)") from None

    def _guild(self, guild: Any) -> FakeGuild:
        if isinstance(guild, FakeGuild):
            return guild
        gid = int(guild["id"]) if isinstance(guild, Mapping) else int(guild)
        try:
            return self.guilds[gid]
        except KeyError:
            raise LookupError(f"FakeDiscord: unknown guild {gid} (use add_guild)") from None

    def _channel(self, channel: Any) -> dict[str, Any]:
        cid = int(channel["id"]) if isinstance(channel, Mapping) else int(channel)
        try:
            return self.channels[cid]
        except KeyError:
            raise LookupError(f"FakeDiscord: unknown channel {cid} (use add_channel)") from None

    def _message(self, message: Any) -> dict[str, Any]:
        if isinstance(message, BotMessage):
            message = message.id
        mid = int(message["id"]) if isinstance(message, Mapping) else int(message)
        try:
            return self.messages[mid]
        except KeyError:
            raise LookupError(f"FakeDiscord: unknown message {mid}") from None

    def _channel_guild(self, channel: Mapping[str, Any]) -> FakeGuild | None:
        gid = channel.get("guild_id")
        return self.guilds[int(gid)] if gid else None

    def member_permissions(self, guild: Any, user: UserLike) -> int:
        """Return the guild-level permission integer of ``user`` in ``guild``."""
        g = self._guild(guild)
        uid = int(self._user(user)["id"])
        if uid == g.owner_id:
            return ALL_PERMISSIONS
        member = g.members.get(uid)
        if member is None:
            raise LookupError(
                f"FakeDiscord: user {uid} is not a member of {g.name!r} (use add_member)"
            )
        value = int(g.everyone_role["permissions"])
        for rid in member["roles"]:
            role = g.roles.get(int(rid))
            if role is not None:
                value |= int(role["permissions"])
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Return the (non-ephemeral) messages of a channel, oldest first."""
        return [
            m
            for mid, m in sorted(self.messages.items())
            if int(m["channel_id"]) == int(channel_id) and mid not in self._ephemeral
        ]

    @property
    def sent_messages(self) -> list[BotMessage]:
        """Return the messages the bot created (no edits), in order."""
        return [m for m in self.bot_messages if m.action == "create"]

    @property
    def rejected_requests(self) -> list[RecordedRequest]:
        """Return requests the fake answered with an error status."""
        return [r for r in self.requests if r.status >= 400]

    def assert_no_unknown_requests(self) -> None:
        """Fail if the bot used a route/opcode the fake lacks or the fake itself failed."""
        problems = [f"HTTP {r.method} {r.path} (query {r.query})" for r in self.unknown_requests]
        problems += [
            f"gateway payload with unknown op: {p!r}" for p in self.unknown_gateway_payloads
        ]
        problems += [f"fake error: {e}" for e in self.internal_errors]
        if problems:
            raise AssertionError(
                "FakeDiscord received what it does not implement"
                " (extend tests/fakes/discord/):\n  " + "\n  ".join(problems)
            )

    async def wait_for_bot_message(
        self,
        predicate: Callable[[BotMessage], bool] | None = None,
        *,
        timeout: float = 5.0,
        include_edits: bool = False,
    ) -> BotMessage:
        """Return the next bot message not returned before that matches ``predicate``."""

        def check() -> BotMessage | None:
            for i, record in enumerate(self.bot_messages):
                if i in self._consumed or (record.action != "create" and not include_edits):
                    continue
                if predicate is None or predicate(record):
                    self._consumed.add(i)
                    return record
            return None

        def what() -> str:
            recent = [f"{m.action} {m.via} {m.content[:60]!r}" for m in self.bot_messages[-5:]]
            rejected = [
                f"{r.method} {r.path} -> {r.status} {r.response}"
                for r in self.rejected_requests[-3:]
            ]
            return f"a bot message (recent: {recent}, rejected requests: {rejected})"

        return await self._notifier.wait_for(check, timeout, what)


@pytest_asyncio.fixture(name="fake_discord")
async def fake_discord_fixture() -> AsyncIterator[FakeDiscord]:
    """Yield a started, patched ``FakeDiscord``; fail at teardown on unknown requests."""
    async with FakeDiscord() as fake:
        yield fake
    fake.assert_no_unknown_requests()
