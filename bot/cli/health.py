"""The ``health`` command: one line per check, exit 0 when all pass, else 1 (for monitoring)."""

from __future__ import annotations

import argparse

from bot.cli._common import EXIT_ERROR, _, language
from bot.config import Config
from bot.services.health import run_checks


def cmd_health(args: argparse.Namespace, config: Config) -> int:
    """Check the index, the question record and the running bot's heartbeat."""
    results = run_checks(config, language(), max_age=args.max_age)
    for result in results:
        status = _("health.status.ok" if result.ok else "health.status.fail")
        print(
            _(
                "health.line",
                status=status,
                name=_(f"health.name.{result.name}"),
                detail=result.detail,
            )
        )
    return 0 if all(r.ok for r in results) else EXIT_ERROR
