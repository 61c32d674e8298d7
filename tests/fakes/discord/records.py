"""What the fake records and tests hold: requests, bot messages, interactions, guilds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.discord.protocol import CHANNEL_TEXT, FLAG_EPHEMERAL, T

if TYPE_CHECKING:
    from tests.fakes.discord.fake import FakeDiscord


# --------------------------------------------------------------------------------------
# records


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    data: bytes
    content_type: str | None = None
    field: str = ""


@dataclass
class RecordedRequest:
    """One HTTP request the fake received (``path`` without the ``/api/v10`` prefix)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    time: float
    status: int = 0
    route: str | None = None
    response: Any = None


@dataclass
class BotMessage:
    """A message the bot created or edited, as Discord returned it."""

    message: dict[str, Any]
    action: str
    via: str
    payload: dict[str, Any]
    files: list[UploadedFile]
    time: float
    interaction: FakeInteraction | None = None

    @property
    def id(self) -> int:
        """Return the message id."""
        return int(self.message["id"])

    @property
    def channel_id(self) -> int:
        """Return the channel id."""
        return int(self.message["channel_id"])

    @property
    def content(self) -> str:
        """Return the message content."""
        return self.message.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Return the embeds."""
        return self.message.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        """Return the components."""
        return self.message.get("components") or []

    @property
    def attachments(self) -> list[dict[str, Any]]:
        """Return the attachments."""
        return self.message.get("attachments") or []

    @property
    def flags(self) -> int:
        """Return the message flags."""
        return int(self.message.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Return whether only the invoking user sees the message."""
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """Return the ``allowed_mentions`` the bot sent with this request (None if omitted)."""
        return self.payload.get("allowed_mentions")

    @property
    def mentions(self) -> list[dict[str, Any]]:
        """Return the users the message actually pinged."""
        return self.message.get("mentions") or []

    @property
    def reference_id(self) -> int | None:
        """Return the id of the message this one replies to."""
        ref = self.message.get("message_reference")
        return int(ref["message_id"]) if ref and ref.get("message_id") else None

    def all_text(self) -> str:
        """Return content plus every embed text, for loose assertions."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for fld in embed.get("fields") or []:
                parts += [fld.get("name") or "", fld.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
            parts.append((embed.get("author") or {}).get("name") or "")
        return "\n".join(p for p in parts if p)


@dataclass
class InteractionCallback:
    """The initial response of the bot to an interaction."""

    type: int
    data: dict[str, Any]
    files: list[UploadedFile]
    time: float
    message: dict[str, Any] | None = None


class _Notifier:
    """Wakes up waiters whenever the fake records something."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self, check: Callable[[], T | None], timeout: float, what: Callable[[], str]
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"FakeDiscord: timed out after {timeout}s waiting for {what()}")
            event = self._event
            # Also poll: conditions may depend on the bot's side (its event handlers).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.01))


class FakeInteraction:
    """An interaction the fake dispatched, and everything the bot answered to it."""

    def __init__(self, fake: FakeDiscord, payload: dict[str, Any]) -> None:
        self._fake = fake
        self.payload = payload
        self.id = int(payload["id"])
        self.type = int(payload["type"])
        self.token: str = payload["token"]
        self.channel_id = int(payload["channel_id"])
        self.guild_id = int(payload["guild_id"]) if payload.get("guild_id") else None
        user = payload["member"]["user"] if "member" in payload else payload["user"]
        self.user: dict[str, Any] = user
        self.dispatched_at: float = 0.0
        self.callback: InteractionCallback | None = None
        self.messages: list[BotMessage] = []
        self.original_id: int | None = (
            int(payload["message"]["id"]) if "message" in payload else None
        )
        self._placeholder_pending = False
        self._consumed: set[int] = set()

    def __repr__(self) -> str:
        cb = self.callback.type if self.callback else None
        n = len(self.messages)
        return f"<FakeInteraction id={self.id} type={self.type} callback={cb} messages={n}>"

    @property
    def name(self) -> str | None:
        """Return the command name (for application commands)."""
        return (self.payload.get("data") or {}).get("name")

    @property
    def callback_latency(self) -> float | None:
        """Return seconds from dispatching INTERACTION_CREATE to the callback's arrival."""
        return None if self.callback is None else self.callback.time - self.dispatched_at

    @property
    def followups(self) -> list[BotMessage]:
        """Return follow-up messages (creations through the interaction webhook)."""
        return [m for m in self.messages if m.via == "followup" and m.action == "create"]

    @property
    def original(self) -> dict[str, Any] | None:
        """Return the current state of the ``@original`` message, if any."""
        return None if self.original_id is None else self._fake.messages.get(self.original_id)

    async def wait_for_callback(self, timeout: float = 5.0) -> InteractionCallback:
        """Wait until the bot sent its initial response; return it."""
        return await self._fake._notifier.wait_for(
            lambda: self.callback, timeout, lambda: f"the callback to {self!r}"
        )

    async def wait_for_message(
        self, predicate: Callable[[BotMessage], bool] | None = None, *, timeout: float = 5.0
    ) -> BotMessage:
        """Return the next not yet returned message (create or edit) of this interaction."""

        def check() -> BotMessage | None:
            for i, record in enumerate(self.messages):
                if i not in self._consumed and (predicate is None or predicate(record)):
                    self._consumed.add(i)
                    return record
            return None

        return await self._fake._notifier.wait_for(
            check, timeout, lambda: f"a message of {self!r} (got {self.messages!r})"
        )


@dataclass(eq=False)
class FakeGuild:
    """A guild of the fake, with payload dicts in Discord's shape."""

    id: int
    name: str
    owner_id: int
    preferred_locale: str
    joined_at: str
    roles: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    threads: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def everyone_role(self) -> dict[str, Any]:
        """Return the @everyone role (its id is the guild id)."""
        return self.roles[self.id]

    @property
    def text_channel_id(self) -> int:
        """Return the id of the first text channel."""
        for channel in self.channels.values():
            if channel["type"] == CHANNEL_TEXT:
                return int(channel["id"])
        raise LookupError(f"guild {self.name!r} has no text channel")

    def channel(self, name: str) -> dict[str, Any]:
        """Return the channel (or thread) called ``name``."""
        for channel in [*self.channels.values(), *self.threads.values()]:
            if channel["name"] == name:
                return channel
        raise LookupError(f"guild {self.name!r} has no channel {name!r}")

    def role(self, name: str) -> dict[str, Any]:
        """Return the role called ``name``."""
        for role in self.roles.values():
            if role["name"] == name:
                return role
        raise LookupError(f"guild {self.name!r} has no role {name!r}")


@dataclass
class _Req:
    """A parsed REST request handed to the route handlers."""

    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    json: Any
    files: list[UploadedFile]
    time: float
    headers: Mapping[str, str]


_Handler = Callable[[_Req], Any]
