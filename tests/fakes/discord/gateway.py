"""The fake's gateway: IDENTIFY, RESUME, dispatching events, and users posting messages."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.protocol import (
    _ROLE_MENTION,
    _THREAD_TYPES,
    _USER_MENTION,
    API_VERSION,
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_DIRECT_MESSAGE_TYPING,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGE_TYPING,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    UserLike,
    _now_iso,
)
from tests.fakes.discord.records import FakeGuild

log = logging.getLogger(__name__)


@dataclass(eq=False)
class GatewaySession:
    """An identified gateway session (survives reconnects that RESUME)."""

    id: str
    intents: int
    shard: list[int] | None
    identify: dict[str, Any]
    seq: int = 0
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    connection: GatewayConnection | None = None
    ready_sent: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH with the next sequence number (buffered for RESUME)."""
        async with self.lock:
            self.seq += 1
            payload = {"op": 0, "t": event, "s": self.seq, "d": data}
            self.buffer.append(payload)
            if self.connection is not None:
                await self.connection.send(payload)


class GatewayConnection:
    """One websocket connection to the fake gateway."""

    def __init__(self, ws: web.WebSocketResponse, query: Mapping[str, str]) -> None:
        self.ws = ws
        self.query = dict(query)
        self.compress = query.get("compress")
        self.encoding = query.get("encoding", "json")
        self.session: GatewaySession | None = None
        self.identify: dict[str, Any] | None = None
        self.resumed = False
        self.heartbeats: list[float] = []
        self.received: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._compressor: Any = None
        self._flush: Any = None
        if self.compress == "zlib-stream":
            self._compressor = zlib.compressobj()
            self._flush = zlib.Z_SYNC_FLUSH
        elif self.compress == "zstd-stream":
            import zstandard  # only when discord.py found it and asks for zstd

            self._compressor = zstandard.ZstdCompressor().compressobj()
            self._flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK

    def __repr__(self) -> str:
        return (
            f"<GatewayConnection compress={self.compress} close_code={self.close_code}"
            f" heartbeats={len(self.heartbeats)}>"
        )

    async def send(self, payload: Mapping[str, Any]) -> None:
        """Send one gateway payload (compressed as the client asked)."""
        text = json.dumps(payload, ensure_ascii=False)
        async with self._lock:
            if self.ws.closed:
                return
            if self._compressor is not None:
                data = self._compressor.compress(text.encode("utf-8")) + self._compressor.flush(
                    self._flush
                )
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)

    async def close(self, code: int, message: str = "") -> None:
        """Close the websocket with ``code``."""
        await self.ws.close(code=code, message=message.encode("utf-8"))


class GatewayMixin:
    """FakeDiscord's gateway side and users' messages (mixed into FakeDiscord)."""

    # ---------------------------------------------------------------- gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        try:
            conn = GatewayConnection(ws, request.query)
        except ImportError as exc:
            await ws.close(code=4000, message=f"FakeDiscord: {exc}".encode())
            self.internal_errors.append(f"gateway compression: {exc}")
            return ws
        self.connections.append(conn)
        hello = {
            "op": 10,
            "d": {
                "heartbeat_interval": int(self.heartbeat_interval * 1000),
                "_trace": ["fake-discord"],
            },
            "s": None,
            "t": None,
        }
        await conn.send(hello)
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    raw = msg.data if isinstance(msg.data, str) else msg.data.decode("utf-8")
                    payload = json.loads(raw)
                    conn.received.append(payload)
                    try:
                        await self._gateway_payload(conn, payload)
                    except Exception as exc:  # a bug of the fake: make it visible
                        log.exception("FakeDiscord gateway handler failed")
                        self.internal_errors.append(f"gateway op {payload.get('op')}: {exc!r}")
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            conn.close_code = ws.close_code
            conn.closed.set()
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                if ws.close_code in (1000, 1001):
                    # A client closing with 1000/1001 ends its session, as on Discord.
                    self.sessions.pop(session.id, None)
            self._notifier.notify()
        return ws

    async def _gateway_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            conn.heartbeats.append(time.monotonic())
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
            self._notifier.notify()
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif conn.session is None and op in (3, 4, 8):
            await conn.close(4003, "Not authenticated.")
        elif op == 3:
            self.presence_updates.append(data)
        elif op == 4:
            pass  # voice state update: the bot does not use voice
        elif op == 8:
            await self._request_members(conn, data or {})
        else:
            self.unknown_gateway_payloads.append(payload)
            log.warning("FakeDiscord: unknown gateway payload %r", payload)

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if data.get("token") != self.token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        session = GatewaySession(
            id=secrets.token_hex(16), intents=intents, shard=shard, identify=data
        )
        conn.identify = data
        conn.session = session
        session.connection = conn
        self.sessions[session.id] = session
        self.identify_count += 1
        guilds = [g for g in self.guilds.values() if self._on_shard(g.id, shard)]
        ready: dict[str, Any] = {
            "v": API_VERSION,
            "user": self.bot_user,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if shard is not None:
            ready["shard"] = shard
        await session.dispatch("READY", ready)
        for g in guilds:
            await session.dispatch("GUILD_CREATE", self._guild_create_payload(g, intents))
        session.ready_sent = True
        self._notifier.notify()

    @staticmethod
    def _on_shard(guild_id: int, shard: Sequence[int] | None) -> bool:
        if not shard:
            return True
        shard_id, count = shard
        return (guild_id >> 22) % count == shard_id

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id") or "")
        if session is None or data.get("token") != self.token:
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        if session.connection is not None and session.connection is not conn:
            with contextlib.suppress(Exception):
                await session.connection.close(4000, "Session resumed elsewhere")
        conn.session = session
        conn.identify = session.identify
        conn.resumed = True
        last = int(data.get("seq") or 0)
        async with session.lock:
            session.connection = conn
            for payload in list(session.buffer):
                if payload["s"] > last:
                    await conn.send(payload)
        await session.dispatch("RESUMED", {"_trace": ["fake-discord"]})
        self._notifier.notify()

    async def _request_members(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        guild = self.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or conn.session is None:
            return
        query = (data.get("query") or "").lower()
        user_ids = {int(u) for u in data.get("user_ids") or []}
        members = [
            m
            for uid, m in guild.members.items()
            if (not user_ids or uid in user_ids) and m["user"]["username"].lower().startswith(query)
        ]
        limit = data.get("limit") or 0
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await conn.session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    def _guild_create_payload(self, guild: FakeGuild, intents: int) -> dict[str, Any]:
        members = list(guild.members.values())
        if not intents & INTENT_GUILD_MEMBERS:
            # Without the members intent Discord only sends the bot's own member.
            members = [m for m in members if m["user"]["id"] == self.bot_user["id"]]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "preferred_locale": guild.preferred_locale,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "application_id": None,
            "roles": list(guild.roles.values()),
            "emojis": [],
            "stickers": [],
            "joined_at": guild.joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": members,
            "channels": [
                {k: v for k, v in c.items() if k != "guild_id"} for c in guild.channels.values()
            ],
            "threads": list(guild.threads.values()),
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    @staticmethod
    def _event_intent(event: str, data: Mapping[str, Any]) -> int | None:
        in_guild = bool(data.get("guild_id"))
        if event.startswith("MESSAGE_REACTION"):
            return INTENT_GUILD_MESSAGE_REACTIONS if in_guild else INTENT_DIRECT_MESSAGE_REACTIONS
        if event.startswith("MESSAGE_"):
            return INTENT_GUILD_MESSAGES if in_guild else INTENT_DIRECT_MESSAGES
        if event == "TYPING_START":
            return INTENT_GUILD_MESSAGE_TYPING if in_guild else INTENT_DIRECT_MESSAGE_TYPING
        if event.startswith(("GUILD_MEMBER_", "GUILD_MEMBERS_")) and event != "GUILD_MEMBERS_CHUNK":
            return INTENT_GUILD_MEMBERS
        if event.startswith(("GUILD_", "CHANNEL_", "THREAD_")) and event != "GUILD_MEMBERS_CHUNK":
            return INTENT_GUILDS
        return None

    def _for_session(
        self, session: GatewaySession, event: str, data: dict[str, Any]
    ) -> dict[str, Any] | None:
        intent = self._event_intent(event, data)
        if intent is not None and not session.intents & intent:
            return None
        if (
            self.message_content_rule
            and event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            and data.get("guild_id")
            and not session.intents & INTENT_MESSAGE_CONTENT
            and data.get("author", {}).get("id") != self.bot_user["id"]
            and not any(u.get("id") == self.bot_user["id"] for u in data.get("mentions") or [])
        ):
            data = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        return data

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Dispatch a gateway event to every session; return how many received it.

        Raises ``RuntimeError`` if no bot has identified (nothing could receive it).
        """
        if not self.sessions:
            raise RuntimeError(f"FakeDiscord.dispatch({event}): no bot is connected to the gateway")
        return await self._dispatch_quietly(event, data)

    async def _dispatch_quietly(self, event: str, data: dict[str, Any]) -> int:
        count = 0
        for session in list(self.sessions.values()):
            if event != "INTERACTION_CREATE" and session.shard and data.get("guild_id"):
                if not self._on_shard(int(data["guild_id"]), session.shard):
                    continue
            filtered = self._for_session(session, event, data)
            if filtered is not None:
                await session.dispatch(event, filtered)
                count += 1
        return count

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT on every open connection (the client should RESUME)."""
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.send({"op": 7, "d": None, "s": None, "t": None})

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every open gateway connection with ``code`` (4000 lets the client resume)."""
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.close(code, "FakeDiscord dropped the connection")

    # ---------------------------------------------------------------- users acting

    def _member_payload(
        self, guild: FakeGuild, user: Mapping[str, Any], *, with_user: bool
    ) -> dict[str, Any]:
        member = guild.members.get(int(user["id"]))
        if member is None:
            raise LookupError(
                f"FakeDiscord: {user['username']} is not a member of {guild.name!r}"
                " (use add_member)"
            )
        payload = copy.deepcopy(member)
        if not with_user:
            payload.pop("user")
        return payload

    def _gateway_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """Return the MESSAGE_CREATE form of a stored message (guild_id, member, mentions)."""
        data = copy.deepcopy(message)
        channel = self.channels.get(int(message["channel_id"]))
        guild = self._channel_guild(channel) if channel else None
        if guild is not None:
            data["guild_id"] = str(guild.id)
            author_id = int(message["author"]["id"])
            if author_id in guild.members and not message.get("webhook_id"):
                data["member"] = self._member_payload(guild, message["author"], with_user=False)
            for mention in data.get("mentions") or []:
                if int(mention["id"]) in guild.members:
                    mention["member"] = self._member_payload(guild, mention, with_user=False)
        if channel is not None:
            data["channel_type"] = channel["type"]
        return data

    def _content_mentions(
        self,
        content: str,
        guild: FakeGuild | None,
        allowed: Mapping[str, Any] | None,
        replied_author: Mapping[str, Any] | None,
    ) -> tuple[list[dict[str, Any]], list[str], bool]:
        """Return (mentioned users, mentioned role ids, mention_everyone) like Discord computes."""
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            user_ids: set[str] = set()
            role_ids: set[str] = set()
            replied = True
        else:
            parse = set(allowed.get("parse") or [])
            user_ids = {str(u) for u in allowed.get("users") or []}
            role_ids = {str(r) for r in allowed.get("roles") or []}
            replied = bool(allowed.get("replied_user", False))
        users: list[dict[str, Any]] = []
        for uid in _USER_MENTION.findall(content or ""):
            if ("users" in parse or uid in user_ids) and int(uid) in self.users:
                user = self.users[int(uid)]
                if user not in users:
                    users.append(user)
        if replied_author is not None and replied and replied_author not in users:
            users.append(dict(replied_author))
        roles: list[str] = []
        if guild is not None:
            for rid in _ROLE_MENTION.findall(content or ""):
                if (
                    ("roles" in parse or rid in role_ids)
                    and int(rid) in guild.roles
                    and rid not in roles
                ):
                    roles.append(rid)
        everyone = "everyone" in parse and (
            "@everyone" in (content or "") or "@here" in (content or "")
        )
        return users, roles, everyone

    def _new_message(
        self,
        *,
        channel: dict[str, Any],
        author: Mapping[str, Any],
        content: str,
        message_type: int = 0,
    ) -> dict[str, Any]:
        mid = self._ids.next()
        return {
            "id": str(mid),
            "channel_id": channel["id"],
            "author": dict(author),
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "reactions": [],
            "pinned": False,
            "type": message_type,
            "flags": 0,
        }

    def _store(self, message: dict[str, Any], *, ephemeral: bool = False) -> None:
        mid = int(message["id"])
        self.messages[mid] = message
        if ephemeral:
            self._ephemeral.add(mid)
        channel = self.channels.get(int(message["channel_id"]))
        if channel is not None and not ephemeral:
            channel["last_message_id"] = message["id"]
            if channel["type"] in _THREAD_TYPES:
                channel["message_count"] = channel.get("message_count", 0) + 1
                channel["total_message_sent"] = channel.get("total_message_sent", 0) + 1

    def _reference(
        self, reference: Any, channel: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        ref = self._message(reference)
        guild = self._channel_guild(channel)
        message_reference = {"type": 0, "message_id": ref["id"], "channel_id": ref["channel_id"]}
        if guild is not None:
            message_reference["guild_id"] = str(guild.id)
        referenced = {k: v for k, v in ref.items() if k != "referenced_message"}
        return message_reference, copy.deepcopy(referenced)

    async def send_user_message(
        self,
        channel_id: Any,
        user: UserLike | None,
        content: str,
        *,
        mentions: Sequence[Mapping[str, Any]] = (),
        reference: Any = None,
        mention_author: bool = True,
        attachments: Sequence[Mapping[str, Any]] = (),
        embeds: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Post a message as ``user`` (default ``default_user``); return its payload."""
        channel = self._channel(channel_id)
        author = self._user(user if user is not None else self.default_user)
        guild = self._channel_guild(channel)
        if guild is not None and int(author["id"]) not in guild.members:
            raise LookupError(
                f"FakeDiscord: {author['username']} is not a member of {guild.name!r}"
            )
        message = self._new_message(channel=channel, author=author, content=content)
        replied_author = None
        if reference is not None:
            message["message_reference"], message["referenced_message"] = self._reference(
                reference, channel
            )
            message["type"] = 19
            if mention_author:
                replied_author = message["referenced_message"]["author"]
        users, roles, everyone = self._content_mentions(content, guild, None, replied_author)
        for extra in mentions:
            extra_user = self._user(extra)
            if extra_user not in users:
                users.append(extra_user)
        message.update(
            mentions=[dict(u) for u in users],
            mention_roles=roles,
            mention_everyone=everyone,
            attachments=[dict(a) for a in attachments],
            embeds=[dict(e) for e in embeds],
        )
        self._store(message)
        await self.dispatch("MESSAGE_CREATE", self._gateway_message(message))
        return message

    async def send_dm(self, user: UserLike | None, content: str, **kwargs: Any) -> dict[str, Any]:
        """Post a DM from ``user`` to the bot; return the message payload."""
        author = self._user(user if user is not None else self.default_user)
        channel = self.dm_channel(author)
        return await self.send_user_message(channel["id"], author, content, **kwargs)
