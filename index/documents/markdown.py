"""Markdown: YAML front matter (typed metadata), sections at ATX headings (# .. ######)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from typing import Any

import yaml

from index.documents._text import HeadingPath, collapse, decode_text, heading_text, normalise
from index.documents._yaml import clip, load_yaml, type_name
from index.documents.types import VISIBILITIES, DocumentError, Parsed, ParseLimits, Section

log = logging.getLogger(__name__)

FRONT_MATTER_KEYS: frozenset[str] = frozenset(
    {"title", "author", "date", "url", "visibility", "municipalities", "topics"}
)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# The opening of an ATX heading: up to 3 spaces, 1-6 "#", then a space, a tab or nothing.
# The rest of the line is cut in Python: one pattern for the text and the closing "#"s
# (r"(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$") took 16 s on "# a", 20,000 spaces, "#b".
_ATX_OPENING = re.compile(r" {0,3}(#{1,6})(?=[ \t]|$)")
_LONGEST_NUMBER = 10**30  # a number given as a title, author or date is shorter than this


def read_markdown(data: bytes, limits: ParseLimits) -> Parsed:
    """Read a Markdown file with optional YAML front matter (no limit but the time budget)."""
    text = decode_text(data)
    raw_meta, body = split_front_matter(text)
    meta = parse_front_matter(raw_meta)
    return Parsed(markdown_sections(body), title=_first_heading(body), meta=meta)


def atx_heading(line: str) -> tuple[int, str] | None:
    """Return the level and raw text of an ATX heading line ("## Rubrik ##"), else None.

    The text is the line after the opening "#"s without the spaces and tabs around it
    and without a closing run of "#" that follows a space or tab.
    """
    opening = _ATX_OPENING.match(line)
    if opening is None:
        return None
    text = line[opening.end() :].strip(" \t")
    if text.endswith("#"):
        before_closing = text.rstrip("#")
        if before_closing.endswith((" ", "\t")):
            text = before_closing.rstrip(" \t")
    return len(opening.group(1)), text


def markdown_sections(body: str) -> list[Section]:
    """Return the sections of a Markdown body, split at its ATX headings (# .. ######).

    Heading lines become the section's heading path and are not part of its text;
    lines inside fenced code blocks are never headings.
    """
    headings = HeadingPath()
    sections: list[Section] = []
    lines: list[str] = []
    heading: str | None = None
    fence: str | None = None
    for line in normalise(body).split("\n"):
        if fence is None and (atx := atx_heading(line)):
            sections.append(Section("\n".join(lines), heading))
            lines = []
            heading = headings.enter(atx[0], heading_text(atx[1]))
            continue
        if match := _FENCE.match(line):
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
        lines.append(line)
    sections.append(Section("\n".join(lines), heading))
    return [section for section in sections if section.text.strip()]


def _first_heading(body: str) -> str | None:
    """Return the text of the first ATX heading outside code blocks, if any."""
    fence = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            fence = not fence
        elif not fence and (atx := atx_heading(line)):
            if text := heading_text(atx[1]):
                return text
    return None


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return the YAML front matter of a Markdown text as a mapping, and the body after it.

    A text without front matter gives ({}, text). Raises DocumentError for invalid YAML,
    front matter that is not a mapping, or an opening '---' that is never closed.
    """
    first, _, rest = text.partition("\n")
    if first.rstrip() != "---":
        return {}, text
    lines = rest.split("\n")
    for index, line in enumerate(lines):
        if line.rstrip() in ("---", "..."):
            raw = "\n".join(lines[:index])
            body = "\n".join(lines[index + 1 :])
            break
    else:
        raise DocumentError("front matter starts with '---' but has no closing '---' line")
    try:
        data = load_yaml(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(f"invalid YAML in front matter{where}: {problem}") from exc
    if data is None:
        return {}, body
    if not isinstance(data, dict):
        raise DocumentError(f"front matter must be 'key: value' lines, not a {type_name(data)}")
    return data, body


def parse_front_matter(data: dict[str, Any]) -> dict[str, Any]:
    """Return the checked metadata from a front matter mapping (only the known keys).

    Raises DocumentError naming the key and what is wrong with it.
    """
    for key in data:
        if key not in FRONT_MATTER_KEYS:
            log.debug("Ignoring unknown front matter key %r", key)
    meta: dict[str, Any] = {}
    for key in ("title", "author", "url"):
        if (value := _meta_text(key, data.get(key))) is not None:
            meta[key] = value
    date = data.get("date")
    if isinstance(date, dt.date):  # also dt.datetime
        meta["date"] = date.isoformat()
    elif (text := _meta_text("date", date)) is not None:
        meta["date"] = text
    visibility = data.get("visibility")
    if visibility is not None:
        if not isinstance(visibility, str):
            raise DocumentError(
                "front matter 'visibility' must be 'public' or 'internal',"
                f" not a {type_name(visibility)}"
            )
        normalised = visibility.strip().lower()
        if normalised not in VISIBILITIES:
            raise DocumentError(
                "front matter 'visibility' must be 'public' or 'internal',"
                f" not '{clip(visibility)}'"
            )
        meta["visibility"] = normalised
    for key in ("municipalities", "topics"):
        if items := _meta_list(key, data.get(key)):
            meta[key] = items
    return meta


def _meta_text(key: str, value: object) -> str | None:
    """Return a front matter value that should be a short text (numbers are accepted)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DocumentError(f"front matter '{key}' must be text, not a {type_name(value)}")
    if isinstance(value, int) and abs(value) >= _LONGEST_NUMBER:
        raise DocumentError(f"front matter '{key}' must be text, not a number this long")
    return collapse(unicodedata.normalize("NFC", str(value))) or None


def _meta_list(key: str, value: object) -> tuple[str, ...]:
    """Return a front matter value that should be a list of texts."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DocumentError(
            f"front matter '{key}' must be a list of texts, e.g. {key}: [Borlänge, Nässjö], "
            f"not a {type_name(value)}"
        )
    items = (collapse(unicodedata.normalize("NFC", item)) for item in value)
    return tuple(dict.fromkeys(item for item in items if item))
