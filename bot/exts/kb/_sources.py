"""``/kb source list``: the pages of sources.yaml, each with its visibility and last fetch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord

from bot.formatting import EMBED_COLOUR, clip, escape_inline
from bot.i18n import Language, t
from bot.services.web import WebSource


def source_line(page: WebSource, fetched: dict[str, Any], language: Language) -> str:
    """Return one listed page: its address and title, then visibility · when last fetched."""
    when = fetched.get("fetched_at")
    if fetched.get("error"):
        status = t("kb.source.list.error", language)
    elif when:
        moment = datetime.fromisoformat(str(when))
        status = t("kb.source.list.fetched", language, when=discord.utils.format_dt(moment, "R"))
    else:
        status = t("kb.source.list.never", language)
    title = f" {escape_inline(clip(page.title, 100))}" if page.title else ""
    return (
        f"<{clip(page.url, 300)}>{title}\n{t(f'visibility.{page.visibility}', language)} · {status}"
    )


def sources_embed(
    sources: list[WebSource], fetched: dict[str, dict[str, Any]], language: Language
) -> discord.Embed:
    """Return the listed pages as one embed."""
    lines = [source_line(page, fetched.get(page.url, {}), language) for page in sources]
    return discord.Embed(
        title=t("kb.source.list.title", language, count=len(sources)),
        description=clip("\n".join(lines), 4096),
        colour=EMBED_COLOUR,
    )
