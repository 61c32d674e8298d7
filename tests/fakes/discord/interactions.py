"""Interactions: users invoking commands, clicking, submitting modals; the bot's responses."""

from __future__ import annotations

import copy
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from tests.fakes.discord.protocol import (
    _INTERACTION_MESSAGE_FLAGS,
    ATTACHMENT_SIZE_LIMIT,
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_UPDATE_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_UPDATE_MESSAGE,
    DEFAULT_BOT_PERMISSIONS,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_AUTOCOMPLETE,
    INTERACTION_MESSAGE_COMPONENT,
    INTERACTION_MODAL_SUBMIT,
    MAX_CUSTOM_ID,
    UserLike,
    _sid,
)
from tests.fakes.discord.records import FakeGuild, FakeInteraction, InteractionCallback, _Req
from tests.fakes.discord.validation import (
    _EMPTY_MESSAGE,
    DiscordError,
    _FormError,
    _is_empty_message,
    _max_length,
    _raise_if,
    _required,
    _text_length,
    _walk_components,
    validate_message_body,
)

log = logging.getLogger(__name__)


class InteractionsMixin:
    """FakeDiscord's interactions, both directions (mixed into FakeDiscord)."""

    # ---------------------------------------------------------------- users interacting

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
