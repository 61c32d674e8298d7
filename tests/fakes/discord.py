"""An in-process fake Discord (REST API + gateway) that the real discord.py client talks to.

The fake is a small aiohttp server on ``127.0.0.1`` with a random port. It speaks enough of
Discord's v10 REST API and gateway protocol for a real ``commands.Bot`` to log in, receive
messages and interactions, and answer them; it checks what Discord checks (message and embed
limits, components, command payloads, the 3-second interaction deadline) and records every
request so tests can assert on what the bot did.

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

import asyncio
import contextlib
import copy
import json
import logging
import mimetypes
import re
import secrets
import time
import urllib.parse
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
import discord
import pytest_asyncio
import yarl
from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

T = TypeVar("T")

API_VERSION = 10
API_PREFIX = f"/api/v{API_VERSION}"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_GUILD_MESSAGE_TYPING = 1 << 11
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_DIRECT_MESSAGE_TYPING = 1 << 14
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Message flags.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_VOICE_MESSAGE = 1 << 13
FLAG_IS_COMPONENTS_V2 = 1 << 15
_CHANNEL_MESSAGE_FLAGS = (
    FLAG_SUPPRESS_EMBEDS
    | FLAG_SUPPRESS_NOTIFICATIONS
    | FLAG_IS_VOICE_MESSAGE
    | FLAG_IS_COMPONENTS_V2
)
_INTERACTION_MESSAGE_FLAGS = _CHANNEL_MESSAGE_FLAGS | FLAG_EPHEMERAL

# Channel types.
CHANNEL_TEXT = 0
CHANNEL_DM = 1
CHANNEL_VOICE = 2
CHANNEL_CATEGORY = 4
CHANNEL_NEWS = 5
CHANNEL_NEWS_THREAD = 10
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_PRIVATE_THREAD = 12
_THREAD_TYPES = (CHANNEL_NEWS_THREAD, CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD)

# Interaction and callback types.
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5
CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9

# Message limits Discord enforces (discord.py checks none of them).
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_EMBED_FIELD_NAME = 256
MAX_EMBED_FIELD_VALUE = 1024
MAX_EMBED_FOOTER = 2048
MAX_EMBED_AUTHOR = 256
MAX_EMBED_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_ROW_COMPONENTS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_SELECT_OPTIONS = 25
MAX_FILES = 10
MAX_THREAD_NAME = 100

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

DEFAULT_EVERYONE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    read_message_history=True,
    use_application_commands=True,
    use_external_emojis=True,
    connect=True,
    speak=True,
    change_nickname=True,
    create_instant_invite=True,
).value
DEFAULT_BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    manage_threads=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    read_message_history=True,
    use_application_commands=True,
).value
ALL_PERMISSIONS = discord.Permissions.all().value
ADMINISTRATOR = discord.Permissions(administrator=True).value

_VALID_LOCALES = frozenset(locale.value for locale in discord.Locale)
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")

UserLike = Mapping[str, Any] | int | str


# --------------------------------------------------------------------------------------
# small helpers


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _sid(value: Any) -> str:
    """Return a snowflake as Discord's string form."""
    if isinstance(value, Mapping):
        value = value["id"]
    return str(int(value))


def _json_response(obj: Any, status: int = 200) -> web.Response:
    # Exactly "application/json": discord.py only decodes JSON for that exact header value.
    return web.Response(
        body=json.dumps(obj, ensure_ascii=False).encode("utf-8"),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def _no_content() -> web.Response:
    return web.Response(status=204)


class _Snowflakes:
    """Generates increasing, realistic snowflakes (timestamp in the top bits)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last


class DiscordError(Exception):
    """An error answer of the fake API, shaped like Discord's JSON errors."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def response(self) -> web.Response:
        """Return the aiohttp response Discord would send."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return _json_response(body, self.status)


_FormError = tuple[tuple[str | int, ...], str, str]


def _max_length(path: tuple[str | int, ...], limit: int) -> _FormError:
    return path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."


def _required(path: tuple[str | int, ...]) -> _FormError:
    return path, "BASE_TYPE_REQUIRED", "This field is required"


def _invalid_form_body(errors: Sequence[_FormError]) -> DiscordError:
    """Nest ``(path, code, message)`` triples the way Discord's ``errors`` object does."""
    root: dict[str, Any] = {}
    for path, code, message in errors:
        node = root
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return DiscordError(400, 50035, "Invalid Form Body", root)


def _raise_if(errors: Sequence[_FormError]) -> None:
    if errors:
        raise _invalid_form_body(errors)


# --------------------------------------------------------------------------------------
# validation of what the bot sends


def _text_length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def validate_embeds(embeds: Any, prefix: tuple[str | int, ...] = ()) -> list[_FormError]:
    """Return Discord's form errors for a list of embeds (limits, required fields, total size)."""
    errors: list[_FormError] = []
    path = (*prefix, "embeds")
    if not isinstance(embeds, list):
        return [(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]
    if len(embeds) > MAX_EMBEDS:
        errors.append(_max_length(path, MAX_EMBEDS))
    total = 0
    for i, embed in enumerate(embeds):
        epath = (*path, i)
        if not isinstance(embed, Mapping):
            errors.append(
                (epath, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            )
            continue
        for key, limit in (("title", MAX_EMBED_TITLE), ("description", MAX_EMBED_DESCRIPTION)):
            n = _text_length(embed.get(key))
            total += n
            if n > limit:
                errors.append(_max_length((*epath, key), limit))
        fields = embed.get("fields") or []
        if len(fields) > MAX_EMBED_FIELDS:
            errors.append(_max_length((*epath, "fields"), MAX_EMBED_FIELDS))
        for j, fld in enumerate(fields):
            fpath = (*epath, "fields", j)
            for key, limit in (("name", MAX_EMBED_FIELD_NAME), ("value", MAX_EMBED_FIELD_VALUE)):
                value = fld.get(key)
                if value is None or value == "":
                    errors.append(_required((*fpath, key)))
                n = _text_length(value)
                total += n
                if n > limit:
                    errors.append(_max_length((*fpath, key), limit))
        footer = embed.get("footer") or {}
        n = _text_length(footer.get("text"))
        total += n
        if n > MAX_EMBED_FOOTER:
            errors.append(_max_length((*epath, "footer", "text"), MAX_EMBED_FOOTER))
        author = embed.get("author") or {}
        n = _text_length(author.get("name"))
        total += n
        if author and not author.get("name"):
            errors.append(_required((*epath, "author", "name")))
        if n > MAX_EMBED_AUTHOR:
            errors.append(_max_length((*epath, "author", "name"), MAX_EMBED_AUTHOR))
    if total > MAX_EMBED_TOTAL:
        errors.append(
            (
                path,
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
            )
        )
    return errors


def _walk_components(components: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        if isinstance(component.get("component"), Mapping):
            yield from _walk_components([component["component"]])
        if isinstance(component.get("accessory"), Mapping):
            yield from _walk_components([component["accessory"]])


def _validate_interactive(
    component: Mapping[str, Any], path: tuple[str | int, ...]
) -> list[_FormError]:
    errors: list[_FormError] = []
    ctype = component.get("type")
    custom_id = component.get("custom_id")
    if custom_id is not None and len(str(custom_id)) > MAX_CUSTOM_ID:
        errors.append(_max_length((*path, "custom_id"), MAX_CUSTOM_ID))
    if ctype == 2:  # button
        style = component.get("style")
        label = component.get("label")
        if label is not None and len(label) > MAX_BUTTON_LABEL:
            errors.append(_max_length((*path, "label"), MAX_BUTTON_LABEL))
        if style == 5:
            if not component.get("url"):
                errors.append(_required((*path, "url")))
            if custom_id is not None:
                errors.append(
                    (
                        (*path, "custom_id"),
                        "BUTTON_COMPONENT_CUSTOM_ID_FORBIDDEN",
                        "A link button cannot have a custom_id",
                    )
                )
        elif style != 6 and not custom_id:
            errors.append(_required((*path, "custom_id")))
        if not label and not component.get("emoji"):
            errors.append(
                (
                    (*path, "label"),
                    "BUTTON_COMPONENT_LABEL_REQUIRED",
                    "A button needs a label or an emoji",
                )
            )
    elif ctype in (3, 5, 6, 7, 8):  # select menus
        if not custom_id:
            errors.append(_required((*path, "custom_id")))
        placeholder = component.get("placeholder")
        if placeholder is not None and len(placeholder) > 150:
            errors.append(_max_length((*path, "placeholder"), 150))
        if ctype == 3:
            options = component.get("options") or []
            if not options:
                errors.append(_required((*path, "options")))
            if len(options) > MAX_SELECT_OPTIONS:
                errors.append(_max_length((*path, "options"), MAX_SELECT_OPTIONS))
            for k, option in enumerate(options):
                for key in ("label", "value", "description"):
                    if _text_length(option.get(key)) > 100:
                        errors.append(_max_length((*path, "options", k, key), 100))
    return errors


def validate_components(
    components: Any, flags: int = 0, prefix: tuple[str | int, ...] = ()
) -> list[_FormError]:
    """Return Discord's form errors for message components (rows, buttons, selects, ids)."""
    path = (*prefix, "components")
    if not isinstance(components, list):
        return [(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]
    errors: list[_FormError] = []
    if flags & FLAG_IS_COMPONENTS_V2:
        if len(components) > 40:
            errors.append(_max_length(path, 40))
    else:
        if len(components) > MAX_ACTION_ROWS:
            errors.append(_max_length(path, MAX_ACTION_ROWS))
        for i, row in enumerate(components):
            rpath = (*path, i)
            if row.get("type") != 1:
                errors.append(
                    (
                        (*rpath, "type"),
                        "UNION_TYPE_CHOICES",
                        'Value of field "type" must be one of (1,).',
                    )
                )
                continue
            children = row.get("components") or []
            if not children:
                errors.append(
                    ((*rpath, "components"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
                )
            if len(children) > MAX_ROW_COMPONENTS:
                errors.append(_max_length((*rpath, "components"), MAX_ROW_COMPONENTS))
            has_select = any(c.get("type") in (3, 5, 6, 7, 8) for c in children)
            if has_select and len(children) > 1:
                errors.append(
                    (
                        (*rpath, "components"),
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    )
                )
            for j, child in enumerate(children):
                errors.extend(_validate_interactive(child, (*rpath, "components", j)))
    seen: set[str] = set()
    for component in _walk_components(components):
        custom_id = component.get("custom_id")
        if custom_id is None:
            continue
        if custom_id in seen:
            errors.append(
                (
                    path,
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    f"Component custom id {custom_id!r} cannot be duplicated",
                )
            )
        seen.add(custom_id)
    return errors


def validate_message_body(
    body: Mapping[str, Any], files: Sequence[UploadedFile] = (), prefix: tuple[str | int, ...] = ()
) -> None:
    """Raise ``DiscordError`` 50035 for what Discord rejects in a message create/edit body."""
    errors: list[_FormError] = []
    content = body.get("content")
    if content is not None:
        if not isinstance(content, str):
            errors.append(
                (
                    (*prefix, "content"),
                    "STRING_TYPE_CONVERT",
                    "Could not interpret value as string.",
                )
            )
        elif len(content) > MAX_CONTENT:
            errors.append(_max_length((*prefix, "content"), MAX_CONTENT))
    if body.get("embeds") is not None:
        errors.extend(validate_embeds(body["embeds"], prefix))
    if body.get("components") is not None:
        errors.extend(validate_components(body["components"], int(body.get("flags") or 0), prefix))
    if len(files) > MAX_FILES:
        errors.append(_max_length((*prefix, "files"), MAX_FILES))
    mentions = body.get("allowed_mentions")
    if mentions is not None:
        parse = mentions.get("parse") or []
        for key in ("users", "roles"):
            if key in parse and mentions.get(key):
                errors.append(
                    (
                        (*prefix, "allowed_mentions"),
                        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                        f'parse:["{key}"] and {key}: [ids...] are mutually exclusive.',
                    )
                )
    _raise_if(errors)


def _is_empty_message(message: Mapping[str, Any]) -> bool:
    return not (
        message.get("content")
        or message.get("embeds")
        or message.get("attachments")
        or message.get("components")
        or message.get("sticker_items")
        or message.get("poll")
    )


_EMPTY_MESSAGE = DiscordError(400, 50006, "Cannot send an empty message")


def _valid_command_name(name: Any, *, chat_input: bool) -> bool:
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        return False
    if not chat_input:
        return True
    return name == name.lower() and all(ch.isalnum() or ch in "-_'" for ch in name)


def _validate_localizations(
    values: Any, path: tuple[str | int, ...], *, limit: int, names: bool, chat_input: bool
) -> list[_FormError]:
    errors: list[_FormError] = []
    for locale, text in (values or {}).items():
        if locale not in _VALID_LOCALES:
            errors.append(((*path, locale), "LOCALE_INVALID", f"Invalid locale {locale!r}"))
        elif names and not _valid_command_name(text, chat_input=chat_input):
            errors.append(
                ((*path, locale), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            )
        elif not names and not 1 <= _text_length(text) <= limit:
            errors.append(_max_length((*path, locale), limit))
    return errors


def _validate_command_options(options: Any, path: tuple[str | int, ...]) -> list[_FormError]:
    errors: list[_FormError] = []
    if len(options) > 25:
        errors.append(_max_length(path, 25))
    seen_optional = False
    names: set[str] = set()
    for i, option in enumerate(options):
        opath = (*path, i)
        if not _valid_command_name(option.get("name"), chat_input=True):
            errors.append(
                ((*opath, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            )
        if option.get("name") in names:
            errors.append(
                (
                    (*opath, "name"),
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Duplicate option name",
                )
            )
        names.add(option.get("name"))
        if not 1 <= _text_length(option.get("description")) <= 100:
            errors.append(_max_length((*opath, "description"), 100))
        errors.extend(
            _validate_localizations(
                option.get("name_localizations"),
                (*opath, "name_localizations"),
                limit=32,
                names=True,
                chat_input=True,
            )
        )
        errors.extend(
            _validate_localizations(
                option.get("description_localizations"),
                (*opath, "description_localizations"),
                limit=100,
                names=False,
                chat_input=True,
            )
        )
        choices = option.get("choices") or []
        if len(choices) > 25:
            errors.append(_max_length((*opath, "choices"), 25))
        for k, choice in enumerate(choices):
            if not 1 <= _text_length(choice.get("name")) <= 100:
                errors.append(_max_length((*opath, "choices", k, "name"), 100))
            if isinstance(choice.get("value"), str) and len(choice["value"]) > 100:
                errors.append(_max_length((*opath, "choices", k, "value"), 100))
        if option.get("type") in (1, 2):
            errors.extend(
                _validate_command_options(option.get("options") or [], (*opath, "options"))
            )
            continue
        if option.get("required"):
            if seen_optional:
                errors.append(
                    (
                        (*opath, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            seen_optional = True
    return errors


def validate_commands(commands: Any) -> None:
    """Raise ``DiscordError`` 50035 for an application command list Discord would reject."""
    if not isinstance(commands, list):
        raise _invalid_form_body(
            [((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]
        )
    errors: list[_FormError] = []
    seen: set[tuple[str, int]] = set()
    for i, command in enumerate(commands):
        ctype = command.get("type", 1)
        chat_input = ctype == 1
        path: tuple[str | int, ...] = (i,)
        name = command.get("name")
        if not _valid_command_name(name, chat_input=chat_input):
            errors.append(
                ((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            )
        if (name, ctype) in seen:
            errors.append(
                (
                    (*path, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique ({name})",
                )
            )
        seen.add((name, ctype))
        if chat_input and not 1 <= _text_length(command.get("description")) <= 100:
            errors.append(_max_length((*path, "description"), 100))
        errors.extend(
            _validate_localizations(
                command.get("name_localizations"),
                (*path, "name_localizations"),
                limit=32,
                names=True,
                chat_input=chat_input,
            )
        )
        errors.extend(
            _validate_localizations(
                command.get("description_localizations"),
                (*path, "description_localizations"),
                limit=100,
                names=False,
                chat_input=chat_input,
            )
        )
        errors.extend(_validate_command_options(command.get("options") or [], (*path, "options")))
    if len(commands) > 100:
        errors.append(_max_length((), 100))
    _raise_if(errors)


# --------------------------------------------------------------------------------------
# records


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    data: bytes
    content_type: str | None = None
    field: str = ""


@dataclass
class RecordedRequest:
    """One HTTP request the fake received (``path`` without the ``/api/v10`` prefix)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    time: float
    status: int = 0
    route: str | None = None
    response: Any = None


@dataclass
class BotMessage:
    """A message the bot created or edited, as Discord returned it."""

    message: dict[str, Any]
    action: str
    via: str
    payload: dict[str, Any]
    files: list[UploadedFile]
    time: float
    interaction: FakeInteraction | None = None

    @property
    def id(self) -> int:
        """Return the message id."""
        return int(self.message["id"])

    @property
    def channel_id(self) -> int:
        """Return the channel id."""
        return int(self.message["channel_id"])

    @property
    def content(self) -> str:
        """Return the message content."""
        return self.message.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Return the embeds."""
        return self.message.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        """Return the components."""
        return self.message.get("components") or []

    @property
    def attachments(self) -> list[dict[str, Any]]:
        """Return the attachments."""
        return self.message.get("attachments") or []

    @property
    def flags(self) -> int:
        """Return the message flags."""
        return int(self.message.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Return whether only the invoking user sees the message."""
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """Return the ``allowed_mentions`` the bot sent with this request (None if omitted)."""
        return self.payload.get("allowed_mentions")

    @property
    def mentions(self) -> list[dict[str, Any]]:
        """Return the users the message actually pinged."""
        return self.message.get("mentions") or []

    @property
    def reference_id(self) -> int | None:
        """Return the id of the message this one replies to."""
        ref = self.message.get("message_reference")
        return int(ref["message_id"]) if ref and ref.get("message_id") else None

    def all_text(self) -> str:
        """Return content plus every embed text, for loose assertions."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for fld in embed.get("fields") or []:
                parts += [fld.get("name") or "", fld.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
            parts.append((embed.get("author") or {}).get("name") or "")
        return "\n".join(p for p in parts if p)


@dataclass
class InteractionCallback:
    """The initial response of the bot to an interaction."""

    type: int
    data: dict[str, Any]
    files: list[UploadedFile]
    time: float
    message: dict[str, Any] | None = None


class _Notifier:
    """Wakes up waiters whenever the fake records something."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self, check: Callable[[], T | None], timeout: float, what: Callable[[], str]
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"FakeDiscord: timed out after {timeout}s waiting for {what()}")
            event = self._event
            # Also poll: conditions may depend on the bot's side (its event handlers).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.01))


class FakeInteraction:
    """An interaction the fake dispatched, and everything the bot answered to it."""

    def __init__(self, fake: FakeDiscord, payload: dict[str, Any]) -> None:
        self._fake = fake
        self.payload = payload
        self.id = int(payload["id"])
        self.type = int(payload["type"])
        self.token: str = payload["token"]
        self.channel_id = int(payload["channel_id"])
        self.guild_id = int(payload["guild_id"]) if payload.get("guild_id") else None
        user = payload["member"]["user"] if "member" in payload else payload["user"]
        self.user: dict[str, Any] = user
        self.dispatched_at: float = 0.0
        self.callback: InteractionCallback | None = None
        self.messages: list[BotMessage] = []
        self.original_id: int | None = (
            int(payload["message"]["id"]) if "message" in payload else None
        )
        self._placeholder_pending = False
        self._consumed: set[int] = set()

    def __repr__(self) -> str:
        cb = self.callback.type if self.callback else None
        n = len(self.messages)
        return f"<FakeInteraction id={self.id} type={self.type} callback={cb} messages={n}>"

    @property
    def name(self) -> str | None:
        """Return the command name (for application commands)."""
        return (self.payload.get("data") or {}).get("name")

    @property
    def callback_latency(self) -> float | None:
        """Return seconds from dispatching INTERACTION_CREATE to the callback's arrival."""
        return None if self.callback is None else self.callback.time - self.dispatched_at

    @property
    def followups(self) -> list[BotMessage]:
        """Return follow-up messages (creations through the interaction webhook)."""
        return [m for m in self.messages if m.via == "followup" and m.action == "create"]

    @property
    def original(self) -> dict[str, Any] | None:
        """Return the current state of the ``@original`` message, if any."""
        return None if self.original_id is None else self._fake.messages.get(self.original_id)

    async def wait_for_callback(self, timeout: float = 5.0) -> InteractionCallback:
        """Wait until the bot sent its initial response; return it."""
        return await self._fake._notifier.wait_for(
            lambda: self.callback, timeout, lambda: f"the callback to {self!r}"
        )

    async def wait_for_message(
        self, predicate: Callable[[BotMessage], bool] | None = None, *, timeout: float = 5.0
    ) -> BotMessage:
        """Return the next not yet returned message (create or edit) of this interaction."""

        def check() -> BotMessage | None:
            for i, record in enumerate(self.messages):
                if i not in self._consumed and (predicate is None or predicate(record)):
                    self._consumed.add(i)
                    return record
            return None

        return await self._fake._notifier.wait_for(
            check, timeout, lambda: f"a message of {self!r} (got {self.messages!r})"
        )


@dataclass(eq=False)
class GatewaySession:
    """An identified gateway session (survives reconnects that RESUME)."""

    id: str
    intents: int
    shard: list[int] | None
    identify: dict[str, Any]
    seq: int = 0
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    connection: GatewayConnection | None = None
    ready_sent: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH with the next sequence number (buffered for RESUME)."""
        async with self.lock:
            self.seq += 1
            payload = {"op": 0, "t": event, "s": self.seq, "d": data}
            self.buffer.append(payload)
            if self.connection is not None:
                await self.connection.send(payload)


class GatewayConnection:
    """One websocket connection to the fake gateway."""

    def __init__(self, ws: web.WebSocketResponse, query: Mapping[str, str]) -> None:
        self.ws = ws
        self.query = dict(query)
        self.compress = query.get("compress")
        self.encoding = query.get("encoding", "json")
        self.session: GatewaySession | None = None
        self.identify: dict[str, Any] | None = None
        self.resumed = False
        self.heartbeats: list[float] = []
        self.received: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._compressor: Any = None
        self._flush: Any = None
        if self.compress == "zlib-stream":
            self._compressor = zlib.compressobj()
            self._flush = zlib.Z_SYNC_FLUSH
        elif self.compress == "zstd-stream":
            import zstandard  # only when discord.py found it and asks for zstd

            self._compressor = zstandard.ZstdCompressor().compressobj()
            self._flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK

    def __repr__(self) -> str:
        return (
            f"<GatewayConnection compress={self.compress} close_code={self.close_code}"
            f" heartbeats={len(self.heartbeats)}>"
        )

    async def send(self, payload: Mapping[str, Any]) -> None:
        """Send one gateway payload (compressed as the client asked)."""
        text = json.dumps(payload, ensure_ascii=False)
        async with self._lock:
            if self.ws.closed:
                return
            if self._compressor is not None:
                data = self._compressor.compress(text.encode("utf-8")) + self._compressor.flush(
                    self._flush
                )
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)

    async def close(self, code: int, message: str = "") -> None:
        """Close the websocket with ``code``."""
        await self.ws.close(code=code, message=message.encode("utf-8"))


@dataclass(eq=False)
class FakeGuild:
    """A guild of the fake, with payload dicts in Discord's shape."""

    id: int
    name: str
    owner_id: int
    preferred_locale: str
    joined_at: str
    roles: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    threads: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def everyone_role(self) -> dict[str, Any]:
        """Return the @everyone role (its id is the guild id)."""
        return self.roles[self.id]

    @property
    def text_channel_id(self) -> int:
        """Return the id of the first text channel."""
        for channel in self.channels.values():
            if channel["type"] == CHANNEL_TEXT:
                return int(channel["id"])
        raise LookupError(f"guild {self.name!r} has no text channel")

    def channel(self, name: str) -> dict[str, Any]:
        """Return the channel (or thread) called ``name``."""
        for channel in [*self.channels.values(), *self.threads.values()]:
            if channel["name"] == name:
                return channel
        raise LookupError(f"guild {self.name!r} has no channel {name!r}")

    def role(self, name: str) -> dict[str, Any]:
        """Return the role called ``name``."""
        for role in self.roles.values():
            if role["name"] == name:
                return role
        raise LookupError(f"guild {self.name!r} has no role {name!r}")


@dataclass
class _Req:
    """A parsed REST request handed to the route handlers."""

    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    json: Any
    files: list[UploadedFile]
    time: float
    headers: Mapping[str, str]


_Handler = Callable[[_Req], Any]


# --------------------------------------------------------------------------------------
# the fake


class FakeDiscord:
    """An in-process fake of Discord's REST API and gateway; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = "fake-discord-token",
        bot_name: str = "Nätverksboten",
        heartbeat_interval: float = 41.25,
        interaction_deadline: float = 3.0,
        message_content_rule: bool = True,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
    ) -> None:
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        self.message_content_rule = message_content_rule
        self.allowed_privileged_intents = allowed_privileged_intents
        self._ids = _Snowflakes()
        self._notifier = _Notifier()

        self.users: dict[int, dict[str, Any]] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.attachments: dict[int, UploadedFile] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self._dm_channels: dict[int, int] = {}
        self._ephemeral: set[int] = set()
        self._message_interaction: dict[int, FakeInteraction] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}

        self.bot_user = self.add_user(bot_name, bot=True)
        self.bot_user.update(verified=True, mfa_enabled=False, locale="sv-SE", email=None)
        self.application_id = int(self.bot_user["id"])
        self.owner_user = self.add_user("ägare")
        self.default_user = self.add_user("testare")

        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.unknown_gateway_payloads: list[dict[str, Any]] = []
        self.internal_errors: list[str] = []
        self.bot_messages: list[BotMessage] = []
        self._consumed: set[int] = set()
        self.deleted_messages: list[int] = []
        self.typing: list[tuple[int, float]] = []
        self.reactions: list[tuple[int, int, str, float]] = []
        self.synced_commands: dict[int | None, list[dict[str, Any]]] = {}
        # (method, route template) -> seconds to hold a response back after handling it.
        self.response_delays: dict[tuple[str, str], float] = {}
        self.presence_updates: list[dict[str, Any]] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.identify_count = 0

        self._routes = self._build_routes()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Return the base URL of the fake's HTTP server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Return what ``discord.http.Route.BASE`` must be."""
        return f"{self.url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Return the gateway URL (``ws://``)."""
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start the HTTP/websocket server (on a free port by default)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close every gateway connection and stop the server."""
        for conn in self.connections:
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await conn.close(1001, "FakeDiscord stopped")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def patched(self) -> Iterator[FakeDiscord]:
        """Point discord.py's REST base and default gateway at this fake; restore on exit."""
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield self
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        self._patch_cm = self.patched()
        self._patch_cm.__enter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._patch_cm.__exit__(None, None, None)
        await self.stop()

    @contextlib.asynccontextmanager
    async def run_bot(
        self,
        bot: discord.Client,
        *,
        timeout: float = 5.0,
        guild_ready_timeout: float | None = 0.05,
    ) -> AsyncIterator[discord.Client]:
        """Log ``bot`` in, connect it and wait for ``on_ready``; close it on exit.

        ``guild_ready_timeout`` replaces discord.py's wait for further GUILD_CREATEs (2 s by
        default) so that ``on_ready`` fires quickly; ``None`` keeps the bot's own value.
        """
        if guild_ready_timeout is not None:
            bot._connection.guild_ready_timeout = guild_ready_timeout
        try:
            await bot.login(self.token)
        except BaseException:
            await bot.close()
            raise
        task = asyncio.create_task(bot.connect(reconnect=True), name="fake-discord-bot")
        ready = asyncio.create_task(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                if task in done:
                    task.result()
                    raise RuntimeError("FakeDiscord: the bot stopped before it was ready")
                raise TimeoutError(f"FakeDiscord: the bot was not ready within {timeout}s")
            yield bot
        finally:
            ready.cancel()
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(task, timeout)
                except TimeoutError:
                    task.cancel()

    async def wait_until(
        self, check: Callable[[], T | None], *, timeout: float = 5.0, what: str = "a condition"
    ) -> T:
        """Return ``check()`` once it is not None (re-checked on every record and every 10 ms)."""
        return await self._notifier.wait_for(check, timeout, lambda: what)

    async def wait_ready(self, timeout: float = 5.0) -> GatewaySession:
        """Wait until the fake has sent READY and every GUILD_CREATE to an identified bot."""

        def check() -> GatewaySession | None:
            for session in self.sessions.values():
                if session.connection is not None and session.ready_sent:
                    return session
            return None

        return await self._notifier.wait_for(check, timeout, lambda: "the bot to IDENTIFY")

    # ---------------------------------------------------------------- world building

    def add_user(
        self,
        name: str,
        *,
        bot: bool = False,
        user_id: int | None = None,
        global_name: str | None = None,
    ) -> dict[str, Any]:
        """Create a user; return its payload."""
        uid = user_id or self._ids.next()
        user = {
            "id": str(uid),
            "username": name,
            "discriminator": "0",
            "global_name": global_name,
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        self.users[uid] = user
        return user

    def add_guild(
        self,
        name: str = "Testgille",
        *,
        guild_id: int | None = None,
        owner: UserLike | None = None,
        locale: str = "sv-SE",
        channels: Sequence[str] = ("allmänt",),
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    ) -> FakeGuild:
        """Create a guild with @everyone, a managed bot role, text channels and members.

        The bot, the owner (``owner_user`` by default) and ``default_user`` are members.
        """
        gid = guild_id or self._ids.next()
        owner_user = self._user(owner) if owner is not None else self.owner_user
        guild = FakeGuild(
            id=gid,
            name=name,
            owner_id=int(owner_user["id"]),
            preferred_locale=locale,
            joined_at=_now_iso(),
        )
        self.guilds[gid] = guild
        guild.roles[gid] = self._role_payload(gid, "@everyone", everyone_permissions, position=0)
        bot_role = self.add_role(guild, self.bot_user["username"], bot_permissions)
        bot_role["managed"] = True
        bot_role["tags"] = {"bot_id": self.bot_user["id"]}
        self.add_member(guild, self.bot_user, roles=[bot_role])
        self.add_member(guild, owner_user)
        self.add_member(guild, self.default_user)
        for channel_name in channels:
            self.add_channel(guild, channel_name)
        return guild

    def add_role(
        self, guild: Any, name: str, permissions: int = 0, *, role_id: int | None = None
    ) -> dict[str, Any]:
        """Create a role in ``guild``; return its payload."""
        g = self._guild(guild)
        rid = role_id or self._ids.next()
        role = self._role_payload(rid, name, permissions, position=len(g.roles))
        g.roles[rid] = role
        return role

    @staticmethod
    def _role_payload(rid: int, name: str, permissions: int, *, position: int) -> dict[str, Any]:
        return {
            "id": str(rid),
            "name": name,
            "permissions": str(int(getattr(permissions, "value", permissions))),
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }

    def add_channel(
        self,
        guild: Any,
        name: str,
        *,
        type: int = CHANNEL_TEXT,
        topic: str | None = None,
        parent_id: int | None = None,
        nsfw: bool = False,
    ) -> dict[str, Any]:
        """Create a guild channel; return its payload."""
        g = self._guild(guild)
        cid = self._ids.next()
        channel: dict[str, Any] = {
            "id": str(cid),
            "type": type,
            "guild_id": str(g.id),
            "name": name,
            "position": len(g.channels),
            "permission_overwrites": [],
            "parent_id": None if parent_id is None else str(parent_id),
            "nsfw": nsfw,
            "flags": 0,
        }
        if type in (CHANNEL_TEXT, CHANNEL_NEWS):
            channel.update(topic=topic, last_message_id=None, rate_limit_per_user=0)
        if type == CHANNEL_VOICE:
            channel.update(bitrate=64000, user_limit=0, rtc_region=None)
        g.channels[cid] = channel
        self.channels[cid] = channel
        return channel

    def add_member(
        self, guild: Any, user: UserLike, *, roles: Sequence[Any] = (), nick: str | None = None
    ) -> dict[str, Any]:
        """Make ``user`` a member of ``guild`` with ``roles``; return the member payload."""
        g = self._guild(guild)
        u = self._user(user)
        member = {
            "user": u,
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": [_sid(r) for r in roles],
            "joined_at": _now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        g.members[int(u["id"])] = member
        return member

    def add_attachment(
        self,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Store ``data`` and return an attachment object whose URLs the fake serves."""
        aid = self._ids.next()
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.attachments[aid] = UploadedFile(
            filename=filename, data=bytes(data), content_type=ctype
        )
        url = f"{self.url}/attachments/{aid}/{urllib.parse.quote(filename)}"
        attachment: dict[str, Any] = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": ctype,
        }
        if description is not None:
            attachment["description"] = description
        return attachment

    def dm_channel(self, user: UserLike) -> dict[str, Any]:
        """Return the DM channel between ``user`` and the bot (created on first use)."""
        u = self._user(user)
        uid = int(u["id"])
        if uid not in self._dm_channels:
            cid = self._ids.next()
            self.channels[cid] = {
                "id": str(cid),
                "type": CHANNEL_DM,
                "last_message_id": None,
                "recipients": [u],
                "flags": 0,
            }
            self._dm_channels[uid] = cid
        return self.channels[self._dm_channels[uid]]

    @staticmethod
    def mention(target: Mapping[str, Any]) -> str:
        """Return the mention markup of a user (``<@id>``) or a role (``<@&id>``)."""
        if "username" in target:
            return f"<@{target['id']}>"
        return f"<@&{target['id']}>"

    # ---------------------------------------------------------------- lookups

    def _user(self, user: UserLike) -> dict[str, Any]:
        uid = int(user["id"]) if isinstance(user, Mapping) else int(user)
        try:
            return self.users[uid]
        except KeyError:
            raise LookupError(f"FakeDiscord: unknown user {uid} (use add_user)") from None

    def _guild(self, guild: Any) -> FakeGuild:
        if isinstance(guild, FakeGuild):
            return guild
        gid = int(guild["id"]) if isinstance(guild, Mapping) else int(guild)
        try:
            return self.guilds[gid]
        except KeyError:
            raise LookupError(f"FakeDiscord: unknown guild {gid} (use add_guild)") from None

    def _channel(self, channel: Any) -> dict[str, Any]:
        cid = int(channel["id"]) if isinstance(channel, Mapping) else int(channel)
        try:
            return self.channels[cid]
        except KeyError:
            raise LookupError(f"FakeDiscord: unknown channel {cid} (use add_channel)") from None

    def _message(self, message: Any) -> dict[str, Any]:
        if isinstance(message, BotMessage):
            message = message.id
        mid = int(message["id"]) if isinstance(message, Mapping) else int(message)
        try:
            return self.messages[mid]
        except KeyError:
            raise LookupError(f"FakeDiscord: unknown message {mid}") from None

    def _channel_guild(self, channel: Mapping[str, Any]) -> FakeGuild | None:
        gid = channel.get("guild_id")
        return self.guilds[int(gid)] if gid else None

    def member_permissions(self, guild: Any, user: UserLike) -> int:
        """Return the guild-level permission integer of ``user`` in ``guild``."""
        g = self._guild(guild)
        uid = int(self._user(user)["id"])
        if uid == g.owner_id:
            return ALL_PERMISSIONS
        member = g.members.get(uid)
        if member is None:
            raise LookupError(
                f"FakeDiscord: user {uid} is not a member of {g.name!r} (use add_member)"
            )
        value = int(g.everyone_role["permissions"])
        for rid in member["roles"]:
            role = g.roles.get(int(rid))
            if role is not None:
                value |= int(role["permissions"])
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Return the (non-ephemeral) messages of a channel, oldest first."""
        return [
            m
            for mid, m in sorted(self.messages.items())
            if int(m["channel_id"]) == int(channel_id) and mid not in self._ephemeral
        ]

    @property
    def sent_messages(self) -> list[BotMessage]:
        """Return the messages the bot created (no edits), in order."""
        return [m for m in self.bot_messages if m.action == "create"]

    @property
    def rejected_requests(self) -> list[RecordedRequest]:
        """Return requests the fake answered with an error status."""
        return [r for r in self.requests if r.status >= 400]

    def assert_no_unknown_requests(self) -> None:
        """Fail if the bot used a route/opcode the fake lacks or the fake itself failed."""
        problems = [f"HTTP {r.method} {r.path} (query {r.query})" for r in self.unknown_requests]
        problems += [
            f"gateway payload with unknown op: {p!r}" for p in self.unknown_gateway_payloads
        ]
        problems += [f"fake error: {e}" for e in self.internal_errors]
        if problems:
            raise AssertionError(
                "FakeDiscord received what it does not implement"
                " (extend tests/fakes/discord.py):\n  " + "\n  ".join(problems)
            )

    async def wait_for_bot_message(
        self,
        predicate: Callable[[BotMessage], bool] | None = None,
        *,
        timeout: float = 5.0,
        include_edits: bool = False,
    ) -> BotMessage:
        """Return the next bot message not returned before that matches ``predicate``."""

        def check() -> BotMessage | None:
            for i, record in enumerate(self.bot_messages):
                if i in self._consumed or (record.action != "create" and not include_edits):
                    continue
                if predicate is None or predicate(record):
                    self._consumed.add(i)
                    return record
            return None

        def what() -> str:
            recent = [f"{m.action} {m.via} {m.content[:60]!r}" for m in self.bot_messages[-5:]]
            rejected = [
                f"{r.method} {r.path} -> {r.status} {r.response}"
                for r in self.rejected_requests[-3:]
            ]
            return f"a bot message (recent: {recent}, rejected requests: {rejected})"

        return await self._notifier.wait_for(check, timeout, what)

    # ---------------------------------------------------------------- gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        try:
            conn = GatewayConnection(ws, request.query)
        except ImportError as exc:
            await ws.close(code=4000, message=f"FakeDiscord: {exc}".encode())
            self.internal_errors.append(f"gateway compression: {exc}")
            return ws
        self.connections.append(conn)
        hello = {
            "op": 10,
            "d": {
                "heartbeat_interval": int(self.heartbeat_interval * 1000),
                "_trace": ["fake-discord"],
            },
            "s": None,
            "t": None,
        }
        await conn.send(hello)
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    raw = msg.data if isinstance(msg.data, str) else msg.data.decode("utf-8")
                    payload = json.loads(raw)
                    conn.received.append(payload)
                    try:
                        await self._gateway_payload(conn, payload)
                    except Exception as exc:  # a bug of the fake: make it visible
                        log.exception("FakeDiscord gateway handler failed")
                        self.internal_errors.append(f"gateway op {payload.get('op')}: {exc!r}")
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            conn.close_code = ws.close_code
            conn.closed.set()
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                if ws.close_code in (1000, 1001):
                    # A client closing with 1000/1001 ends its session, as on Discord.
                    self.sessions.pop(session.id, None)
            self._notifier.notify()
        return ws

    async def _gateway_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            conn.heartbeats.append(time.monotonic())
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
            self._notifier.notify()
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif conn.session is None and op in (3, 4, 8):
            await conn.close(4003, "Not authenticated.")
        elif op == 3:
            self.presence_updates.append(data)
        elif op == 4:
            pass  # voice state update: the bot does not use voice
        elif op == 8:
            await self._request_members(conn, data or {})
        else:
            self.unknown_gateway_payloads.append(payload)
            log.warning("FakeDiscord: unknown gateway payload %r", payload)

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if data.get("token") != self.token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        session = GatewaySession(
            id=secrets.token_hex(16), intents=intents, shard=shard, identify=data
        )
        conn.identify = data
        conn.session = session
        session.connection = conn
        self.sessions[session.id] = session
        self.identify_count += 1
        guilds = [g for g in self.guilds.values() if self._on_shard(g.id, shard)]
        ready: dict[str, Any] = {
            "v": API_VERSION,
            "user": self.bot_user,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if shard is not None:
            ready["shard"] = shard
        await session.dispatch("READY", ready)
        for g in guilds:
            await session.dispatch("GUILD_CREATE", self._guild_create_payload(g, intents))
        session.ready_sent = True
        self._notifier.notify()

    @staticmethod
    def _on_shard(guild_id: int, shard: Sequence[int] | None) -> bool:
        if not shard:
            return True
        shard_id, count = shard
        return (guild_id >> 22) % count == shard_id

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id") or "")
        if session is None or data.get("token") != self.token:
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        if session.connection is not None and session.connection is not conn:
            with contextlib.suppress(Exception):
                await session.connection.close(4000, "Session resumed elsewhere")
        conn.session = session
        conn.identify = session.identify
        conn.resumed = True
        last = int(data.get("seq") or 0)
        async with session.lock:
            session.connection = conn
            for payload in list(session.buffer):
                if payload["s"] > last:
                    await conn.send(payload)
        await session.dispatch("RESUMED", {"_trace": ["fake-discord"]})
        self._notifier.notify()

    async def _request_members(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        guild = self.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or conn.session is None:
            return
        query = (data.get("query") or "").lower()
        user_ids = {int(u) for u in data.get("user_ids") or []}
        members = [
            m
            for uid, m in guild.members.items()
            if (not user_ids or uid in user_ids) and m["user"]["username"].lower().startswith(query)
        ]
        limit = data.get("limit") or 0
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await conn.session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    def _guild_create_payload(self, guild: FakeGuild, intents: int) -> dict[str, Any]:
        members = list(guild.members.values())
        if not intents & INTENT_GUILD_MEMBERS:
            # Without the members intent Discord only sends the bot's own member.
            members = [m for m in members if m["user"]["id"] == self.bot_user["id"]]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "preferred_locale": guild.preferred_locale,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "application_id": None,
            "roles": list(guild.roles.values()),
            "emojis": [],
            "stickers": [],
            "joined_at": guild.joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": members,
            "channels": [
                {k: v for k, v in c.items() if k != "guild_id"} for c in guild.channels.values()
            ],
            "threads": list(guild.threads.values()),
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    @staticmethod
    def _event_intent(event: str, data: Mapping[str, Any]) -> int | None:
        in_guild = bool(data.get("guild_id"))
        if event.startswith("MESSAGE_REACTION"):
            return INTENT_GUILD_MESSAGE_REACTIONS if in_guild else INTENT_DIRECT_MESSAGE_REACTIONS
        if event.startswith("MESSAGE_"):
            return INTENT_GUILD_MESSAGES if in_guild else INTENT_DIRECT_MESSAGES
        if event == "TYPING_START":
            return INTENT_GUILD_MESSAGE_TYPING if in_guild else INTENT_DIRECT_MESSAGE_TYPING
        if event.startswith(("GUILD_MEMBER_", "GUILD_MEMBERS_")) and event != "GUILD_MEMBERS_CHUNK":
            return INTENT_GUILD_MEMBERS
        if event.startswith(("GUILD_", "CHANNEL_", "THREAD_")) and event != "GUILD_MEMBERS_CHUNK":
            return INTENT_GUILDS
        return None

    def _for_session(
        self, session: GatewaySession, event: str, data: dict[str, Any]
    ) -> dict[str, Any] | None:
        intent = self._event_intent(event, data)
        if intent is not None and not session.intents & intent:
            return None
        if (
            self.message_content_rule
            and event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            and data.get("guild_id")
            and not session.intents & INTENT_MESSAGE_CONTENT
            and data.get("author", {}).get("id") != self.bot_user["id"]
            and not any(u.get("id") == self.bot_user["id"] for u in data.get("mentions") or [])
        ):
            data = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        return data

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Dispatch a gateway event to every session; return how many received it.

        Raises ``RuntimeError`` if no bot has identified (nothing could receive it).
        """
        if not self.sessions:
            raise RuntimeError(f"FakeDiscord.dispatch({event}): no bot is connected to the gateway")
        return await self._dispatch_quietly(event, data)

    async def _dispatch_quietly(self, event: str, data: dict[str, Any]) -> int:
        count = 0
        for session in list(self.sessions.values()):
            if event != "INTERACTION_CREATE" and session.shard and data.get("guild_id"):
                if not self._on_shard(int(data["guild_id"]), session.shard):
                    continue
            filtered = self._for_session(session, event, data)
            if filtered is not None:
                await session.dispatch(event, filtered)
                count += 1
        return count

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT on every open connection (the client should RESUME)."""
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.send({"op": 7, "d": None, "s": None, "t": None})

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every open gateway connection with ``code`` (4000 lets the client resume)."""
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.close(code, "FakeDiscord dropped the connection")

    # ---------------------------------------------------------------- users acting

    def _member_payload(
        self, guild: FakeGuild, user: Mapping[str, Any], *, with_user: bool
    ) -> dict[str, Any]:
        member = guild.members.get(int(user["id"]))
        if member is None:
            raise LookupError(
                f"FakeDiscord: {user['username']} is not a member of {guild.name!r}"
                " (use add_member)"
            )
        payload = copy.deepcopy(member)
        if not with_user:
            payload.pop("user")
        return payload

    def _gateway_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """Return the MESSAGE_CREATE form of a stored message (guild_id, member, mentions)."""
        data = copy.deepcopy(message)
        channel = self.channels.get(int(message["channel_id"]))
        guild = self._channel_guild(channel) if channel else None
        if guild is not None:
            data["guild_id"] = str(guild.id)
            author_id = int(message["author"]["id"])
            if author_id in guild.members and not message.get("webhook_id"):
                data["member"] = self._member_payload(guild, message["author"], with_user=False)
            for mention in data.get("mentions") or []:
                if int(mention["id"]) in guild.members:
                    mention["member"] = self._member_payload(guild, mention, with_user=False)
        if channel is not None:
            data["channel_type"] = channel["type"]
        return data

    def _content_mentions(
        self,
        content: str,
        guild: FakeGuild | None,
        allowed: Mapping[str, Any] | None,
        replied_author: Mapping[str, Any] | None,
    ) -> tuple[list[dict[str, Any]], list[str], bool]:
        """Return (mentioned users, mentioned role ids, mention_everyone) like Discord computes."""
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            user_ids: set[str] = set()
            role_ids: set[str] = set()
            replied = True
        else:
            parse = set(allowed.get("parse") or [])
            user_ids = {str(u) for u in allowed.get("users") or []}
            role_ids = {str(r) for r in allowed.get("roles") or []}
            replied = bool(allowed.get("replied_user", False))
        users: list[dict[str, Any]] = []
        for uid in _USER_MENTION.findall(content or ""):
            if ("users" in parse or uid in user_ids) and int(uid) in self.users:
                user = self.users[int(uid)]
                if user not in users:
                    users.append(user)
        if replied_author is not None and replied and replied_author not in users:
            users.append(dict(replied_author))
        roles: list[str] = []
        if guild is not None:
            for rid in _ROLE_MENTION.findall(content or ""):
                if (
                    ("roles" in parse or rid in role_ids)
                    and int(rid) in guild.roles
                    and rid not in roles
                ):
                    roles.append(rid)
        everyone = "everyone" in parse and (
            "@everyone" in (content or "") or "@here" in (content or "")
        )
        return users, roles, everyone

    def _new_message(
        self,
        *,
        channel: dict[str, Any],
        author: Mapping[str, Any],
        content: str,
        message_type: int = 0,
    ) -> dict[str, Any]:
        mid = self._ids.next()
        return {
            "id": str(mid),
            "channel_id": channel["id"],
            "author": dict(author),
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "reactions": [],
            "pinned": False,
            "type": message_type,
            "flags": 0,
        }

    def _store(self, message: dict[str, Any], *, ephemeral: bool = False) -> None:
        mid = int(message["id"])
        self.messages[mid] = message
        if ephemeral:
            self._ephemeral.add(mid)
        channel = self.channels.get(int(message["channel_id"]))
        if channel is not None and not ephemeral:
            channel["last_message_id"] = message["id"]
            if channel["type"] in _THREAD_TYPES:
                channel["message_count"] = channel.get("message_count", 0) + 1
                channel["total_message_sent"] = channel.get("total_message_sent", 0) + 1

    def _reference(
        self, reference: Any, channel: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        ref = self._message(reference)
        guild = self._channel_guild(channel)
        message_reference = {"type": 0, "message_id": ref["id"], "channel_id": ref["channel_id"]}
        if guild is not None:
            message_reference["guild_id"] = str(guild.id)
        referenced = {k: v for k, v in ref.items() if k != "referenced_message"}
        return message_reference, copy.deepcopy(referenced)

    async def send_user_message(
        self,
        channel_id: Any,
        user: UserLike | None,
        content: str,
        *,
        mentions: Sequence[Mapping[str, Any]] = (),
        reference: Any = None,
        mention_author: bool = True,
        attachments: Sequence[Mapping[str, Any]] = (),
        embeds: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Post a message as ``user`` (default ``default_user``); return its payload."""
        channel = self._channel(channel_id)
        author = self._user(user if user is not None else self.default_user)
        guild = self._channel_guild(channel)
        if guild is not None and int(author["id"]) not in guild.members:
            raise LookupError(
                f"FakeDiscord: {author['username']} is not a member of {guild.name!r}"
            )
        message = self._new_message(channel=channel, author=author, content=content)
        replied_author = None
        if reference is not None:
            message["message_reference"], message["referenced_message"] = self._reference(
                reference, channel
            )
            message["type"] = 19
            if mention_author:
                replied_author = message["referenced_message"]["author"]
        users, roles, everyone = self._content_mentions(content, guild, None, replied_author)
        for extra in mentions:
            extra_user = self._user(extra)
            if extra_user not in users:
                users.append(extra_user)
        message.update(
            mentions=[dict(u) for u in users],
            mention_roles=roles,
            mention_everyone=everyone,
            attachments=[dict(a) for a in attachments],
            embeds=[dict(e) for e in embeds],
        )
        self._store(message)
        await self.dispatch("MESSAGE_CREATE", self._gateway_message(message))
        return message

    async def send_dm(self, user: UserLike | None, content: str, **kwargs: Any) -> dict[str, Any]:
        """Post a DM from ``user`` to the bot; return the message payload."""
        author = self._user(user if user is not None else self.default_user)
        channel = self.dm_channel(author)
        return await self.send_user_message(channel["id"], author, content, **kwargs)

    def _interaction_payload(
        self,
        itype: int,
        data: dict[str, Any],
        *,
        user: Mapping[str, Any],
        channel: dict[str, Any],
        permissions: int | None,
        locale: str,
        guild_locale: str | None,
        message: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        guild = self._channel_guild(channel)
        channel_payload = copy.deepcopy(channel)
        payload: dict[str, Any] = {
            "id": str(self._ids.next()),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": "ix." + secrets.token_hex(32),
            "version": 1,
            "locale": locale,
            "channel_id": channel["id"],
            "channel": channel_payload,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild is not None:
            perms = (
                self.member_permissions(guild, user)
                if permissions is None
                else int(getattr(permissions, "value", permissions))
            )
            bot_perms = self.member_permissions(guild, self.bot_user)
            member = self._member_payload(guild, user, with_user=True)
            member["permissions"] = str(perms)
            channel_payload["permissions"] = str(perms)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                guild_locale=guild_locale or guild.preferred_locale,
                member=member,
                app_permissions=str(bot_perms),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(
                user=dict(user),
                app_permissions=str(DEFAULT_BOT_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        if message is not None:
            payload["message"] = copy.deepcopy(dict(message))
        return payload

    async def _dispatch_interaction(self, payload: dict[str, Any]) -> FakeInteraction:
        ix = FakeInteraction(self, payload)
        self.interactions[ix.id] = ix
        ix.dispatched_at = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", payload)
        return ix

    def _find_command(
        self, name: str, guild_id: int | None
    ) -> tuple[dict[str, Any] | None, int | None]:
        if guild_id is not None:
            for command in self.synced_commands.get(guild_id, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command, guild_id
        for command in self.synced_commands.get(None, []):
            if command["name"] == name and command.get("type", 1) == 1:
                return command, None
        return None, None

    def _resolve_location(
        self, guild: Any, channel_id: Any, dm: bool, user: Mapping[str, Any]
    ) -> dict[str, Any]:
        if dm:
            return self.dm_channel(user)
        if channel_id is not None:
            return self._channel(channel_id)
        g = self._guild(guild) if guild is not None else next(iter(self.guilds.values()), None)
        if g is None:
            raise LookupError("FakeDiscord: add a guild first (or pass dm=True)")
        return self._channel(g.text_channel_id)

    async def invoke_slash(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        user: UserLike | None = None,
        guild: Any = None,
        channel_id: Any = None,
        dm: bool = False,
        permissions: int | discord.Permissions | None = None,
        locale: str = "sv-SE",
        guild_locale: str | None = None,
        guild_command: bool | None = None,
    ) -> FakeInteraction:
        """Dispatch a slash command interaction as ``user``; return its ``FakeInteraction``.

        ``name`` may name a subcommand (``"admin reindex"``). Without ``guild``/``channel_id``
        the command runs in the first text channel of the first guild (``dm=True``: in DMs).
        ``guild_command`` marks it as a guild command (default: as the bot synced it; one
        never synced is sent as a guild command in a guild).
        """
        actor = self._user(user if user is not None else self.default_user)
        channel = self._resolve_location(guild, channel_id, dm, actor)
        g = self._channel_guild(channel)
        words = name.split()
        schema, synced_guild = self._find_command(words[0], g.id if g else None)
        resolved: dict[str, dict[str, Any]] = {}
        node_schema = schema
        path_schemas: list[dict[str, Any] | None] = []
        for word in words[1:]:
            child = None
            if node_schema is not None:
                child = next(
                    (o for o in node_schema.get("options") or [] if o["name"] == word), None
                )
                if child is None:
                    raise LookupError(f"FakeDiscord: /{words[0]} has no subcommand {word!r}")
            path_schemas.append(child)
            node_schema = child
        if isinstance(options, Mapping) or options is None:
            leaf_options = self._build_options(node_schema, dict(options or {}), resolved, g)
        else:
            leaf_options = [dict(o) for o in options]
        # Wrap the leaf options into subcommand (group) options, innermost first.
        for depth in range(len(words) - 1, 0, -1):
            sub_schema = path_schemas[depth - 1]
            sub_type = sub_schema["type"] if sub_schema else (1 if depth == len(words) - 1 else 2)
            leaf_options = [{"type": sub_type, "name": words[depth], "options": leaf_options}]
        key = (synced_guild, words[0], 1)
        command_id = (
            int(schema["id"]) if schema else self._command_ids.setdefault(key, self._ids.next())
        )
        data: dict[str, Any] = {"id": str(command_id), "name": words[0], "type": 1}
        if leaf_options:
            data["options"] = leaf_options
        if resolved:
            data["resolved"] = resolved
        # A command the bot never synced is sent as a guild command when used in a guild:
        # discord.py then finds a guild-only command there, and a global one by fallback.
        as_guild_command = (
            guild_command
            if guild_command is not None
            else synced_guild is not None or (schema is None and g is not None)
        )
        if as_guild_command and g is not None:
            data["guild_id"] = str(g.id)
        payload = self._interaction_payload(
            INTERACTION_APPLICATION_COMMAND,
            data,
            user=actor,
            channel=channel,
            permissions=permissions,
            locale=locale,
            guild_locale=guild_locale,
        )
        return await self._dispatch_interaction(payload)

    def _build_options(
        self,
        schema: Mapping[str, Any] | None,
        values: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
        guild: FakeGuild | None,
    ) -> list[dict[str, Any]]:
        declared = {
            o["name"]: o for o in (schema or {}).get("options") or [] if o["type"] not in (1, 2)
        }
        if schema is not None:
            unknown = set(values) - set(declared)
            if unknown:
                raise LookupError(
                    f"FakeDiscord: /{schema['name']} has no options {sorted(unknown)}"
                )
            missing = [n for n, o in declared.items() if o.get("required") and n not in values]
            if missing:
                raise ValueError(
                    f"FakeDiscord: /{schema['name']} needs the required options {missing}"
                )
        result = []
        for name, value in values.items():
            opt_schema = declared.get(name)
            otype = opt_schema["type"] if opt_schema else self._infer_option_type(value)
            if opt_schema and opt_schema.get("choices"):
                allowed = [c["value"] for c in opt_schema["choices"]]
                if value not in allowed:
                    raise ValueError(
                        f"FakeDiscord: option {name}={value!r} is not one of {allowed}"
                    )
            result.append(
                {
                    "type": otype,
                    "name": name,
                    "value": self._option_value(otype, value, resolved, guild),
                }
            )
        return result

    @staticmethod
    def _infer_option_type(value: Any) -> int:
        if isinstance(value, bool):
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        if isinstance(value, str):
            return 3
        if isinstance(value, Mapping):
            if "filename" in value:
                return 11
            if "username" in value:
                return 6
            if "hoist" in value:
                return 8
            if "type" in value and "name" in value:
                return 7
        raise TypeError(f"FakeDiscord: cannot infer the option type of {value!r}; pass raw options")

    def _option_value(
        self, otype: int, value: Any, resolved: dict[str, dict[str, Any]], guild: FakeGuild | None
    ) -> Any:
        if otype == 3:
            return str(value)
        if otype == 4:
            return int(value)
        if otype == 5:
            return bool(value)
        if otype == 10:
            return float(value)
        sid = _sid(value)
        if otype in (6, 9) and int(sid) in self.users:
            user = self.users[int(sid)]
            resolved.setdefault("users", {})[sid] = dict(user)
            if guild is not None and int(sid) in guild.members:
                member = self._member_payload(guild, user, with_user=False)
                member["permissions"] = str(self.member_permissions(guild, user))
                resolved.setdefault("members", {})[sid] = member
        elif otype in (8, 9) and guild is not None and int(sid) in guild.roles:
            resolved.setdefault("roles", {})[sid] = dict(guild.roles[int(sid)])
        elif otype == 7:
            channel = dict(self._channel(sid))
            if guild is not None:
                channel["permissions"] = str(self.member_permissions(guild, self.default_user))
            resolved.setdefault("channels", {})[sid] = channel
        elif otype == 11:
            resolved.setdefault("attachments", {})[sid] = (
                dict(value) if isinstance(value, Mapping) else {}
            )
        return sid

    async def _component_interaction(
        self,
        message: Any,
        custom_id: str,
        user: UserLike | None,
        *,
        values: Sequence[str] | None,
        locale: str,
        permissions: int | None,
    ) -> FakeInteraction:
        stored = self._message(message)
        component = next(
            (
                c
                for c in _walk_components(stored.get("components") or [])
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            present = [
                c.get("custom_id")
                for c in _walk_components(stored.get("components") or [])
                if c.get("custom_id")
            ]
            raise LookupError(
                f"FakeDiscord: message {stored['id']} has no component {custom_id!r}"
                f" (it has {present})"
            )
        if component.get("disabled"):
            raise ValueError(
                f"FakeDiscord: component {custom_id!r} is disabled; a user cannot use it"
            )
        if (values is None) != (component.get("type") == 2):
            kind = "a button" if component.get("type") == 2 else "a select menu"
            raise ValueError(f"FakeDiscord: {custom_id!r} is {kind}")
        actor = self._user(user if user is not None else self.default_user)
        channel = self._channel(stored["channel_id"])
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if "id" in component:
            data["id"] = component["id"]
        if values is not None:
            data["values"] = list(values)
        payload = self._interaction_payload(
            INTERACTION_MESSAGE_COMPONENT,
            data,
            user=actor,
            channel=channel,
            permissions=permissions,
            locale=locale,
            guild_locale=None,
            message=stored,
        )
        return await self._dispatch_interaction(payload)

    async def click_button(
        self,
        message: Any,
        custom_id: str,
        user: UserLike | None = None,
        *,
        locale: str = "sv-SE",
        permissions: int | None = None,
    ) -> FakeInteraction:
        """Click the button ``custom_id`` on ``message`` (dict, ``BotMessage``, id) as ``user``."""
        return await self._component_interaction(
            message, custom_id, user, values=None, locale=locale, permissions=permissions
        )

    async def select_option(
        self,
        message: Any,
        custom_id: str,
        values: Sequence[str],
        user: UserLike | None = None,
        *,
        locale: str = "sv-SE",
        permissions: int | None = None,
    ) -> FakeInteraction:
        """Choose ``values`` in the select menu ``custom_id`` on ``message`` as ``user``."""
        return await self._component_interaction(
            message, custom_id, user, values=values, locale=locale, permissions=permissions
        )

    async def submit_modal(
        self,
        interaction: FakeInteraction,
        values: Mapping[str, str],
        user: UserLike | None = None,
        *,
        locale: str = "sv-SE",
    ) -> FakeInteraction:
        """Submit the modal the bot opened in answer to ``interaction``, with text ``values``."""
        callback = interaction.callback
        if callback is None or callback.type != CALLBACK_MODAL:
            raise ValueError(f"FakeDiscord: {interaction!r} was not answered with a modal")

        def fill(components: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
            out = []
            for component in components:
                if component.get("type") == 1:
                    out.append({"type": 1, "components": fill(component.get("components") or [])})
                elif component.get("type") == 18:
                    out.append({"type": 18, "component": fill([component["component"]])[0]})
                elif component.get("type") == 4:
                    cid = component["custom_id"]
                    out.append(
                        {
                            "type": 4,
                            "custom_id": cid,
                            "value": values.get(cid, component.get("value") or ""),
                        }
                    )
                else:
                    out.append(dict(component))
            return out

        modal = callback.data
        data = {"custom_id": modal["custom_id"], "components": fill(modal.get("components") or [])}
        actor = self._user(user if user is not None else interaction.user)
        payload = self._interaction_payload(
            INTERACTION_MODAL_SUBMIT,
            data,
            user=actor,
            channel=self._channel(interaction.channel_id),
            permissions=None,
            locale=locale,
            guild_locale=None,
        )
        return await self._dispatch_interaction(payload)

    # ---------------------------------------------------------------- HTTP plumbing

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], str, _Handler, bool]]:
        table: list[tuple[str, str, _Handler, bool]] = [
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("GET", "/users/@me", self._get_me, True),
            ("POST", "/users/@me/channels", self._create_dm, True),
            ("GET", "/users/{user_id}", self._get_user, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/applications/@me", self._get_application, True),
            ("GET", "/channels/{channel_id}", self._get_channel, True),
            ("GET", "/channels/{channel_id}/messages", self._get_messages, True),
            ("POST", "/channels/{channel_id}/messages", self._post_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message, True),
            ("POST", "/channels/{channel_id}/typing", self._post_typing, True),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._put_reaction,
                True,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._delete_reaction,
                True,
            ),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self._post_thread_from_message,
                True,
            ),
            ("POST", "/channels/{channel_id}/threads", self._post_thread, True),
            ("GET", "/guilds/{guild_id}", self._get_guild, True),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels, True),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_guild_member, True),
            ("GET", "/applications/{application_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{application_id}/commands", self._put_commands, True),
            ("POST", "/applications/{application_id}/commands", self._post_command, True),
            (
                "DELETE",
                "/applications/{application_id}/commands/{command_id}",
                self._delete_command,
                True,
            ),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._get_commands,
                True,
            ),
            (
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._put_commands,
                True,
            ),
            (
                "POST",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._post_command,
                True,
            ),
            (
                "DELETE",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self._delete_command,
                True,
            ),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._post_callback, False),
            ("POST", "/webhooks/{application_id}/{token}", self._post_followup, False),
            (
                "GET",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._get_webhook_message,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._patch_webhook_message,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._delete_webhook_message,
                False,
            ),
        ]
        routes = []
        for method, template, handler, auth in table:
            pattern = re.sub(
                r"\{(\w+)\}",
                r"(?P<\1>[^/]+)",
                re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
            )
            routes.append((method, re.compile(f"^{pattern}$"), template, handler, auth))
        return routes

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._gateway(request)
        try:
            return await self._handle_http(request)
        except Exception as exc:  # a bug of the fake; 400 so that discord.py does not retry
            log.exception("FakeDiscord failed on %s %s", request.method, request.path)
            self.internal_errors.append(f"{request.method} {request.path}: {exc!r}")
            return DiscordError(
                400, 0, f"FakeDiscord internal error (fix tests/fakes/discord.py): {exc!r}"
            ).response()

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        raw_path = request.rel_url.raw_path
        if request.method == "GET" and raw_path.startswith("/attachments/"):
            return self._serve_attachment(raw_path)
        path = raw_path[len(API_PREFIX) :] if raw_path.startswith(API_PREFIX + "/") else raw_path
        try:
            body, files = await self._read_body(request)
        except ValueError as exc:
            body, files = None, []
            bad_body: str | None = str(exc)
        else:
            bad_body = None
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body,
            files=files,
            time=arrived,
        )
        self.requests.append(record)
        response = await self._route(request, record, raw_path, path, body, files, bad_body)
        record.status = response.status
        if response.body and response.status >= 400:
            with contextlib.suppress(Exception):
                record.response = json.loads(response.body)
        self._notifier.notify()
        return response

    async def _route(
        self,
        request: web.Request,
        record: RecordedRequest,
        raw_path: str,
        path: str,
        body: Any,
        files: list[UploadedFile],
        bad_body: str | None,
    ) -> web.Response:
        if not raw_path.startswith(API_PREFIX + "/"):
            return self._unknown(record)
        for method, pattern, template, handler, auth in self._routes:
            match = pattern.match(path)
            if match is None or method != request.method:
                continue
            record.route = template
            if auth and request.headers.get("Authorization") != f"Bot {self.token}":
                return DiscordError(401, 0, "401: Unauthorized").response()
            if bad_body is not None:
                return DiscordError(
                    400, 50109, f"The request body contains invalid JSON. ({bad_body})"
                ).response()
            req = _Req(
                method=request.method,
                path=path,
                params={k: urllib.parse.unquote(v) for k, v in match.groupdict().items()},
                query=request.query,
                json=body,
                files=files,
                time=record.time,
                headers=request.headers,
            )
            try:
                result = await handler(req)
            except DiscordError as exc:
                return exc.response()
            except Exception as exc:  # a bug of the fake; 400 so that discord.py does not retry
                log.exception("FakeDiscord handler for %s %s failed", request.method, path)
                self.internal_errors.append(f"{request.method} {path}: {exc!r}")
                return DiscordError(
                    400, 0, f"FakeDiscord internal error (fix tests/fakes/discord.py): {exc!r}"
                ).response()
            delay = self.response_delays.get((request.method, template))
            if delay:  # done and announced on the gateway, but the answer comes late
                await asyncio.sleep(delay)
            if result is None:
                return _no_content()
            if isinstance(result, web.Response):
                return result
            return _json_response(result)
        return self._unknown(record)

    def _unknown(self, record: RecordedRequest) -> web.Response:
        self.unknown_requests.append(record)
        log.warning("FakeDiscord: unknown route %s %s", record.method, record.path)
        return DiscordError(
            404,
            0,
            f"FakeDiscord does not implement {record.method} {record.path};"
            " add it to tests/fakes/discord.py",
        ).response()

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.can_read_body:
            return None, []
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                elif part.filename is not None:
                    data = await part.read(decode=False)
                    files.append(
                        UploadedFile(
                            filename=part.filename,
                            data=bytes(data),
                            content_type=part.headers.get("Content-Type"),
                            field=part.name or "",
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except json.JSONDecodeError as exc:
            raise ValueError(str(exc)) from None

    def _serve_attachment(self, raw_path: str) -> web.Response:
        parts = raw_path.split("/")
        try:
            stored = self.attachments[int(parts[2])]
        except (IndexError, ValueError, KeyError):
            return web.Response(status=404, text="unknown attachment")
        return web.Response(
            body=stored.data,
            headers={"Content-Type": stored.content_type or "application/octet-stream"},
        )

    # ---------------------------------------------------------------- REST: basics

    async def _get_gateway(self, req: _Req) -> Any:
        return {"url": self.gateway_url.rstrip("/")}

    async def _get_gateway_bot(self, req: _Req) -> Any:
        return {
            "url": self.gateway_url.rstrip("/"),
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14400000,
                "max_concurrency": 1,
            },
        }

    async def _get_me(self, req: _Req) -> Any:
        return self.bot_user

    async def _get_user(self, req: _Req) -> Any:
        user = self.users.get(int(req.params["user_id"]))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return user

    async def _get_application(self, req: _Req) -> Any:
        return {
            "id": str(self.application_id),
            "name": self.bot_user["username"],
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": self.owner_user,
            "team": None,
            "bot": self.bot_user,
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
            "approximate_guild_count": len(self.guilds),
        }

    async def _create_dm(self, req: _Req) -> Any:
        recipient = (req.json or {}).get("recipient_id")
        if recipient is None or int(recipient) not in self.users:
            raise _invalid_form_body([(("recipient_id",), "BASE_TYPE_REQUIRED", "Unknown user")])
        return self.dm_channel(int(recipient))

    def _channel_or_404(self, cid: str) -> dict[str, Any]:
        channel = self.channels.get(int(cid))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message_or_404(self, channel: Mapping[str, Any], mid: str) -> dict[str, Any]:
        message = self.messages.get(int(mid)) if mid.isdigit() else None
        if message is None or message["channel_id"] != channel["id"] or int(mid) in self._ephemeral:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def _get_channel(self, req: _Req) -> Any:
        return self._channel_or_404(req.params["channel_id"])

    async def _get_guild(self, req: _Req) -> Any:
        guild = self.guilds.get(int(req.params["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        payload = self._guild_create_payload(guild, 0)
        for key in (
            "members",
            "channels",
            "threads",
            "voice_states",
            "presences",
            "joined_at",
            "large",
            "member_count",
        ):
            payload.pop(key, None)
        return payload

    async def _get_guild_channels(self, req: _Req) -> Any:
        guild = self.guilds.get(int(req.params["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return list(guild.channels.values())

    async def _get_guild_roles(self, req: _Req) -> Any:
        guild = self.guilds.get(int(req.params["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return list(guild.roles.values())

    async def _get_guild_member(self, req: _Req) -> Any:
        guild = self.guilds.get(int(req.params["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        member = guild.members.get(int(req.params["user_id"]))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return member

    # ---------------------------------------------------------------- REST: messages

    def _upload(self, file: UploadedFile, meta: Mapping[str, Any] | None) -> dict[str, Any]:
        filename = (meta or {}).get("filename") or file.filename
        return self.add_attachment(
            filename,
            file.data,
            content_type=file.content_type
            if file.content_type != "application/octet-stream"
            else None,
            description=(meta or {}).get("description"),
        )

    def _attachments(
        self,
        body: Mapping[str, Any],
        files: Sequence[UploadedFile],
        existing: Sequence[Mapping[str, Any]],
    ) -> list[dict[str, Any]]:
        by_field = {}
        for index, file in enumerate(files):
            match = re.fullmatch(r"files\[(\d+)\]", file.field)
            by_field[int(match.group(1)) if match else index] = file
        metas = body.get("attachments")
        if metas is None:
            return [dict(a) for a in existing] + [self._upload(f, None) for f in files]
        old = {str(a["id"]): a for a in existing}
        result: list[dict[str, Any]] = []
        used: set[int] = set()
        for meta in metas:
            key = str(meta.get("id"))
            if key in old:
                result.append(dict(old[key]))
            elif key.isdigit() and int(key) in by_field:
                used.add(int(key))
                result.append(self._upload(by_field[int(key)], meta))
            else:
                raise _invalid_form_body(
                    [(("attachments",), "ATTACHMENT_NOT_FOUND", f"Unknown attachment {key}")]
                )
        result += [self._upload(f, None) for i, f in by_field.items() if i not in used]
        return result

    def _apply_body(
        self,
        message: dict[str, Any],
        body: Mapping[str, Any],
        files: Sequence[UploadedFile],
        *,
        allowed_flags: int,
        replied_author: Mapping[str, Any] | None = None,
    ) -> None:
        """Apply a create/edit body to ``message`` (mutates) and recompute its mentions."""
        if "content" in body:
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            message["components"] = copy.deepcopy(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            keep = message.get("flags", 0) & ~allowed_flags
            message["flags"] = keep | (int(body["flags"]) & allowed_flags)
        if "tts" in body:
            message["tts"] = bool(body["tts"])
        if "poll" in body and body["poll"]:
            message["poll"] = body["poll"]
        if "attachments" in body or files:
            message["attachments"] = self._attachments(
                body, files, message.get("attachments") or []
            )
        if "content" in body or "allowed_mentions" in body or replied_author is not None:
            channel = self.channels.get(int(message["channel_id"]))
            guild = self._channel_guild(channel) if channel else None
            users, roles, everyone = self._content_mentions(
                message.get("content") or "", guild, body.get("allowed_mentions"), replied_author
            )
            message.update(
                mentions=[dict(u) for u in users], mention_roles=roles, mention_everyone=everyone
            )

    def _record(
        self,
        message: dict[str, Any],
        *,
        action: str,
        via: str,
        body: Mapping[str, Any],
        files: Sequence[UploadedFile],
        arrived: float,
        interaction: FakeInteraction | None = None,
    ) -> BotMessage:
        record = BotMessage(
            message=copy.deepcopy(message),
            action=action,
            via=via,
            payload=copy.deepcopy(dict(body)),
            files=list(files),
            time=arrived,
            interaction=interaction,
        )
        self.bot_messages.append(record)
        if interaction is not None:
            interaction.messages.append(record)
        self._notifier.notify()
        return record

    async def _announce(self, event: str, message: dict[str, Any]) -> None:
        if int(message["id"]) in self._ephemeral:
            return
        await self._dispatch_quietly(event, self._gateway_message(message))

    async def _get_messages(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        messages = self.messages_in(int(channel["id"]))
        if "before" in req.query:
            messages = [m for m in messages if int(m["id"]) < int(req.query["before"])]
        if "after" in req.query:
            messages = [m for m in messages if int(m["id"]) > int(req.query["after"])]
            limit = int(req.query.get("limit", 50))
            return list(reversed(messages[:limit]))
        limit = int(req.query.get("limit", 50))
        return list(reversed(messages[-limit:])) if limit else []

    async def _get_message(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        return self._message_or_404(channel, req.params["message_id"])

    async def _post_message(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        body = req.json or {}
        validate_message_body(body, req.files)
        message = self._new_message(channel=channel, author=self.bot_user, content="")
        replied_author = None
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            ref = self.messages.get(int(reference["message_id"]))
            if ref is None or int(ref["id"]) in self._ephemeral:
                if reference.get("fail_if_not_exists", True):
                    raise _invalid_form_body(
                        [
                            (
                                ("message_reference",),
                                "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                "Unknown message",
                            )
                        ]
                    )
            else:
                message["message_reference"], message["referenced_message"] = self._reference(
                    ref, channel
                )
                message["type"] = 19
                replied_author = ref["author"]
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        self._apply_body(
            message,
            body,
            req.files,
            allowed_flags=_CHANNEL_MESSAGE_FLAGS,
            replied_author=replied_author,
        )
        if _is_empty_message(message):
            raise _EMPTY_MESSAGE
        self._store(message)
        self._record(
            message, action="create", via="channel", body=body, files=req.files, arrived=req.time
        )
        await self._announce("MESSAGE_CREATE", message)
        return message

    async def _edit(
        self,
        message: dict[str, Any],
        body: Mapping[str, Any],
        files: Sequence[UploadedFile],
        *,
        via: str,
        arrived: float,
        interaction: FakeInteraction | None,
        prefix: tuple[str | int, ...] = (),
        allowed_flags: int = FLAG_SUPPRESS_EMBEDS,
    ) -> dict[str, Any]:
        validate_message_body(body, files, prefix)
        candidate = copy.deepcopy(message)
        was_loading = bool(candidate.get("flags", 0) & FLAG_LOADING)
        self._apply_body(candidate, body, files, allowed_flags=allowed_flags)
        if was_loading:
            candidate["flags"] = candidate.get("flags", 0) & ~FLAG_LOADING
        else:
            candidate["edited_timestamp"] = _now_iso()
        if _is_empty_message(candidate):
            raise _EMPTY_MESSAGE
        message.clear()
        message.update(candidate)
        action = "create" if was_loading else "edit"
        self._record(
            message,
            action=action,
            via=via,
            body=body,
            files=files,
            arrived=arrived,
            interaction=interaction,
        )
        await self._announce("MESSAGE_UPDATE", message)
        return message

    async def _patch_message(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._message_or_404(channel, req.params["message_id"])
        if message["author"]["id"] != self.bot_user["id"]:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        return await self._edit(
            message, req.json or {}, req.files, via="channel", arrived=req.time, interaction=None
        )

    async def _delete_message(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._message_or_404(channel, req.params["message_id"])
        await self._delete(message)
        return None

    async def _delete(self, message: dict[str, Any]) -> None:
        mid = int(message["id"])
        ephemeral = mid in self._ephemeral
        self.messages.pop(mid, None)
        self.deleted_messages.append(mid)
        self._notifier.notify()
        if not ephemeral:
            channel = self.channels.get(int(message["channel_id"]))
            data: dict[str, Any] = {"id": str(mid), "channel_id": message["channel_id"]}
            if channel is not None and channel.get("guild_id"):
                data["guild_id"] = channel["guild_id"]
            await self._dispatch_quietly("MESSAGE_DELETE", data)

    async def _post_typing(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        self.typing.append((int(channel["id"]), req.time))
        return None

    async def _put_reaction(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._message_or_404(channel, req.params["message_id"])
        emoji = req.params["emoji"]
        self.reactions.append((int(channel["id"]), int(message["id"]), emoji, req.time))
        for reaction in message["reactions"]:
            if reaction["emoji"]["name"] == emoji:
                if not reaction["me"]:
                    reaction["count"] += 1
                    reaction["me"] = True
                break
        else:
            message["reactions"].append(
                {
                    "emoji": {"id": None, "name": emoji},
                    "count": 1,
                    "me": True,
                    "count_details": {"burst": 0, "normal": 1},
                    "burst_colors": [],
                    "me_burst": False,
                    "burst_me": False,
                    "burst_count": 0,
                }
            )
        return None

    async def _delete_reaction(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._message_or_404(channel, req.params["message_id"])
        message["reactions"] = [
            r
            for r in message["reactions"]
            if not (r["emoji"]["name"] == req.params["emoji"] and r["me"])
        ]
        return None

    def _thread_payload(
        self, thread_id: int, parent: Mapping[str, Any], body: Mapping[str, Any], thread_type: int
    ) -> dict[str, Any]:
        name = body.get("name")
        if not name:
            raise _invalid_form_body([_required(("name",))])
        if len(name) > MAX_THREAD_NAME:
            raise _invalid_form_body([_max_length(("name",), MAX_THREAD_NAME)])
        now = _now_iso()
        return {
            "id": str(thread_id),
            "type": thread_type,
            "guild_id": parent["guild_id"],
            "parent_id": parent["id"],
            "owner_id": self.bot_user["id"],
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration") or 4320,
                "archive_timestamp": now,
                "locked": False,
                "invitable": body.get("invitable", True),
                "create_timestamp": now,
            },
            "member": {
                "id": str(thread_id),
                "user_id": self.bot_user["id"],
                "join_timestamp": now,
                "flags": 0,
            },
        }

    async def _create_thread(self, thread: dict[str, Any]) -> dict[str, Any]:
        guild = self.guilds[int(thread["guild_id"])]
        guild.threads[int(thread["id"])] = thread
        self.channels[int(thread["id"])] = thread
        await self._dispatch_quietly("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    async def _post_thread_from_message(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._message_or_404(channel, req.params["message_id"])
        if not channel.get("guild_id") or channel["type"] not in (CHANNEL_TEXT, CHANNEL_NEWS):
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        if int(message["id"]) in self.channels:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        thread_type = (
            CHANNEL_NEWS_THREAD if channel["type"] == CHANNEL_NEWS else CHANNEL_PUBLIC_THREAD
        )
        thread = self._thread_payload(int(message["id"]), channel, req.json or {}, thread_type)
        message["thread"] = thread
        return await self._create_thread(thread)

    async def _post_thread(self, req: _Req) -> Any:
        channel = self._channel_or_404(req.params["channel_id"])
        if not channel.get("guild_id") or channel["type"] not in (CHANNEL_TEXT, CHANNEL_NEWS):
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        body = req.json or {}
        thread = self._thread_payload(
            self._ids.next(), channel, body, int(body.get("type") or CHANNEL_PRIVATE_THREAD)
        )
        return await self._create_thread(thread)

    # ---------------------------------------------------------------- REST: commands

    def _check_application(self, req: _Req) -> int | None:
        if int(req.params["application_id"]) != self.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        if "guild_id" not in req.params:
            return None
        gid = int(req.params["guild_id"])
        if gid not in self.guilds:
            raise DiscordError(403, 50001, "Missing Access")
        return gid

    def _command_payload(self, gid: int | None, command: Mapping[str, Any]) -> dict[str, Any]:
        ctype = command.get("type", 1)
        key = (gid, command["name"], ctype)
        cid = self._command_ids.setdefault(key, self._ids.next())
        payload: dict[str, Any] = {
            "id": str(cid),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": ctype,
            "name": command["name"],
            "description": command.get("description", ""),
            "options": copy.deepcopy(command.get("options") or []),
            # Discord answers with the permission integer as a string.
            "default_member_permissions": (
                None
                if command.get("default_member_permissions") is None
                else str(command["default_member_permissions"])
            ),
            "dm_permission": command.get("dm_permission", True),
            "nsfw": command.get("nsfw", False),
            "name_localizations": command.get("name_localizations"),
            "description_localizations": command.get("description_localizations"),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types", [0]),
        }
        if gid is not None:
            payload["guild_id"] = str(gid)
        return payload

    async def _get_commands(self, req: _Req) -> Any:
        return self.synced_commands.get(self._check_application(req), [])

    async def _put_commands(self, req: _Req) -> Any:
        gid = self._check_application(req)
        validate_commands(req.json)
        self.synced_commands[gid] = [self._command_payload(gid, c) for c in req.json]
        return self.synced_commands[gid]

    async def _post_command(self, req: _Req) -> Any:
        gid = self._check_application(req)
        validate_commands([req.json])
        command = self._command_payload(gid, req.json)
        existing = [c for c in self.synced_commands.get(gid, []) if c["id"] != command["id"]]
        self.synced_commands[gid] = [*existing, command]
        return _json_response(command, 201)

    async def _delete_command(self, req: _Req) -> Any:
        gid = self._check_application(req)
        commands = self.synced_commands.get(gid, [])
        remaining = [c for c in commands if c["id"] != req.params["command_id"]]
        if len(remaining) == len(commands):
            raise DiscordError(404, 10063, "Unknown application command")
        self.synced_commands[gid] = remaining
        return None

    # ---------------------------------------------------------------- REST: interactions

    def _interaction_message(
        self, ix: FakeInteraction, *, ephemeral: bool, loading: bool
    ) -> dict[str, Any]:
        channel = self.channels[ix.channel_id]
        message_type = 20 if ix.type == INTERACTION_APPLICATION_COMMAND else 0
        message = self._new_message(
            channel=channel, author=self.bot_user, content="", message_type=message_type
        )
        metadata: dict[str, Any] = {
            "id": str(ix.id),
            "type": ix.type,
            "user": dict(ix.user),
            "authorizing_integration_owners": ix.payload.get("authorizing_integration_owners", {}),
        }
        if ix.type == INTERACTION_APPLICATION_COMMAND:
            metadata.update(name=ix.name, command_type=1)
        elif "message" in ix.payload:
            metadata["interacted_message_id"] = ix.payload["message"]["id"]
        message.update(
            webhook_id=str(self.application_id),
            application_id=str(self.application_id),
            interaction_metadata=metadata,
            interaction={
                "id": str(ix.id),
                "type": ix.type,
                "name": ix.name or "",
                "user": dict(ix.user),
            },
            flags=(FLAG_EPHEMERAL if ephemeral else 0) | (FLAG_LOADING if loading else 0),
        )
        return message

    def _interaction_by_token(self, application_id: str, token: str) -> FakeInteraction:
        if int(application_id) == self.application_id:
            for ix in self.interactions.values():
                if ix.token == token:
                    return ix
        raise DiscordError(404, 10015, "Unknown Webhook")

    async def _post_callback(self, req: _Req) -> Any:
        ix = (
            self.interactions.get(int(req.params["interaction_id"]))
            if req.params["interaction_id"].isdigit()
            else None
        )
        if ix is None or ix.token != req.params["token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        if req.time - ix.dispatched_at > self.interaction_deadline:
            raise DiscordError(404, 10062, "Unknown interaction")
        if ix.callback is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        body = req.json or {}
        ctype = body.get("type")
        data = body.get("data") or {}
        is_component = ix.type == INTERACTION_MESSAGE_COMPONENT or (
            ix.type == INTERACTION_MODAL_SUBMIT and "message" in ix.payload
        )
        valid = {CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE}
        if is_component:
            valid |= {CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE}
        if ix.type in (INTERACTION_APPLICATION_COMMAND, INTERACTION_MESSAGE_COMPONENT):
            valid.add(CALLBACK_MODAL)
        if ix.type == INTERACTION_AUTOCOMPLETE:
            valid = {CALLBACK_AUTOCOMPLETE_RESULT}
        if ctype not in valid:
            raise DiscordError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": f"Invalid interaction response type {ctype}",
                            }
                        ]
                    }
                },
            )
        message: dict[str, Any] | None = None
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        if ctype == CALLBACK_CHANNEL_MESSAGE:
            validate_message_body(data, req.files, ("data",))
            message = self._interaction_message(ix, ephemeral=ephemeral, loading=False)
            self._apply_body(message, data, req.files, allowed_flags=_INTERACTION_MESSAGE_FLAGS)
            if _is_empty_message(message):
                raise _EMPTY_MESSAGE
        elif ctype == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            message = self._interaction_message(ix, ephemeral=ephemeral, loading=True)
        elif ctype == CALLBACK_MODAL:
            errors: list[_FormError] = []
            if not data.get("custom_id"):
                errors.append(_required(("data", "custom_id")))
            elif len(data["custom_id"]) > MAX_CUSTOM_ID:
                errors.append(_max_length(("data", "custom_id"), MAX_CUSTOM_ID))
            if not 1 <= _text_length(data.get("title")) <= 45:
                errors.append(_max_length(("data", "title"), 45))
            if not 1 <= len(data.get("components") or []) <= 5:
                errors.append(_max_length(("data", "components"), 5))
            _raise_if(errors)
        callback = InteractionCallback(
            type=ctype, data=copy.deepcopy(data), files=list(req.files), time=req.time
        )
        if ctype == CALLBACK_UPDATE_MESSAGE:
            target = self.messages.get(ix.original_id or 0)
            if target is None:
                raise DiscordError(404, 10008, "Unknown Message")
            message = await self._edit(
                target,
                data,
                req.files,
                via="interaction",
                arrived=req.time,
                interaction=ix,
                prefix=("data",),
            )
            ix.callback = callback
        elif message is not None:
            ix.callback = callback
            ix.original_id = int(message["id"])
            self._store(message, ephemeral=ephemeral)
            self._message_interaction[int(message["id"])] = ix
            if ctype == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
                ix._placeholder_pending = True
            else:
                self._record(
                    message,
                    action="create",
                    via="interaction",
                    body=data,
                    files=req.files,
                    arrived=req.time,
                    interaction=ix,
                )
            await self._announce("MESSAGE_CREATE", message)
        ix.callback = callback
        callback.message = copy.deepcopy(message) if message is not None else None
        self._notifier.notify()
        if req.query.get("with_response") not in ("1", "true", "True"):
            return None
        summary: dict[str, Any] = {
            "id": str(ix.id),
            "type": ix.type,
            "response_message_loading": ctype == CALLBACK_DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": ephemeral,
        }
        resource: dict[str, Any] = {"type": ctype}
        if message is not None:
            summary["response_message_id"] = message["id"]
            resource["message"] = message
        return {"interaction": summary, "resource": resource}

    async def _post_followup(self, req: _Req) -> Any:
        ix = self._interaction_by_token(req.params["application_id"], req.params["token"])
        if ix.callback is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        body = req.json or {}
        validate_message_body(body, req.files)
        if ix._placeholder_pending and ix.original_id is not None:
            # The first follow-up after a deferred response replaces the "thinking" message,
            # keeping the ephemerality chosen when deferring.
            ix._placeholder_pending = False
            original = self.messages[ix.original_id]
            message = await self._edit(
                original,
                {k: v for k, v in body.items() if k != "flags"},
                req.files,
                via="followup",
                arrived=req.time,
                interaction=ix,
            )
        else:
            ephemeral = bool(int(body.get("flags") or 0) & FLAG_EPHEMERAL)
            message = self._interaction_message(ix, ephemeral=ephemeral, loading=False)
            self._apply_body(message, body, req.files, allowed_flags=_INTERACTION_MESSAGE_FLAGS)
            if _is_empty_message(message):
                raise _EMPTY_MESSAGE
            self._store(message, ephemeral=ephemeral)
            self._message_interaction[int(message["id"])] = ix
            self._record(
                message,
                action="create",
                via="followup",
                body=body,
                files=req.files,
                arrived=req.time,
                interaction=ix,
            )
            await self._announce("MESSAGE_CREATE", message)
        if req.query.get("wait") in ("1", "true", "True"):
            return message
        return None

    def _webhook_message(self, req: _Req) -> tuple[FakeInteraction, dict[str, Any]]:
        ix = self._interaction_by_token(req.params["application_id"], req.params["token"])
        mid = req.params["message_id"]
        if mid == "@original":
            if ix.original_id is None or ix.original_id not in self.messages:
                raise DiscordError(404, 10008, "Unknown Message")
            return ix, self.messages[ix.original_id]
        message = self.messages.get(int(mid)) if mid.isdigit() else None
        if message is None or self._message_interaction.get(int(mid)) is not ix:
            raise DiscordError(404, 10008, "Unknown Message")
        return ix, message

    async def _get_webhook_message(self, req: _Req) -> Any:
        return self._webhook_message(req)[1]

    async def _patch_webhook_message(self, req: _Req) -> Any:
        ix, message = self._webhook_message(req)
        via = "followup" if req.params["message_id"] != "@original" else "interaction"
        if message.get("flags", 0) & FLAG_LOADING:
            ix._placeholder_pending = False
        return await self._edit(
            message, req.json or {}, req.files, via=via, arrived=req.time, interaction=ix
        )

    async def _delete_webhook_message(self, req: _Req) -> Any:
        ix, message = self._webhook_message(req)
        if message.get("flags", 0) & FLAG_LOADING:
            ix._placeholder_pending = False
        await self._delete(message)
        return None


@pytest_asyncio.fixture(name="fake_discord")
async def fake_discord_fixture() -> AsyncIterator[FakeDiscord]:
    """Yield a started, patched ``FakeDiscord``; fail at teardown on unknown requests."""
    async with FakeDiscord() as fake:
        yield fake
    fake.assert_no_unknown_requests()
