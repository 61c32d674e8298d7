"""The period of a report: durations and dates, and nonsense refused (report/periods.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.services.report import parse_since
from tests.bot.services.report.sample import DAY, HOUR, NOW


@pytest.mark.parametrize(
    ("text", "seconds_back"),
    [("30d", 30 * DAY), ("12h", 12 * HOUR), ("2w", 14 * DAY), ("3m", 90 * DAY), ("7", 7 * DAY)],
)
def test_periods(text, seconds_back):
    assert parse_since(text, now=NOW) == NOW - seconds_back


def test_a_period_can_be_a_date_and_nonsense_is_refused():
    assert parse_since("2025-03-01", now=NOW) == datetime(2025, 3, 1).timestamp()
    with pytest.raises(ValueError, match="expected a duration"):
        parse_since("förra veckan", now=NOW)


def test_a_refused_period_is_said_in_either_language():
    from bot.services.report.periods import PeriodError

    with pytest.raises(PeriodError) as caught:
        parse_since("förra veckan", now=NOW)
    assert "ange en tid som 30d" in caught.value.say("sv")
    assert "expected a duration" in caught.value.say("en") == str(caught.value)
    with pytest.raises(PeriodError) as early:
        parse_since("1999-12-31", now=NOW)
    assert "mellan 2000-01-01 och nu" in early.value.say("sv")
