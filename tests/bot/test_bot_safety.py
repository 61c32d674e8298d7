"""What must never happen: internal documents leaking, pings, floods, oversized messages."""

from __future__ import annotations

import re

import pytest

from bot.formatting import EMBED_TOTAL_LIMIT, embed_size
from index.answer import Answer, Quote, Source
from index.engine import Engine
from tests.bot.conftest import ANSWERABLE, EngineSpy, World, all_bot_text, record_rows
from tests.conftest import write_doc
from tests.fakes.discord import validate_message_body

INTERNAL_TRACES = ("Blåklocka", "Intern budget", "intern/budget.md", "1 200 000", "Budget 2025")
INTERNAL_QUESTIONS = (
    "Vad är kodordet?",
    "Vad är nätverkets gemensamma budget för 2025?",
    "Vilken hemlig uppgift finns i den interna budgeten?",
)


async def test_a_public_guild_gets_no_trace_of_internal_documents(world: World):
    spy = EngineSpy(world.engine)
    async with world.running(rate_limit={"per_user_per_minute": 100}):
        for question in INTERNAL_QUESTIONS:
            await world.ask_by_mention(world.public, question)
            ix = await world.fake.invoke_slash("ask", {"question": question}, guild=world.public)
            await ix.wait_for_message()
            dm = await world.fake.send_dm(None, question)
            await world.fake.wait_for_bot_message(lambda m, dm=dm: m.reference_id == int(dm["id"]))

    shown = all_bot_text(world.fake)
    assert len(world.fake.bot_messages) == 3 * len(INTERNAL_QUESTIONS)
    for trace in INTERNAL_TRACES:
        assert trace not in shown
    assert {c["visibility"] for c in spy.calls} == {"public"}
    for row in record_rows(world.state):
        assert "intern/budget.md" not in row["sources"]


async def test_the_staff_guild_sees_the_internal_document(world: World):
    # The same question as above does find the secret where it may be shown, so the
    # public test above can fail.
    async with world.running():
        reply = await world.ask_by_mention(world.staff, "Vad är kodordet?")
    assert "Blåklocka" in reply.all_text()
    assert "Intern budget" in reply.all_text()


async def test_only_internal_channels_of_the_staff_guild_see_internal_documents(world: World):
    internal = world.staff.channel("intern")
    spy = EngineSpy(world.engine)
    async with world.running(internal_channel_ids=[int(internal["id"])]):
        general = await world.ask_by_mention(world.staff, "Vad är kodordet?")
        await world.fake.send_user_message(internal["id"], None, world.mention("Vad är kodordet?"))
        secret = await world.fake.wait_for_bot_message()

    assert [c["visibility"] for c in spy.calls] == ["public", "internal"]
    assert "Blåklocka" not in general.all_text()
    assert "Blåklocka" in secret.all_text()


@pytest.fixture
def mass_mention_doc(world: World) -> Engine:
    write_doc(
        world.knowledge,
        "kallelse.md",
        "# Kallelse\n\nMötet om vattenfrågan hålls i Falun, @everyone och @here är välkomna, "
        "särskilt <@&123456789012345678> och <@123456789012345679>.\n",
        title="Kallelse @everyone [klicka](javascript:alert(1))",
        visibility="public",
        url="https://example.org/kallelse?a=(1)",
    )
    world.engine.reindex()
    return world.engine


async def test_everyone_in_a_question_or_a_document_pings_nobody(world: World, mass_mention_doc):
    role = world.fake.add_role(world.public, "Alla kommuner")
    async with world.running():
        from_doc = await world.ask_by_mention(world.public, "När hålls mötet om vattenfrågan?")
        in_question = await world.ask_by_mention(
            world.public, f"@everyone <@&{role['id']}> {ANSWERABLE}"
        )
        ix = await world.fake.invoke_slash(
            "ask", {"question": f"@here <@&{role['id']}> vattenfrågan mötet?"}
        )
        slash = await ix.wait_for_message()

    assert "Falun" in from_doc.embeds[0]["description"]  # the document was quoted
    for message in world.fake.bot_messages:
        assert message.allowed_mentions == {"parse": []}
        assert message.mentions == []
        assert message.message["mention_everyone"] is False
        assert message.message["mention_roles"] == []
    shown = all_bot_text(world.fake)
    assert "@everyone" not in shown and "@here" not in shown  # zero-width space inserted
    assert not re.search(r"(?<!\\)<@", shown)  # every "<" of a mention is escaped
    assert "\\<@&123456789012345678\\>" in shown
    assert not re.search(r"(?<!\\)\]\(javascript:", shown)  # no link to javascript:
    assert "[Kallelse @\u200beveryone \\[klicka\\](javascript:alert(1))]" in shown
    assert "(https://example.org/kallelse?a=%281%29)" in shown
    assert slash.embeds and in_question.embeds


async def test_the_seventh_question_in_a_minute_is_refused_politely(world: World):
    async with world.running():
        for _ in range(6):
            ix = await world.fake.invoke_slash("ask", {"question": ANSWERABLE})
            answer = await ix.wait_for_message()
            assert answer.embeds
        seventh = await world.fake.invoke_slash("ask", {"question": ANSWERABLE})
        refusal = await seventh.wait_for_message()

    assert seventh.callback.type == 4 and refusal.ephemeral
    match = re.fullmatch(
        r"Du har ställt många frågor på kort tid\. Försök igen om (\d+) sekunder\.",
        refusal.content,
    )
    assert match and 50 <= int(match[1]) <= 60
    assert len(record_rows(world.state)) == 6


async def _flood(world: World, channel_id, user, count: int) -> list[dict]:
    sent = []
    for i in range(count):
        content = f"{ANSWERABLE} ({i})"
        if channel_id is None:
            sent.append(await world.fake.send_dm(user, content))
        else:
            sent.append(
                await world.fake.send_user_message(channel_id, user, world.mention(content))
            )
    return sent


async def test_a_flood_of_mentions_gets_one_reaction_not_a_reply_each(world: World):
    flooder = world.user("flodvåg")
    async with world.running(rate_limit={"per_user_per_minute": 2}):
        await _flood(world, world.public.text_channel_id, flooder, 30)
        await world.fake.wait_until(
            lambda: len([m for m in world.fake.bot_messages if m.embeds]) == 2 or None,
            what="two answers",
        )
        await world.fake.wait_until(lambda: world.fake.reactions or None, what="a reaction")
        await world.fake.idle()  # any further (wrong) replies are in

    assert len(world.fake.bot_messages) == 2  # the two answers, no refusal posted
    assert [r[2] for r in world.fake.reactions] == ["⏳"]
    assert len(record_rows(world.state)) == 2


async def test_a_flood_of_direct_messages_gets_one_notice(world: World):
    flooder = world.user("flodvåg")
    async with world.running(rate_limit={"per_user_per_minute": 1}):
        await _flood(world, None, flooder, 10)
        await world.fake.wait_until(
            lambda: len(world.fake.bot_messages) == 2 or None, what="answer and notice"
        )
        await world.fake.idle()

    [answer] = [m for m in world.fake.bot_messages if m.embeds]
    [notice] = [m for m in world.fake.bot_messages if not m.embeds]
    assert notice.content.startswith("Du har ställt många frågor")


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        ("", "Skriv en fråga"),  # a mention alone
        ("fråga " * 100, "Frågan är för lång"),  # 600 characters, over the 500 allowed
    ],
    ids=["mention-only", "over-long"],
)
async def test_a_flood_of_bad_questions_gets_the_limits_replies_and_one_reaction(
    world: World, content: str, refusal: str
):
    # Refusing a bad question is a reply too: it counts against the limit like a question.
    flooder = world.user("flodvåg")
    channel_id = world.public.text_channel_id
    async with world.running(rate_limit={"per_user_per_minute": 2}):
        for _ in range(30):
            await world.fake.send_user_message(channel_id, flooder, world.mention(content))
        await world.fake.wait_until(lambda: world.fake.reactions or None, what="a reaction")
        await world.fake.wait_until(
            lambda: len(world.fake.bot_messages) >= 2 or None, what="two refusals"
        )
        await world.fake.idle()  # any further (wrong) replies are in

    assert len(world.fake.bot_messages) == 2
    assert all(m.content.startswith(refusal) for m in world.fake.bot_messages)
    assert [r[2] for r in world.fake.reactions] == ["⏳"]
    assert record_rows(world.state) == []


async def test_a_flood_of_empty_direct_messages_gets_the_limits_replies_and_one_notice(
    world: World,
):
    flooder = world.user("flodvåg")
    async with world.running(rate_limit={"per_user_per_minute": 1}):
        for _ in range(20):
            await world.fake.send_dm(flooder, "?")
        await world.fake.wait_until(
            lambda: len(world.fake.bot_messages) >= 2 or None, what="refusal and notice"
        )
        await world.fake.idle()

    first, notice = world.fake.bot_messages
    assert first.content.startswith("Skriv en fråga")
    assert notice.content.startswith("Du har ställt många frågor")


async def test_a_guild_over_its_limit_is_told_so(world: World):
    users = [world.user(f"person{i}") for i in range(3)]
    async with world.running(rate_limit={"per_guild_per_minute": 2}):
        for user in users[:2]:
            await world.ask_by_mention(world.public, ANSWERABLE, user=user)
        refused = await world.fake.send_user_message(
            world.public.text_channel_id, users[2], world.mention(ANSWERABLE)
        )
        await world.fake.wait_until(lambda: world.fake.reactions or None, what="a reaction")
        ix = await world.fake.invoke_slash(
            "ask", {"question": ANSWERABLE}, user=users[2], guild=world.public
        )
        slash = await ix.wait_for_message()
        other_guild = await world.ask_by_mention(world.staff, ANSWERABLE, user=users[2])
        dm = await world.fake.send_dm(users[2], ANSWERABLE)
        in_dm = await world.fake.wait_for_bot_message(lambda m: m.reference_id == int(dm["id"]))

    assert [(r[1], r[2]) for r in world.fake.reactions] == [(int(refused["id"]), "⏳")]
    assert slash.ephemeral
    assert slash.content.startswith("Det har ställts många frågor på den här servern")
    assert other_guild.embeds and in_dm.embeds


async def test_the_global_cap_counts_every_guild_and_direct_message(world: World):
    users = [world.user(f"person{i}") for i in range(4)]
    async with world.running(rate_limit={"global_per_minute": 3}):
        await world.ask_by_mention(world.public, ANSWERABLE, user=users[0])
        await world.ask_by_mention(world.staff, ANSWERABLE, user=users[1])
        dm = await world.fake.send_dm(users[2], ANSWERABLE)
        await world.fake.wait_for_bot_message(lambda m: m.reference_id == int(dm["id"]))
        ix = await world.fake.invoke_slash("ask", {"question": ANSWERABLE}, user=users[3])
        refusal = await ix.wait_for_message()

    assert refusal.ephemeral and refusal.content.startswith("Jag får väldigt många frågor")
    assert len(record_rows(world.state)) == 3


def _crowded_answer(question: str) -> Answer:
    sources = [
        Source(
            id=f"dokument/{i:02d}.md",
            title=f"{i:02d} " + "Mycket lång titel om integration och samverkan " * 6,
            url=f"https://example.org/{'a' * 150}/{i}" if i % 2 else None,
            location=f"Rubrik nummer {i} " + "med förklaring " * 5,
            score=1.0,
        )
        for i in range(40)
    ]
    quotes = [
        Quote(("Det här är en mening i ett mycket långt citat. " * 220).strip(), 0),
        *[Quote(f"Kort citat {i} ur källan.", i) for i in range(1, 40)],
    ]
    return Answer(question, True, "", quotes, sources, "sv", 0.9)


async def test_an_answer_whose_sources_overflow_the_limits_is_sent_within_them(
    world: World, monkeypatch
):
    monkeypatch.setattr(world.engine, "ask", lambda q, **kw: _crowded_answer(q))
    async with world.running():
        reply = await world.ask_by_mention(world.public, ANSWERABLE)
        ix = await world.fake.invoke_slash("ask", {"question": ANSWERABLE})
        slash = await ix.wait_for_message()

    assert world.fake.rejected_requests == []
    for message in (reply, slash):
        validate_message_body(message.payload)
        assert sum(embed_size(e) for e in message.embeds) <= EMBED_TOTAL_LIMIT
        text = message.all_text()
        # Every source is still listed by number; the long quote was cut at a sentence.
        for number in range(1, 41):
            assert f"**[{number}]**" in text
        assert "… och" not in text
        assert "Svaret är förkortat" in message.embeds[0]["footer"]["text"]
        assert "långt citat. …" in message.embeds[0]["description"]
