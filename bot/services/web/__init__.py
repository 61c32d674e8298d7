"""Web pages as sources: ``knowledge/sources.yaml`` -> Markdown files under ``knowledge/web/``.

By job:

- ``policy``: the URL policy (public addresses only, IPv4 inside IPv6 unwrapped) and the
  resolver and connector that hold every connection to it;
- ``sources_file``: sources.yaml read, checked and edited keeping its comments;
- ``fetch``: fetching the listed pages (conditional requests, main text, redirects);
- ``store``: the pages' Markdown copies and the fetch state on disk.

What bot/exts, bot/cli and the other services use is re-exported here.
"""

from bot.services.web.fetch import (
    HTML_TYPES,
    MAX_REDIRECTS,
    USER_AGENT,
    FetchReport,
    FetchResult,
    fetch_sources,
)
from bot.services.web.policy import (
    UnsafeURLError,
    check_address,
    check_url,
    check_url_resolves,
)
from bot.services.web.sources_file import (
    SOURCES_FILE,
    SourcesError,
    WebSource,
    add_source,
    load_sources,
    page_file_name,
    parse_sources,
    remove_source,
)
from bot.services.web.store import STATE_FILE, Outcome, fetched_pages

__all__ = [
    "HTML_TYPES",
    "MAX_REDIRECTS",
    "SOURCES_FILE",
    "STATE_FILE",
    "USER_AGENT",
    "FetchReport",
    "FetchResult",
    "Outcome",
    "SourcesError",
    "UnsafeURLError",
    "WebSource",
    "add_source",
    "check_address",
    "check_url",
    "check_url_resolves",
    "fetch_sources",
    "fetched_pages",
    "load_sources",
    "page_file_name",
    "parse_sources",
    "remove_source",
]
