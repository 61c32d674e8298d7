"""The buttons under an answer: 👍 / 👎, 🗑️ remove, "More sources", "Ask a person".

The cog puts them under its answers and routes their clicks (``add_dynamic_items``).
They are ``DynamicItem``s whose custom id says what they stand for, so a click after a
restart still reaches the bot.

- 👍 / 👎: one vote per user and answer, changeable, kept in SQLite; the custom id
  carries the answer's record id (``fb:up:<record_id>``).
- 🗑️ removes the answer; only the person who asked, a bot admin, or someone who may
  manage messages in that channel can. The asker is named in the button's custom id by
  a prefix of the record store's salted hash of their id, never by the raw id.
- "Fler källor / More sources" shows, privately, the cited documents that did not fit
  and the relevant ones that were not quoted; only documents the clicker may see.
- "Fråga en människa / Ask a person" (on a decline in a staff guild whose
  ``discord.human_help`` names a role and a channel) posts the question in that channel
  and pings that role only: the message's allowed mentions name exactly that role.

What a "more" or "ask a person" button needs is kept in a bounded map in memory, and a
click after a restart is told politely that it has gone.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import discord

from bot.access import Visibility, interaction_visibility, is_admin
from bot.client import NO_MENTIONS, NatverksBot
from bot.formatting import escape, format_more_sources, one_line
from bot.i18n import Language, language_of_locale, t
from index.answer import Answer
from index.bounded import BoundedMap

log = logging.getLogger(__name__)

KEPT_IN_MEMORY = 5_000
QUESTION_SHOWN = 1_500


@dataclass(frozen=True)
class MoreSources:
    """What a "More sources" button shows: the answer, how many cited documents were cut."""

    answer: Answer
    left_out: int
    visibility: Visibility


@dataclass(frozen=True)
class HumanRequest:
    """A declined question that the asker may hand to a person."""

    question: str
    asker_tag: str
    asker_id: int
    guild_id: int
    role_id: int
    channel_id: int
    language: Language


def asker_tag(bot: NatverksBot, user_id: int) -> str | None:
    """Return the 16-hex-digit tag that stands for a user in custom ids (salted hash)."""
    if bot.records is None:
        return None
    return bot.records.hash_user(user_id)[:16]


class ActionState:
    """What the "more" and "ask a person" buttons of recent answers need, by token."""

    def __init__(self) -> None:
        self.more: BoundedMap[str, MoreSources] = BoundedMap(KEPT_IN_MEMORY)
        self.human: BoundedMap[str, HumanRequest] = BoundedMap(KEPT_IN_MEMORY)

    def add_more(self, more: MoreSources) -> str:
        """Keep ``more`` and return the token its button carries."""
        token = secrets.token_hex(8)
        self.more.put(token, more)
        return token

    def add_human(self, request: HumanRequest) -> str:
        """Keep ``request`` and return the token its button carries."""
        token = secrets.token_hex(8)
        self.human.put(token, request)
        return token


def action_state(bot: NatverksBot) -> ActionState:
    """Return the bot's action state (created on first use)."""
    state = getattr(bot, "_answer_actions", None)
    if state is None:
        state = ActionState()
        bot._answer_actions = state  # type: ignore[attr-defined]
    return state


async def _say(interaction: discord.Interaction, text: str, **kwargs: Any) -> None:
    """Answer a click privately."""
    await interaction.response.send_message(
        text, ephemeral=True, allowed_mentions=NO_MENTIONS, **kwargs
    )


class _AnswerButton:
    """What the answer buttons share: a click handled in the clicker's language.

    A failure goes to the errors extension, which answers politely.
    """

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Handle a click; report a failure to the errors extension."""
        bot: NatverksBot = interaction.client
        language = language_of_locale(interaction.locale)
        try:
            await self.clicked(bot, interaction, language)
        except Exception as exc:
            bot.report_error(interaction, exc)

    async def clicked(
        self, bot: NatverksBot, interaction: discord.Interaction[Any], language: Language
    ) -> None:
        """Do what the button does (each button says what)."""
        raise NotImplementedError


class _TokenButton(_AnswerButton):
    """A button whose custom id carries a token for what it shows, kept in ActionState."""

    # What each kind of button looks like: its custom-id prefix, style, emoji and label.
    _prefix: ClassVar[str]
    _style: ClassVar[discord.ButtonStyle]
    _emoji: ClassVar[str]
    _label: ClassVar[str]

    def __init__(self, token: str, language: str = "sv") -> None:
        super().__init__(  # type: ignore[call-arg]  # DynamicItem, next in the MRO
            discord.ui.Button(
                style=self._style,
                emoji=self._emoji,
                label=t(self._label, language),
                custom_id=f"ans:{self._prefix}:{token}",
            )
        )
        self.token = token

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Return the button a click's custom id stands for."""
        return cls(match["token"], language_of_locale(interaction.locale))


class DeleteButton(
    _TokenButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"ans:del:(?P<token>[0-9a-f]{16}|-)",
):
    """🗑️: removes the answer, for the asker, bot admins and channel moderators.

    Its token is the asker's tag, or "-" where the bot could not tag the asker.
    """

    _prefix = "del"
    _style = discord.ButtonStyle.secondary
    _emoji = "🗑️"
    _label = "answer.remove"

    def __init__(self, tag: str | None, language: str = "sv") -> None:
        super().__init__(tag or "-", language)
        self.tag = None if self.token == "-" else self.token

    async def clicked(
        self, bot: NatverksBot, interaction: discord.Interaction[Any], language: Language
    ) -> None:
        """Remove the answer when the clicker may; otherwise say who may."""
        if not may_remove(bot, interaction, self.tag):
            await _say(interaction, t("answer.remove_refused", language))
            return
        await _say(interaction, t("answer.removed", language))
        if interaction.message is not None:
            await interaction.message.delete()
        log.info("answer %s removed on request", getattr(interaction.message, "id", None))


def may_remove(bot: NatverksBot, interaction: discord.Interaction, tag: str | None) -> bool:
    """Return whether the clicker asked the question, is a bot admin, or manages messages."""
    if tag is not None and asker_tag(bot, interaction.user.id) == tag:
        return True
    permissions = interaction.permissions
    if interaction.guild_id is not None and permissions.manage_messages:
        return True
    roles = [role.id for role in getattr(interaction.user, "roles", [])]
    return is_admin(bot.config.discord, interaction.guild_id, roles, permissions)


class MoreSourcesButton(
    _TokenButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"ans:more:(?P<token>[0-9a-f]{16})",
):
    """The "More sources" button: the documents that did not fit, shown privately."""

    _prefix = "more"
    _style = discord.ButtonStyle.secondary
    _emoji = "📚"
    _label = "answer.more_title"

    async def clicked(
        self, bot: NatverksBot, interaction: discord.Interaction[Any], language: Language
    ) -> None:
        """Show the further sources privately, as the clicker may see them."""
        more = action_state(bot).more.get(self.token)
        if more is None:
            await _say(interaction, t("answer.gone", language))
            return
        # The narrower of where it was asked and where it is clicked.
        here = interaction_visibility(bot.config.discord, interaction)
        visibility: Visibility = "internal" if more.visibility == here == "internal" else "public"
        embed = format_more_sources(more.answer, more.left_out, more.answer.language, visibility)
        if embed is None:
            await _say(interaction, t("answer.no_more", language))
            return
        await _say(interaction, "", embed=embed)


class AskPersonButton(
    _TokenButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"ans:human:(?P<token>[0-9a-f]{16})",
):
    """The "Ask a person" button: posts a declined question for the configured role."""

    _prefix = "human"
    _style = discord.ButtonStyle.primary
    _emoji = "🙋"
    _label = "answer.ask_person"

    async def clicked(
        self, bot: NatverksBot, interaction: discord.Interaction[Any], language: Language
    ) -> None:
        """Post the question for the role (once), and tell the asker privately."""
        state = action_state(bot)
        request = state.human.get(self.token)
        if request is None:
            await _say(interaction, t("answer.gone", language))
            return
        if asker_tag(bot, interaction.user.id) != request.asker_tag:
            await _say(interaction, t("human.only_asker", language))
            return
        state.human.pop(self.token)
        await interaction.response.defer(ephemeral=True, thinking=True)
        link = interaction.message.jump_url if interaction.message is not None else ""
        await post_for_person(bot, request, link)
        await interaction.followup.send(
            t("human.sent", request.language), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def role_only_mentions(role_id: int) -> discord.AllowedMentions:
    """Return allowed mentions that let exactly one role be pinged, and nobody else."""
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )


async def post_for_person(bot: NatverksBot, request: HumanRequest, link: str) -> discord.Message:
    """Post the question in the configured channel, pinging only the configured role."""
    channel = bot.get_channel(request.channel_id) or await bot.fetch_channel(request.channel_id)
    if not isinstance(channel, discord.abc.Messageable):
        raise RuntimeError(f"human_help channel {request.channel_id} is not a text channel")
    question = escape(one_line(request.question)[:QUESTION_SHOWN])
    text = t(
        "human.post",
        request.language,
        role=f"<@&{request.role_id}>",
        asker=f"<@{request.asker_id}>",
        question=question,
        link=link,
    )
    sent = await channel.send(text[:2000], allowed_mentions=role_only_mentions(request.role_id))
    log.info("a declined question was handed to role %s in %s", request.role_id, channel.id)
    return sent


# -- 👍 / 👎 ---------------------------------------------------------------------

VOTES = {"up": (1, "👍"), "down": (-1, "👎")}


def feedback_custom_id(vote: str, record_id: int) -> str:
    """Return the custom id of a feedback button (at most 100 characters)."""
    return f"fb:{vote}:{record_id}"


class FeedbackButton(
    _AnswerButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"fb:(?P<vote>up|down):(?P<record>[0-9]{1,19})",
):
    """A 👍 or 👎 button of one answer."""

    def __init__(self, vote: str, record_id: int, language: str = "sv") -> None:
        value, emoji = VOTES[vote]
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji=emoji,
                custom_id=feedback_custom_id(vote, record_id),
                # An accessible name for screen readers: the label is the emoji's meaning.
                label=t(f"feedback.{vote}", language),
            )
        )
        self.vote = vote
        self.record_id = record_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> FeedbackButton:
        """Return the button a click's custom id stands for."""
        return cls(match["vote"], int(match["record"]))

    async def clicked(
        self, bot: NatverksBot, interaction: discord.Interaction[Any], language: Language
    ) -> None:
        """Record the vote and tell the voter, privately, in the answer's language."""
        value, emoji = VOTES[self.vote]
        result = await bot.require_records().vote(self.record_id, interaction.user.id, value)
        text = t(f"feedback.{result.outcome}", result.language, emoji=emoji)
        log.info("feedback %s on record %d: %s", self.vote, self.record_id, result.outcome)
        await _say(interaction, text)
