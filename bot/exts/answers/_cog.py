"""Asking and answering: ``/ask``, an @mention of the bot, a direct message, follow-ups.

A follow-up is a reply to one of the bot's answers, or a message (mentioning the bot, as
Discord only shows the bot those) in a thread started from an answer or by the bot: it is
asked with the earlier question as the engine's ``context``. The bot remembers which
message or thread answered which question in a bounded map and in the record store, so
follow-ups work after a restart too.

Every question is checked (empty, too long, rate limit) on the event loop, which is
instant; then the interaction is deferred and the engine runs on the engine pool.

Where ``/ask`` answers: in the channel, privately (``only-me``: an ephemeral reply) or in
a new thread from the question (``thread``); the defaults come from ``discord.slash_answer_mode``
(an @mention: ``discord.mention_answer_mode``) and per guild or channel from
``discord.answer_modes``. Someone over a rate limit is
told once per window (a ⏳ reaction on a guild message), then ignored until they may ask.

The conversation an answer starts is registered before anyone can reply to it: a reply
that arrives while the answer is still being sent waits for the send to finish. The
question is recorded best-effort: when the record store fails (a full disk), the answer
still goes out, without vote buttons, and the admin channel is told once.

The cog also routes the clicks on the buttons under its answers (:mod:`._buttons`), also
on answers sent before a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.access import Visibility, interaction_visibility, message_visibility
from bot.client import NO_MENTIONS, NatverksBot
from bot.config import AnswerMode
from bot.exts.answers._buttons import (
    AskPersonButton,
    DeleteButton,
    FeedbackButton,
    HumanRequest,
    MoreSources,
    MoreSourcesButton,
    action_state,
    asker_tag,
)
from bot.exts.answers._conversations import CONVERSATIONS_IN_MEMORY, Conversations
from bot.exts.answers._threads import AnswerThreads
from bot.formatting import FormattedAnswer, escape, format_answer, one_line
from bot.i18n import command_text, language_of_locale, t
from bot.ratelimit import RateLimitedError
from bot.services.conversation import ask_follow_up, next_context
from bot.services.records import QuestionRecord
from index.answer import Answer, clean_question
from index.bounded import BoundedMap
from index.types import Language

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 100
# How long a follow-up waits for answers still being sent before it looks elsewhere.
SEND_WAIT_SECONDS = 10.0
NEAR_SHOWN = 3
RATE_LIMIT_REACTION = "⏳"


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
    locale: Language | None = None  # the asker's Discord language: breaks a tie in detection
    mode: AnswerMode = "public"  # where the answer goes ("private": the asker alone sees it)


@dataclass(frozen=True)
class _Answered:
    """The engine's answer, its record and the message it becomes."""

    answer: Answer
    record_id: int | None
    message: FormattedAnswer


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


# The buttons under answers whose clicks the cog routes (their custom ids say which).
BUTTONS = (FeedbackButton, DeleteButton, MoreSourcesButton, AskPersonButton)


class AskCog(commands.Cog):
    """Answers questions: the /ask command, mentions, direct messages and follow-ups."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot
        self.conversations = Conversations()
        self._sending_now: set[asyncio.Future[None]] = set()
        self._hinted: BoundedMap[str, bool] = BoundedMap(CONVERSATIONS_IN_MEMORY)
        self._record_failing = False
        self.threads = AnswerThreads(bot.config.discord.thread_idle_minutes * 60)

    async def cog_load(self) -> None:
        """Make the bot route the clicks on answer buttons, also on answers sent before."""
        self.bot.add_dynamic_items(*BUTTONS)

    async def cog_unload(self) -> None:
        """Stop routing answer-button clicks."""
        self.bot.remove_dynamic_items(*BUTTONS)

    # -- slash command ---------------------------------------------------------------

    @app_commands.command(
        name=command_text("ask.name"), description=command_text("ask.description")
    )
    @app_commands.rename(
        question=command_text("ask.question.name"),
        only_me=command_text("ask.only_me.name"),
        thread=command_text("ask.thread.name"),
    )
    @app_commands.describe(
        question=command_text("ask.question.description"),
        only_me=command_text("ask.only_me.description"),
        thread=command_text("ask.thread.description"),
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: str,
        only_me: bool | None = None,
        thread: bool | None = None,
    ) -> None:
        """Answer ``/ask question:`` (``/fråga fråga:``): defer at once, then the answer."""
        received = time.perf_counter()
        channel_id = interaction.channel_id or 0
        parent_id = getattr(interaction.channel, "parent_id", None)
        mode = self._mode(interaction.guild_id, channel_id, parent_id, only_me, thread)
        asked = self._check(
            question,
            visibility=interaction_visibility(self.bot.config.discord, interaction),
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=channel_id,
            via="slash",
            received=received,
            locale=language_of_locale(interaction.locale),
            mode=mode,
        )
        private = mode == "private"
        await interaction.response.defer(thinking=True, ephemeral=private)
        generation = await self._generation()
        in_thread = _in_thread(interaction.channel)
        context, thread_id = await self._context(
            channel_id, None, in_thread=in_thread, generation=generation
        )
        if in_thread and mode == "thread":  # a forum post or help thread: one conversation
            thread_id = channel_id
        asked = replace(asked, context=context, generation=generation)
        answered = await self._answer(asked)
        view = self._view(asked, answered, removable=not private)
        embeds = answered.message.embeds
        if mode == "thread" and isinstance(interaction.channel, discord.TextChannel):
            header = await interaction.followup.send(
                t("ask.thread_header", answered.answer.language, question=escape(asked.text)),
                allowed_mentions=NO_MENTIONS,
                wait=True,
            )
            new_thread = await self._start_thread(header, asked, interaction.channel)
            if new_thread is not None:
                async with self._sending(asked, thread_id=new_thread.id) as sending:
                    sending.sent = await new_thread.send(
                        embeds=embeds, view=view, allowed_mentions=NO_MENTIONS
                    )
                await self._finish(asked, answered, sending.sent.id, thread_id=new_thread.id)
                return
        async with self._sending(asked, thread_id=thread_id) as sending:
            sending.sent = await interaction.followup.send(
                embeds=embeds,
                view=view,
                allowed_mentions=NO_MENTIONS,
                ephemeral=private,
                wait=True,
            )
        await self._finish(asked, answered, sending.sent.id, thread_id=thread_id)

    async def _generation(self) -> int | None:
        """Return the record store's forget generation (None when it cannot be read)."""
        try:
            return await self.bot.require_records().forget_generation()
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            log.warning("could not read the forget generation: %s", exc)
            return None

    def _mode(
        self,
        guild_id: int | None,
        channel_id: int | None,
        parent_id: int | None,
        only_me: bool | None,
        thread: bool | None,
    ) -> AnswerMode:
        """Return where an answer goes: the options first, then the channel's, guild's default."""
        if only_me:
            return "private"
        if thread:
            return "thread"
        chosen = self._override(guild_id, channel_id, parent_id)
        if chosen is None:
            chosen = self.bot.config.discord.slash_answer_mode
        if (only_me is False and chosen == "private") or (thread is False and chosen == "thread"):
            return "public"
        return chosen

    def _override(
        self, guild_id: int | None, channel_id: int | None, parent_id: int | None
    ) -> AnswerMode | None:
        """Return the mode ``discord.answer_modes`` sets for the channel or guild, if any."""
        modes = self.bot.config.discord.answer_modes
        for key in (channel_id, parent_id, guild_id):
            if key is not None and key in modes:
                return modes[key]
        return None

    # -- mentions, direct messages and follow-ups ------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a direct message, or a guild message that mentions or replies to the bot."""
        if message.author.bot or message.webhook_id is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        if message.guild is not None:
            follow_up = self._plain_follow_up(message)  # every thread message counts
            if not follow_up and not self._addressed(message):
                return
        try:
            await self._answer_message(message)
        except RateLimitedError as exc:
            await self._refuse_quietly(message, exc)
        except Exception as exc:
            self.bot.report_error(message, exc)

    async def _refuse_quietly(self, message: discord.Message, error: RateLimitedError) -> None:
        """Tell someone over a limit once per window (a reaction in a guild), then nothing."""
        log.info("rate limited %s (%s, notify=%s)", message.id, error.scope, error.notify)
        if not error.notify:
            return
        if message.guild is None:
            self.bot.report_error(message, error)
            return
        try:
            await message.add_reaction(RATE_LIMIT_REACTION)
        except discord.HTTPException as exc:
            log.debug("could not react to %s: %s", message.id, exc)

    def _plain_follow_up(self, message: discord.Message) -> bool:
        """Return whether an unaddressed message is the asker's follow-up in their thread.

        Only with ``discord.message_content`` (else Discord sends no text to read). Any
        message in an answer thread counts: someone else's ends the asker's plain turns.
        """
        if not self.bot.config.discord.message_content:
            return False
        if not _in_thread(message.channel):
            return False
        return self.threads.follows_up(message.channel.id, message.author.id)

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
            # A message carries no locale of its asker (a server's is often en-US by default).
            locale=None,
            mode="thread" if self._wants_thread(message) else "public",
        )
        reference = message.reference.message_id if message.reference else None
        generation = await self._generation()
        in_thread = _in_thread(message.channel)
        context, thread_id = await self._context(
            message.channel.id, reference, in_thread=in_thread, generation=generation
        )
        parent = getattr(message.channel, "parent_id", None)
        if in_thread and self._mode(asked.guild_id, message.channel.id, parent, None, None) == (
            "thread"
        ):  # a forum post or help thread where threads are the default: one conversation
            thread_id = message.channel.id
        asked = replace(asked, context=context, generation=generation)
        async with _typing(message.channel):
            answered = await self._answer(asked)
        thread = await self._thread_for(message, asked)
        view = self._view(asked, answered, removable=True)
        if thread is not None:
            thread_id = thread.id
        async with self._sending(asked, thread_id=thread_id) as sending:
            if thread is not None:
                sending.sent = await thread.send(
                    embeds=answered.message.embeds, view=view, allowed_mentions=NO_MENTIONS
                )
            else:
                sending.sent = await message.channel.send(
                    embeds=answered.message.embeds,
                    view=view,
                    reference=message.to_reference(fail_if_not_exists=False),
                    allowed_mentions=NO_MENTIONS,
                )
        await self._finish(asked, answered, sending.sent.id, thread_id=thread_id)

    def _wants_thread(self, message: discord.Message) -> bool:
        """Return whether a message's answer goes in a new thread (configured, and possible)."""
        channel = message.channel
        guild_id = message.guild.id if message.guild else None
        override = self._override(guild_id, channel.id, getattr(channel, "parent_id", None))
        wanted = (override or self.bot.config.discord.mention_answer_mode) == "thread"
        return wanted and isinstance(channel, discord.TextChannel)

    async def _thread_for(self, message: discord.Message, asked: _Asked) -> discord.Thread | None:
        """Return a new thread for the answer when configured and possible, else None."""
        if not self._wants_thread(message):
            return None
        assert isinstance(message.channel, discord.TextChannel)
        return await self._start_thread(message, asked, message.channel)

    async def _start_thread(
        self, message: discord.Message, asked: _Asked, channel: discord.TextChannel
    ) -> discord.Thread | None:
        """Return a new thread started from ``message``, named after the question, or None."""
        name = one_line(asked.text)[:THREAD_NAME_LIMIT] or "?"
        try:
            thread = await channel.create_thread(name=name, message=message)
        except discord.HTTPException as exc:
            log.warning("could not start a thread in %s: %s", message.channel.id, exc)
            return None
        self.threads.started(thread.id, asked.user_id)
        return thread

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
        locale: Language | None = None,
        mode: AnswerMode = "public",
    ) -> _Asked:
        """Return the question ready to ask; raise RateLimitedError or QuestionError (instant).

        The limit comes first: an empty or over-long question counts as a question, so a
        flood of them gets the one notice per window too, not a refusal each.
        The text kept is the engine's cleaned form: mentions (and the ids in them) are gone.
        """
        self.bot.rate_limiter.acquire(user_id, guild_id)
        text, _ = clean_question(question, self.bot.config.answer.max_question_chars)
        return _Asked(
            text=text,
            context=None,
            visibility=visibility,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            via=via,
            received=received,
            locale=locale,
            mode=mode,
        )

    async def _answer(self, asked: _Asked) -> _Answered:
        """Ask the engine off the event loop, record the question, format the answer."""
        engine = self.bot.require_engine()
        answer, _following = await self.bot.run_engine(
            ask_follow_up,
            engine,
            asked.text,
            asked.context,
            visibility=asked.visibility,
            limit=self.bot.config.answer.max_question_chars,
            language_hint=asked.locale,
        )
        if asked.visibility != "internal":  # never name what the asker may not see
            answer.near = [s for s in answer.near if s.visibility == "public"]
        if answer.kind != "small_talk":  # a greeting is no question
            self.bot.questions_since_start += 1
            self.bot.answered_since_start += int(answer.answered)
        record_id = await self._record_question(asked, answer)
        hint = self._first_answer_for(asked.user_id)
        message = format_answer(
            answer, help_hint=hint, near_limit=NEAR_SHOWN, contact=self._public_contact(asked)
        )
        return _Answered(answer, record_id, message)

    def _public_contact(self, asked: _Asked) -> str | None:
        """Return ``discord.public_contact`` for a question from outside the staff servers."""
        config = self.bot.config.discord
        if asked.guild_id is not None and asked.guild_id in config.staff_guild_ids:
            return None
        return config.public_contact

    def _first_answer_for(self, user_id: int) -> bool:
        """Return True the first time a user gets an answer (they get the /hjälp hint)."""
        tag = asker_tag(self.bot, user_id) or str(user_id)
        if tag in self._hinted:
            return False
        self._hinted.put(tag, True)
        return True

    async def _record_question(self, asked: _Asked, answer: Answer) -> int | None:
        """Record the question; on a failing record store return None and tell admins once."""
        try:
            record_id = await self.bot.require_records().add_question(
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
                    answer_mode=asked.mode,
                    kind=answer.kind,
                ),
            )
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            await self._record_failed(exc)
            return None
        if self._record_failing:
            self._record_failing = False
            log.warning("the question record works again")
        return int(record_id)

    async def _record_failed(self, exc: Exception) -> None:
        """Log a failed record write; tell the admin channel at the first of a series."""
        log.warning("could not record a question (answering anyway): %s", exc)
        if self._record_failing:
            return
        self._record_failing = True
        await self.bot.tell_admins(t("admin.record_failed", "sv", reason=one_line(str(exc))))

    def _view(self, asked: _Asked, answered: _Answered, *, removable: bool) -> discord.ui.View:
        """Return the buttons of an answer: votes, more sources, ask a person, remove."""
        answer, language = answered.answer, answered.answer.language
        view = discord.ui.View(timeout=None)
        if answer.kind == "small_talk":  # a reply to a greeting: nothing to vote on or ask
            if removable:
                view.add_item(DeleteButton(asker_tag(self.bot, asked.user_id), language))
            return view
        if answered.record_id is not None and answer.answered:  # no votes on a decline
            view.add_item(FeedbackButton("up", answered.record_id, language))
            view.add_item(FeedbackButton("down", answered.record_id, language))
        state = action_state(self.bot)
        left_out = answered.message.left_out
        if left_out or (answer.answered and answer.near):
            token = state.add_more(MoreSources(answer, left_out, asked.visibility))
            view.add_item(MoreSourcesButton(token, language))
        tag = asker_tag(self.bot, asked.user_id)
        human = self.bot.config.discord.human_help.get(asked.guild_id or 0)
        staff = asked.guild_id in self.bot.config.discord.staff_guild_ids
        if not answer.answered and human is not None and staff and tag is not None:
            assert asked.guild_id is not None
            token = state.add_human(
                HumanRequest(
                    question=asked.text,
                    asker_tag=tag,
                    asker_id=asked.user_id,
                    guild_id=asked.guild_id,
                    role_id=human.role_id,
                    channel_id=human.channel_id,
                    language=language,
                )
            )
            view.add_item(AskPersonButton(token, language))
        if removable:
            view.add_item(DeleteButton(tag, language))
        return view

    @contextlib.asynccontextmanager
    async def _sending(self, asked: _Asked, *, thread_id: int | None) -> AsyncIterator[_Sending]:
        """Send inside this block; the conversation is registered before the block ends.

        A follow-up that arrives while an answer is being sent waits for the block
        (``_context``), so it always finds the conversation it replies to.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sending_now.add(future)
        sending = _Sending()
        try:
            if thread_id is not None:  # the thread exists already: register it at once
                self._register(asked, None, thread_id)
            yield sending
            if sending.sent is not None:
                self._register(asked, sending.sent.id, thread_id)
        finally:
            future.set_result(None)
            self._sending_now.discard(future)

    def _register(self, asked: _Asked, message_id: int | None, thread_id: int | None) -> None:
        """Remember the conversation an answer (message or thread) continues."""
        follow = next_context(asked.text, asked.context, self.bot.config.answer.max_question_chars)
        if message_id is not None:
            self.conversations.put(message_id, follow, asked.generation)
        if thread_id is not None:
            self.conversations.put(thread_id, follow, asked.generation)

    async def _finish(
        self, asked: _Asked, answered: _Answered, message_id: int, *, thread_id: int | None
    ) -> None:
        """Store where the answer went (for follow-ups after a restart) and the latency.

        ``thread_id`` is the conversation thread the answer is in (a new thread for it,
        or the thread a follow-up was asked in), whose next message follows this one up.
        """
        latency_ms = (time.perf_counter() - asked.received) * 1000
        if answered.record_id is not None:
            try:
                await self.bot.require_records().put_conversation(
                    answered.record_id,
                    message_id,
                    thread_id=thread_id,
                    latency_ms=latency_ms,
                )
            except (sqlite3.Error, OSError, RuntimeError) as exc:
                await self._record_failed(exc)
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
        if not keys:
            return None, None
        found = self._remembered(keys, channel_id, in_thread, generation)
        if found is None and self._sending_now:
            # The answer replied to may still be on its way back from Discord.
            await asyncio.wait(set(self._sending_now), timeout=SEND_WAIT_SECONDS)
            found = self._remembered(keys, channel_id, in_thread, generation)
        if found is not None:
            return found
        # Not in memory (a restart, or long ago): ask the record store.
        for key in keys:
            try:
                earlier = await self.bot.require_records().get_conversation(key)
            except (sqlite3.Error, OSError, RuntimeError) as exc:
                log.warning("could not read the conversation of %s: %s", key, exc)
                return None, None
            if earlier is not None:
                limit = self.bot.config.answer.max_question_chars
                context = next_context(earlier.question, earlier.context, limit)
                self.conversations.put(key, context, generation)
                return context, channel_id if in_thread and key == channel_id else None
        return None, None

    def _remembered(
        self, keys: list[int], channel_id: int, in_thread: bool, generation: int | None
    ) -> tuple[str, int | None] | None:
        for key in keys:
            found = self.conversations.get(key, generation)
            if found is not None:
                return found, channel_id if in_thread and key == channel_id else None
        return None


class _Sending:
    """The message sent inside ``AskCog._sending`` (set by the block)."""

    sent: Any = None


def _in_thread(channel: object) -> bool:
    return isinstance(channel, discord.Thread)
