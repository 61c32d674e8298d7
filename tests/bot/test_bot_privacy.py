"""Privacy through the real bot and the fake Discord: forgetting someone, ids kept hashed."""

from __future__ import annotations

import logging
import stat

from bot.cli import main
from tests.bot.conftest import EngineSpy, World, record_rows

FIRST = "När hålls sommarskolan i Borlänge?"


async def _remembered(world: World, count: int) -> None:
    """Wait until the bot has stored where its first ``count`` answers went (item 13's race)."""
    await world.fake.wait_until(
        lambda: (
            all(r["message_id"] for r in record_rows(world.state)[:count])
            and len(record_rows(world.state)) >= count
            or None
        ),
        what="answers remembered",
    )


def _config_file(world: World) -> str:
    path = world.state.parent / "config.yaml"
    path.write_text(f"knowledge_dir: {world.knowledge}\nstate_dir: {world.state}\n")
    return str(path)


async def test_a_forget_by_the_command_line_reaches_the_running_bots_follow_ups(
    world: World, capsys
):
    spy = EngineSpy(world.engine)
    channel = world.public.text_channel_id
    anna = world.user("anna", world.public)
    bertil = world.user("bertil", world.public)
    cecilia = world.user("cecilia", world.public)
    async with world.running():
        first = await world.ask_by_mention(world.public, FIRST, user=anna)
        await _remembered(world, 1)
        # Bertil replies to Anna's answer: his question is asked with hers as context.
        reply = await world.fake.send_user_message(
            channel, bertil, "Och när startade den?", reference=first
        )
        second = await world.fake.wait_for_bot_message(lambda m: m.reference_id == int(reply["id"]))
        await _remembered(world, 2)
        assert spy.calls[1]["context"] == FIRST
        assert record_rows(world.state)[1]["context"] == FIRST

        # The command line forgets Anna while the bot runs.
        assert main(["--config", _config_file(world), "forget-user", str(anna["id"])]) == 0
        out = capsys.readouterr().out
        assert "1 question" in out and "Cleared their words from 1 follow-up" in out

        # Cecilia replies to Bertil's answer: the bot must not bring Anna's words back.
        third = await world.fake.send_user_message(
            channel, cecilia, "Hur många elever går där?", reference=second
        )
        await world.fake.wait_for_bot_message(lambda m: m.reference_id == int(third["id"]))

    assert spy.calls[2]["context"] == "Och när startade den?"
    rows = record_rows(world.state)
    assert all(FIRST not in (r["question"] + (r["context"] or "")) for r in rows)
    assert [r["context"] for r in rows] == [None, "Och när startade den?"]


async def test_direct_message_channels_and_answer_messages_are_not_stored_raw(world: World):
    async with world.running():
        user = world.user("dora", world.public)
        dm = await world.fake.send_dm(user, "När startade samarbetet?")
        reply = await world.fake.wait_for_bot_message()
        public = await world.ask_by_mention(world.public, FIRST)

    rows = record_rows(world.state)
    raw = b"".join(p.read_bytes() for p in world.state.glob("bot.sqlite*"))
    for discord_id in (int(dm["channel_id"]), reply.id, public.id, int(user["id"])):
        assert str(discord_id).encode() not in raw
        assert discord_id.to_bytes(8, "big", signed=True) not in raw
        assert discord_id not in {v for r in rows for v in r.values()}
    assert rows[1]["channel_id"] == world.public.text_channel_id  # a guild channel is no one's


async def test_no_direct_message_channel_or_user_id_is_logged_at_info(world: World, caplog):
    caplog.set_level(logging.INFO)
    user = world.user("dora", world.public)
    async with world.running(rate_limit={"per_user_per_minute": 2}):
        refused = await world.fake.send_dm(user, "?")  # refused: no question in it
        await world.fake.wait_for_bot_message(lambda m: m.reference_id == int(refused["id"]))
        answered = await world.fake.send_dm(user, "När startade samarbetet?")
        await world.fake.wait_for_bot_message(lambda m: m.reference_id == int(answered["id"]))
        await world.fake.send_dm(user, "Och sedan?")  # over the limit: one notice
        await world.fake.wait_until(
            lambda: len(world.fake.bot_messages) == 3 or None, what="the notice"
        )
        await world.ask_by_mention(world.public, "?")  # someone else, refused in a guild

    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "refused message" in logged and "rate limited" in logged  # the lines were logged
    for discord_id in (refused["channel_id"], user["id"]):
        assert str(discord_id) not in logged


async def test_the_state_folder_and_the_record_are_private(world: World):
    world.state.mkdir(parents=True, exist_ok=True)
    world.state.chmod(0o755)
    async with world.running():
        await world.ask_by_mention(world.public, FIRST)
    assert stat.S_IMODE(world.state.stat().st_mode) == 0o700
    for path in world.state.glob("bot.sqlite*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


async def test_a_record_deleted_while_the_bot_runs_is_made_again(world: World, caplog):
    async with world.running():
        await world.ask_by_mention(world.public, FIRST)
        await _remembered(world, 1)
        for path in world.state.glob("bot.sqlite*"):
            path.unlink()
        await world.ask_by_mention(world.public, "När startade samarbetet?")
        await world.fake.wait_until(
            lambda: (
                (world.state / "bot.sqlite").is_file()
                and [r["question"] for r in record_rows(world.state)]
                or None
            ),
            what="the record made again",
        )
        rows = record_rows(world.state)
    assert [r["question"] for r in rows] == ["När startade samarbetet?"]
    assert "was deleted or replaced while open: opening it again" in caplog.text
