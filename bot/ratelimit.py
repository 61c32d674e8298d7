"""Sliding-window rate limits on questions: per user and per guild, per minute."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

WINDOW_SECONDS = 60.0

Scope = Literal["user", "guild"]


class RateLimitedError(Exception):
    """A question over the rate limit; ``retry_after`` says how long to wait (seconds)."""

    def __init__(self, scope: Scope, retry_after: float) -> None:
        super().__init__(f"rate limited per {scope}: retry after {retry_after:.1f} s")
        self.scope = scope
        self.retry_after = retry_after

    @property
    def seconds(self) -> int:
        """Return the wait as whole seconds, at least 1."""
        return max(1, math.ceil(self.retry_after))


class RateLimiter:
    """Allows ``per_user`` questions per user and ``per_guild`` per guild in any minute."""

    def __init__(
        self,
        per_user: int,
        per_guild: int,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_guild = per_guild
        self.window = window
        self._clock = clock
        self._users: dict[int, deque[float]] = {}
        self._guilds: dict[int, deque[float]] = {}

    def _wait(self, hits: deque[float] | None, limit: int, now: float) -> float:
        """Return seconds until ``hits`` has room for one more (0 when it has room now)."""
        if hits is None:
            return 0.0
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < limit:
            return 0.0
        return hits[len(hits) - limit] + self.window - now

    def acquire(self, user_id: int, guild_id: int | None) -> None:
        """Count one question, or raise RateLimitedError (and count nothing) when over a limit."""
        now = self._clock()
        wait = self._wait(self._users.get(user_id), self.per_user, now)
        if wait > 0:
            raise RateLimitedError("user", wait)
        if guild_id is not None:
            wait = self._wait(self._guilds.get(guild_id), self.per_guild, now)
            if wait > 0:
                raise RateLimitedError("guild", wait)
            self._guilds.setdefault(guild_id, deque()).append(now)
        self._users.setdefault(user_id, deque()).append(now)
        self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        """Drop users and guilds with no question in the window, so memory stays bounded."""
        if len(self._users) + len(self._guilds) < 4096:
            return
        for table in (self._users, self._guilds):
            for key in [
                k for k, hits in table.items() if not hits or hits[-1] <= now - self.window
            ]:
                del table[key]
