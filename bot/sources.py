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
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import yaml

from bot.knowledge import WEB_FOLDER, WEB_SOURCE_MARK, atomic_write
from index.documents import DocumentError, Visibility, decode_text, split_front_matter

log = logging.getLogger(__name__)

SOURCES_FILE = "sources.yaml"
STATE_FILE = ".fetch-state.json"
USER_AGENT = "Natverksboten/0.1 (knowledge base of the municipal network; +sources.yaml)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SLUG_CHARS = 60

Outcome = Literal["added", "updated", "unchanged", "failed", "removed"]


class SourcesError(Exception):
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
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SourcesError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if isinstance(data, dict):
        data = data.get("sources")
    if data is None:
        return []
    if not isinstance(data, list):
        raise SourcesError(f"{path}: expected a list of pages under 'sources:'")
    sources: list[WebSource] = []
    seen: set[str] = set()
    for number, entry in enumerate(data, 1):
        where = f"{path}: entry {number}"
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict):
            raise SourcesError(f"{where}: expected 'url:', 'visibility:' and 'title:' keys")
        unknown = set(entry) - {"url", "visibility", "title"}
        if unknown:
            raise SourcesError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        url = str(entry.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourcesError(f"{where}: url must be an http(s) address, not {url!r}")
        visibility = str(entry.get("visibility") or default_visibility).strip().lower()
        if visibility not in ("public", "internal"):
            raise SourcesError(
                f"{where}: visibility must be public or internal, not {visibility!r}"
            )
        title = entry.get("title")
        if title is not None and not isinstance(title, str | int | float):
            raise SourcesError(f"{where}: title must be text")
        if url in seen:
            raise SourcesError(f"{where}: {url} is listed twice")
        seen.add(url)
        shown_title = " ".join(str(title).split()) if title is not None else ""
        sources.append(WebSource(url, visibility, shown_title or None))  # type: ignore[arg-type]
    return sources


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
) -> FetchReport:
    """Fetch every listed page and store its main text; return what happened to each.

    Raises SourcesError when sources.yaml itself is broken (nothing is fetched or removed).
    """
    started = time.perf_counter()
    root = Path(knowledge_dir)
    if sources is None:
        sources = load_sources(root, default_visibility)
    folder = root / WEB_FOLDER
    state = _load_state(folder)
    report = FetchReport()
    semaphore = asyncio.Semaphore(concurrency)
    client_timeout = aiohttp.ClientTimeout(
        total=timeout, connect=min(timeout, 10.0), sock_read=timeout
    )
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml;q=0.9"}
    async with aiohttp.ClientSession(timeout=client_timeout, headers=headers) as session:

        async def one(source: WebSource) -> FetchResult:
            async with semaphore:
                return await _fetch_one(session, root, source, state, max_bytes)

        report.results = list(await asyncio.gather(*(one(s) for s in sources)))
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
        page = await _download(session, source.url, headers, max_bytes)
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
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], max_bytes: int
) -> tuple[bytes | str, dict[str, str]] | None:
    """Return (body, validators) of an HTML page, or None for 304; raise _FetchError.

    The body is text when the server named its charset, else bytes.
    """
    try:
        async with session.get(url, headers=headers, max_redirects=5) as response:
            if response.status == 304:
                return None
            if response.status != 200:
                raise _FetchError(f"HTTP {response.status} {response.reason or ''}".strip())
            if urlsplit(str(response.url)).scheme not in ("http", "https"):
                raise _FetchError(f"redirected to a non-web address: {response.url}")
            content_type = (response.content_type or "").lower()
            if content_type not in HTML_TYPES:
                raise _FetchError(f"not an HTML page ({content_type or 'no content type'})")
            if response.content_length is not None and response.content_length > max_bytes:
                raise _FetchError(
                    f"the page is {response.content_length} bytes, over the limit of"
                    f" {max_bytes} bytes"
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
            charset = response.charset
    except _FetchError:
        raise
    except TimeoutError as exc:
        raise _FetchError("timed out") from exc
    except aiohttp.TooManyRedirects as exc:
        raise _FetchError("too many redirects") from exc
    except aiohttp.ClientError as exc:
        raise _FetchError(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from exc
    body: bytes | str = b"".join(chunks)
    if charset:
        # The server said how the page is encoded; without that, trafilatura detects it.
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            body = body.decode(charset)  # type: ignore[union-attr]
    return body, validators


def _extract(body: bytes | str, url: str) -> tuple[str, str | None]:
    """Return (the page's main text as Markdown, its title); raise _FetchError if none."""
    import trafilatura

    try:
        text = trafilatura.extract(
            body,
            url=url,
            output_format="markdown",
            include_comments=False,
            include_tables=True,
            include_links=False,
            include_images=False,
            favor_precision=True,
        )
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
