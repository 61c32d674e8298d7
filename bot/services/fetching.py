"""Fetching the web sources with the configured settings, and logging what the fetch changed.

``natverksbot fetch-sources``, ``/kb fetch``, ``/kb source add`` and the periodic sync all
fetch through :func:`fetch_and_log`, so they fetch alike and log alike.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

from bot.config import Config
from bot.services.changes import fetch_changes
from bot.services.records import ChangeRecord
from bot.services.web import FetchReport, fetch_sources

log = logging.getLogger(__name__)

ChangeLogger = Callable[[list[ChangeRecord]], Awaitable[object]]
"""Writes change-log entries: the bot's records thread, or the command line's own store."""


async def fetch_web_sources(
    config: Config, *, only_urls: Collection[str] | None = None
) -> FetchReport:
    """Fetch the web pages of sources.yaml (or just ``only_urls``); raise SourcesError."""
    return await fetch_sources(
        config.knowledge_dir,
        default_visibility=config.default_visibility,
        timeout=config.sources.timeout_seconds,
        max_bytes=int(config.sources.max_mb * 1_000_000),
        concurrency=config.sources.concurrency,
        allowed_hosts=config.sources.allowed_hosts,
        only_urls=only_urls,
    )


async def fetch_and_log(
    config: Config,
    log_changes: ChangeLogger,
    *,
    via: str,
    user_id: int | None = None,
    only_urls: Collection[str] | None = None,
) -> FetchReport:
    """Fetch the web sources, log the pages added, updated or removed; return the report.

    ``via`` and ``user_id`` say who fetched (the user id is hashed by the record store).
    Raises SourcesError when sources.yaml is broken: then nothing is fetched or logged.
    """
    report = await fetch_web_sources(config, only_urls=only_urls)
    changes = fetch_changes(report, via, user_id)
    if changes:
        await log_changes(changes)
        for change in changes:
            log.info("knowledge base: %s %s (via %s)", change.action, change.document, via)
    return report
