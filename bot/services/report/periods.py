"""The period a report covers: "30d", "12h", "2w", "3m" or a date, as a unix start time."""

from __future__ import annotations

import re
import time
from datetime import datetime

from bot.services.errors import ExplainedError

DAY_SECONDS = 86_400
EARLIEST_SINCE = 946_684_800.0  # 2000-01-01 UTC

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdwm]?)\s*$", re.IGNORECASE)
_UNITS = {"h": 3600, "d": DAY_SECONDS, "w": 7 * DAY_SECONDS, "m": 30 * DAY_SECONDS, "": DAY_SECONDS}


class PeriodError(ExplainedError, ValueError):
    """A period that cannot be read, or that starts before 2000 or after now."""


def parse_since(text: str, now: float | None = None) -> float:
    """Return the start of a period as unix time: "30d", "12h", "2w", "3m" or "2025-01-31".

    Raises PeriodError (a ValueError) for anything else.
    """
    now = time.time() if now is None else now
    match = _DURATION.match(text or "")
    try:
        if match:
            since = now - float(match.group(1)) * _UNITS[match.group(2).lower()]
        else:
            since = datetime.fromisoformat(text.strip()).timestamp()
    except (ValueError, OverflowError, OSError):
        raise PeriodError("report.err.period", value=repr(text)) from None
    # The record began in this century: an earlier start is a typo, and days before the
    # epoch (or beyond the calendar) cannot be counted.
    if not EARLIEST_SINCE <= since <= now:
        raise PeriodError("report.err.period_range", value=repr(text))
    return since
