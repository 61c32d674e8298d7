"""Sliding-window rate limits on questions: per user, per guild and overall, per minute.

Someone over a limit is told once (``RateLimitedError.notify``) and then not again until
the limit lets them ask, so a flood of questions gets one notice, not one per message.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

WINDOW_SECONDS = 60.0

Scope = Literal["user", "guild", "global"]
UNLIMITED = 10**9


class RateLimitedError(Exception):
    """A question over the rate limit; ``retry_after`` says how long to wait (seconds).

    ``notify`` is True for the first refusal of a user in a window only: later ones are
    meant to be ignored silently.
    """

    def __init__(self, scope: Scope, retry_after: float, *, notify: bool = True) -> None:
        super().__init__(f"rate limited per {scope}: retry after {retry_after:.1f} s")
        self.scope = scope
        self.retry_after = retry_after
        self.notify = notify

    @property
    def seconds(self) -> int:
        """Return the wait as whole seconds, at least 1."""
        return max(1, math.ceil(self.retry_after))


class RateLimiter:
    """Allows questions per user, per guild and in all (guilds and DMs together) per minute."""

    def __init__(
        self,
        per_user: int,
        per_guild: int,
        per_global: int = UNLIMITED,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_guild = per_guild
        self.per_global = per_global
        self.window = window
        self._clock = clock
        self._users: dict[int, deque[float]] = {}
        self._guilds: dict[int, deque[float]] = {}
        self._all: deque[float] = deque()
        self._told: dict[int, float] = {}  # user -> until when they have been told

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
            raise self._refuse("user", wait, user_id, now)
        if guild_id is not None:
            wait = self._wait(self._guilds.get(guild_id), self.per_guild, now)
            if wait > 0:
                raise self._refuse("guild", wait, user_id, now)
        wait = self._wait(self._all, self.per_global, now)
        if wait > 0:
            raise self._refuse("global", wait, user_id, now)
        if guild_id is not None:
            self._guilds.setdefault(guild_id, deque()).append(now)
        self._users.setdefault(user_id, deque()).append(now)
        self._all.append(now)
        self._told.pop(user_id, None)
        self._forget_idle(now)

    def _refuse(self, scope: Scope, wait: float, user_id: int, now: float) -> RateLimitedError:
        """Return the refusal; it asks to notify only the first time in the user's window."""
        told_until = self._told.get(user_id)
        first = told_until is None or now >= told_until
        if first:
            self._told[user_id] = now + max(wait, 1.0)
        return RateLimitedError(scope, wait, notify=first)

    def _forget_idle(self, now: float) -> None:
        """Drop users and guilds with no question in the window, so memory stays bounded."""
        if len(self._users) + len(self._guilds) < 4096:
            return
        self._told = {k: until for k, until in self._told.items() if until > now}
        for table in (self._users, self._guilds):
            for key in [
                k for k, hits in table.items() if not hits or hits[-1] <= now - self.window
            ]:
                del table[key]
