"""The knowledge folder's lock: a replaced file is never briefly public, and no write is lost.

Every writer holds :func:`index.folder_lock.folder_lock` for a whole change and a reindex
holds it (shared) while it reads the folder; the lock waits, across threads and processes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import index.documents._reading
import index.folder_lock
from bot.services import knowledge
from bot.services.indexing import reindex_unless_locked
from bot.services.knowledge import (
    KnowledgeError,
    restore_document,
    store_document,
    trash_document,
)
from index.documents import IsolatedReader, read_document, read_visibility_list
from index.folder_lock import FolderBusyError, folder_lock
from index.store import load_index
from tests.index.builds import build, make_engine

ROOT = Path(__file__).parents[3]
OLD = "Gammal intern plan\n\nBudgeten och kodordet Blåklocka.\n".encode()
NEW = "Ny offentlig plan\n\nTiderna för sommarskolan.\n".encode()


class CrashError(Exception):
    """What a crash between two writes looks like to the code after it."""


def _crash_when_writing(monkeypatch, target: Path) -> None:
    """Make the write of the document ``target`` itself fail, as a kill at that point would."""
    real = knowledge.atomic_write

    def write(path, data):
        if Path(path) == target:
            raise CrashError(target)
        real(path, data)

    monkeypatch.setattr(knowledge, "atomic_write", write)


def test_a_crash_before_the_new_bytes_leaves_the_old_file_internal(tmp_path, monkeypatch):
    root = tmp_path / "knowledge"
    store_document(root, "plan.txt", OLD, "internal", replace=False)
    _crash_when_writing(monkeypatch, root / "plan.txt")
    with pytest.raises(CrashError):
        store_document(root, "plan.txt", NEW, "public", replace=True, trash_dir=tmp_path / "t")
    document = read_document(root / "plan.txt", root, "public")
    assert document.title == "Gammal intern plan"
    assert document.visibility == "internal"


def test_a_crash_in_a_restore_leaves_the_old_file_internal(tmp_path, monkeypatch):
    root, trash = tmp_path / "knowledge", tmp_path / "trash"
    store_document(root, "plan.txt", NEW, "public", replace=False)
    entry = trash_document(root, trash, "plan.txt")  # the public version, in the trash
    store_document(root, "plan.txt", OLD, "internal", replace=False)
    _crash_when_writing(monkeypatch, root / "plan.txt")
    with pytest.raises(CrashError):
        restore_document(root, trash, entry.key)
    document = read_document(root / "plan.txt", root, "public")
    assert document.title == "Gammal intern plan"
    assert document.visibility == "internal"


def test_a_finished_replacement_has_the_new_bytes_and_the_new_visibility(tmp_path):
    root = tmp_path / "knowledge"
    store_document(root, "plan.txt", OLD, "internal", replace=False)
    store_document(root, "plan.txt", NEW, "public", replace=True)
    document = read_document(root / "plan.txt", root, "internal")
    assert (document.title, document.visibility) == ("Ny offentlig plan", "public")


def test_a_reindex_reading_during_a_replacement_never_pairs_old_bytes_with_the_new_visibility(
    tmp_path, monkeypatch, fake_encoder
):
    """The reindex reads plan.txt's bytes; a replacement runs; then it reads the visibility.

    With the lock the replacement waits until the reading is done; without it, the old
    internal text would be indexed as public.
    """
    root = tmp_path / "knowledge"
    store_document(root, "plan.txt", OLD, "internal", replace=False)
    in_read_document = threading.local()
    real_read, real_recorded = IsolatedReader.read, index.documents._reading.recorded_visibility
    replaced = threading.Event()

    def replace_now() -> None:
        store_document(root, "plan.txt", NEW, "public", replace=True)
        replaced.set()

    writer = threading.Thread(target=replace_now)

    def read(reader, path, *args, **kwargs):
        in_read_document.on = Path(path).name == "plan.txt"
        try:
            return real_read(reader, path, *args, **kwargs)
        finally:
            in_read_document.on = False

    def recorded(path):
        if getattr(in_read_document, "on", False) and not writer.is_alive():
            in_read_document.on = False
            writer.start()  # the bytes are read: the replacement runs now
            replaced.wait(2)  # it finishes at once unless the reindex's lock holds it
        return real_recorded(path)

    monkeypatch.setattr(IsolatedReader, "read", read)
    monkeypatch.setattr(index.documents._reading, "recorded_visibility", recorded)
    build(root, tmp_path / "index", fake_encoder)
    writer.join(10)
    assert replaced.is_set()  # the replacement did happen, after the reading
    loaded = load_index(tmp_path / "index")
    try:
        record = loaded.documents["plan.txt"]
    finally:
        loaded.close()
    assert (record.title, record.visibility) == ("Gammal intern plan", "internal")


_WRITER = """
import sys
from pathlib import Path
from bot.services.knowledge import store_document
print("ready", flush=True)
root, first, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for n in range(first, first + count):
    data, visibility = f"Dokument {n}.\\n".encode(), "public" if n % 2 else "internal"
    store_document(root, f"dok-{n:04d}.txt", data, visibility, replace=False)
print("done", flush=True)
"""


def _writer(root: Path, first: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_WRITER), str(root), str(first), str(count)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_writer_in_another_process_waits_for_the_lock_then_writes(tmp_path):
    root = tmp_path / "knowledge"
    root.mkdir()
    with folder_lock(root):
        child = _writer(root, 1, 1)
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(1.0)  # waiting, not refused and not writing
        assert not (root / "dok-0001.txt").exists()
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out.strip() == "done"
    assert (root / "dok-0001.txt").read_bytes() == b"Dokument 1.\n"
    assert read_visibility_list(root) == {"dok-0001.txt": "public"}


def test_visibility_entries_written_by_several_processes_at_once_are_all_kept(tmp_path):
    root = tmp_path / "knowledge"
    root.mkdir()
    processes, each = 4, 20
    children = [_writer(root, p * each, each) for p in range(processes)]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    expected = {
        f"dok-{n:04d}.txt": "public" if n % 2 else "internal" for n in range(processes * each)
    }
    assert read_visibility_list(root) == expected


def test_a_writer_that_cannot_get_the_lock_in_time_changes_nothing(tmp_path, monkeypatch):
    root = tmp_path / "knowledge"
    store_document(root, "plan.txt", OLD, "internal", replace=False)
    monkeypatch.setattr(index.folder_lock, "WAIT_SECONDS", 0.2)
    with _held_on_another_thread(root):
        with pytest.raises(KnowledgeError) as refused:
            store_document(root, "plan.txt", NEW, "public", replace=True)
    assert refused.value.key == "kb.busy"
    assert "busy" in str(refused.value) and "\n" not in str(refused.value)
    assert (root / "plan.txt").read_bytes() == OLD
    assert read_visibility_list(root) == {"plan.txt": "internal"}


def test_a_reindex_that_cannot_read_the_folder_in_time_is_left_for_later(
    knowledge, tmp_path, monkeypatch, fake_encoder
):
    engine = make_engine(knowledge, tmp_path / "index", fake_encoder)
    monkeypatch.setattr(index.folder_lock, "WAIT_SECONDS", 0.2)
    with _held_on_another_thread(knowledge):
        with pytest.raises(FolderBusyError, match="stayed busy for 0.2 s"):
            build(knowledge, tmp_path / "index", fake_encoder)
        assert reindex_unless_locked(engine) is None
    assert reindex_unless_locked(engine) is not None


def test_the_lock_leaves_nothing_in_the_folder(knowledge, tmp_path, fake_encoder):
    before = sorted(knowledge.rglob("*"))
    with folder_lock(knowledge):
        pass
    build(knowledge, tmp_path / "index", fake_encoder)
    assert sorted(knowledge.rglob("*")) == before


def test_a_thread_may_take_the_lock_it_holds_again(tmp_path):
    with folder_lock(tmp_path), folder_lock(tmp_path), folder_lock(tmp_path, shared=True):
        pass
    with folder_lock(tmp_path, shared=True), folder_lock(tmp_path, shared=True):
        with pytest.raises(RuntimeError):
            with folder_lock(tmp_path):
                pass


class _held_on_another_thread:  # noqa: N801 - used as a context manager
    """Hold the folder's lock exclusively on another thread for the with-block."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.taken, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        with folder_lock(self.root):
            self.taken.set()
            self.release.wait(30)

    def __enter__(self) -> None:
        self.thread.start()
        assert self.taken.wait(10)

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join()
