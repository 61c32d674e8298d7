"""Asking the real bot through the fake Discord: mentions, /ask, DMs and follow-ups."""

from __future__ import annotations

import discord
import pytest

from bot.client import bot_intents
from tests.bot.conftest import ANSWERABLE, EngineSpy, World, custom_ids, record_rows
from tests.conftest import fake_calibrated
from tests.fakes.discord import INTENT_MESSAGE_CONTENT, PRIVILEGED_INTENTS


async def test_bot_logs_in_is_ready_and_does_not_sync_commands(world: World):
    async with world.running() as bot:
        assert bot.is_ready()
        assert bot.user is not None and bot.user.id == world.fake.application_id
        assert {g.id for g in bot.guilds} == {world.staff.id, world.public.id}
        assert bot.tree.get_command("ask") is not None

    [conn] = world.fake.connections
    assert conn.identify["intents"] == bot_intents().value
    assert not conn.identify["intents"] & PRIVILEGED_INTENTS
    assert not conn.identify["intents"] & INTENT_MESSAGE_CONTENT
    assert [r for r in world.fake.requests if r.method == "PUT"] == []
    assert world.fake.synced_commands == {}
    assert bot.is_closed()


async def test_a_mention_gets_a_cited_reply_with_feedback_buttons(world: World):
    async with world.running():
        reply = await world.ask_by_mention(world.public, ANSWERABLE)

    [embed] = reply.embeds
    assert reply.reference_id is not None
    assert reply.allowed_mentions == {"parse": []}
    assert reply.mentions == []
    assert "2012" in embed["description"]
    assert embed["title"] == ANSWERABLE
    [sources] = embed["fields"]
    assert sources["name"] == "Källor"
    assert "Allt startade i Almedalen" in sources["value"]
    [row] = record_rows(world.state)
    assert custom_ids(reply)[:2] == [f"fb:up:{row['id']}", f"fb:down:{row['id']}"]
    assert custom_ids(reply)[-1].startswith("ans:del:")
    assert row["message_id"] != reply.id  # a keyed hash of it, not the id
    assert row["answered"] == 1 and row["via"] == "mention"
    assert row["visibility"] == "public"
    assert row["sources"] == '["allt-startade-i-almedalen.md"]'
    assert row["latency_ms"] > 0
    assert world.fake.typing  # "typing…" while the engine worked


async def test_slash_ask_defers_at_once_then_answers_in_the_follow_up(world: World):
    spy = EngineSpy(world.engine)
    async with world.running():
        ix = await world.fake.invoke_slash(
            "ask", {"question": ANSWERABLE}, guild=world.staff, locale="sv-SE"
        )
        callback = await ix.wait_for_callback()
        answer = await ix.wait_for_message()

    assert callback.type == 5  # deferred: "Nätverksboten is thinking…"
    assert ix.callback_latency < 0.5
    assert answer.via == "followup" and not answer.ephemeral
    assert answer.allowed_mentions == {"parse": []}
    assert "2012" in answer.embeds[0]["description"]
    assert answer.time > callback.time
    assert spy.calls[0]["visibility"] == "internal"  # asked in the staff guild
    assert all(name.startswith("engine") for name in spy.threads)


async def test_a_direct_message_is_answered_from_public_documents(world: World):
    spy = EngineSpy(world.engine)
    async with world.running():
        dm = await world.fake.send_dm(None, ANSWERABLE)
        reply = await world.fake.wait_for_bot_message()

    assert reply.channel_id == int(dm["channel_id"])
    assert "2012" in reply.embeds[0]["description"]
    assert spy.calls[0]["visibility"] == "public"
    assert record_rows(world.state)[0]["guild_id"] is None


async def test_replying_to_an_answer_asks_with_the_earlier_question_as_context(world: World):
    spy = EngineSpy(world.engine)
    async with world.running():
        first = await world.ask_by_mention(world.public, "När hålls sommarskolan?")
        follow = await world.fake.send_user_message(
            world.public.text_channel_id, None, "Och när startade den?", reference=first
        )
        second = await world.fake.wait_for_bot_message()

    assert "juli" in first.embeds[0]["description"]
    assert second.reference_id == int(follow["id"])
    assert spy.calls[1]["context"] == "När hålls sommarskolan?"
    assert "2015" in second.embeds[0]["description"]
    assert "2012" not in second.embeds[0]["description"]  # what it answers without context
    rows = record_rows(world.state)
    assert rows[1]["context"] == "När hålls sommarskolan?"


async def test_a_reply_without_a_ping_is_not_seen_and_not_answered(world: World):
    async with world.running():
        first = await world.ask_by_mention(world.public, ANSWERABLE)
        await world.fake.send_user_message(
            world.public.text_channel_id, None, "Tack!", reference=first, mention_author=False
        )
        await world.fake.send_user_message(world.public.text_channel_id, None, "hej alla")
        await world.fake.idle()

    assert len(world.fake.bot_messages) == 1


async def test_a_follow_up_works_after_a_restart(world: World):
    async with world.running():
        first = await world.ask_by_mention(world.public, "När hålls sommarskolan?")
    spy = EngineSpy(world.engine)
    async with world.running():
        await world.fake.send_user_message(
            world.public.text_channel_id, None, "Och när startade den?", reference=first
        )
        second = await world.fake.wait_for_bot_message()

    assert spy.calls[0]["context"] == "När hålls sommarskolan?"
    assert "2015" in second.embeds[0]["description"]


async def test_answers_go_into_a_thread_whose_messages_are_follow_ups(world: World):
    spy = EngineSpy(world.engine)
    async with world.running(mention_answer_mode="thread") as bot:
        question = await world.fake.send_user_message(
            world.public.text_channel_id, None, world.mention("När hålls sommarskolan?")
        )
        answer = await world.fake.wait_for_bot_message()
        thread = world.fake.channels[answer.channel_id]
        await world.fake.wait_until(lambda: bot.get_channel(answer.channel_id), what="thread")
        await world.fake.send_user_message(
            thread["id"], None, world.mention("Och när startade den?")
        )
        second = await world.fake.wait_for_bot_message()
        await world.fake.send_user_message(thread["id"], None, world.mention("Vilken månad?"))
        third = await world.fake.wait_for_bot_message()

    assert thread["type"] == 11 and thread["id"] == question["id"]
    assert thread["name"] == "När hålls sommarskolan?"
    assert second.channel_id == third.channel_id == answer.channel_id
    assert spy.calls[1]["context"] == "När hålls sommarskolan?"
    assert "2015" in second.embeds[0]["description"]
    # The thread's conversation grows: the third question sees both earlier ones.
    assert spy.calls[2]["context"] == "När hålls sommarskolan? Och när startade den?"
    assert all(m.allowed_mentions == {"parse": []} for m in world.fake.bot_messages)


async def test_a_thread_a_user_starts_from_an_answer_continues_the_conversation(world: World):
    spy = EngineSpy(world.engine)
    async with world.running() as bot:
        answer = await world.ask_by_mention(world.public, "När hålls sommarskolan?")
        # What Discord does when someone picks "Create Thread" on the answer: the thread
        # gets the answer's id.
        channel = world.fake.channels[world.public.text_channel_id]
        payload = world.fake._thread_payload(answer.id, channel, {"name": "Sommarskolan"}, 11)
        await world.fake._create_thread(payload)
        await world.fake.wait_until(lambda: bot.get_channel(answer.id), what="thread")
        await world.fake.send_user_message(answer.id, None, world.mention("Och när startade den?"))
        second = await world.fake.wait_for_bot_message()

    assert second.channel_id == answer.id
    assert spy.calls[1]["context"] == "När hålls sommarskolan?"


async def test_mention_only_empty_and_too_long_questions_get_a_clear_message(world: World):
    async with world.running():
        empty = await world.ask_by_mention(world.public, "")
        punctuation = await world.ask_by_mention(world.public, "???")
        too_long = await world.ask_by_mention(world.public, "Varför " + "x" * 600 + "?")
        ix = await world.fake.invoke_slash("ask", {"question": "  "}, guild=world.public)
        slash_empty = await ix.wait_for_message()

    assert empty.content.startswith("Skriv en fråga")
    assert punctuation.content.startswith("Skriv en fråga")
    assert "för lång" in too_long.content and "500" in too_long.content
    assert slash_empty.ephemeral and slash_empty.content.startswith("Skriv en fråga")
    assert all(m.allowed_mentions == {"parse": []} for m in world.fake.bot_messages)
    assert record_rows(world.state) == []


async def test_an_english_question_gets_english_labels(world: World):
    async with world.running():
        # Worded so that the fake encoder's letter trigrams find the sentence (English).
        reply = await world.ask_by_mention(
            world.public,
            "Which year did the collaboration of the municipalities in Almedalen start?",
        )

    embed = reply.embeds[0]
    assert "2012" in embed["description"]  # answered: the labels below are an answer's
    assert embed["footer"]["text"].startswith(
        "Quoted word for word from the network's documents. Did it help? Press 👍 or 👎."
    )
    assert embed["fields"][0]["name"] == "Sources"
    labels = [c["label"] for row in reply.components for c in row["components"]]
    assert labels[:2] == ["Helpful", "Not helpful"] and labels[-1] == "Remove"


async def test_the_bots_own_and_other_bots_messages_are_ignored(world: World):
    other = world.fake.add_user("annan-bot", bot=True)
    world.fake.add_member(world.public, other)
    async with world.running():
        await world.fake.send_user_message(world.public.text_channel_id, other, world.mention("x"))
        await world.fake.idle()
    assert world.fake.bot_messages == []


async def test_the_engine_failing_gives_an_apology_not_a_traceback(world: World, caplog):
    def broken(question, **kwargs):
        raise RuntimeError("disk on fire")

    world.engine.ask = broken
    async with world.running():
        reply = await world.ask_by_mention(world.public, ANSWERABLE)
        ix = await world.fake.invoke_slash("ask", {"question": ANSWERABLE})
        await ix.wait_for_callback()
        slash = await ix.wait_for_message()

    assert reply.content.startswith("Tyvärr, något gick fel")
    assert slash.content.startswith("Tyvärr, något gick fel")
    assert "Traceback" not in reply.content + slash.content
    assert "disk on fire" not in reply.content + slash.content
    assert "disk on fire" in caplog.text  # logged with its traceback instead


async def test_a_missing_index_is_explained(world: World, tmp_path):
    from index.engine import Engine, EngineSettings
    from tests.conftest import FakeEncoder

    empty = Engine(
        fake_calibrated(EngineSettings(knowledge_dir=world.knowledge, index_dir=tmp_path / "none")),
        FakeEncoder(),
    )
    world.engine = empty
    async with world.running():
        reply = await world.ask_by_mention(world.public, ANSWERABLE)
    assert "inte indexerad" in reply.content


def test_no_privileged_intents_are_requested():
    intents = bot_intents()
    assert intents.message_content is False
    assert intents.members is False and intents.presences is False
    assert intents.guild_messages and intents.dm_messages and intents.guilds
    assert discord.Intents.default().value & ~INTENT_MESSAGE_CONTENT == intents.value


@pytest.mark.parametrize(("locale", "words"), [("en-GB", "Sources"), ("sv-SE", "Källor")])
async def test_the_askers_locale_breaks_a_language_tie(world: World, locale, words):
    """A question with no words of either language ("Almedalen 2012") follows the client."""
    spy = EngineSpy(world.engine)
    async with world.running():
        ix = await world.fake.invoke_slash(
            "ask", {"question": "Almedalen 2012"}, guild=world.staff, locale=locale
        )
        answer = await ix.wait_for_message()

    assert spy.calls[0]["language_hint"] == locale[:2]
    shown = answer.all_text()
    assert words in shown
