"""``/kb report``: the week's questions as an embed, with the chart as its image."""

from __future__ import annotations

import logging
from collections.abc import Callable

import discord

from bot.formatting import EMBED_COLOUR, clip, escape_inline
from bot.i18n import Language, t
from bot.services.report import Report
from index.engine import Engine
from index.store import StoreError

log = logging.getLogger(__name__)

REPORT_DAYS = 7
REPORT_TOP = 5
REPORT_IMAGE = "report.png"


def public_documents(engine: Engine) -> frozenset[str]:
    """Return the ids of the live index's public documents (none without an index)."""
    try:
        documents = engine.documents()
    except StoreError as exc:
        log.info("report without an index names no documents: %s", exc)
        return frozenset()
    return frozenset(d.doc_id for d in documents if d.visibility == "public")


def format_report(
    report: Report,
    language: Language,
    guild_name: Callable[[int | None, Language], str] | None = None,
) -> discord.Embed:
    """Return the week's report as an embed (the chart goes in as its image)."""
    embed = discord.Embed(
        title=t(
            "kb.report.title",
            language,
            since=f"{report.since:%Y-%m-%d}",
            until=f"{report.until:%Y-%m-%d}",
        ),
        colour=EMBED_COLOUR,
    )
    name_of = guild_name or (
        lambda guild_id, _: t("kb.report.direct", language) if guild_id is None else str(guild_id)
    )
    share = "–" if report.answered_share is None else f"{report.answered_share * 100:.0f} %"
    latency = "–" if report.median_latency_ms is None else f"{report.median_latency_ms:.0f} ms"
    embed.add_field(name=t("kb.report.asked", language), value=str(report.asked))
    embed.add_field(
        name=t("kb.report.answered", language),
        value=t("kb.report.answered_value", language, answered=report.answered, share=share),
    )
    embed.add_field(name=t("kb.report.latency", language), value=latency)
    blocks = {
        "kb.report.gaps": [
            f"{g.count}× {escape_inline(clip(g.question, 150))}" for g in report.gaps
        ],
        "kb.report.cited": [
            f"{s.cited}× {escape_inline(clip(s.document, 150))}" for s in report.cited
        ],
        "kb.report.feedback": [
            f"👍 {s.up} 👎 {s.down} {escape_inline(clip(s.document, 150))}" for s in report.feedback
        ],
        "kb.report.guilds": [
            t(
                "kb.report.guild_line",
                language,
                guild=name_of(g.guild_id, language),
                asked=g.asked,
                answered=g.answered,
            )
            for g in report.guilds[:10]
        ],
    }
    none = t("kb.report.none", language)
    for key, lines in blocks.items():
        value = clip("\n".join(lines), 1024) if lines else none
        embed.add_field(name=t(key, language), value=value, inline=False)
    return embed
