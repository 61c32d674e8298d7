"""What monitoring watches: the bot's heartbeat, ``natverksbot health``, systemd's socket.

The running bot writes a small heartbeat file in the state folder from its event loop every
``health.heartbeat_seconds`` (:func:`write_heartbeat`: the time, whether it is connected to
Discord, the gateway latency, how late the loop woke up). ``natverksbot health`` judges it
with :func:`check_heartbeat`, and checks that the index loads (:func:`check_index`) and that
the question record takes a write (:func:`check_record`): one line per check, exit 0 or 1.

Under systemd (``Type=notify``) the bot tells the service manager it is ready and pings its
watchdog (:class:`SystemdNotifier`, the ``sd_notify`` protocol: datagrams on the AF_UNIX
socket named by ``$NOTIFY_SOCKET``). The ping comes from the event loop whether or not
Discord is reachable: an outage must not make systemd restart the bot over and over, so
connectivity is for ``health`` to report, and the watchdog only says the loop runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services.records import DATABASE_NAME

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

HEARTBEAT_FILE = "heartbeat.json"
"""The running bot's heartbeat, in the state folder."""


@dataclass(frozen=True)
class Heartbeat:
    """One beat of the running bot, as written to the heartbeat file."""

    time: float
    """Seconds since the epoch when it was written."""
    pid: int
    connected: bool
    """Whether the bot was connected to Discord's gateway (and ready)."""
    latency_ms: float | None
    """The gateway's heartbeat latency, None when unknown (not connected)."""
    loop_lag_ms: float
    """How much later than asked the event loop woke up to write this beat."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one health check: its name, whether it passed, and its line's text."""

    name: str
    ok: bool
    detail: str


def heartbeat_path(state_dir: Path) -> Path:
    """Return where the running bot writes its heartbeat."""
    return Path(state_dir) / HEARTBEAT_FILE


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Write ``beat`` to ``path`` atomically (a temporary file renamed over it).

    Not fsynced: a beat lost in a crash is only an old beat, which is what health reports.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(beat), handle)
    os.replace(tmp, path)


def read_heartbeat(path: Path) -> Heartbeat:
    """Return the heartbeat in ``path``; raise OSError or ValueError when it cannot be read."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    latency = data.get("latency_ms")
    return Heartbeat(
        time=float(data["time"]),
        pid=int(data["pid"]),
        connected=bool(data["connected"]),
        latency_ms=None if latency is None else float(latency),
        loop_lag_ms=float(data.get("loop_lag_ms", 0.0)),
    )


def make_heartbeat(connected: bool, latency: float, loop_lag: float) -> Heartbeat:
    """Return a beat of this process now; ``latency`` and ``loop_lag`` in seconds."""
    known = connected and math.isfinite(latency)
    return Heartbeat(
        time=time.time(),
        pid=os.getpid(),
        connected=connected,
        latency_ms=round(latency * 1000, 1) if known else None,
        loop_lag_ms=round(max(loop_lag, 0.0) * 1000, 1),
    )


def check_heartbeat(
    state_dir: Path, max_age: float, language: str, *, now: float | None = None
) -> CheckResult:
    """Return whether the running bot's heartbeat is fresh and says it is connected."""
    from bot.locales import t

    path = heartbeat_path(state_dir)
    try:
        beat = read_heartbeat(path)
    except FileNotFoundError:
        return CheckResult("heartbeat", False, t("health.heartbeat.missing", language, path=path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return CheckResult(
            "heartbeat", False, t("health.heartbeat.unreadable", language, path=path, reason=reason)
        )
    age = max(0.0, (time.time() if now is None else now) - beat.time)
    if age > max_age:
        return CheckResult(
            "heartbeat",
            False,
            t("health.heartbeat.stale", language, age=round(age), max_age=round(max_age)),
        )
    if not beat.connected:
        return CheckResult(
            "heartbeat", False, t("health.heartbeat.disconnected", language, age=round(age))
        )
    latency = "?" if beat.latency_ms is None else f"{beat.latency_ms:.0f}"
    return CheckResult(
        "heartbeat",
        True,
        t("health.heartbeat.fresh", language, age=round(age), latency=latency),
    )


def check_index(index_dir: Path, language: str) -> CheckResult:
    """Return whether the live index loads (its manifest, files and checksums)."""
    from bot.locales import t
    from index.store import StoreError, load_index

    try:
        index = load_index(index_dir)
    except (StoreError, OSError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return CheckResult("index", False, t("health.index.failed", language, reason=reason))
    try:
        detail = t("health.index.ok", language, build=index.folder.name, n=index.size)
    finally:
        index.close()
    return CheckResult("index", True, detail)


def check_record(state_dir: Path, language: str, *, timeout: float = 5.0) -> CheckResult:
    """Return whether the question record can be written (a write transaction, rolled back).

    The database must exist (the bot makes it when it first starts); nothing is created or
    changed. A write held by the bot for longer than ``timeout`` seconds fails the check.
    """
    from bot.locales import t

    path = Path(state_dir) / DATABASE_NAME
    if not path.exists():
        return CheckResult("record", False, t("health.record.missing", language, path=path))
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        return CheckResult(
            "record", False, t("health.record.failed", language, path=path, reason=exc)
        )
    try:
        with contextlib.closing(db):
            db.isolation_level = None
            db.execute("BEGIN IMMEDIATE")  # takes the write lock: the file, journal and folder
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return CheckResult(
            "record", False, t("health.record.failed", language, path=path, reason=exc)
        )
    return CheckResult("record", True, t("health.record.ok", language, path=path))


class SystemdNotifier:
    """``sd_notify`` without libsystemd: datagrams to ``$NOTIFY_SOCKET`` (none: a no-op).

    ``READY=1`` once the bot has started, ``WATCHDOG=1`` from its event loop, ``STATUS=``
    lines, ``EXTEND_TIMEOUT_USEC=`` while a first index is built, ``STOPPING=1``. A failed
    send is logged, never raised: the bot does not stop for its supervisor.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        if address is not None and address.startswith("@"):
            address = "\0" + address[1:]  # the abstract namespace
        self.address = address
        self._watchdog_usec = env.get("WATCHDOG_USEC")
        self._watchdog_pid = env.get("WATCHDOG_PID")

    @property
    def enabled(self) -> bool:
        """Return whether a service manager listens."""
        return self.address is not None

    def watchdog_seconds(self) -> float | None:
        """Return systemd's watchdog timeout for this process in seconds, or None if off."""
        if self._watchdog_pid and self._watchdog_pid != str(os.getpid()):
            return None
        try:
            usec = int(self._watchdog_usec or 0)
        except ValueError:
            return None
        return usec / 1_000_000 if usec > 0 else None

    def notify(self, *fields: str) -> bool:
        """Send ``fields`` (``"READY=1"``, ...) as one message; return whether it was sent."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(fields).encode("utf-8"), self.address)
        except OSError as exc:
            log.warning("could not notify the service manager: %s", exc)
            return False
        return True


def run_checks(config: Config, language: str, *, max_age: float | None = None) -> list[CheckResult]:
    """Return the checks of ``natverksbot health``: index, record, heartbeat, in that order.

    ``max_age`` (seconds) overrides ``health.max_age_seconds``.
    """
    limit = config.health.max_age_seconds if max_age is None else max_age
    return [
        check_index(config.index_path, language),
        check_record(config.state_dir, language),
        check_heartbeat(config.state_dir, limit, language),
    ]
