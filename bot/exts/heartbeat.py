"""The running bot's heartbeat: a file for ``natverksbot health`` and systemd's watchdog ping.

Every ``health.heartbeat_seconds`` (and at least twice per systemd watchdog period) a task
on the event loop writes ``<state_dir>/heartbeat.json`` (bot/services/health.py) and sends
``WATCHDOG=1``. Both come from the loop itself, so they stop when it is stuck; the ping is
sent whether or not Discord is connected (an outage is for ``health`` to report, not a
reason for systemd to restart the bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from discord.ext import commands

from bot.client import NatverksBot
from bot.services.health import (
    Heartbeat,
    SystemdNotifier,
    heartbeat_path,
    make_heartbeat,
    write_heartbeat,
)

log = logging.getLogger(__name__)


class HeartbeatCog(commands.Cog):
    """Writes the heartbeat file and pings the watchdog from the event loop."""

    def __init__(self, bot: NatverksBot, notifier: SystemdNotifier | None = None) -> None:
        self.bot = bot
        self.notifier = notifier or SystemdNotifier()
        self.path = heartbeat_path(bot.config.state_dir)
        interval = bot.config.health.heartbeat_seconds
        watchdog = self.notifier.watchdog_seconds()
        self.interval = min(interval, watchdog / 2) if watchdog else interval
        self._task: asyncio.Task[None] | None = None
        self._write_failed = False

    async def cog_load(self) -> None:
        """Start beating."""
        self._task = asyncio.create_task(self._beat(), name="heartbeat")

    async def cog_unload(self) -> None:
        """Stop beating (the file stays, and grows old, as health should see it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def connected(self) -> bool:
        """Return whether the bot is connected to Discord's gateway and ready."""
        ws = getattr(self.bot, "ws", None)
        return (
            self.bot.is_ready()
            and not self.bot.is_closed()
            and ws is not None
            and bool(getattr(ws, "open", False))
        )

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            lag = loop.time() - due
            connected = self.connected()
            latency = self.bot.latency if connected else math.nan
            self._write(make_heartbeat(connected, latency, lag))
            self.notifier.notify("WATCHDOG=1")
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)

    def _write(self, beat: Heartbeat) -> None:
        try:
            write_heartbeat(self.path, beat)
        except OSError as exc:
            if not self._write_failed:  # once, not every few seconds
                log.warning("could not write the heartbeat %s: %s", self.path, exc)
            self._write_failed = True
        else:
            self._write_failed = False


async def setup(bot: NatverksBot) -> None:
    """Load the heartbeat."""
    await bot.add_cog(HeartbeatCog(bot))
