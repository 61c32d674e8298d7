"""The knowledge folder's lock: one change at a time, and readers that see only whole changes.

Every writer of the knowledge folder holds it exclusively for one change (the bot's
``/kb`` add, remove and restore, the command line's ``kb`` commands); a reindex holds it
shared while it reads the folder's files and visibility lists (not while it embeds), so a
document's bytes and its recorded visibility are always read from the same moment.

It is an advisory ``flock`` on the folder itself (opened read-only, so it works on a
folder the process may only read, and leaves no file behind), so it holds between
processes and between the threads of one process alike: each holder opens the folder
itself, and ``flock`` belongs to the open file. Unlike the index lock
(:func:`index.store.index_lock`), which belongs to one index folder and refuses at once,
it waits: at most :data:`WAIT_SECONDS`, then FolderBusyError.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

WAIT_SECONDS = 120.0
"""How long a writer or reader waits for the lock before giving up."""
_POLL_SECONDS = 0.05

_held = threading.local()  # this thread's locks: real path of the folder -> "shared" | "exclusive"


class FolderBusyError(Exception):
    """The knowledge folder's lock was not free in time; str() is one line naming the folder."""

    def __init__(self, folder: Path, seconds: float) -> None:
        super().__init__(
            f"the knowledge folder {folder} stayed busy for {seconds:g} s"
            " (another change, or a reindex reading it); try again"
        )
        self.folder = folder
        self.seconds = seconds


@contextlib.contextmanager
def folder_lock(folder: Path, *, shared: bool = False, wait: float | None = None) -> Iterator[None]:
    """Hold the knowledge folder's lock (``shared`` for readers) for the with-block.

    Waits at most ``wait`` seconds (None: :data:`WAIT_SECONDS`) and raises FolderBusyError
    past that. A thread that holds the lock may take it again (nested, the same or a
    weaker kind). A writer creates a missing folder; a reader of a missing one holds
    nothing and finds out, in its own words, when it reads.
    """
    folder = Path(folder)
    if shared and not folder.is_dir():
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(folder)
    held: dict[str, str] = _held.__dict__.setdefault("locks", {})
    kind = "shared" if shared else "exclusive"
    if held.get(key) == "exclusive" or held.get(key) == kind:
        yield
        return
    if key in held:
        raise RuntimeError("the knowledge folder's lock is held shared; it cannot become exclusive")
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _acquire(fd, folder, shared=shared, wait=WAIT_SECONDS if wait is None else wait)
        held[key] = kind
        try:
            yield
        finally:
            del held[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, folder: Path, *, shared: bool, wait: float) -> None:
    """Take the lock on ``fd``, polling until ``wait`` seconds have passed."""
    operation = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, operation)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            raise FolderBusyError(folder, wait)
        time.sleep(_POLL_SECONDS)
