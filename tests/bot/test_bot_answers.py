"""Where answers go and the buttons under them, with the real bot against the fake Discord.

Private and threaded answers, "More sources", "Ask a person", 🗑️, /hjälp, the /hjälp hint,
a full record store, and follow-ups that race the answer's own send.
"""

from __future__ import annotations

import contextlib
import sqlite3

import discord
import pytest

from tests.bot.conftest import ANSWERABLE, EngineSpy, World, all_bot_text, custom_ids, record_rows
from tests.bot.test_bot_safety import INTERNAL_QUESTIONS, INTERNAL_TRACES

DECLINED = "Vad kostar sommarskolan?"  # declined, with sommarskola.md the closest document
WITH_NEAR = "Hur stor är sommarskolan i Borlänge?"  # answered, one more document
NEAR_INTERNAL = (
    "Vilken budget har nätverket för 2026?"  # declined; internally the budget came closest
)


def _button(message, prefix: str) -> str:
    [found] = [c for c in custom_ids(message) if c.startswith(prefix)]
    return found


# ---------------------------------------------------------------- where the answer goes


async def test_only_me_answers_privately_without_a_remove_button(world: World):
    async with world.running():
        ix = await world.fake.invoke_slash(
            "ask", {"question": ANSWERABLE, "only-me": True}, guild=world.public
        )
        callback = await ix.wait_for_callback()
        answer = await ix.wait_for_message()

    assert callback.type == 5 and callback.data["flags"] & 64  # deferred, ephemeral
    assert answer.ephemeral and "2012" in answer.embeds[0]["description"]
    assert not any(c.startswith("ans:del:") for c in custom_ids(answer))
    assert custom_ids(answer)[:2] == ["fb:up:1", "fb:down:1"]


async def test_thread_answers_in_a_new_thread_from_the_question_and_follow_ups_work(
    world: World,
):
    spy = EngineSpy(world.engine)
    async with world.running() as bot:
        ix = await world.fake.invoke_slash(
            "ask", {"question": "När hålls sommarskolan?", "thread": True}, guild=world.public
        )
        header = await ix.wait_for_message()
        answer = await world.fake.wait_for_bot_message(lambda m: m.channel_id == header.id)
        await world.fake.wait_until(lambda: bot.get_channel(answer.channel_id), what="thread")
        await world.fake.send_user_message(
            answer.channel_id, None, world.mention("Och när startade den?")
        )
        second = await world.fake.wait_for_bot_message(
            lambda m: m.channel_id == answer.channel_id and m.id != answer.id
        )

    thread = world.fake.channels[answer.channel_id]
    assert thread["type"] == 11 and thread["parent_id"] == str(world.public.text_channel_id)
    assert thread["name"] == "När hålls sommarskolan?"
    assert header.content.startswith("**Fråga:** När hålls sommarskolan?")
    assert not header.embeds and not header.ephemeral
    assert "juli" in answer.embeds[0]["description"]
    assert second.channel_id == answer.channel_id
    assert spy.calls[1]["context"] == "När hålls sommarskolan?"


@pytest.mark.parametrize(
    ("where", "options", "expected"),
    [
        ("channel", {}, "thread"),
        ("guild", {}, "private"),
        ("channel", {"thread": False}, "public"),
        ("channel", {"only-me": True}, "private"),
        ("none", {}, "public"),
    ],
)
async def test_the_default_place_comes_from_the_channel_then_the_guild(
    world: World, where, options, expected
):
    channel_id = world.public.text_channel_id
    modes = {
        "channel": {channel_id: "thread", world.public.id: "private"},
        "guild": {world.public.id: "private"},
        "none": {},
    }[where]
    async with world.running(answer_modes=modes):
        ix = await world.fake.invoke_slash(
            "ask", {"question": ANSWERABLE, **options}, guild=world.public
        )
        first = await ix.wait_for_message()
        if expected == "thread":
            first = await world.fake.wait_for_bot_message(lambda m: m.channel_id == first.id)

    place = (
        "private" if first.ephemeral else "thread" if first.channel_id != channel_id else "public"
    )
    assert place == expected
    assert first.embeds


# ---------------------------------------------------------------- more sources


async def test_more_sources_are_shown_privately(world: World):
    async with world.running():
        answer = await world.ask_by_mention(world.public, WITH_NEAR)
        ix = await world.fake.click_button(answer, _button(answer, "ans:more:"))
        more = await ix.wait_for_message()

    assert "Allt startade i Almedalen" not in answer.embeds[0]["fields"][0]["value"]
    assert more.ephemeral
    assert "Allt startade i Almedalen" in more.all_text()
    assert more.embeds[0]["fields"][0]["name"] == "Fler källor"


async def test_a_public_asker_never_sees_an_internal_title_anywhere(world: World):
    questions = (*INTERNAL_QUESTIONS, DECLINED, WITH_NEAR, NEAR_INTERNAL, "Vad kostar budgeten?")
    more = []
    async with world.running(rate_limit={"per_user_per_minute": 100}):
        for question in questions:
            for answer in (
                await world.ask_by_mention(world.public, question),
                await _slash(world, question, world.public),
            ):
                for custom_id in custom_ids(answer):
                    if custom_id.startswith("ans:more:"):
                        ix = await world.fake.click_button(answer, custom_id)
                        more.append(await ix.wait_for_message())

    shown = all_bot_text(world.fake)
    for trace in INTERNAL_TRACES:
        assert trace not in shown
    # Both lists were there to leak: the closest documents and the more sources.
    assert "ligger närmast" in shown
    assert more and all(m.embeds[0]["fields"][0]["name"] == "Fler källor" for m in more)


async def test_the_closest_documents_follow_where_the_question_is_asked(world: World):
    async with world.running():
        staff = await world.ask_by_mention(world.staff, NEAR_INTERNAL)
        public = await world.ask_by_mention(world.public, NEAR_INTERNAL)

    # The same decline names the internal budget in the staff guild only, so the
    # public-guild tests above can fail.
    assert "• Intern budget" in staff.embeds[0]["description"]
    assert "ligger närmast" in public.embeds[0]["description"]
    assert "Intern budget" not in public.all_text()


async def _slash(world: World, question: str, guild) -> object:
    ix = await world.fake.invoke_slash("ask", {"question": question}, guild=guild)
    return await ix.wait_for_message()


# ---------------------------------------------------------------- declines


async def test_a_decline_names_the_closest_documents_and_has_no_quote_footer(world: World):
    async with world.running():
        reply = await world.ask_by_mention(world.public, DECLINED)

    embed = reply.embeds[0]
    assert embed["description"].startswith("Det hittar jag inget om i kunskapsbasen.")
    assert "De här dokumenten ligger närmast:\n• Sommarskolan i Borlänge" in embed["description"]
    assert "Ordagranna citat" not in embed["footer"]["text"]
    assert not any(c.startswith("ans:human:") for c in custom_ids(reply))  # not configured


async def test_a_decline_has_no_vote_buttons_and_a_public_one_ends_with_the_contact(world: World):
    contact = "https://www.kommun.se/kontakt"
    async with world.running(public_contact=contact):
        public = await world.ask_by_mention(world.public, DECLINED)
        staff = await world.ask_by_mention(world.staff, DECLINED)
        answered = await world.ask_by_mention(world.public, ANSWERABLE)

    for decline in (public, staff):
        assert not any(c.startswith("fb:") for c in custom_ids(decline))
    assert custom_ids(answered)[0].startswith("fb:up:")
    assert public.embeds[0]["description"].endswith(
        "Vill du fråga en människa? [www.kommun.se/kontakt](https://www.kommun.se/kontakt)"
    )
    assert "kommun.se" not in staff.embeds[0]["description"]
    assert "kommun.se" not in answered.embeds[0]["description"]
    assert public.allowed_mentions == {"parse": []}


@pytest.fixture
def helpers(world: World) -> dict:
    role = world.fake.add_role(world.staff, "Handläggare")
    channel = world.fake.add_channel(world.staff, "fråga-personalen")
    world.discord["human_help"] = {
        world.staff.id: {"role_id": int(role["id"]), "channel_id": int(channel["id"])}
    }
    return {"role": role, "channel": channel}


async def test_ask_a_person_posts_the_question_pinging_only_the_role(world: World, helpers):
    asker, other = world.user("frågvis"), world.user("nyfiken")
    async with world.running():
        reply = await world.ask_by_mention(world.staff, DECLINED + " @everyone", user=asker)
        button = _button(reply, "ans:human:")
        refused = await world.fake.click_button(reply, button, user=other)
        refusal = await refused.wait_for_message()
        ix = await world.fake.click_button(reply, button, user=asker)
        posted = await world.fake.wait_for_bot_message(
            lambda m: m.channel_id == int(helpers["channel"]["id"])
        )
        confirmed = await ix.wait_for_message()
        again = await world.fake.click_button(reply, button, user=asker)
        gone = await again.wait_for_message()

    role_id = helpers["role"]["id"]
    assert refusal.ephemeral and refusal.content.startswith("Bara den som ställde frågan")
    # Exactly that role may be pinged; no user, no @everyone, no other role.
    assert posted.allowed_mentions["parse"] == []
    assert [str(r) for r in posted.allowed_mentions["roles"]] == [role_id]
    assert not posted.allowed_mentions.get("users")
    assert [int(r) for r in posted.message["mention_roles"]] == [int(role_id)]
    assert posted.mentions == [] and not posted.message["mention_everyone"]
    assert posted.content.startswith(f"<@&{role_id}> <@{asker['id']}> frågade")
    assert DECLINED in posted.content and reply.message["id"] in posted.content
    assert confirmed.ephemeral and confirmed.content.startswith("Frågan är skickad")
    assert gone.ephemeral  # a second click does not post again
    assert len([m for m in world.fake.bot_messages if m.channel_id == posted.channel_id]) == 1


async def test_ask_a_person_is_offered_only_in_staff_guilds(world: World, helpers):
    world.discord["human_help"][world.public.id] = world.discord["human_help"][world.staff.id]
    async with world.running():
        public = await world.ask_by_mention(world.public, DECLINED)
        answered = await world.ask_by_mention(world.staff, ANSWERABLE)
    assert not any(c.startswith("ans:human:") for c in custom_ids(public))
    assert not any(c.startswith("ans:human:") for c in custom_ids(answered))


# ---------------------------------------------------------------- 🗑️


@pytest.mark.parametrize(
    ("who", "removed"),
    [("asker", True), ("stranger", False), ("moderator", True), ("admin", True)],
)
async def test_only_the_asker_or_an_admin_can_remove_an_answer(world: World, who, removed):
    asker = world.user("frågvis")
    clicker = {
        "asker": asker,
        "stranger": world.user("okänd"),
        "moderator": world.user("moderator"),
        "admin": world.user("admin"),
    }[who]
    guild = world.staff if who == "admin" else world.public
    permissions = None
    if who == "moderator":
        permissions = discord.Permissions(manage_messages=True)
    if who == "admin":
        permissions = discord.Permissions(manage_guild=True)
    async with world.running():
        answer = await world.ask_by_mention(guild, ANSWERABLE, user=asker)
        ix = await world.fake.click_button(
            answer,
            _button(answer, "ans:del:"),
            user=clicker,
            permissions=permissions.value if permissions else None,
        )
        reply = await ix.wait_for_message()
        if removed:
            await world.fake.wait_until(
                lambda: answer.id in world.fake.deleted_messages or None, what="deletion"
            )

    assert reply.ephemeral
    assert (answer.id in world.fake.deleted_messages) == removed
    assert reply.content == (
        "Svaret är borttaget."
        if removed
        else "Bara den som frågade, eller en administratör, kan ta bort svaret."
    )


# ---------------------------------------------------------------- /hjälp


async def test_help_is_private_and_names_only_what_the_asker_may_see(world: World):
    async with world.running(retention_days=30):
        public = await world.fake.invoke_slash("help", guild=world.public)
        public_help = await public.wait_for_message()
        staff = await world.fake.invoke_slash("help", guild=world.staff, locale="en-US")
        staff_help = await staff.wait_for_message()

    assert public_help.ephemeral and staff_help.ephemeral
    public_text = public_help.all_text()
    # The public sees only the root's documents: no "Övriga dokument" heading over them.
    assert "\n2 dokument: " in public_text and "Övriga dokument" not in public_text
    assert "intern/" not in public_text
    assert "30 dagar" in public_text and "pseudonymiserad form" in public_text
    assert "/fråga" in public_text and "/glöm-mig" in public_text
    for trace in INTERNAL_TRACES:
        assert trace not in public_text
    assert "intern/" in staff_help.all_text() and "30 days" in staff_help.all_text()


async def test_the_help_hint_is_in_the_first_answer_to_a_person_only(world: World):
    other = world.user("annan")
    async with world.running():
        first = await world.ask_by_mention(world.public, ANSWERABLE)
        second = await world.ask_by_mention(world.public, ANSWERABLE)
        someone_else = await world.ask_by_mention(world.public, ANSWERABLE, user=other)

    assert "/hjälp" in first.embeds[0]["footer"]["text"]
    assert "/hjälp" not in second.embeds[0]["footer"]["text"]
    assert "/hjälp" in someone_else.embeds[0]["footer"]["text"]


# ---------------------------------------------------------------- a full disk


def _fill_record_store(bot) -> None:
    """Cap the question database at its current size: SQLite then says the disk is full."""
    db = bot.records.store._db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 4}")
    with contextlib.suppress(sqlite3.OperationalError):  # "database or disk is full"
        while True:  # fill the questions' own pages, so that no question fits any more
            db.execute(
                "INSERT INTO questions (asked_at, channel_id, user_hash, via, question,"
                " answered, sources, visibility, language)"
                " VALUES (0, 0, 'ballast', 'dm', printf('%.300c', 'x'), 0, '[]', 'public', 'sv')"
            )


async def test_with_the_record_store_full_questions_are_still_answered(world: World):
    admin_channel = world.fake.add_channel(world.staff, "admin")
    async with world.running(admin_channel_id=int(admin_channel["id"])) as bot:
        await bot.in_records_thread(_fill_record_store, bot)
        full = len(record_rows(world.state))
        first = await world.ask_by_mention(world.public, ANSWERABLE + " " + "x" * 300)
        ix = await world.fake.invoke_slash(
            "ask", {"question": ANSWERABLE + " " + "y" * 300}, guild=world.public
        )
        second = await ix.wait_for_message()
        told = await world.fake.wait_for_bot_message(
            lambda m: m.channel_id == int(admin_channel["id"])
        )
        await world.fake.idle()

    for answer in (first, second):
        assert "2012" in answer.embeds[0]["description"]
        assert not any(c.startswith("fb:") for c in custom_ids(answer))  # nothing to vote on
    assert told.content.startswith("Frågor kan inte sparas just nu")
    assert "full" in told.content
    admin_posts = [m for m in world.fake.bot_messages if m.channel_id == told.channel_id]
    assert len(admin_posts) == 1  # told once, not once per question
    assert len(record_rows(world.state)) == full


# ---------------------------------------------------------------- follow-up race


async def test_a_reply_that_arrives_before_the_answers_send_returns_keeps_its_context(
    world: World,
):
    spy = EngineSpy(world.engine)
    async with world.running():
        # Discord delivers the answer's MESSAGE_CREATE (and so lets people reply to it)
        # before the bot's own POST returns; the fake holds the response back to show it.
        world.fake.response_delays[("POST", "/channels/{channel_id}/messages")] = 0.5
        await world.fake.send_user_message(
            world.public.text_channel_id, None, world.mention("När hålls sommarskolan?")
        )
        answer = await world.fake.wait_for_bot_message()
        world.fake.response_delays.clear()
        await world.fake.send_user_message(
            world.public.text_channel_id, None, "Och när startade den?", reference=answer
        )
        second = await world.fake.wait_for_bot_message()

    assert second.reference_id is not None and second.embeds
    assert spy.calls[1]["context"] == "När hålls sommarskolan?"


async def test_in_a_forum_that_defaults_to_threads_each_post_is_one_conversation(world: World):
    forum = world.fake.add_channel(world.public, "hjälpforum", type=15)
    spy = EngineSpy(world.engine)
    async with world.running(answer_modes={int(forum["id"]): "thread"}) as bot:
        post_id = world.fake._ids.next()
        payload = world.fake._thread_payload(post_id, forum, {"name": "Sommarskolan"}, 11)
        await world.fake._create_thread(payload)
        await world.fake.wait_until(lambda: bot.get_channel(post_id), what="forum post")
        await world.fake.send_user_message(post_id, None, world.mention("När hålls sommarskolan?"))
        first = await world.fake.wait_for_bot_message()
        await world.fake.send_user_message(post_id, None, world.mention("Och när startade den?"))
        second = await world.fake.wait_for_bot_message()

    assert first.channel_id == second.channel_id == post_id
    assert spy.calls[1]["context"] == "När hålls sommarskolan?"


# ---------------------------------------------------------------- small talk


@pytest.mark.parametrize(
    ("message", "start"), [("Hej!", "Hej!"), ("Tack så mycket!", "Varsågod!"), ("Thanks!", "You")]
)
async def test_small_talk_gets_a_short_reply_without_decline_or_buttons(
    world: World, helpers, message, start
):
    async with world.running():
        reply = await world.ask_by_mention(world.staff, message)

    embed = reply.embeds[0]
    assert embed["description"].startswith(start)
    assert "/hjälp" in embed["description"] or "/help" in embed["description"]
    assert "hittar jag inget" not in embed["description"]
    assert "can't find" not in embed["description"]
    assert "footer" not in embed and "title" not in embed
    ids = custom_ids(reply)
    assert not any(c.startswith(("ans:human:", "fb:", "ans:more:")) for c in ids), ids
    [row] = record_rows(world.state)
    assert (row["kind"], row["answered"]) == ("small_talk", 0)


async def test_small_talk_is_counted_apart_in_the_report(world: World):
    from bot.services.records import DATABASE_NAME
    from bot.services.report import build_report

    async with world.running():
        await world.ask_by_mention(world.public, "Hej!")
        await world.ask_by_mention(world.public, DECLINED)
    report = build_report(world.state / DATABASE_NAME, since=0.0, top=5)
    assert (report.asked, report.unanswered, report.small_talk) == (1, 1, 1)
    assert [g.question for g in report.gaps] == [DECLINED]
