"""/kb fetch and the periodic sync, through the fake Discord and a local municipal site."""

from __future__ import annotations

import contextlib
import sqlite3

from bot.client import create_bot
from bot.config import SyncConfig
from tests.bot.conftest import World
from tests.bot.services.web.test_sources import list_pages

FISH = "Vilket år invigdes Tranbergets fiskecentrum?"
HOURS = "Hur många timmar samhällsorientering får man i Falköping?"


class ReindexCounter:
    def __init__(self, engine):
        self.calls = 0
        self._reindex = engine.reindex
        engine.reindex = self

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self._reindex(*args, **kwargs)


@contextlib.asynccontextmanager
async def running(world: World, **sync):
    config = world.config(admin_channel_id=world.staff.text_channel_id)
    config = config.model_copy(update={"sync": SyncConfig(**sync)})
    bot = create_bot(config, world.engine)
    async with world.fake.run_bot(bot):
        yield bot, bot.get_cog("SyncCog")


def _admin_posts(world: World) -> list:
    return [
        m
        for m in world.fake.bot_messages
        if m.channel_id == world.staff.text_channel_id and m.via == "channel"
    ]


async def _ask(world: World, guild, question: str):
    ix = await world.fake.invoke_slash("ask", {"question": question}, guild=guild)
    return await ix.wait_for_message(timeout=10)


async def test_an_admin_fetches_the_web_sources_and_answers_link_to_the_page(world, site):
    admin = world.admin()
    list_pages(world.knowledge, site, ("/integration", "public"))
    async with world.running():
        ix = await world.fake.invoke_slash("kb fetch", guild=world.staff, user=admin)
        reply = await ix.wait_for_message(timeout=10)
        answer = await _ask(world, world.public, HOURS)
        site.broken = True
        again = await (
            await world.fake.invoke_slash("kb fetch", guild=world.staff, user=admin)
        ).wait_for_message(timeout=10)

    assert reply.ephemeral
    assert reply.content == (
        "Webbsidor: 1 nya, 0 ändrade, 0 oförändrade, 0 borttagna, 0 misslyckade."
    )
    assert "1 / 0 / 0" in reply.embeds[0]["description"]
    assert "100 timmar" in answer.embeds[0]["description"]
    assert f"({site.url}/integration)" in answer.embeds[0]["fields"][0]["value"]
    assert again.content == (
        "Webbsidor: 0 nya, 0 ändrade, 0 oförändrade, 0 borttagna, 1 misslyckade.\n"
        "Misslyckades (senaste fungerande kopia behålls):\n"
        f"• <{site.url}/integration>: HTTP 500 Internal Server Error"
    )
    assert not again.embeds  # nothing changed, no reindex
    with contextlib.closing(sqlite3.connect(world.state / "bot.sqlite")) as db:
        rows = db.execute("SELECT action, detail, via FROM changes").fetchall()
    assert rows == [("fetch-added", f"{site.url}/integration", "discord")]


async def test_the_sync_indexes_a_file_only_once_it_is_completely_written(world: World):
    counter = ReindexCounter(world.engine)
    async with running(world) as (bot, sync):
        assert await sync.check() == "changing"  # the first look
        assert await sync.check() == "reindexed"  # nothing changed: the engine only hashed
        assert await sync.check() == "unchanged"
        assert counter.calls == 1 and _admin_posts(world) == []

        path = world.knowledge / "fiskecentrum.md"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("---\nvisibility: public\n---\n# Fiskecentrum\n\nTranbergets fiske")
            handle.flush()
            assert await sync.check() == "changing"
            half = await _ask(world, world.public, FISH)
            handle.write("centrum invigdes 2019 av kommunerna tillsammans.\n")
            handle.flush()
            assert await sync.check() == "changing"  # still moving: wait
        assert counter.calls == 1
        assert await sync.check() == "reindexed"
        whole = await _ask(world, world.public, FISH)
        assert await sync.check() == "unchanged"

    assert counter.calls == 2
    assert "2019" not in half.all_text()
    assert "2019" in whole.embeds[0]["description"]
    [post] = _admin_posts(world)
    assert post.content == (
        "Kunskapsmappen har ändrats och indexet är uppdaterat. Ändrade filer: fiskecentrum.md"
    )
    assert "1 / 0 / 0" in post.embeds[0]["description"]
    assert post.allowed_mentions == {"parse": []}


async def test_the_sync_fetches_sources_when_due_and_indexes_the_pages_at_once(world, site):
    list_pages(world.knowledge, site, ("/integration", "public"))
    async with running(world, interval_minutes=0, sources_interval_minutes=60) as (bot, sync):
        assert await sync.check() == "changing"  # first look, the page fetched meanwhile
        assert await sync.check() == "reindexed"
        assert await sync.check() == "unchanged"  # not due again for an hour
        fetches = [r for r in site.requests if r[0] == "/integration"]
        site.extra = "Från 2025 erbjuds även föräldrautbildning på arabiska."
        list_pages(world.knowledge, site, ("/integration", "public", "Integration"))
        assert await sync.check() == "reindexed"  # sources.yaml changed: fetched, indexed
        answer = await _ask(world, world.public, "Vilken föräldrautbildning erbjuds från 2025?")

    assert len(fetches) == 1
    assert "arabiska" in answer.embeds[0]["description"]
    texts = [p.content for p in _admin_posts(world)]
    assert texts[0] == "Webbsidor: 1 nya, 0 ändrade, 0 oförändrade, 0 borttagna, 0 misslyckade."
    assert texts[1].startswith("Kunskapsmappen har ändrats och indexet är uppdaterat.")
    assert texts[2] == "Webbsidor: 0 nya, 1 ändrade, 0 oförändrade, 0 borttagna, 0 misslyckade."
    assert len(texts) == 4


async def test_the_periodic_check_runs_by_itself_when_configured(world: World):
    counter = ReindexCounter(world.engine)
    async with running(world, interval_minutes=0.002) as (bot, sync):
        assert sync.periodic_check.is_running()
        await world.fake.wait_until(lambda: counter.calls >= 1 or None, timeout=5, what="a check")
    assert not sync.periodic_check.is_running()
