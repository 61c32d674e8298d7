"""Threads the bot made for an answer: plain follow-ups with the Message Content intent only."""

from __future__ import annotations

import asyncio

import pytest

from bot.client import bot_intents
from bot.exts.answers._threads import AnswerThreads
from tests.bot.conftest import EngineSpy, World
from tests.fakes.discord import INTENT_MESSAGE_CONTENT

QUIET = 0.5  # seconds to wait for an answer that must not come


async def _thread_with_answer(world: World, bot, asker: dict) -> int:
    """Ask by mention in the public guild (answers go into a thread); return the thread id."""
    await world.fake.send_user_message(
        world.public.text_channel_id, asker, world.mention("När hålls sommarskolan?")
    )
    answer = await world.fake.wait_for_bot_message()
    await world.fake.wait_until(lambda: bot.get_channel(answer.channel_id), what="thread")
    return answer.channel_id


async def _no_answer(world: World) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await world.fake.wait_for_bot_message(timeout=QUIET)


async def test_with_message_content_the_askers_plain_message_is_a_follow_up(world: World):
    spy = EngineSpy(world.engine)
    asker = world.user("frågaren", world.public)
    async with world.running(mention_answer_mode="thread", message_content=True) as bot:
        thread_id = await _thread_with_answer(world, bot, asker)
        await world.fake.send_user_message(thread_id, asker, "Och när startade den?")
        second = await world.fake.wait_for_bot_message()

    [conn] = world.fake.connections
    assert conn.identify["intents"] & INTENT_MESSAGE_CONTENT
    assert second.channel_id == thread_id
    assert spy.calls[1]["question"] == "Och när startade den?"
    assert spy.calls[1]["context"] == "När hålls sommarskolan?"


async def test_without_message_content_a_plain_message_is_not_answered(world: World):
    spy = EngineSpy(world.engine)
    asker = world.user("frågaren", world.public)
    async with world.running(mention_answer_mode="thread") as bot:
        thread_id = await _thread_with_answer(world, bot, asker)
        await world.fake.send_user_message(thread_id, asker, "Och när startade den?")
        await _no_answer(world)
        # A mention still works, as it always did.
        await world.fake.send_user_message(thread_id, asker, world.mention("Och när startade den?"))
        second = await world.fake.wait_for_bot_message()

    [conn] = world.fake.connections
    assert not conn.identify["intents"] & INTENT_MESSAGE_CONTENT
    assert len(spy.calls) == 2 and second.channel_id == thread_id


async def test_someone_else_writing_in_the_thread_ends_plain_follow_ups(world: World):
    spy = EngineSpy(world.engine)
    asker = world.user("frågaren", world.public)
    other = world.user("grannen", world.public)
    async with world.running(mention_answer_mode="thread", message_content=True) as bot:
        thread_id = await _thread_with_answer(world, bot, asker)
        await world.fake.send_user_message(thread_id, other, "Jag undrar också!")
        await _no_answer(world)
        await world.fake.send_user_message(thread_id, asker, "Och när startade den?")
        await _no_answer(world)
        await world.fake.send_user_message(thread_id, asker, world.mention("Och när startade den?"))
        await world.fake.wait_for_bot_message()

    assert len(spy.calls) == 2


async def test_a_plain_message_in_a_thread_the_bot_did_not_make_is_ignored(world: World):
    spy = EngineSpy(world.engine)
    asker = world.user("frågaren", world.public)
    async with world.running(message_content=True) as bot:
        await world.fake.send_user_message(world.public.text_channel_id, asker, "Hej alla")
        answer = await world.ask_by_mention(world.public, "När hålls sommarskolan?", user=asker)
        channel = world.fake.channels[world.public.text_channel_id]
        payload = world.fake._thread_payload(answer.id, channel, {"name": "Sommarskolan"}, 11)
        await world.fake._create_thread(payload)
        await world.fake.wait_until(lambda: bot.get_channel(answer.id), what="thread")
        await world.fake.send_user_message(answer.id, asker, "Och när startade den?")
        await _no_answer(world)

    assert len(spy.calls) == 1


async def test_an_idle_thread_needs_a_mention_again(world: World):
    spy = EngineSpy(world.engine)
    asker = world.user("frågaren", world.public)
    now = [1000.0]
    async with world.running(
        mention_answer_mode="thread", message_content=True, thread_idle_minutes=30
    ) as bot:
        bot.get_cog("AskCog").threads.clock = lambda: now[0]
        thread_id = await _thread_with_answer(world, bot, asker)
        now[0] += 29 * 60
        await world.fake.send_user_message(thread_id, asker, "Och när startade den?")
        await world.fake.wait_for_bot_message()
        now[0] += 31 * 60
        await world.fake.send_user_message(thread_id, asker, "Vilken månad?")
        await _no_answer(world)

    assert [c["question"] for c in spy.calls][1:] == ["Och när startade den?"]


def test_answer_threads_close_on_another_author_or_idleness():
    now = [0.0]
    threads = AnswerThreads(60, clock=lambda: now[0])
    threads.started(1, asker_id=10)
    threads.started(2, asker_id=10)
    now[0] = 50
    assert threads.follows_up(1, 10)  # the asker's message keeps thread 1 open
    now[0] = 100
    assert threads.follows_up(1, 10)  # 50 s since the last message
    assert not threads.follows_up(2, 10)  # 100 s of silence
    now[0] = 110
    assert not threads.follows_up(2, 10)  # closed for good
    assert not threads.follows_up(1, 11)  # someone else wrote
    assert not threads.follows_up(1, 10)  # closed for good
    assert not threads.follows_up(3, 10)  # not a thread the bot made


@pytest.mark.parametrize("enabled", [False, True])
def test_the_message_content_intent_follows_the_setting(enabled):
    assert bot_intents(message_content=enabled).message_content is enabled


@pytest.mark.parametrize(
    ("settings", "expected", "absent"),
    [
        ({}, "skriv @Nätverksboten i tråden", "skriv i tråden"),
        (
            {"message_content": True, "thread_idle_minutes": 45},
            "skriv i tråden som jag startade",
            "skriv @Nätverksboten i tråden",
        ),
    ],
)
async def test_help_says_how_to_follow_up_in_a_thread(world: World, settings, expected, absent):
    async with world.running(**settings):
        ix = await world.fake.invoke_slash("help", guild=world.public)
        shown = (await ix.wait_for_message()).all_text()

    assert expected in shown and absent not in shown
    if settings:
        assert "45 minuter" in shown
