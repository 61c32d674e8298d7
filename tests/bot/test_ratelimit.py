"""Sliding-window rate limits per user and per guild."""

from __future__ import annotations

import pytest

from bot.ratelimit import RateLimitedError, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_seventh_question_within_a_minute_waits_for_the_first_to_expire(clock):
    limiter = RateLimiter(6, 100, clock=clock)
    for i in range(6):
        clock.now = 1000.0 + i * 5
        limiter.acquire(1, 9)
    clock.now = 1030.0
    with pytest.raises(RateLimitedError) as info:
        limiter.acquire(1, 9)
    assert info.value.scope == "user"
    assert info.value.retry_after == pytest.approx(30.0)
    assert info.value.seconds == 30
    clock.now = 1060.0  # the first question is now a minute old
    limiter.acquire(1, 9)


def test_a_refused_question_does_not_count(clock):
    limiter = RateLimiter(1, 100, clock=clock)
    limiter.acquire(1, None)
    for _ in range(10):
        clock.now += 5
        with pytest.raises(RateLimitedError):
            limiter.acquire(1, None)
    clock.now = 1060.0
    limiter.acquire(1, None)


def test_users_are_limited_separately_and_the_guild_as_a_whole(clock):
    limiter = RateLimiter(2, 3, clock=clock)
    limiter.acquire(1, 7)
    limiter.acquire(1, 7)
    limiter.acquire(2, 7)
    with pytest.raises(RateLimitedError) as info:
        limiter.acquire(3, 7)
    assert info.value.scope == "guild"
    limiter.acquire(3, 8)  # another guild
    limiter.acquire(3, None)  # a direct message counts for the user only


@pytest.mark.parametrize(("retry_after", "seconds"), [(0.01, 1), (1.0, 1), (1.2, 2), (59.9, 60)])
def test_the_wait_is_rounded_up_to_whole_seconds(retry_after, seconds):
    assert RateLimitedError("user", retry_after).seconds == seconds


def test_idle_users_are_forgotten(clock):
    limiter = RateLimiter(1, 10**6, clock=clock)
    for user in range(5000):
        limiter.acquire(user, None)
    clock.now += 120
    limiter.acquire(10**9, None)
    assert len(limiter._users) == 1
