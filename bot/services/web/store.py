"""Fetched pages on disk: each page's Markdown copy under ``knowledge/web/``, and the fetch state.

A copy's front matter holds the ``url``, the ``fetched_at`` time, the title and the
visibility, so answers link to the page. A copy is rewritten only when its text, title
or visibility changed, so an unchanged page never makes the index do any work. The ETag
and Last-Modified of the last good copy, and what each fetch found, are kept in
``web/.fetch-state.json`` (hidden, never indexed).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from bot.services.knowledge import WEB_FOLDER, WEB_SOURCE_MARK, atomic_write
from index.documents import DocumentError, decode_text, split_front_matter

if TYPE_CHECKING:
    from bot.services.web.sources_file import WebSource

STATE_FILE = ".fetch-state.json"

Outcome = Literal["added", "updated", "unchanged", "failed", "removed"]


def store_page(
    path: Path, source: WebSource, text: str, found_title: str | None, now: datetime
) -> Outcome:
    """Write the page's copy unless its text, title and visibility are what is stored."""
    title = source.title or found_title or source.url
    old = read_copy(path) if path.exists() else None
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


def restamp(path: Path, source: WebSource) -> Outcome:
    """After a 304: rewrite the copy only when sources.yaml changed its title or visibility."""
    old = read_copy(path)
    if old is None:
        return "unchanged"
    meta, body = old
    title = source.title or meta.get("title") or source.url
    if meta.get("title") == title and meta.get("visibility") == source.visibility:
        return "unchanged"
    fetched_at = str(meta.get("fetched_at") or "")
    atomic_write(path, _render(_front(source, title, fetched_at), body))
    return "updated"


def read_copy(path: Path) -> tuple[dict[str, Any], str] | None:
    """Return a stored copy's front matter and body, or None if it cannot be read."""
    try:
        return split_front_matter(decode_text(path.read_bytes()))
    except (OSError, DocumentError):
        return None


def fetched_copy(path: Path) -> tuple[dict[str, Any], str] | None:
    """Return the copy at ``path`` if a fetch wrote it (its front matter says so), else None.

    A file someone put under web/ by hand is not the fetch's to rewrite or delete.
    """
    copy = read_copy(path) if path.is_file() else None
    return copy if copy is not None and copy[0].get("source") == WEB_SOURCE_MARK else None


def forget_page(root: Path, source: WebSource) -> None:
    """Delete a page's stored copy (only one a fetch wrote) and what its fetches recorded."""
    copy = root / source.doc_id
    if fetched_copy(copy) is not None:
        copy.unlink()
    folder = root / WEB_FOLDER
    state = load_state(folder)
    if state.pop(source.url, None) is not None:
        save_state(folder, state)


def fetched_pages(knowledge_dir: Path) -> dict[str, dict[str, Any]]:
    """Return what the last fetches recorded per URL (``fetched_at``, ``error`` ...)."""
    return load_state(Path(knowledge_dir) / WEB_FOLDER)


def load_state(folder: Path) -> dict[str, dict[str, Any]]:
    """Return the fetch state kept in ``folder`` (URL -> what was recorded); {} without one."""
    try:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(folder: Path, state: dict[str, dict[str, Any]]) -> None:
    """Write the fetch state into ``folder`` atomically (nothing for an empty, new one)."""
    if not state and not folder.exists():
        return
    text = json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True)
    atomic_write(folder / STATE_FILE, text.encode("utf-8"))


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
