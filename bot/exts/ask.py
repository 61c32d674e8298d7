"""Asking: ``/ask``, an @mention of the bot, a direct message, and follow-ups.

A follow-up is a reply to one of the bot's answers, or a message (mentioning the bot, as
Discord only shows the bot those) in a thread started from an answer or by the bot: it is
asked with the earlier question as the engine's ``context``. The bot remembers which
message or thread answered which question in a bounded map and in the record store, so
follow-ups work after a restart too.

Every question is checked (empty, too long, rate limit) on the event loop, which is
instant; then the interaction is deferred and the engine runs on the engine pool.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import discord
from discord import app_commands
from discord.ext import commands

from bot.access import Visibility, interaction_visibility, message_visibility
from bot.client import NO_MENTIONS, NatverksBot
from bot.exts.feedback import feedback_view
from bot.formatting import FormattedAnswer, format_answer, one_line
from bot.i18n import command_text
from bot.records import QuestionRecord
from index.answer import Answer, clean_question

log = logging.getLogger(__name__)

# Follow-up contexts kept in memory (older ones are read back from the record store).
CONVERSATIONS_IN_MEMORY = 10_000
THREAD_NAME_LIMIT = 100


@dataclass(frozen=True)
class _Asked:
    """A question ready for the engine, and where it was asked."""

    text: str
    context: str | None
    visibility: Visibility
    user_id: int
    guild_id: int | None
    channel_id: int
    via: str
    received: float  # time.perf_counter() when the question arrived
    generation: int | None = None  # the record's forget generation when context was read


@dataclass(frozen=True)
class _Answered:
    """The engine's answer, its record and the message it becomes."""

    answer: Answer
    record_id: int
    message: FormattedAnswer


class _Conversations:
    """A bounded map: answer message or thread id -> context for the next follow-up.

    Each context is kept with the record store's forget generation it was read at; one
    read at another generation may quote someone forgotten since, and is dropped.
    """

    def __init__(self, size: int = CONVERSATIONS_IN_MEMORY) -> None:
        self._size = size
        self._items: OrderedDict[int, tuple[str, int | None]] = OrderedDict()

    def get(self, key: int, generation: int | None = None) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] != generation:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: int, value: str, generation: int | None = None) -> None:
        self._items[key] = (value, generation)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


def next_context(question: str, context: str | None, limit: int) -> str:
    """Return the context a follow-up to ``question`` gets: the conversation so far.

    The earlier questions are kept, newest last; when they grow beyond ``limit``
    characters the oldest words go first.
    """
    chain = f"{context} {question}" if context else question
    chain = one_line(chain)
    if len(chain) <= limit:
        return chain
    tail = chain[-limit:]
    space = tail.find(" ")
    return tail[space + 1 :] if 0 <= space < limit // 2 else tail


def strip_bot_mentions(content: str, bot_id: int, role_id: int | None = None) -> str:
    """Return the message text without mentions of the bot (user or its managed role)."""
    pattern = rf"<@!?{bot_id}>"
    if role_id is not None:
        pattern += rf"|<@&{role_id}>"
    return one_line(re.sub(pattern, " ", content or ""))


@contextlib.asynccontextmanager
async def _typing(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show "typing…" while answering, when Discord lets us; never fail because of it."""
    stack = contextlib.AsyncExitStack()
    try:
        await stack.enter_async_context(channel.typing())
    except discord.HTTPException as exc:
        log.debug("no typing indicator: %s", exc)
    try:
        yield
    finally:
        with contextlib.suppress(discord.HTTPException):
            await stack.aclose()


class AskCog(commands.Cog):
    """Answers questions: the /ask command, mentions, direct messages and follow-ups."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot
        self.conversations = _Conversations()

    # -- slash command ---------------------------------------------------------------

    @app_commands.command(
        name=command_text("ask.name"), description=command_text("ask.description")
    )
    @app_commands.rename(question=command_text("ask.question.name"))
    @app_commands.describe(question=command_text("ask.question.description"))
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """Answer ``/ask question:`` (``/fråga fråga:``): defer at once, then the answer."""
        received = time.perf_counter()
        channel_id = interaction.channel_id or 0
        asked = self._check(
            question,
            visibility=interaction_visibility(self.bot.config.discord, interaction),
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=channel_id,
            via="slash",
            received=received,
        )
        await interaction.response.defer(thinking=True)
        generation = await self.bot.record("forget_generation")
        context, thread_id = await self._context(
            channel_id, None, in_thread=_in_thread(interaction.channel), generation=generation
        )
        asked = replace(asked, context=context, generation=generation)
        answered = await self._answer(asked)
        sent = await interaction.followup.send(
            embeds=answered.message.embeds,
            view=feedback_view(answered.record_id, answered.answer.language),
            allowed_mentions=NO_MENTIONS,
            wait=True,
        )
        await self._remember(asked, answered, sent.id, thread_id=thread_id)

    # -- mentions, direct messages and follow-ups ------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a direct message, or a guild message that mentions or replies to the bot."""
        if message.author.bot or message.webhook_id is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        if message.guild is not None and not self._addressed(message):
            return
        try:
            await self._answer_message(message)
        except Exception as exc:
            self.bot.report_error(message, exc)

    def _addressed(self, message: discord.Message) -> bool:
        """Return whether a guild message is meant for the bot (a mention or a reply ping)."""
        me = self.bot.user
        if me is None:
            return False
        if any(user.id == me.id for user in message.mentions):
            return True
        role = message.guild.self_role if message.guild is not None else None
        return role is not None and role.id in message.raw_role_mentions

    async def _answer_message(self, message: discord.Message) -> None:
        received = time.perf_counter()
        me = self.bot.user
        assert me is not None
        role = message.guild.self_role if message.guild is not None else None
        text = strip_bot_mentions(message.content, me.id, role.id if role else None)
        asked = self._check(
            text,
            visibility=message_visibility(self.bot.config.discord, message),
            user_id=message.author.id,
            guild_id=message.guild.id if message.guild else None,
            channel_id=message.channel.id,
            via="dm" if message.guild is None else "mention",
            received=received,
        )
        reference = message.reference.message_id if message.reference else None
        generation = await self.bot.record("forget_generation")
        context, thread_id = await self._context(
            message.channel.id,
            reference,
            in_thread=_in_thread(message.channel),
            generation=generation,
        )
        asked = replace(asked, context=context, generation=generation)
        async with _typing(message.channel):
            answered = await self._answer(asked)
        thread = await self._thread_for(message, asked)
        view = feedback_view(answered.record_id, answered.answer.language)
        if thread is not None:
            sent = await thread.send(
                embeds=answered.message.embeds, view=view, allowed_mentions=NO_MENTIONS
            )
        else:
            sent = await message.channel.send(
                embeds=answered.message.embeds,
                view=view,
                reference=message.to_reference(fail_if_not_exists=False),
                allowed_mentions=NO_MENTIONS,
            )
        if thread is not None:
            thread_id = thread.id
        await self._remember(asked, answered, sent.id, thread_id=thread_id)

    async def _thread_for(self, message: discord.Message, asked: _Asked) -> discord.Thread | None:
        """Return a new thread for the answer when configured and possible, else None."""
        if not self.bot.config.discord.answer_in_threads:
            return None
        if not isinstance(message.channel, discord.TextChannel):
            return None
        name = one_line(asked.text)[:THREAD_NAME_LIMIT] or "?"
        try:
            return await message.create_thread(name=name)
        except discord.HTTPException as exc:
            log.warning("could not start a thread in %s: %s", message.channel.id, exc)
            return None

    # -- the shared path -------------------------------------------------------------

    def _check(
        self,
        question: str,
        *,
        visibility: Visibility,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        via: str,
        received: float,
    ) -> _Asked:
        """Return the question ready to ask; raise QuestionError or RateLimited (instant).

        The text kept is the engine's cleaned form: mentions (and the ids in them) are gone.
        """
        text, _ = clean_question(question, self.bot.config.answer.max_question_chars)
        self.bot.rate_limiter.acquire(user_id, guild_id)
        return _Asked(
            text=text,
            context=None,
            visibility=visibility,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            via=via,
            received=received,
        )

    async def _answer(self, asked: _Asked) -> _Answered:
        """Ask the engine off the event loop, record the question, format the answer."""
        engine = self.bot.require_engine()
        answer = await self.bot.run_engine(
            engine.ask, asked.text, visibility=asked.visibility, context=asked.context
        )
        self.bot.questions_since_start += 1
        self.bot.answered_since_start += int(answer.answered)
        record_id = await self.bot.record(
            "add",
            QuestionRecord(
                guild_id=asked.guild_id,
                channel_id=asked.channel_id,
                user_id=asked.user_id,
                via=asked.via,
                question=asked.text,
                context=asked.context,
                answered=answer.answered,
                sources=[s.id for s in answer.sources],
                confidence=answer.confidence,
                visibility=asked.visibility,
                language=answer.language,
                context_generation=asked.generation,
            ),
        )
        return _Answered(answer, record_id, format_answer(answer))

    async def _remember(
        self, asked: _Asked, answered: _Answered, message_id: int, *, thread_id: int | None
    ) -> None:
        """Store where the answer went (for follow-ups and feedback) and the latency.

        ``thread_id`` is the conversation thread the answer is in (a new thread for it,
        or the thread a follow-up was asked in), whose next message follows this one up.
        """
        latency_ms = (time.perf_counter() - asked.received) * 1000
        follow = next_context(asked.text, asked.context, self.bot.config.answer.max_question_chars)
        self.conversations.put(message_id, follow, asked.generation)
        if thread_id is not None:
            self.conversations.put(thread_id, follow, asked.generation)
        await self.bot.record(
            "set_message",
            answered.record_id,
            message_id,
            thread_id=thread_id,
            latency_ms=latency_ms,
        )
        log.info(
            "answered %s question in %.0f ms (%s, %s)",
            asked.via,
            latency_ms,
            asked.visibility,
            "answered" if answered.answer.answered else "abstained",
        )

    async def _context(
        self,
        channel_id: int,
        reference_id: int | None,
        *,
        in_thread: bool,
        generation: int | None = None,
    ) -> tuple[str | None, int | None]:
        """Return (the conversation a question follows up, the conversation thread's id).

        A reply to an answer follows up that answer; a message in a thread started from
        an answer or by the bot follows up the thread's latest question. ``generation``
        is the record's forget generation now: contexts remembered at another are stale.
        """
        keys = [k for k in (reference_id, channel_id if in_thread else None) if k is not None]
        for key in keys:
            found = self.conversations.get(key, generation)
            if found is not None:
                return found, channel_id if in_thread and key == channel_id else None
        # Not in memory (a restart, or long ago): ask the record store.
        for key in keys:
            earlier = await self.bot.record("conversation", key)
            if earlier is not None:
                limit = self.bot.config.answer.max_question_chars
                found = next_context(earlier.question, earlier.context, limit)
                self.conversations.put(key, found, generation)
                return found, channel_id if in_thread and key == channel_id else None
        return None, None


def _in_thread(channel: object) -> bool:
    return isinstance(channel, discord.Thread)


async def setup(bot: NatverksBot) -> None:
    """Load the ask feature."""
    await bot.add_cog(AskCog(bot))
