"""What Discord checks in what the bot sends, with Discord's error shapes (400, 50035 ...)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.fakes.discord.protocol import (
    _VALID_LOCALES,
    FLAG_IS_COMPONENTS_V2,
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
    _json_response,
)
from tests.fakes.discord.records import UploadedFile


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
