"""/reindex and /kb status through the fake Discord: who may, progress, questions in flight."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import discord

from tests.bot.conftest import ANSWERABLE, EngineSpy, World, record_rows
from tests.conftest import lock_held_elsewhere, write_doc
from tests.fakes.discord import validate_commands

NEW_FACT = "Vilket år invigdes Tranbergets fiskecentrum?"


def _admin(world: World, *, role: bool = False) -> dict:
    """A staff member with the admin role (role=True) or with Manage Server."""
    if role:
        admin_role = world.fake.add_role(world.staff, "Redaktör")
        user = world.user("redaktör", world.staff, roles=(admin_role,))
        world.discord["admin_role_ids"] = [int(admin_role["id"])]
        return user
    managers = world.fake.add_role(
        world.staff, "Förvaltare", discord.Permissions(manage_guild=True).value
    )
    return world.user("förvaltare", world.staff, roles=(managers,))


async def test_a_non_admin_is_refused_politely(world: World):
    reindexed = []
    world.engine.reindex = lambda *a, **k: reindexed.append(1)
    async with world.running():
        plain = await world.fake.invoke_slash("reindex", guild=world.staff)
        refusal = await plain.wait_for_message()
        status = await world.fake.invoke_slash("kb status", guild=world.staff)
        status_refusal = await status.wait_for_message()

    for message in (refusal, status_refusal):
        assert message.ephemeral
        assert (
            message.content
            == "Det här kommandot är bara för administratörer på personalens server."
        )
    assert reindexed == []


async def test_admin_commands_are_hidden_by_default_and_localized(world: World):
    async with world.running() as bot:
        await bot.tree.sync()
        await bot.tree.sync(guild=discord.Object(world.staff.id))
        await bot.tree.sync(guild=discord.Object(world.public.id))
    global_commands = {c["name"] for c in world.fake.synced_commands[None]}
    assert global_commands == {"ask", "forget-me", "help"}
    assert world.fake.synced_commands[world.public.id] == []  # the public server: none
    commands = {
        c["name"]: c
        for c in world.fake.synced_commands[None] + world.fake.synced_commands[world.staff.id]
    }
    validate_commands(list(commands.values()))
    assert set(commands) == {"ask", "forget-me", "help", "reindex", "kb"}
    manage_guild = str(discord.Permissions(manage_guild=True).value)
    assert commands["reindex"]["default_member_permissions"] == manage_guild
    assert commands["kb"]["default_member_permissions"] == manage_guild
    assert commands["ask"]["default_member_permissions"] is None
    assert commands["reindex"]["contexts"] == [0] and commands["kb"]["contexts"] == [0]
    assert commands["ask"]["name_localizations"] == {"sv-SE": "fråga"}
    assert commands["ask"]["description_localizations"] == {
        "sv-SE": "Ställ en fråga om nätverkets dokument"
    }
    question, only_me, thread = commands["ask"]["options"]
    assert question["name"] == "question" and question["required"]
    assert question["name_localizations"] == {"sv-SE": "fråga"}
    assert only_me["name"] == "only-me" and only_me["type"] == 5  # boolean
    assert only_me["name_localizations"] == {"sv-SE": "bara-till-mig"}
    assert thread["name_localizations"] == {"sv-SE": "tråd"}
    assert commands["help"]["name_localizations"] == {"sv-SE": "hjälp"}
    assert commands["forget-me"]["name_localizations"] == {"sv-SE": "glöm-mig"}
    assert commands["forget-me"]["default_member_permissions"] is None  # for everyone
    assert commands["reindex"]["name_localizations"] == {"sv-SE": "omindexera"}


async def test_an_admin_role_may_see_the_status(world: World):
    admin = _admin(world, role=True)
    async with world.running():
        await world.ask_by_mention(world.public, ANSWERABLE)
        ix = await world.fake.invoke_slash("kb status", guild=world.staff, user=admin)
        reply = await ix.wait_for_message()

    assert reply.ephemeral
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Modell"] == "fake-trigram-64 (64 dim)"
    assert fields["Dokument"] == "3 (2 offentliga, 1 interna)"
    assert int(fields["Avsnitt"]) >= 3
    assert fields["Senast indexerad"].startswith("<t:")
    assert fields["Indexets storlek"].endswith(" MB")
    assert fields["Frågor sedan boten startade"] == "1 (1 besvarade)"


async def test_reindex_while_20_questions_are_in_flight_loses_none(world: World):
    admin = _admin(world)
    write_doc(
        world.knowledge,
        "fiskecentrum.md",
        "# Fiskecentrum\n\nTranbergets fiskecentrum invigdes 2019 av kommunerna tillsammans.\n",
        title="Tranbergets fiskecentrum",
        visibility="public",
    )
    spy = EngineSpy(world.engine, delay=0.05)
    reindex_window: dict[str, float] = {}
    reindex = world.engine.reindex

    def timed_reindex(*args, **kwargs):
        reindex_window["start"] = time.monotonic()
        try:
            return reindex(*args, **kwargs)
        finally:
            reindex_window["end"] = time.monotonic()

    world.engine.reindex = timed_reindex
    users = [world.user(f"person{i}") for i in range(20)]
    async with world.running(reindex_progress_seconds=0.05):
        questions = [
            await world.fake.invoke_slash(
                "ask", {"question": ANSWERABLE}, user=u, guild=world.public
            )
            for u in users
        ]
        await world.fake.wait_until(lambda: len(spy.calls) >= 2 or None, what="questions running")
        job = await world.fake.invoke_slash("reindex", guild=world.staff, user=admin)
        answers = [await ix.wait_for_message(timeout=10) for ix in questions]
        started = await job.wait_for_message()
        summary = await world.fake.wait_for_bot_message(
            lambda m: m.interaction is job and "Indexet är byggt" in m.content,
            include_edits=True,
            timeout=10,
        )
        after = await world.fake.invoke_slash("ask", {"question": NEW_FACT}, guild=world.public)
        new_answer = await after.wait_for_message()

    assert all(ix.callback.type == 5 for ix in questions)
    assert all("2012" in a.embeds[0]["description"] for a in answers)
    assert len(record_rows(world.state)) == 21
    # The reindex ran while questions were being answered.
    last_question = max(c["started"] for c in spy.calls[:20])
    assert reindex_window["start"] < last_question
    assert started.ephemeral and started.content == "Omindexering startad …"
    assert summary.ephemeral and summary.content.startswith("```")
    assert "fiskecentrum" not in summary.content  # the summary counts, it does not list
    assert "tillagda / ändrade / borttagna  1 / 0 / 0" in summary.content
    assert re.search(r"^  dokument +4$", summary.content, re.M)
    assert "2019" in new_answer.embeds[0]["description"]
    assert "Tranbergets fiskecentrum" in new_answer.embeds[0]["fields"][0]["value"]


async def test_reindex_shows_progress_and_a_second_one_is_told_to_wait(world: World):
    admin = _admin(world)
    gate = threading.Event()
    reindex = world.engine.reindex

    def slow_reindex(progress=None, **kwargs):
        def report(stage, done, total):
            progress(stage, done, total)
            if stage == "read":
                gate.wait(5)

        return reindex(report, **kwargs)

    world.engine.reindex = slow_reindex
    async with world.running(reindex_progress_seconds=0.05):
        first = await world.fake.invoke_slash("reindex", guild=world.staff, user=admin)
        await first.wait_for_message()
        progress = await first.wait_for_message()
        second = await world.fake.invoke_slash("reindex", guild=world.staff, user=admin)
        told = await second.wait_for_message()
        gate.set()
        done = await world.fake.wait_for_bot_message(
            lambda m: m.interaction is first and "```" in m.content, include_edits=True
        )

    assert progress.action == "edit"
    assert progress.content.startswith("Omindexering pågår (")
    assert "Läser dokument 1/3" in progress.content
    assert told.ephemeral and told.content.startswith("En omindexering pågår redan")
    assert "Index" in done.content


async def test_reindex_locked_by_another_process_is_explained(world: World):
    admin = _admin(world)
    with lock_held_elsewhere(world.engine.settings.index_dir):
        async with world.running():
            ix = await world.fake.invoke_slash("reindex", guild=world.staff, user=admin)
            await ix.wait_for_message()
            refusal = await ix.wait_for_message()

    assert refusal.ephemeral
    assert refusal.content.startswith("En omindexering pågår redan i en annan process")


async def test_questions_keep_being_answered_during_a_slow_reindex(world: World):
    admin = _admin(world)
    gate = threading.Event()
    reindex = world.engine.reindex

    def blocked_reindex(progress=None, **kwargs):
        gate.wait(5)
        return reindex(progress, **kwargs)

    world.engine.reindex = blocked_reindex
    async with world.running():
        job = await world.fake.invoke_slash("reindex", guild=world.staff, user=admin)
        await job.wait_for_message()
        ix = await world.fake.invoke_slash("ask", {"question": ANSWERABLE})
        answer = await ix.wait_for_message(timeout=3)
        gate.set()
        await world.fake.wait_for_bot_message(
            lambda m: m.interaction is job and "```" in m.content, include_edits=True
        )
    assert "2012" in answer.embeds[0]["description"]
    await asyncio.sleep(0)


async def test_reindex_rebuilds_a_damaged_build_by_itself(world: World):
    from index.store import current_build, load_index

    admin = _admin(world)
    index_dir = world.engine.settings.index_dir
    damaged = current_build(index_dir) / "dense.faiss"
    data = damaged.read_bytes()
    damaged.write_bytes(data[:128] + bytes(reversed(data[128:])))  # same size, garbage
    async with world.running():
        job = await world.fake.invoke_slash("reindex", guild=world.staff, user=admin)
        summary = await world.fake.wait_for_bot_message(
            lambda m: m.interaction is job and "Indexet är byggt" in m.content,
            include_edits=True,
            timeout=10,
        )
    assert "Indexet är byggt" in summary.content
    assert current_build(index_dir) != damaged.parent
    load_index(index_dir).close()
    # The bot now searches the rebuilt build: the seed document is found again.
    hits = world.engine.search(ANSWERABLE, visibility="public").hits
    assert "allt-startade-i-almedalen.md" in {hit.doc_id for hit in hits}
