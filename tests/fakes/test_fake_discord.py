"""The fake Discord works with the real discord.py client (commands.Bot)."""

from __future__ import annotations

import asyncio
import io
import math

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import (
    FLAG_EPHEMERAL,
    DiscordError,
    FakeDiscord,
    fake_discord_fixture,  # noqa: F401 - provides the fake_discord fixture
    validate_commands,
    validate_message_body,
)

NONE = discord.AllowedMentions.none()


def make_bot(cls: type[commands.Bot] = commands.Bot, **kwargs) -> commands.Bot:
    """A minimal bot with the default intents (no message content intent)."""
    return cls(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        help_command=None,
        **kwargs,
    )


# ---------------------------------------------------------------- login and gateway


async def test_bot_logs_in_sees_its_guild_and_closes_cleanly(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild("Staff", channels=("allmänt", "frågor"))
    bot = make_bot()

    async with fake_discord.run_bot(bot):
        assert bot.user is not None and bot.user.id == fake_discord.application_id
        assert bot.application_id == fake_discord.application_id
        seen = bot.get_guild(guild.id)
        assert seen is not None and seen.name == "Staff"
        assert [c.name for c in seen.text_channels] == ["allmänt", "frågor"]
        assert seen.me is not None and seen.me.guild_permissions.send_messages
        assert (await fake_discord.wait_ready()).ready_sent

    routes = [(r.method, r.path) for r in fake_discord.requests]
    assert ("GET", "/users/@me") in routes
    assert ("GET", "/oauth2/applications/@me") in routes
    [conn] = fake_discord.connections
    assert conn.compress == "zlib-stream"
    assert conn.identify is not None
    assert conn.identify["intents"] == discord.Intents.default().value
    await asyncio.wait_for(conn.closed.wait(), 1)
    assert bot.is_closed()
    # Client.close() asks for 1000, but aiohttp first wakes discord.py's reader, which
    # closes with 4000 itself; real Discord sees the same.
    assert conn.close_code in (1000, 4000)


async def test_wrong_token_is_refused(fake_discord: FakeDiscord):
    bot = make_bot()
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()


@pytest.mark.integration  # the fake Discord end to end, without the fixture
async def test_heartbeats_are_acknowledged_over_several_intervals():
    async with FakeDiscord(heartbeat_interval=0.2) as fake:
        fake.add_guild()
        bot = make_bot()
        async with fake.run_bot(bot):
            await asyncio.sleep(0.55)
            [conn] = fake.connections
            # One heartbeat right after HELLO, then one per interval.
            assert len(conn.heartbeats) >= 3
            # Finite once an ACK arrived. discord.py's heartbeat thread stamps the send time
            # only after the send returns, so a local ACK can measure up to one interval.
            assert math.isfinite(bot.latency) and bot.latency < 0.5
        assert len(fake.connections) == 1
        fake.assert_no_unknown_requests()


async def test_reconnect_request_is_resumed_and_events_keep_flowing(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()
    seen: list[str] = []
    resumed = asyncio.Event()

    @bot.listen()
    async def on_resumed():
        resumed.set()

    @bot.listen()
    async def on_message(message: discord.Message):
        seen.append(message.content)

    async with fake_discord.run_bot(bot):
        await fake_discord.send_reconnect()
        await asyncio.wait_for(resumed.wait(), 2)
        mention = fake_discord.mention(fake_discord.bot_user)
        await fake_discord.send_user_message(guild.text_channel_id, None, f"{mention} efter")
        await fake_discord.wait_until(lambda: seen or None, what="the message after RESUME")

    assert len(fake_discord.connections) == 2
    assert fake_discord.connections[1].resumed
    assert seen == [f"{mention} efter"]


async def test_auto_sharded_bot_asks_for_the_gateway_and_identifies_a_shard(
    fake_discord: FakeDiscord,
):
    guild = fake_discord.add_guild()
    bot = make_bot(commands.AutoShardedBot)

    async with fake_discord.run_bot(bot):
        assert bot.get_guild(guild.id) is not None

    assert ("GET", "/gateway/bot") in [(r.method, r.path) for r in fake_discord.requests]
    assert fake_discord.connections[0].identify["shard"] == [0, 1]


# ---------------------------------------------------------------- messages


async def test_bot_replies_to_a_mention_without_pinging_anyone(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()

    @bot.listen()
    async def on_message(message: discord.Message):
        if not message.author.bot and bot.user in message.mentions:
            await message.reply(f"Hej {message.author.mention}!", allowed_mentions=NONE)

    async with fake_discord.run_bot(bot):
        question = await fake_discord.send_user_message(
            guild.text_channel_id,
            fake_discord.default_user,
            f"{fake_discord.mention(fake_discord.bot_user)} vad är ett VLAN?",
        )
        reply = await fake_discord.wait_for_bot_message()

    assert reply.reference_id == int(question["id"])
    assert reply.message["type"] == 19
    assert reply.content == f"Hej <@{fake_discord.default_user['id']}>!"
    assert reply.allowed_mentions == {"parse": []}
    assert reply.mentions == []
    assert reply.via == "channel" and reply.action == "create"
    assert [m["id"] for m in fake_discord.messages_in(guild.text_channel_id)] == [
        question["id"],
        reply.message["id"],
    ]


async def test_guild_messages_without_a_mention_arrive_without_content(
    fake_discord: FakeDiscord,
):
    guild = fake_discord.add_guild()
    bot = make_bot()
    seen: list[str] = []

    @bot.listen()
    async def on_message(message: discord.Message):
        if not message.author.bot:
            seen.append(message.content)

    async with fake_discord.run_bot(bot):
        await fake_discord.send_user_message(guild.text_channel_id, None, "utan omnämnande")
        await fake_discord.send_user_message(
            guild.text_channel_id, None, f"{fake_discord.mention(fake_discord.bot_user)} med"
        )
        await fake_discord.wait_until(lambda: len(seen) == 2 or None, what="two messages")

    assert seen == ["", f"<@{fake_discord.bot_user['id']}> med"]


async def test_dm_round_trip(fake_discord: FakeDiscord):
    fake_discord.add_guild()
    bot = make_bot()

    @bot.listen()
    async def on_message(message: discord.Message):
        if not message.author.bot and message.guild is None:
            await message.channel.send(f"Du skrev: {message.content}")
            user = await bot.fetch_user(message.author.id)
            await user.send("Ett privat tillägg")

    async with fake_discord.run_bot(bot):
        dm = await fake_discord.send_dm(fake_discord.default_user, "hej bot")
        echo = await fake_discord.wait_for_bot_message()
        extra = await fake_discord.wait_for_bot_message()

    assert echo.channel_id == int(dm["channel_id"]) == extra.channel_id
    assert echo.content == "Du skrev: hej bot"
    assert extra.content == "Ett privat tillägg"
    assert fake_discord.channels[echo.channel_id]["type"] == 1


async def test_bot_answers_in_a_thread_started_from_the_question(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()

    @bot.listen()
    async def on_message(message: discord.Message):
        if not message.author.bot and bot.user in message.mentions:
            thread = await message.create_thread(name="Fråga om VLAN")
            await thread.send("Svar i tråden", allowed_mentions=NONE)

    async with fake_discord.run_bot(bot):
        question = await fake_discord.send_user_message(
            guild.text_channel_id, None, f"{fake_discord.mention(fake_discord.bot_user)} VLAN?"
        )
        answer = await fake_discord.wait_for_bot_message()
        assert bot.get_channel(answer.channel_id) is not None  # THREAD_CREATE arrived

    thread = fake_discord.channels[answer.channel_id]
    assert thread["type"] == 11 and thread["id"] == question["id"]
    assert thread["parent_id"] == str(guild.text_channel_id)
    assert guild.channel("Fråga om VLAN") is thread


async def test_typing_and_reactions_are_recorded(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()

    @bot.listen()
    async def on_message(message: discord.Message):
        if not message.author.bot and bot.user in message.mentions:
            async with message.channel.typing():
                await message.add_reaction("👀")
                await message.channel.send("klart")

    async with fake_discord.run_bot(bot):
        question = await fake_discord.send_user_message(
            guild.text_channel_id, None, fake_discord.mention(fake_discord.bot_user)
        )
        await fake_discord.wait_for_bot_message()

    assert [channel for channel, _ in fake_discord.typing] == [guild.text_channel_id]
    assert [(m, e) for _, m, e, _ in fake_discord.reactions] == [(int(question["id"]), "👀")]


async def test_edits_and_deletes_reach_the_fake(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()

    async with fake_discord.run_bot(bot):
        channel = bot.get_channel(guild.text_channel_id)
        sent = await channel.send("utkast")
        await sent.edit(content="slutlig")
        fetched = await channel.fetch_message(sent.id)
        await sent.delete()

    assert fetched.content == "slutlig"
    assert [(m.action, m.content) for m in fake_discord.bot_messages] == [
        ("create", "utkast"),
        ("edit", "slutlig"),
    ]
    assert fake_discord.deleted_messages == [sent.id]


async def test_a_2001_character_message_is_rejected_and_2000_accepted(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()
    async with fake_discord.run_bot(bot):
        channel = bot.get_channel(guild.text_channel_id)
        with pytest.raises(discord.HTTPException) as info:
            await channel.send("x" * 2001)
        await channel.send("x" * 2000)

    assert (info.value.status, info.value.code) == (400, 50035)
    assert "content" in str(info.value) and "2000 or fewer" in str(info.value)
    assert [len(m.content) for m in fake_discord.sent_messages] == [2000]


async def test_an_embed_with_26_fields_is_rejected(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()
    embed = discord.Embed(title="Källor")
    for i in range(26):
        embed.add_field(name=f"Källa {i}", value="text")

    async with fake_discord.run_bot(bot):
        channel = bot.get_channel(guild.text_channel_id)
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(embed=embed)
        with pytest.raises(discord.HTTPException) as empty:
            await channel.send()

    assert info.value.code == 50035
    assert "embeds.0.fields" in str(info.value)
    assert empty.value.code == 50006
    assert [r.status for r in fake_discord.rejected_requests] == [400, 400]


async def test_unknown_routes_fail_loudly_and_are_recorded(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()
    async with fake_discord.run_bot(bot):
        with pytest.raises(discord.NotFound) as info:
            await bot.http.request(
                discord.http.Route("GET", "/guilds/{guild_id}/bans", guild_id=guild.id)
            )

    assert "does not implement GET /guilds/" in str(info.value)
    assert [(r.method, r.path) for r in fake_discord.unknown_requests] == [
        ("GET", f"/guilds/{guild.id}/bans")
    ]
    with pytest.raises(AssertionError, match="bans"):
        fake_discord.assert_no_unknown_requests()
    fake_discord.unknown_requests.clear()  # provoked on purpose


async def test_unknown_gateway_opcodes_are_recorded(fake_discord: FakeDiscord):
    fake_discord.add_guild()
    bot = make_bot()
    async with fake_discord.run_bot(bot):
        await bot.ws.send_as_json({"op": 42, "d": None})
        await fake_discord.wait_until(
            lambda: fake_discord.unknown_gateway_payloads or None, what="the unknown op"
        )

    assert fake_discord.unknown_gateway_payloads == [{"op": 42, "d": None}]
    with pytest.raises(AssertionError, match="unknown op"):
        fake_discord.assert_no_unknown_requests()
    fake_discord.unknown_gateway_payloads.clear()  # provoked on purpose


async def test_attachments_are_served_and_uploaded_files_recorded(fake_discord: FakeDiscord):
    fake_discord.add_guild()
    bot = make_bot()

    @bot.tree.command(name="ladda-upp", description="Ladda upp ett dokument")
    async def upload(interaction: discord.Interaction, fil: discord.Attachment):
        data = await fil.read()
        await interaction.response.send_message(
            f"{fil.filename}: {len(data)} byte",
            file=discord.File(io.BytesIO(data.upper()), "ut.txt"),
        )

    attachment = fake_discord.add_attachment("policy.txt", b"hej")
    async with fake_discord.run_bot(bot):
        ix = await fake_discord.invoke_slash("ladda-upp", {"fil": attachment})
        reply = await ix.wait_for_message()
        async with aiohttp.ClientSession() as session:
            async with session.get(reply.attachments[0]["url"]) as response:
                served = await response.read()

    assert reply.content == "policy.txt: 3 byte"
    assert [(f.filename, f.data) for f in reply.files] == [("ut.txt", b"HEJ")]
    assert served == b"HEJ"


# ---------------------------------------------------------------- interactions


async def test_slash_command_defers_then_follows_up(fake_discord: FakeDiscord):
    fake_discord.add_guild()
    bot = make_bot()

    @bot.tree.command(name="fraga", description="Ställ en fråga")
    async def fraga(interaction: discord.Interaction, fraga: str):
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send(f"Svar på: {fraga}", allowed_mentions=NONE)

    async with fake_discord.run_bot(bot):
        ix = await fake_discord.invoke_slash("fraga", {"fraga": "Vad är ett VLAN?"})
        callback = await ix.wait_for_callback()
        answer = await ix.wait_for_message()

    assert callback.type == 5
    assert 0 <= ix.callback_latency < 1
    assert answer.content == "Svar på: Vad är ett VLAN?"
    assert answer.via == "followup" and answer.action == "create"
    assert answer.id == ix.original_id  # the follow-up replaced the "thinking" message
    assert answer.allowed_mentions == {"parse": []}
    assert answer.time > callback.time
    assert not answer.ephemeral


async def test_ephemeral_response_then_edit_of_the_original(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    admins = fake_discord.add_role(guild, "Admin", discord.Permissions(manage_guild=True).value)
    admin = fake_discord.add_user("admin")
    fake_discord.add_member(guild, admin, roles=[admins])
    bot = make_bot()

    @bot.tree.command(name="status", description="Visa status")
    async def status(interaction: discord.Interaction):
        allowed = interaction.permissions.manage_guild
        await interaction.response.send_message("Läser…", ephemeral=True)
        original = await interaction.original_response()
        await original.edit(content=f"admin={allowed}")

    async with fake_discord.run_bot(bot):
        as_admin = await fake_discord.invoke_slash("status", user=admin)
        first = await as_admin.wait_for_message()
        edited = await as_admin.wait_for_message()
        as_user = await fake_discord.invoke_slash("status")
        await as_user.wait_for_message()
        plain = await as_user.wait_for_message()

    assert first.ephemeral and first.content == "Läser…"
    assert (edited.action, edited.content) == ("edit", "admin=True")
    assert plain.content == "admin=False"
    assert fake_discord.messages_in(guild.text_channel_id) == []  # ephemeral only


async def test_tree_sync_puts_the_commands(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()

    @bot.tree.command(name="fraga", description="Ställ en fråga")
    @app_commands.describe(fraga="Din fråga")
    async def fraga(interaction: discord.Interaction, fraga: str, antal: int = 3):
        await interaction.response.send_message(f"{fraga} {antal}")

    async with fake_discord.run_bot(bot):
        synced = await bot.tree.sync()
        on_guild = await bot.tree.sync(guild=discord.Object(guild.id))
        ix = await fake_discord.invoke_slash("fraga", {"fraga": "VLAN", "antal": 5})
        answer = await ix.wait_for_message()

    assert [c.name for c in synced] == ["fraga"]
    assert on_guild == []
    [command] = fake_discord.synced_commands[None]
    assert [(o["name"], o["type"], o.get("required", False)) for o in command["options"]] == [
        ("fraga", 3, True),
        ("antal", 4, False),
    ]
    assert ix.payload["data"]["id"] == command["id"] == str(synced[0].id)
    assert answer.content == "VLAN 5"
    puts = [r.path for r in fake_discord.requests if r.method == "PUT"]
    app = fake_discord.application_id
    assert puts == [
        f"/applications/{app}/commands",
        f"/applications/{app}/guilds/{guild.id}/commands",
    ]


async def test_persistent_view_button_click_reaches_the_callback(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    clicks: list[int] = []

    class Feedback(discord.ui.View):
        def __init__(self):
            super().__init__(timeout=None)

        @discord.ui.button(label="Bra svar", custom_id="feedback:up")
        async def up(self, interaction: discord.Interaction, button: discord.ui.Button):
            clicks.append(interaction.user.id)
            await interaction.response.send_message("Tack!", ephemeral=True)

        @discord.ui.button(label="Dåligt svar", custom_id="feedback:down")
        async def down(self, interaction: discord.Interaction, button: discord.ui.Button):
            await interaction.response.edit_message(content="Noterat", view=None)

    class FeedbackBot(commands.Bot):
        async def setup_hook(self):
            self.add_view(Feedback())

    bot = make_bot(FeedbackBot)
    async with fake_discord.run_bot(bot):
        channel = bot.get_channel(guild.text_channel_id)
        await channel.send("Svaret är 42", view=Feedback())
        sent = await fake_discord.wait_for_bot_message()
        up = await fake_discord.click_button(sent, "feedback:up")
        thanks = await up.wait_for_message()
        down = await fake_discord.click_button(sent, "feedback:down")
        updated = await down.wait_for_message()
        with pytest.raises(LookupError, match="feedback:up"):
            await fake_discord.click_button(updated, "feedback:up")

    assert clicks == [int(fake_discord.default_user["id"])]
    assert thanks.ephemeral and thanks.content == "Tack!"
    assert (updated.action, updated.content, updated.components) == ("edit", "Noterat", [])
    assert updated.id == sent.id


@pytest.mark.integration  # the fake Discord end to end, without the fixture
async def test_a_late_first_response_gets_unknown_interaction():
    async with FakeDiscord(interaction_deadline=0.1) as fake:
        fake.add_guild()
        bot = make_bot()
        errors: list[Exception] = []

        @bot.tree.command(name="slow", description="Svarar för sent")
        async def slow(interaction: discord.Interaction):
            await asyncio.sleep(0.2)
            await interaction.response.send_message("för sent")

        @bot.tree.error
        async def on_error(interaction: discord.Interaction, error: Exception):
            errors.append(error.__cause__ or error)

        async with fake.run_bot(bot):
            ix = await fake.invoke_slash("slow")
            await fake.wait_until(lambda: errors or None, what="the command error")

    assert isinstance(errors[0], discord.NotFound) and errors[0].code == 10062
    assert ix.callback is None


async def test_select_menu_choice_reaches_the_view(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    chosen: list[list[str]] = []

    class Language(discord.ui.View):
        @discord.ui.select(
            custom_id="language",
            options=[
                discord.SelectOption(label="Svenska", value="sv"),
                discord.SelectOption(label="English", value="en"),
            ],
        )
        async def pick(self, interaction: discord.Interaction, select: discord.ui.Select):
            chosen.append(select.values)
            await interaction.response.defer()

    bot = make_bot()
    async with fake_discord.run_bot(bot):
        await bot.get_channel(guild.text_channel_id).send("Språk?", view=Language())
        sent = await fake_discord.wait_for_bot_message()
        ix = await fake_discord.select_option(sent, "language", ["en"])
        callback = await ix.wait_for_callback()

    assert chosen == [["en"]]
    assert callback.type == 6 and ix.messages == []


async def test_modal_submission_reaches_on_submit(fake_discord: FakeDiscord):
    fake_discord.add_guild()
    submitted: list[str] = []

    class Feedback(discord.ui.Modal, title="Återkoppling"):
        text = discord.ui.TextInput(label="Vad saknades?", custom_id="text")

        async def on_submit(self, interaction: discord.Interaction):
            submitted.append(self.text.value)
            await interaction.response.send_message("Tack!", ephemeral=True)

    bot = make_bot()

    @bot.tree.command(name="tyck", description="Lämna återkoppling")
    async def tyck(interaction: discord.Interaction):
        await interaction.response.send_modal(Feedback())

    async with fake_discord.run_bot(bot):
        opened = await fake_discord.invoke_slash("tyck")
        assert (await opened.wait_for_callback()).type == 9
        submit = await fake_discord.submit_modal(opened, {"text": "Mer om VLAN"})
        thanks = await submit.wait_for_message()

    assert submitted == ["Mer om VLAN"]
    assert thanks.ephemeral and thanks.content == "Tack!"


# ---------------------------------------------------------------- idle


def _slow_replier(delay: float, replies: int = 1) -> commands.Bot:
    """A bot that answers every user message ``replies`` times, ``delay`` seconds apart."""
    bot = make_bot()

    @bot.listen()
    async def on_message(message: discord.Message):
        if not message.author.bot:
            for n in range(replies):
                await asyncio.sleep(delay)
                # Another task, as a handler that hands work on would start.
                await asyncio.create_task(message.channel.send(f"svar {n}"))

    return bot


async def test_idle_waits_until_every_handler_is_done(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    async with fake_discord.run_bot(_slow_replier(0.1, replies=3)):
        await fake_discord.send_user_message(guild.text_channel_id, None, "hej")
        await fake_discord.idle()
        replies = [m.content for m in fake_discord.bot_messages]

    assert replies == ["svar 0", "svar 1", "svar 2"]


async def test_idle_waits_until_every_event_is_read(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    # A plain client without listeners: no handler task shows that events are still unread.
    bot = discord.Client(intents=discord.Intents.default())
    async with fake_discord.run_bot(bot):
        for n in range(100):
            await fake_discord.send_user_message(guild.text_channel_id, None, f"nr {n}")
        await fake_discord.idle()
        cached = len(bot.cached_messages)

    assert cached == 100


async def test_idle_waits_for_a_response_held_back(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    fake_discord.response_delays[("POST", "/channels/{channel_id}/messages")] = 0.3
    bot = make_bot()
    async with fake_discord.run_bot(bot):
        # Sent from outside any event handler, as a background loop of the bot would.
        send = asyncio.create_task(bot.get_channel(guild.text_channel_id).send("hej"))
        await fake_discord.wait_until(lambda: fake_discord.requests_in_flight or None)
        await fake_discord.idle()
        answered = fake_discord.requests[-1].status
        await send

    assert answered == 200


async def test_idle_names_what_keeps_the_bot_busy(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    never = asyncio.Event()
    bot = make_bot()

    @bot.listen()
    async def on_message(message: discord.Message):
        await never.wait()

    async with fake_discord.run_bot(bot):
        await fake_discord.send_user_message(guild.text_channel_id, None, "hej")
        with pytest.raises(TimeoutError, match="busy: task discord.py: on_message"):
            await fake_discord.idle(timeout=0.2)
        never.set()
        await fake_discord.idle()


async def test_a_view_waiting_for_its_timeout_is_idle(fake_discord: FakeDiscord):
    guild = fake_discord.add_guild()
    bot = make_bot()

    @bot.listen()
    async def on_message(message: discord.Message):
        if not message.author.bot:
            view = discord.ui.View(timeout=60)
            view.add_item(discord.ui.Button(label="Ja", custom_id="ja"))
            await message.channel.send("Säker?", view=view)

    async with fake_discord.run_bot(bot):
        await fake_discord.send_user_message(guild.text_channel_id, None, "hej")
        await fake_discord.idle(timeout=2.0)

    assert [m.content for m in fake_discord.bot_messages] == ["Säker?"]


async def test_idle_without_a_running_bot_says_so(fake_discord: FakeDiscord):
    with pytest.raises(RuntimeError, match="no bot is running"):
        await fake_discord.idle()


# ---------------------------------------------------------------- validation tables


def _embed(**kwargs):
    return {"title": "t", **kwargs}


def _row(*buttons):
    return {"type": 1, "components": list(buttons)}


def _button(custom_id="b", label="ok"):
    return {"type": 2, "style": 1, "custom_id": custom_id, "label": label}


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ({"content": "x" * 2001}, ["content"], "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [_embed()] * 11}, ["embeds"], "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [_embed(title="x" * 257)]}, ["embeds", "0", "title"], "BASE_TYPE_MAX_LENGTH"),
        (
            {"embeds": [_embed(description="x" * 4097)]},
            ["embeds", "0", "description"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [_embed(fields=[{"name": "n", "value": "v"}] * 26)]},
            ["embeds", "0", "fields"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [_embed(fields=[{"name": "n" * 257, "value": "v"}])]},
            ["embeds", "0", "fields", "0", "name"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [_embed(fields=[{"name": "n", "value": "v" * 1025}])]},
            ["embeds", "0", "fields", "0", "value"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [_embed(fields=[{"name": "n", "value": ""}])]},
            ["embeds", "0", "fields", "0", "value"],
            "BASE_TYPE_REQUIRED",
        ),
        (
            {"embeds": [_embed(footer={"text": "f" * 2049})]},
            ["embeds", "0", "footer", "text"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [_embed(author={"name": "a" * 257})]},
            ["embeds", "0", "author", "name"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [_embed(description="d" * 3000), _embed(description="d" * 3000)]},
            ["embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
        ),
        ({"components": [_row(_button(f"b{i}")) for i in range(6)]}, ["components"], None),
        (
            {"components": [_row(*[_button(f"b{i}") for i in range(6)])]},
            ["components", "0", "components"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"components": [_row(_button("c" * 101))]},
            ["components", "0", "components", "0", "custom_id"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"components": [_row(_button(label="l" * 81))]},
            ["components", "0", "components", "0", "label"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"components": [_row(_button("same"), _button("same"))]},
            ["components"],
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
    ],
)
def test_message_bodies_discord_rejects(body, path, code):
    with pytest.raises(DiscordError) as info:
        validate_message_body(body)
    assert (info.value.status, info.value.code) == (400, 50035)
    node = info.value.errors
    for key in path:
        node = node[key]
    assert code is None or node["_errors"][0]["code"] == code


@pytest.mark.parametrize(
    "body",
    [
        {"content": "x" * 2000},
        {"embeds": [_embed(title="x" * 256, description="d" * 4096)]},
        {"embeds": [_embed(fields=[{"name": "n", "value": "v" * 1024}] * 5)]},
        {"components": [_row(*[_button(f"b{r}{i}") for i in range(5)]) for r in range(5)]},
    ],
)
def test_message_bodies_at_the_limits_are_accepted(body):
    validate_message_body(body)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ({"name": "Fråga", "description": "d"}, "APPLICATION_COMMAND_INVALID_NAME"),
        ({"name": "fraga", "description": ""}, "BASE_TYPE_MAX_LENGTH"),
        (
            {"name": "fraga", "description": "d", "name_localizations": {"sv": "fråga"}},
            "LOCALE_INVALID",
        ),
        (
            {
                "name": "fraga",
                "description": "d",
                "options": [
                    {"type": 3, "name": "a", "description": "d"},
                    {"type": 3, "name": "b", "description": "d", "required": True},
                ],
            },
            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
        ),
    ],
)
def test_command_payloads_discord_rejects(command, message):
    with pytest.raises(DiscordError, match="50035"):
        validate_commands([command])
    try:
        validate_commands([command])
    except DiscordError as exc:
        assert message in str(exc.errors)


def test_swedish_command_localizations_are_accepted():
    validate_commands(
        [
            {
                "name": "ask",
                "description": "Ask a question",
                "name_localizations": {"sv-SE": "fråga"},
                "description_localizations": {"sv-SE": "Ställ en fråga"},
            }
        ]
    )


def test_ephemeral_flag_constant_matches_discord_py():
    assert discord.MessageFlags(ephemeral=True).value == FLAG_EPHEMERAL
