"""Fetching the listed pages: conditional requests, the main text, the stored copies.

Fetching downloads each page (aiohttp, so it never blocks the event loop; the CLI runs
it with ``asyncio.run``) through the URL policy (bot/services/web/policy.py), extracts the
main text with trafilatura on a worker thread (navigation, cookie banners, footers and
sidebars are left out) and stores it as Markdown (bot/services/web/store.py).

- Requests are conditional: the ETag and Last-Modified of the last good copy are sent
  back; a 304 costs nothing.
- Timeouts and a size limit apply; only HTML is accepted. A failed fetch keeps the last
  good copy and is reported.
- A page removed from the list has its stored copy removed at the next fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp

from bot.services.knowledge import WEB_FOLDER
from bot.services.web.policy import (
    PublicOnlyConnector,
    RefusedAddressError,
    UnsafeURLError,
    check_url,
)
from bot.services.web.sources_file import WebSource, load_sources
from bot.services.web.store import (
    Outcome,
    fetched_copy,
    load_state,
    restamp,
    save_state,
    store_page,
)
from index.documents import MAIN_TEXT_OPTIONS, Visibility

log = logging.getLogger(__name__)

USER_AGENT = "Natverksboten/0.1 (knowledge base of the municipal network; +sources.yaml)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


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
    state = load_state(folder)
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
    await asyncio.to_thread(save_state, folder, state)
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
            outcome = await asyncio.to_thread(restamp, path, source)
            entry = {**previous, "checked_at": now.isoformat(timespec="seconds")}
            entry.pop("error", None)
            state[source.url] = entry
            return FetchResult(source.url, source.doc_id, outcome)
        body, validators = page
        text, found_title = await asyncio.to_thread(_extract, body, source.url)
        outcome = await asyncio.to_thread(store_page, path, source, text, found_title, now)
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
        copy = fetched_copy(path)
        if copy is None:
            continue  # a file someone put there by hand is not ours to delete
        url = str(copy[0].get("url") or "")
        path.unlink()
        state.pop(url, None)
        removed.append(FetchResult(url, doc_id, "removed"))
    return removed
