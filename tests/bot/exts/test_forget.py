"""/glöm-mig (/forget-me): a person deletes their own questions, votes and quoted words."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from tests.bot.conftest import ANSWERABLE, World, custom_ids, record_rows

SECOND = "Och när startade den?"


def _votes(world: World) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(world.state / "bot.sqlite")) as db:
        return db.execute("SELECT record_id, user_hash, vote FROM votes ORDER BY rowid").fetchall()


async def _two_people_talk(world: World, me: dict, other: dict) -> None:
    """I ask; the other follows my answer up; each votes on both answers."""
    fake = world.fake
    mine = await world.ask_by_mention(world.public, ANSWERABLE, user=me)
    sent = await fake.send_user_message(
        world.public.text_channel_id, other, world.mention(SECOND), reference=mine
    )
    theirs = await fake.wait_for_bot_message(lambda m: m.reference_id == int(sent["id"]))
    for answer in (mine, theirs):
        for user in (me, other):
            ix = await fake.click_button(answer, custom_ids(answer)[0], user=user)
            await ix.wait_for_message()


@pytest.mark.parametrize("locale", ["sv-SE", "en-US"])
async def test_forget_me_deletes_every_row_of_the_person_and_keeps_the_others(world, locale):
    me, other = world.user("jag", world.public), world.user("grannen", world.public)
    async with world.running() as bot:
        await _two_people_talk(world, me, other)
        my_hash, other_hash = (bot.require_records().hash_user(int(u["id"])) for u in (me, other))
        assert {r["user_hash"] for r in record_rows(world.state)} == {my_hash, other_hash}
        assert [r["context"] for r in record_rows(world.state)] == [None, ANSWERABLE]
        ix = await world.fake.invoke_slash("forget-me", guild=world.public, user=me, locale=locale)
        question = await ix.wait_for_message()
        confirm = await world.fake.click_button(question, custom_ids(question)[0], user=me)
        await confirm.wait_for_callback()
        done = await ix.wait_for_message()

    assert question.ephemeral and done.ephemeral
    assert [c["label"] for row in question.components for c in row["components"]] == (
        ["Radera", "Avbryt"] if locale == "sv-SE" else ["Delete", "Cancel"]
    )
    words = {"sv-SE": "Klart: 1 fråga och 2 röster", "en-US": "Done: 1 question and 2 votes"}
    assert done.content.startswith(words[locale])
    rows = record_rows(world.state)
    assert [r["user_hash"] for r in rows] == [other_hash]
    assert [r["question"] for r in rows] == [SECOND]
    assert all(ANSWERABLE not in (r["context"] or "") for r in rows)
    votes = _votes(world)
    assert [v[1] for v in votes] == [other_hash]  # their vote on their own answer
    assert (rows[0]["votes_up"], rows[0]["votes_down"]) == (1, 0)


async def test_cancelling_forget_me_deletes_nothing_and_another_cannot_confirm(world: World):
    me, other = world.user("jag", world.public), world.user("grannen", world.public)
    async with world.running():
        await _two_people_talk(world, me, other)
        before = record_rows(world.state), _votes(world)
        ix = await world.fake.invoke_slash("forget-me", guild=world.public, user=me)
        question = await ix.wait_for_message()
        yes, no = custom_ids(question)
        stranger = await world.fake.click_button(question, yes, user=other)  # not theirs
        cancel = await world.fake.click_button(question, no, user=me)
        await cancel.wait_for_callback()
        said = await ix.wait_for_message()

    assert stranger.callback is None or stranger.callback.type != 7
    assert said.content == "Ingenting raderades." and said.ephemeral
    assert (record_rows(world.state), _votes(world)) == before


async def test_help_points_to_forget_me(world: World):
    async with world.running():
        ix = await world.fake.invoke_slash("help", guild=world.public)
        shown = (await ix.wait_for_message()).all_text()

    assert "/glöm-mig" in shown and "administratör" not in shown
