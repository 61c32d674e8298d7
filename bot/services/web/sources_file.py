"""``knowledge/sources.yaml``: the web pages to keep, read and edited keeping its comments.

The file lists pages (``url``, ``visibility``, optional ``title``), as a list or under
``sources:``. ``/kb source add|remove`` edit it in place, line by line, so an admin's
comments stay; when that cannot be done safely the file is written afresh.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.services.errors import ExplainedError
from bot.services.knowledge import WEB_FOLDER, atomic_write
from bot.services.web.policy import check_url
from bot.services.web.store import forget_page
from index.documents import Visibility, load_yaml, yaml_reason

log = logging.getLogger(__name__)

SOURCES_FILE = "sources.yaml"
_SLUG_CHARS = 60


class SourcesError(ExplainedError):
    """sources.yaml is missing, malformed or lists an invalid entry (one line, names both)."""


@dataclass(frozen=True)
class WebSource:
    """One page of sources.yaml."""

    url: str
    visibility: Visibility
    title: str | None = None

    @property
    def doc_id(self) -> str:
        """Return the id of the page's Markdown copy: ``web/<host-and-path>-<hash>.md``."""
        return f"{WEB_FOLDER}/{page_file_name(self.url)}"


def page_file_name(url: str) -> str:
    """Return the file name of a page's copy: a readable slug of host and path, and a hash."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    raw = f"{host} {parts.path}"
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:_SLUG_CHARS].strip("-")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"{slug or 'sida'}-{digest}.md"


def load_sources(
    knowledge_dir: Path, default_visibility: Visibility = "internal"
) -> list[WebSource]:
    """Return the pages listed in ``<knowledge_dir>/sources.yaml`` ([] without the file).

    The file is a list of entries, or a mapping with the list under ``sources``. Raises
    SourcesError naming the entry and what is wrong with it.
    """
    path = Path(knowledge_dir) / SOURCES_FILE
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError(
            "sources.err.yaml", path=path, reason=" ".join(str(exc).split())
        ) from exc
    return parse_sources(text, path, default_visibility)


def parse_sources(
    text: str, path: Path | str = SOURCES_FILE, default_visibility: Visibility = "internal"
) -> list[WebSource]:
    """Return the pages listed in the text of a sources.yaml; raise SourcesError as loading does."""
    try:
        data = load_yaml(text)  # anchors and aliases refused: the file may come from anyone
    except yaml.YAMLError as exc:
        raise SourcesError("sources.err.yaml", path=path, reason=yaml_reason(exc)) from exc
    if isinstance(data, dict):
        data = data.get("sources")
    if data is None:
        return []
    if not isinstance(data, list):
        raise SourcesError("sources.err.not_a_list", path=path)
    sources: list[WebSource] = []
    seen: set[str] = set()
    for number, entry in enumerate(data, 1):
        where = {"path": path, "number": number}
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict):
            raise SourcesError("sources.err.entry", **where)
        unknown = set(entry) - {"url", "visibility", "title"}
        if unknown:
            raise SourcesError("sources.err.unknown_key", **where, key=repr(min(unknown, key=str)))
        for key in ("url", "visibility"):
            if not isinstance(entry.get(key) or "", str):
                raise SourcesError("sources.err.not_text", **where, key=key)
        url = str(entry.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourcesError("sources.err.url", **where, url=repr(url))
        visibility = str(entry.get("visibility") or default_visibility).strip().lower()
        if visibility not in ("public", "internal"):
            raise SourcesError("sources.err.visibility", **where, value=repr(visibility))
        title = entry.get("title")
        if title is not None and not isinstance(title, str | int | float):
            raise SourcesError("sources.err.title", **where)
        if url in seen:
            raise SourcesError("sources.err.twice", **where, url=url)
        seen.add(url)
        shown_title = " ".join(str(title).split()) if title is not None else ""
        sources.append(WebSource(url, visibility, shown_title or None))  # type: ignore[arg-type]
    return sources


_SOURCES_HEADER = (
    "# Web pages whose main text the bot keeps under web/ (docs/KNOWLEDGE.md).\n"
    "# Edited by hand or with /kb source add|remove; one entry per page.\n"
)
_edit_lock = threading.Lock()  # one change to sources.yaml at a time


def add_source(
    knowledge_dir: Path,
    url: str,
    visibility: Visibility,
    *,
    allowed_hosts: Collection[str] = (),
    title: str | None = None,
) -> WebSource:
    """Add a page to sources.yaml (written atomically, comments kept); return it.

    The URL must pass :func:`check_url` (its addresses are checked by the caller, with
    :func:`check_url_resolves`, before). Raises UnsafeURLError for a refused URL and
    SourcesError when the list is broken or already has the page; nothing is written then.
    """
    url = url.strip()
    check_url(url, allowed_hosts)
    path = Path(knowledge_dir) / SOURCES_FILE
    with _edit_lock:
        existing = load_sources(knowledge_dir)
        if any(s.url == url for s in existing):
            raise SourcesError("sources.err.already", url=url)
        source = WebSource(url, visibility, title)
        entry: dict[str, Any] = {"url": url, "visibility": visibility}
        if title:
            entry["title"] = title
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        edited = _append_entry(text, entry)
        if edited is None or _urls_in(edited) != [s.url for s in existing] + [url]:
            log.warning("rewriting %s without its comments: could not add to it in place", path)
            edited = _dump_sources([*_entries(existing), entry])
        atomic_write(path, edited.encode("utf-8"))
    log.info("added web source %s (%s)", url, visibility)
    return source


def remove_source(knowledge_dir: Path, url: str) -> WebSource:
    """Remove a page from sources.yaml and its stored copy; return the page removed.

    Raises SourcesError when the list is broken or does not have the page.
    """
    root = Path(knowledge_dir)
    path = root / SOURCES_FILE
    url = url.strip()
    with _edit_lock:
        existing = load_sources(root)
        found = [s for s in existing if s.url == url]
        if not found:
            raise SourcesError("sources.err.not_listed", url=url, file=SOURCES_FILE)
        left = [s.url for s in existing if s.url != url]
        text = path.read_text(encoding="utf-8")
        edited = _drop_entry(text, url)
        if edited is None or _urls_in(edited) != left:
            log.warning("rewriting %s without its comments: could not edit it in place", path)
            edited = _dump_sources(_entries([s for s in existing if s.url != url]))
        atomic_write(path, edited.encode("utf-8"))
        forget_page(root, found[0])
    log.info("removed web source %s", url)
    return found[0]


def _entries(sources: Sequence[WebSource]) -> list[dict[str, Any]]:
    entries = []
    for source in sources:
        entry: dict[str, Any] = {"url": source.url, "visibility": source.visibility}
        if source.title:
            entry["title"] = source.title
        entries.append(entry)
    return entries


def _dump_sources(entries: list[dict[str, Any]]) -> str:
    body = yaml.safe_dump({"sources": entries}, allow_unicode=True, sort_keys=False)
    return _SOURCES_HEADER + body


def _urls_in(text: str) -> list[str] | None:
    """Return the URLs a sources.yaml text lists, or None if it is not a valid list."""
    try:
        return [s.url for s in parse_sources(text)]
    except SourcesError:
        return None


def _sequence_node(text: str) -> yaml.Node | None:
    """Return the YAML node of the list of pages in ``text`` (block style only), if any."""
    try:
        root = yaml.compose(text)
    except (yaml.YAMLError, RecursionError):
        return None
    node = root
    if isinstance(root, yaml.MappingNode):
        node = next((v for k, v in root.value if getattr(k, "value", None) == "sources"), None)
    if not isinstance(node, yaml.SequenceNode) or node.flow_style or not node.value:
        return None
    return node


def _append_entry(text: str, entry: dict[str, Any]) -> str | None:
    """Return ``text`` with ``entry`` after the last page, its comments kept; None if unsure."""
    if not text.strip():
        return _dump_sources([entry])
    node = _sequence_node(text)
    if node is None:
        return None
    lines = text.splitlines(keepends=True)
    first = lines[node.value[0].start_mark.line]
    dash = first[: len(first) - len(first.lstrip())]
    if not first.lstrip().startswith("- "):
        return None
    cut = _end_line(node.value[-1])
    item = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=1000)
    block = "".join(dash + line for line in item.splitlines(keepends=True))
    before = "".join(lines[:cut])
    if before and not before.endswith("\n"):
        before += "\n"
    return before + block + "".join(lines[cut:])


def _end_line(node: yaml.Node) -> int:
    """Return the number of the line after a list item (its last value's line, plus one).

    A block mapping's own end mark lies at the next item's dash; its last value's does not.
    """
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    mark = node.end_mark
    return mark.line if mark.column == 0 else mark.line + 1


def _drop_entry(text: str, url: str) -> str | None:
    """Return ``text`` without the page ``url`` (its lines only); None if unsure."""
    node = _sequence_node(text)
    if node is None:
        return None
    lines = text.splitlines(keepends=True)
    for item in node.value:
        value = item.value if isinstance(item, yaml.ScalarNode) else None
        if isinstance(item, yaml.MappingNode):
            value = next(
                (v.value for k, v in item.value if getattr(k, "value", None) == "url"), None
            )
        if str(value or "").strip() != url:
            continue
        start, end = item.start_mark.line, _end_line(item)
        if len(node.value) == 1:
            return None  # the list would become empty: written afresh
        return "".join(lines[:start] + lines[end:])
    return None
