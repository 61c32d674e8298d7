"""The fake's REST API: routing, bodies, and the routes for users, channels, messages, commands."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.discord.protocol import (
    _CHANNEL_MESSAGE_FLAGS,
    API_PREFIX,
    CHANNEL_NEWS,
    CHANNEL_NEWS_THREAD,
    CHANNEL_PRIVATE_THREAD,
    CHANNEL_PUBLIC_THREAD,
    CHANNEL_TEXT,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    MAX_THREAD_NAME,
    _json_response,
    _no_content,
    _now_iso,
)
from tests.fakes.discord.records import (
    BotMessage,
    FakeInteraction,
    RecordedRequest,
    UploadedFile,
    _Handler,
    _Req,
)
from tests.fakes.discord.validation import (
    _EMPTY_MESSAGE,
    DiscordError,
    _invalid_form_body,
    _is_empty_message,
    _max_length,
    _required,
    validate_commands,
    validate_message_body,
)

log = logging.getLogger(__name__)


class RestMixin:
    """FakeDiscord's HTTP side (mixed into FakeDiscord)."""

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
        self.requests_in_flight += 1
        try:
            return await self._handle_http(request)
        except Exception as exc:  # a bug of the fake; 400 so that discord.py does not retry
            log.exception("FakeDiscord failed on %s %s", request.method, request.path)
            self.internal_errors.append(f"{request.method} {request.path}: {exc!r}")
            return DiscordError(
                400, 0, f"FakeDiscord internal error (fix tests/fakes/discord/): {exc!r}"
            ).response()
        finally:
            self.requests_in_flight -= 1
            self._notifier.notify()

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
                    400, 0, f"FakeDiscord internal error (fix tests/fakes/discord/): {exc!r}"
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
            " add it to tests/fakes/discord/",
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
