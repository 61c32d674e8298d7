"""Fixtures of the bot tests: a small indexed knowledge folder, config, a Discord world."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.client import NatverksBot, create_bot
from bot.config import Config, DiscordConfig, RateLimitConfig, SourcesConfig
from bot.locales import engine_phrases
from index.engine import Engine
from tests.bot.municipal_site import MunicipalSite, serve_site
from tests.conftest import FakeEncoder, fake_calibrated
from tests.fakes.discord import (
    INTERACTION_AUTOCOMPLETE,
    BotMessage,
    FakeDiscord,
    FakeGuild,
    fake_discord_fixture,  # noqa: F401 - the fake_discord fixture
)

ANSWERABLE = "När startade samarbetet mellan kommunerna?"


LOCAL_SITE = SourcesConfig(allowed_hosts=["127.0.0.1"])
"""The tests' web sites run on 127.0.0.1, which the bot fetches only when allowed."""


def make_config(
    knowledge: Path, state: Path, *, sources: SourcesConfig = LOCAL_SITE, **discord: Any
) -> Config:
    """Return a config for ``knowledge`` with its state in ``state`` and discord overrides."""
    rate = discord.pop("rate_limit", {})
    return Config(
        knowledge_dir=knowledge,
        state_dir=state,
        discord=DiscordConfig(rate_limit=RateLimitConfig(**rate), **discord),
        sources=sources,
    )


class EngineSpy:
    """Wraps ``engine.ask`` to record every call (and optionally slow it down)."""

    def __init__(self, engine: Engine, delay: float = 0.0) -> None:
        self.engine = engine
        self.delay = delay
        self.calls: list[dict[str, Any]] = []
        self.threads: set[str] = set()
        self._ask = engine.ask
        self._lock = threading.Lock()
        engine.ask = self  # type: ignore[method-assign]

    def __call__(self, question: str, **kwargs: Any) -> Any:
        with self._lock:
            self.calls.append({"question": question, **kwargs, "started": time.monotonic()})
            self.threads.add(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        return self._ask(question, **kwargs)


@dataclass
class World:
    """A fake Discord with a staff guild and a public guild, and the bot's config."""

    fake: FakeDiscord
    staff: FakeGuild
    public: FakeGuild
    knowledge: Path
    state: Path
    engine: Engine
    discord: dict[str, Any] = field(default_factory=dict)

    def config(self, **overrides: Any) -> Config:
        settings = {"staff_guild_ids": [self.staff.id], **self.discord, **overrides}
        return make_config(self.knowledge, self.state, **settings)

    def bot(self, **overrides: Any) -> NatverksBot:
        return create_bot(self.config(**overrides), self.engine)

    @contextlib.asynccontextmanager
    async def running(self, **overrides: Any) -> AsyncIterator[NatverksBot]:
        bot = self.bot(**overrides)
        async with self.fake.run_bot(bot):
            yield bot

    def mention(self, text: str) -> str:
        return f"{self.fake.mention(self.fake.bot_user)} {text}"

    async def ask_by_mention(self, guild: FakeGuild, text: str, **kwargs: Any) -> BotMessage:
        """Mention the bot with ``text`` in ``guild``; return the bot's reply."""
        sent = await self.fake.send_user_message(
            guild.text_channel_id, kwargs.pop("user", None), self.mention(text), **kwargs
        )
        return await self.fake.wait_for_bot_message(
            lambda m: m.reference_id == int(sent["id"]) or _in_thread_of(m, sent)
        )

    def user(self, name: str, *guilds: FakeGuild, roles: tuple[Any, ...] = ()) -> dict:
        user = self.fake.add_user(name)
        for guild in guilds or (self.staff, self.public):
            self.fake.add_member(guild, user, roles=roles if guild is self.staff else ())
        return user

    def admin(self) -> dict:
        """Return a new staff-guild member whose role may manage the server (a /kb admin)."""
        managers = self.fake.add_role(
            self.staff, "Förvaltare", discord.Permissions(manage_guild=True).value
        )
        return self.user("förvaltare", self.staff, roles=(managers,))

    async def autocomplete(self, user: dict, subcommand: str, option: str, typed: str) -> list:
        """Type ``typed`` into ``/kb <subcommand>``'s ``option``; return the choices offered."""
        fake, guild = self.fake, self.staff
        data = {
            "id": "1",
            "name": "kb",
            "type": 1,
            "guild_id": str(guild.id),  # /kb is a guild command of the staff guilds
            "options": [
                {
                    "type": 1,
                    "name": subcommand,
                    "options": [{"type": 3, "name": option, "value": typed, "focused": True}],
                }
            ],
        }
        payload = fake._interaction_payload(
            INTERACTION_AUTOCOMPLETE,
            data,
            user=fake._user(user),
            channel=fake._channel(guild.text_channel_id),
            permissions=None,
            locale="sv-SE",
            guild_locale=None,
        )
        ix = await fake._dispatch_interaction(payload)
        callback = await ix.wait_for_callback()
        assert callback.type == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
        return callback.data["choices"]


def _in_thread_of(message: BotMessage, question: dict) -> bool:
    return message.channel_id == int(question["id"])


@pytest.fixture
async def site() -> AsyncIterator[MunicipalSite]:
    """The local municipal web site on 127.0.0.1, for as long as the test runs."""
    async for running in serve_site():
        yield running


@pytest.fixture
def fake_model(monkeypatch) -> None:
    """Every engine opened from a config gets the fake encoder, calibrated for it."""
    from bot.services import indexing

    engine = Config.engine
    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())
    monkeypatch.setattr(Config, "engine", property(lambda c: fake_calibrated(engine.fget(c))))


@pytest.fixture
def indexed_engine(knowledge: Path, tmp_path: Path, fake_encoder) -> Engine:
    """The engine over the small knowledge folder, with a fake encoder, indexed."""
    config = make_config(knowledge, tmp_path / "state")
    engine = Engine(fake_calibrated(config.engine), fake_encoder, engine_phrases())
    engine.reindex()
    return engine


@pytest.fixture
def world(fake_discord: FakeDiscord, knowledge: Path, tmp_path: Path, indexed_engine) -> World:
    staff = fake_discord.add_guild("Personalen", channels=("allmänt", "intern"))
    public = fake_discord.add_guild("Allmänheten", channels=("frågor",))
    return World(fake_discord, staff, public, knowledge, tmp_path / "state", indexed_engine)


def all_bot_text(fake: FakeDiscord) -> str:
    """Return everything the bot showed: contents, embeds, component labels and ids."""
    parts = []
    for message in fake.bot_messages:
        parts.append(message.all_text())
        for row in message.components:
            for item in row.get("components", []):
                parts += [str(item.get("label") or ""), str(item.get("custom_id") or "")]
    return "\n".join(parts)


def record_rows(state: Path) -> list[dict[str, Any]]:
    """Return the question records in the state folder (read directly, for assertions)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(state / "bot.sqlite")) as db:
        cursor = db.execute("SELECT * FROM questions ORDER BY id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def folder_files(folder: Path) -> dict[str, bytes]:
    """Return every file under ``folder`` (hidden ones too) with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def logged_changes(state: Path) -> list[dict[str, Any]]:
    """Return the change log in the state folder, oldest first ([] without a database)."""
    import sqlite3

    if not (state / "bot.sqlite").exists():
        return []
    with contextlib.closing(sqlite3.connect(state / "bot.sqlite")) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM changes ORDER BY id")]


def custom_ids(message: BotMessage) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row["components"]]


Waiter = Callable[..., Any]
