"""Web pages as sources: ``knowledge/sources.yaml`` -> Markdown files under ``knowledge/web/``.

``sources.yaml`` lists pages (``url``, ``visibility``, optional ``title``). Fetching one
downloads it (aiohttp, so it never blocks the event loop; the CLI runs it with
``asyncio.run``), extracts the main text with trafilatura on a worker thread (navigation,
cookie banners, footers and sidebars are left out) and stores it as Markdown whose front
matter holds the ``url``, the ``fetched_at`` time, the title and the visibility, so
answers link to the page.

- Requests are conditional: the ETag and Last-Modified of the last good copy are kept in
  ``web/.fetch-state.json`` (hidden, never indexed) and sent back; a 304 costs nothing.
- A page is rewritten only when its text, title or visibility changed, so an unchanged
  page never makes the index do any work.
- Timeouts and a size limit apply; only HTML is accepted. A failed fetch keeps the last
  good copy and is reported.
- A page removed from the list has its stored copy removed at the next fetch.
- Only public web addresses are fetched (:mod:`bot.services.url_policy`): a listed URL or
  a redirect to a loopback, link-local, private or otherwise non-global address, or one
  with a user name or password in it, is refused, unless its host is named in
  ``sources.allowed_hosts``.
  The check is made on the URL of every hop (redirects are followed one by one), on every
  address a name resolves to (the session's resolver drops the others, so no connection
  is ever opened to them) and on the address actually connected to, before a request is
  sent on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import aiohttp
import yaml

from bot.services.errors import ExplainedError
from bot.services.knowledge import WEB_FOLDER, WEB_SOURCE_MARK, atomic_write
from bot.services.url_policy import (
    PublicOnlyConnector,
    RefusedAddressError,
    UnsafeURLError,
    check_url,
)
from index.documents import (
    MAIN_TEXT_OPTIONS,
    DocumentError,
    Visibility,
    decode_text,
    load_yaml,
    split_front_matter,
    yaml_reason,
)

log = logging.getLogger(__name__)

SOURCES_FILE = "sources.yaml"
STATE_FILE = ".fetch-state.json"
USER_AGENT = "Natverksboten/0.1 (knowledge base of the municipal network; +sources.yaml)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SLUG_CHARS = 60

Outcome = Literal["added", "updated", "unchanged", "failed", "removed"]


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


@dataclass(frozen=True)
class FetchResult:
    """What fetching one page did."""

    url: str
    doc_id: str
    outcome: Outcome
    reason: str | None = None


@dataclass
class FetchReport:
    """What fetching the whole list did."""

    results: list[FetchResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Return whether any stored page was added, updated or removed."""
        return any(r.outcome in ("added", "updated", "removed") for r in self.results)

    @property
    def failed(self) -> list[FetchResult]:
        """Return the pages that could not be fetched (their last good copy is kept)."""
        return [r for r in self.results if r.outcome == "failed"]

    def count(self, outcome: Outcome) -> int:
        """Return how many pages had ``outcome``."""
        return sum(1 for r in self.results if r.outcome == outcome)


class _FetchError(Exception):
    """One page could not be fetched; str() is the one-line reason."""


# --------------------------------------------------------------------------- the list


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
        copy = root / found[0].doc_id
        stored = _read_copy(copy) if copy.is_file() else None
        if stored is not None and stored[0].get("source") == WEB_SOURCE_MARK:
            copy.unlink()
        folder = root / WEB_FOLDER
        state = _load_state(folder)
        if state.pop(url, None) is not None:
            _save_state(folder, state)
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


def page_file_name(url: str) -> str:
    """Return the file name of a page's copy: a readable slug of host and path, and a hash."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    raw = f"{host} {parts.path}"
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:_SLUG_CHARS].strip("-")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"{slug or 'sida'}-{digest}.md"


# --------------------------------------------------------------------------- fetching


async def fetch_sources(
    knowledge_dir: Path,
    *,
    default_visibility: Visibility = "internal",
    timeout: float = 20.0,
    max_bytes: int = 5_000_000,
    concurrency: int = 4,
    sources: Sequence[WebSource] | None = None,
    allowed_hosts: Collection[str] = (),
    only_urls: Collection[str] | None = None,
) -> FetchReport:
    """Fetch every listed page and store its main text; return what happened to each.

    Only public addresses are fetched (:func:`check_url`), and the hosts in
    ``allowed_hosts``. With ``only_urls`` just those listed pages are fetched and no
    stored page is removed. Raises SourcesError when sources.yaml itself is broken
    (nothing is fetched or removed).
    """
    started = time.perf_counter()
    root = Path(knowledge_dir)
    if sources is None:
        sources = load_sources(root, default_visibility)
    if only_urls is not None:
        sources = [s for s in sources if s.url in only_urls]
    folder = root / WEB_FOLDER
    state = _load_state(folder)
    report = FetchReport()
    semaphore = asyncio.Semaphore(concurrency)
    client_timeout = aiohttp.ClientTimeout(
        total=timeout, connect=min(timeout, 10.0), sock_read=timeout
    )
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml;q=0.9"}
    allowed = tuple(allowed_hosts)
    connector = PublicOnlyConnector(allowed)
    async with aiohttp.ClientSession(
        timeout=client_timeout, headers=headers, connector=connector
    ) as session:

        async def one(source: WebSource) -> FetchResult:
            async with semaphore:
                return await _fetch_one(session, root, source, state, max_bytes, allowed)

        report.results = list(await asyncio.gather(*(one(s) for s in sources)))
    if only_urls is None:
        report.results += await asyncio.to_thread(_remove_unlisted, root, sources, state)
    await asyncio.to_thread(_save_state, folder, state)
    report.seconds = time.perf_counter() - started
    log.info(
        "fetched %d web sources: %d added, %d updated, %d unchanged, %d failed, %d removed",
        len(sources),
        report.count("added"),
        report.count("updated"),
        report.count("unchanged"),
        report.count("failed"),
        report.count("removed"),
    )
    return report


async def _fetch_one(
    session: aiohttp.ClientSession,
    root: Path,
    source: WebSource,
    state: dict[str, dict[str, Any]],
    max_bytes: int,
    allowed_hosts: Collection[str] = (),
) -> FetchResult:
    path = root / source.doc_id
    previous = state.get(source.url, {}) if path.is_file() else {}
    headers = {}
    if previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    now = datetime.now(UTC)
    try:
        page = await _download(session, source.url, headers, max_bytes, allowed_hosts)
        if page is None:  # 304 Not Modified: the copy is current, only its metadata may not be
            outcome = await asyncio.to_thread(_restamp, path, source)
            entry = {**previous, "checked_at": now.isoformat(timespec="seconds")}
            entry.pop("error", None)
            state[source.url] = entry
            return FetchResult(source.url, source.doc_id, outcome)
        body, validators = page
        text, found_title = await asyncio.to_thread(_extract, body, source.url)
        outcome = await asyncio.to_thread(_store_page, path, source, text, found_title, now)
    except _FetchError as exc:
        reason = str(exc)
        log.warning("could not fetch %s: %s", source.url, reason)
        state[source.url] = {
            **state.get(source.url, {}),
            "checked_at": now.isoformat(timespec="seconds"),
            "error": reason,
        }
        return FetchResult(source.url, source.doc_id, "failed", reason)
    state[source.url] = {
        **validators,
        "checked_at": now.isoformat(timespec="seconds"),
        "fetched_at": now.isoformat(timespec="seconds"),
    }
    return FetchResult(source.url, source.doc_id, outcome)


async def _download(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    allowed_hosts: Collection[str] = (),
) -> tuple[bytes | str, dict[str, str]] | None:
    """Return (body, validators) of an HTML page, or None for 304; raise _FetchError.

    Redirects are followed one by one, each new address checked by the URL policy
    before it is requested.
    """
    try:
        for _ in range(MAX_REDIRECTS + 1):
            _check_hop(url, allowed_hosts)
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                location = response.headers.get("Location")
                if response.status in _REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                return await _read_page(response, max_bytes)
        raise _FetchError("too many redirects")
    except _FetchError:
        raise
    except TimeoutError as exc:
        raise _FetchError("timed out") from exc
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, RefusedAddressError):
            raise _FetchError(f"refused: {exc.os_error}") from exc
        raise _FetchError(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from exc
    except aiohttp.ClientError as exc:
        raise _FetchError(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from exc


def _check_hop(url: str, allowed_hosts: Collection[str]) -> None:
    """Raise _FetchError when the URL policy refuses ``url`` (a listed page or a redirect)."""
    try:
        check_url(url, allowed_hosts)
    except UnsafeURLError as exc:
        raise _FetchError(f"refused: {exc}") from exc


async def _read_page(
    response: aiohttp.ClientResponse, max_bytes: int
) -> tuple[bytes | str, dict[str, str]] | None:
    """Return (body, validators) of a final response, or None for 304; raise _FetchError.

    The body is text when the server named its charset, else bytes.
    """
    if response.status == 304:
        return None
    if response.status != 200:
        raise _FetchError(f"HTTP {response.status} {response.reason or ''}".strip())
    content_type = (response.content_type or "").lower()
    if content_type not in HTML_TYPES:
        raise _FetchError(f"not an HTML page ({content_type or 'no content type'})")
    if response.content_length is not None and response.content_length > max_bytes:
        raise _FetchError(
            f"the page is {response.content_length} bytes, over the limit of {max_bytes} bytes"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > max_bytes:
            raise _FetchError(f"the page is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    validators = {}
    if etag := response.headers.get("ETag"):
        validators["etag"] = etag
    if modified := response.headers.get("Last-Modified"):
        validators["last_modified"] = modified
    body: bytes | str = b"".join(chunks)
    if response.charset:
        # The server said how the page is encoded; without that, trafilatura detects it.
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            body = body.decode(response.charset)  # type: ignore[union-attr]
    return body, validators


def _extract(body: bytes | str, url: str) -> tuple[str, str | None]:
    """Return (the page's main text as Markdown, its title); raise _FetchError if none."""
    import trafilatura

    try:
        text = trafilatura.extract(body, url=url, output_format="markdown", **MAIN_TEXT_OPTIONS)
        metadata = trafilatura.extract_metadata(body)
    except Exception as exc:  # trafilatura raises assorted lxml errors on broken pages
        raise _FetchError(f"the page could not be read: {type(exc).__name__}") from exc
    if not text or not text.strip():
        raise _FetchError("no main text found on the page")
    title = metadata.title if metadata is not None and metadata.title else None
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.strip() + "\n", title


def _front(source: WebSource, title: str, fetched_at: str) -> dict[str, Any]:
    return {
        "title": title,
        "url": source.url,
        "visibility": source.visibility,
        "fetched_at": fetched_at,
        "source": WEB_SOURCE_MARK,
    }


def _render(front: dict[str, Any], body: str) -> bytes:
    dumped = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    return f"---\n{dumped}---\n{body}".encode()


def _read_copy(path: Path) -> tuple[dict[str, Any], str] | None:
    try:
        return split_front_matter(decode_text(path.read_bytes()))
    except (OSError, DocumentError):
        return None


def _store_page(
    path: Path, source: WebSource, text: str, found_title: str | None, now: datetime
) -> Outcome:
    """Write the page's copy unless its text, title and visibility are what is stored."""
    title = source.title or found_title or source.url
    old = _read_copy(path) if path.exists() else None
    if old is not None:
        meta, body = old
        if (
            body == text
            and meta.get("title") == title
            and meta.get("visibility") == source.visibility
            and meta.get("url") == source.url
        ):
            return "unchanged"
    fetched_at = now.isoformat(timespec="seconds")
    atomic_write(path, _render(_front(source, title, fetched_at), text))
    return "updated" if old is not None else "added"


def _restamp(path: Path, source: WebSource) -> Outcome:
    """After a 304: rewrite the copy only when sources.yaml changed its title or visibility."""
    old = _read_copy(path)
    if old is None:
        return "unchanged"
    meta, body = old
    title = source.title or meta.get("title") or source.url
    if meta.get("title") == title and meta.get("visibility") == source.visibility:
        return "unchanged"
    fetched_at = str(meta.get("fetched_at") or "")
    atomic_write(path, _render(_front(source, title, fetched_at), body))
    return "updated"


def _remove_unlisted(
    root: Path, sources: Sequence[WebSource], state: dict[str, dict[str, Any]]
) -> list[FetchResult]:
    """Delete stored pages whose url is no longer listed; return them as "removed"."""
    folder = root / WEB_FOLDER
    if not folder.is_dir():
        return []
    listed = {s.doc_id for s in sources}
    removed = []
    for path in sorted(folder.glob("*.md")):
        doc_id = f"{WEB_FOLDER}/{path.name}"
        if doc_id in listed:
            continue
        copy = _read_copy(path)
        if copy is None or copy[0].get("source") != WEB_SOURCE_MARK:
            continue  # a file someone put there by hand is not ours to delete
        url = str(copy[0].get("url") or "")
        path.unlink()
        state.pop(url, None)
        removed.append(FetchResult(url, doc_id, "removed"))
    return removed


def fetched_pages(knowledge_dir: Path) -> dict[str, dict[str, Any]]:
    """Return what the last fetches recorded per URL (``fetched_at``, ``error`` ...)."""
    return _load_state(Path(knowledge_dir) / WEB_FOLDER)


def _load_state(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_state(folder: Path, state: dict[str, dict[str, Any]]) -> None:
    if not state and not folder.exists():
        return
    text = json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True)
    atomic_write(folder / STATE_FILE, text.encode("utf-8"))
