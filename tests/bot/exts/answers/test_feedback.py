"""👍 / 👎 buttons: one changeable vote per user and answer, also after a restart."""

from __future__ import annotations

import time

from bot.services.records import DAY_SECONDS, QuestionRecord, SQLiteRecordStore
from tests.bot.conftest import ANSWERABLE, World, custom_ids, record_rows


def _votes(world: World) -> list[tuple]:
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(world.state / "bot.sqlite")) as db:
        return db.execute("SELECT record_id, user_hash, vote FROM votes ORDER BY rowid").fetchall()


async def test_votes_are_recorded_changed_and_kept_to_one_per_user(world: World):
    other = world.user("annan")
    async with world.running():
        answer = await world.ask_by_mention(world.public, ANSWERABLE)
        up, down, *_ = custom_ids(answer)
        replies = []
        for custom_id, user in ((up, None), (up, None), (down, None), (up, other)):
            ix = await world.fake.click_button(answer, custom_id, user=user)
            replies.append(await ix.wait_for_message())

    assert [r.content for r in replies] == [
        "Tack! Din röst (👍) är sparad.",
        "Du har redan röstat 👍 på det här svaret.",
        "Din röst är ändrad till 👎.",
        "Tack! Din röst (👍) är sparad.",
    ]
    assert all(r.ephemeral and r.allowed_mentions == {"parse": []} for r in replies)
    [row] = record_rows(world.state)
    assert (row["votes_up"], row["votes_down"], row["feedback"]) == (1, 1, 0)
    votes = _votes(world)
    assert len(votes) == 2 and {v[2] for v in votes} == {1, -1}
    user_ids = {world.fake.default_user["id"], other["id"]}
    assert not any(user_id in str(votes) for user_id in user_ids)


async def test_buttons_of_an_answer_sent_before_a_restart_still_work(world: World):
    async with world.running():
        answer = await world.ask_by_mention(world.public, ANSWERABLE)
    async with world.running():  # a new bot process on the same state folder
        ix = await world.fake.click_button(answer, custom_ids(answer)[1])
        thanks = await ix.wait_for_message()
        again = await world.fake.click_button(answer, custom_ids(answer)[0])
        changed = await again.wait_for_message()

    assert thanks.content == "Tack! Din röst (👎) är sparad."
    assert changed.content == "Din röst är ändrad till 👍."
    [row] = record_rows(world.state)
    assert row["feedback"] == 1 and len(_votes(world)) == 1


async def test_a_vote_on_an_answer_deleted_by_retention_is_explained(world: World):
    async with world.running():
        answer = await world.ask_by_mention(world.public, ANSWERABLE)
    store = SQLiteRecordStore.open(world.state)
    store._db.execute("UPDATE questions SET asked_at = ?", (time.time() - 200 * DAY_SECONDS,))
    store.close()
    async with world.running():
        await world.fake.wait_until(lambda: not record_rows(world.state) or None, what="purge")
        ix = await world.fake.click_button(answer, custom_ids(answer)[0])
        reply = await ix.wait_for_message()
    assert reply.content.startswith("Det här svaret finns inte längre kvar")


async def test_old_records_are_deleted_when_the_bot_starts(world: World):
    store = SQLiteRecordStore.open(world.state, create_salt=True)
    now = time.time()
    for days in (1, 89, 91, 400):
        store.add_question(
            QuestionRecord(
                guild_id=1,
                channel_id=2,
                user_id=3,
                via="slash",
                question=f"{days} dagar",
                answered=True,
                sources=[],
                visibility="public",
                language="sv",
                asked_at=now - days * DAY_SECONDS,
            )
        )
    store.close()
    async with world.running(retention_days=90) as bot:
        await world.fake.wait_until(
            lambda: len(record_rows(world.state)) == 2 or None, what="the purge at start"
        )
        retention = bot.get_cog("RetentionCog")
        assert retention.purge.is_running()
        assert retention.purge.hours == 24
    assert [r["question"] for r in record_rows(world.state)] == ["1 dagar", "89 dagar"]
    assert not retention.purge.is_running()  # stopped when the bot closed
