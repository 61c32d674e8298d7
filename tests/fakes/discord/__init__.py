"""An in-process fake Discord (REST API + gateway) that the real discord.py client talks to.

The fake is a small aiohttp server on ``127.0.0.1`` with a random port. It speaks enough of
Discord's v10 REST API and gateway protocol for a real ``commands.Bot`` to log in, receive
messages and interactions, and answer them; it checks what Discord checks (message and embed
limits, components, command payloads, the 3-second interaction deadline) and records every
request so tests can assert on what the bot did.

The package's modules: ``protocol`` (Discord's numbers: intents, flags, types, limits),
``validation`` (what Discord checks in what the bot sends), ``records`` (what tests hold:
requests, bot messages, interactions, guilds), ``gateway`` (IDENTIFY, RESUME, dispatches,
users' messages), ``rest`` (the REST routes), ``interactions`` (commands, components, modals
and the bot's responses) and ``fake`` (``FakeDiscord`` itself and the ``fake_discord``
fixture). Import from the package: every public name is here.

Quick start
-----------
::

    from tests.fakes.discord import FakeDiscord
    from tests.fakes.discord import fake_discord_fixture  # noqa: F401 - the fake_discord fixture

    async def test_reply(fake_discord: FakeDiscord) -> None:
        guild = fake_discord.add_guild("Staff")
        bot = create_bot(config)                     # any discord.Client / commands.Bot
        async with fake_discord.run_bot(bot):        # login + gateway + on_ready, close after
            msg = await fake_discord.send_user_message(
                guild.text_channel_id, fake_discord.default_user,
                f"{fake_discord.mention(fake_discord.bot_user)} hej",
            )
            reply = await fake_discord.wait_for_bot_message()
            assert reply.reference_id == int(msg["id"])
            assert reply.allowed_mentions == {"parse": []}

Without the fixture: ``async with FakeDiscord() as fake:`` starts the server *and* points
discord.py at it (``fake.patched()``); leaving the block restores discord.py and stops the
server. ``await fake.start()`` / ``with fake.patched():`` / ``await fake.stop()`` do the steps
separately.

Building the world (synchronous; do it before the bot connects)
---------------------------------------------------------------
- ``FakeDiscord(*, token="fake-discord-token", bot_name="Nätverksboten",
  heartbeat_interval=41.25, interaction_deadline=3.0, message_content_rule=True,
  allowed_privileged_intents=PRIVILEGED_INTENTS)`` (times in seconds).
- ``fake.bot_user`` / ``fake.application_id`` / ``fake.token``: the bot's user payload (its id
  is the application id, as for every modern bot) and the token the fake accepts.
- ``fake.default_user``: a plain user that ``add_guild`` makes a member of every guild; the
  default actor of ``invoke_slash``/``click_button``. ``fake.owner_user`` owns the
  application and every guild.
- ``fake.add_guild(name="Testgille", *, guild_id=None, owner=None, locale="sv-SE",
  channels=("allmänt",), everyone_permissions=..., bot_permissions=...) -> FakeGuild``
  (``.id``, ``.text_channel_id``, ``.channel(name)``, ``.role(name)``, ``.everyone_role``).
- ``fake.add_channel(guild, name, *, type=0, topic=None, parent_id=None) -> dict``
- ``fake.add_role(guild, name, permissions=0) -> dict``
- ``fake.add_user(name, *, bot=False, user_id=None, global_name=None) -> dict``
- ``fake.add_member(guild, user, *, roles=(), nick=None) -> dict``
- ``fake.add_attachment(filename, data, *, content_type=None, description=None) -> dict``:
  an attachment object whose ``url``/``proxy_url`` the fake serves (``Attachment.read()`` works).
- ``fake.dm_channel(user) -> dict``: the DM channel between ``user`` and the bot.
- ``fake.mention(user_or_role) -> str``: ``"<@id>"`` / ``"<@&id>"``.
- ``fake.member_permissions(guild, user) -> int``; ``fake.messages_in(channel_id) -> list``.
Guild, channel, user and role arguments accept the payload dict, a ``FakeGuild`` or an id.

Running a bot
-------------
- ``async with fake.run_bot(bot, *, timeout=5.0, guild_ready_timeout=0.05):`` logs the bot in
  (``setup_hook`` errors propagate), connects it, waits for ``on_ready`` and closes it on exit.
  ``guild_ready_timeout`` shortens discord.py's 2-second wait for further ``GUILD_CREATE``s.
- ``await fake.wait_ready(timeout=5.0)``: the fake has sent READY and every GUILD_CREATE.

Acting as users (each dispatches the gateway event and returns at once)
-----------------------------------------------------------------------
- ``await fake.send_user_message(channel_id, user, content, *, mentions=(), reference=None,
  mention_author=True, attachments=(), embeds=()) -> dict`` (message payload). Mentions in
  ``content`` (``<@id>``, ``<@&id>``) are resolved like Discord does; ``reference`` (message
  dict, ``BotMessage`` or id) makes it a reply (type 19) that pings the replied-to author
  unless ``mention_author=False``.
- ``await fake.send_dm(user, content, **same) -> dict``
- ``await fake.invoke_slash(name, options=None, *, user=None, guild=None, channel_id=None,
  dm=False, permissions=None, locale="sv-SE", guild_locale=None, guild_command=None)
  -> FakeInteraction``. ``name`` may be ``"group sub"``; ``options`` is a mapping (types are
  taken from the synced command when the bot synced, else inferred: str, int, float, bool,
  attachment/user/role/channel dicts, which also fill ``data.resolved``) or a raw option list.
  ``permissions`` overrides the member's computed permission integer.
- ``await fake.click_button(message, custom_id, user=None) -> FakeInteraction`` and
  ``await fake.select_option(message, custom_id, values, user=None)``: component interactions
  on a message that really carries that component.
- ``await fake.submit_modal(interaction, values, user=None) -> FakeInteraction``: submits the
  modal that ``interaction`` answered with (callback type 9), ``values`` by text input custom_id.
- ``await fake.dispatch(event, data)``: send any other gateway event.
- ``await fake.send_reconnect()`` (op 7) / ``await fake.drop_connections(code=4000)``.

Observing the bot
-----------------
- ``fake.bot_messages: list[BotMessage]``: every message the bot created or edited, in order
  (channel messages, interaction responses, follow-ups, edits). ``fake.sent_messages`` are the
  creations only. A ``BotMessage`` has ``.message`` (the payload Discord returned), ``.action``
  (``"create"``/``"edit"``), ``.via`` (``"channel"``, ``"interaction"``, ``"followup"``),
  ``.payload`` (the JSON the bot sent), ``.files``, ``.time`` (``time.monotonic()`` on arrival),
  ``.interaction`` and shortcuts ``.content``, ``.embeds``, ``.components``, ``.flags``,
  ``.ephemeral``, ``.allowed_mentions``, ``.mentions``, ``.reference_id``, ``.channel_id``.
  A deferred response's "is thinking" placeholder is not a message; the follow-up or edit
  that replaces it is recorded as its ``"create"``.
- ``await fake.wait_for_bot_message(predicate=None, *, timeout=5.0, include_edits=False)``:
  the next not yet returned ``BotMessage`` matching ``predicate`` (each call consumes one).
- ``await fake.idle(timeout=5.0)``: the bot has read every event the fake dispatched, every
  task it started to handle one has finished (listeners, commands, components and the tasks
  they start; not a view's timeout) and no REST request is in flight. Await it, never a
  sleep, before asserting that nothing (more) arrived. Needs a bot started by ``run_bot``.
- ``await fake.wait_until(check, *, timeout=5.0, what="...")``: the first non-None result of
  ``check()``, re-checked on every record and every 10 ms (for conditions on the bot's side).
- ``FakeInteraction``: ``.id``, ``.token``, ``.payload``, ``.dispatched_at``, ``.callback``
  (``InteractionCallback`` with ``.type``, ``.data``, ``.time``), ``.callback_latency``,
  ``.messages`` / ``.followups`` and ``await ix.wait_for_callback()``,
  ``await ix.wait_for_message(predicate=None)`` (consuming, includes edits).
- ``fake.response_delays[(method, route template)] = seconds`` holds the response of a
  handled request back (its gateway event is already out), e.g. to race a reply against
  ``("POST", "/channels/{channel_id}/messages")``.
- ``fake.requests`` (``RecordedRequest``: method, path, query, json, files, time, status),
  ``fake.rejected_requests`` (status >= 400), ``fake.synced_commands`` (``{None: global,
  guild_id: [...]}``), ``fake.typing``, ``fake.reactions``, ``fake.deleted_messages``,
  ``fake.connections`` (``GatewayConnection``: identify payload, heartbeats, close code),
  ``fake.presence_updates``.
- Anything the fake does not implement answers 404 and lands in ``fake.unknown_requests``
  (unknown gateway opcodes in ``fake.unknown_gateway_payloads``, bugs of the fake itself in
  ``fake.internal_errors``); ``fake.assert_no_unknown_requests()`` fails on any of them, and
  the ``fake_discord`` fixture calls it at teardown (clear the lists in a test that provokes
  them on purpose).

Behaviour worth knowing
-----------------------
- Messages the bot sends are also dispatched back as MESSAGE_CREATE / MESSAGE_UPDATE, as on
  Discord (ephemeral ones are not).
- Without the MESSAGE_CONTENT intent, guild messages arrive with empty content, embeds,
  attachments and components unless they mention the bot (DMs always carry content), as on
  Discord. ``FakeDiscord(message_content_rule=False)`` always sends content.
- The first response to an interaction must arrive within ``interaction_deadline`` (3 s);
  later ones get ``10062 Unknown interaction``. A second response gets ``40060``; a follow-up
  before any response gets ``10015 Unknown Webhook``.
- Invalid bodies get Discord's ``400`` with ``{"code": 50035, "errors": {...}}``; empty
  messages get ``50006``. The same checks are importable: ``validate_message_body``,
  ``validate_embeds``, ``validate_components``, ``validate_commands`` (raise/return
  ``DiscordError`` data).
- ``Client.close()`` usually reaches the fake as close code 4000, not 1000: aiohttp first
  wakes discord.py's reader, which closes with 4000 itself (real Discord sees the same).
"""

from __future__ import annotations

from tests.fakes.discord.fake import (
    FakeDiscord,
    fake_discord_fixture,
)
from tests.fakes.discord.gateway import (
    GatewayConnection,
    GatewaySession,
)
from tests.fakes.discord.protocol import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    API_PREFIX,
    API_VERSION,
    ATTACHMENT_SIZE_LIMIT,
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_UPDATE_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_PONG,
    CALLBACK_UPDATE_MESSAGE,
    CHANNEL_CATEGORY,
    CHANNEL_DM,
    CHANNEL_NEWS,
    CHANNEL_NEWS_THREAD,
    CHANNEL_PRIVATE_THREAD,
    CHANNEL_PUBLIC_THREAD,
    CHANNEL_TEXT,
    CHANNEL_VOICE,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DISCORD_EPOCH_MS,
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_IS_VOICE_MESSAGE,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    FLAG_SUPPRESS_NOTIFICATIONS,
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_DIRECT_MESSAGE_TYPING,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGE_TYPING,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILD_PRESENCES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_AUTOCOMPLETE,
    INTERACTION_MESSAGE_COMPONENT,
    INTERACTION_MODAL_SUBMIT,
    MAX_ACTION_ROWS,
    MAX_BUTTON_LABEL,
    MAX_CONTENT,
    MAX_CUSTOM_ID,
    MAX_EMBED_AUTHOR,
    MAX_EMBED_DESCRIPTION,
    MAX_EMBED_FIELD_NAME,
    MAX_EMBED_FIELD_VALUE,
    MAX_EMBED_FIELDS,
    MAX_EMBED_FOOTER,
    MAX_EMBED_TITLE,
    MAX_EMBED_TOTAL,
    MAX_EMBEDS,
    MAX_FILES,
    MAX_ROW_COMPONENTS,
    MAX_SELECT_OPTIONS,
    MAX_THREAD_NAME,
    PRIVILEGED_INTENTS,
    UserLike,
)
from tests.fakes.discord.records import (
    BotMessage,
    FakeGuild,
    FakeInteraction,
    InteractionCallback,
    RecordedRequest,
    UploadedFile,
)
from tests.fakes.discord.validation import (
    DiscordError,
    validate_commands,
    validate_components,
    validate_embeds,
    validate_message_body,
)

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "API_PREFIX",
    "API_VERSION",
    "ATTACHMENT_SIZE_LIMIT",
    "BotMessage",
    "CALLBACK_AUTOCOMPLETE_RESULT",
    "CALLBACK_CHANNEL_MESSAGE",
    "CALLBACK_DEFERRED_CHANNEL_MESSAGE",
    "CALLBACK_DEFERRED_UPDATE_MESSAGE",
    "CALLBACK_MODAL",
    "CALLBACK_PONG",
    "CALLBACK_UPDATE_MESSAGE",
    "CHANNEL_CATEGORY",
    "CHANNEL_DM",
    "CHANNEL_NEWS",
    "CHANNEL_NEWS_THREAD",
    "CHANNEL_PRIVATE_THREAD",
    "CHANNEL_PUBLIC_THREAD",
    "CHANNEL_TEXT",
    "CHANNEL_VOICE",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DISCORD_EPOCH_MS",
    "DiscordError",
    "FLAG_EPHEMERAL",
    "FLAG_IS_COMPONENTS_V2",
    "FLAG_IS_VOICE_MESSAGE",
    "FLAG_LOADING",
    "FLAG_SUPPRESS_EMBEDS",
    "FLAG_SUPPRESS_NOTIFICATIONS",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "GatewayConnection",
    "GatewaySession",
    "INTENT_DIRECT_MESSAGES",
    "INTENT_DIRECT_MESSAGE_REACTIONS",
    "INTENT_DIRECT_MESSAGE_TYPING",
    "INTENT_GUILDS",
    "INTENT_GUILD_MEMBERS",
    "INTENT_GUILD_MESSAGES",
    "INTENT_GUILD_MESSAGE_REACTIONS",
    "INTENT_GUILD_MESSAGE_TYPING",
    "INTENT_GUILD_PRESENCES",
    "INTENT_MESSAGE_CONTENT",
    "INTERACTION_APPLICATION_COMMAND",
    "INTERACTION_AUTOCOMPLETE",
    "INTERACTION_MESSAGE_COMPONENT",
    "INTERACTION_MODAL_SUBMIT",
    "InteractionCallback",
    "MAX_ACTION_ROWS",
    "MAX_BUTTON_LABEL",
    "MAX_CONTENT",
    "MAX_CUSTOM_ID",
    "MAX_EMBEDS",
    "MAX_EMBED_AUTHOR",
    "MAX_EMBED_DESCRIPTION",
    "MAX_EMBED_FIELDS",
    "MAX_EMBED_FIELD_NAME",
    "MAX_EMBED_FIELD_VALUE",
    "MAX_EMBED_FOOTER",
    "MAX_EMBED_TITLE",
    "MAX_EMBED_TOTAL",
    "MAX_FILES",
    "MAX_ROW_COMPONENTS",
    "MAX_SELECT_OPTIONS",
    "MAX_THREAD_NAME",
    "PRIVILEGED_INTENTS",
    "RecordedRequest",
    "UploadedFile",
    "UserLike",
    "fake_discord_fixture",
    "validate_commands",
    "validate_components",
    "validate_embeds",
    "validate_message_body",
]
