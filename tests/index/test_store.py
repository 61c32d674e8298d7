"""One build on disk: load, the manifest, compatibility, locking, crash safety, checksums."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faiss
import numpy as np
import pytest

from index.build import build_index
from index.lexical import word_terms
from index.store import (
    FORMAT_VERSION,
    IndexIncompatibleError,
    IndexLockedError,
    IndexMissingError,
    current_build,
    index_lock,
    load_index,
)
from tests.conftest import SEED, FakeEncoder, write_doc
from tests.index.builds import (
    ROOT,
    SUMMER,
    SUMMER_CHANGED,
    build,
    chunk_texts,
    file_hashes,
    found_documents,
    indexed_hashes,
    make_engine,
    settings_for,
    sha256,
    subprocess_env,
)


def test_build_then_load_writes_a_manifest_describing_the_build(
    knowledge, index_dir, fake_encoder, built
):
    index = load_index(index_dir, fake_encoder)
    manifest = index.manifest

    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model_id"] == fake_encoder.model_id == index.model_id
    assert manifest["dimension"] == fake_encoder.dimension == index.dimension
    assert manifest["chunking"] == {
        "max_chars": 700,
        "overlap_sentences": 1,
        "default_visibility": "internal",
        "passage_text": 2,
    }
    assert {d: v["content_hash"] for d, v in manifest["documents"].items()} == file_hashes(
        knowledge
    )
    built_at = datetime.fromisoformat(manifest["built_at"])
    assert abs(datetime.now(UTC) - built_at) < timedelta(minutes=5)
    assert manifest["build"] == built.build == current_build(index_dir).name
    assert manifest["chunks"] == built.chunks == index.size


def test_build_then_load_has_one_vector_per_chunk_with_explicit_int64_ids(
    index_dir, fake_encoder, built
):
    index = load_index(index_dir, fake_encoder)

    assert index.dense.ntotal == index.size == built.chunks > 0
    ids = faiss.vector_to_array(index.dense.id_map)
    assert ids.dtype == np.int64
    assert ids.tolist() == list(range(index.size))
    assert sorted(index.chunks(list(range(index.size)))) == list(range(index.size))
    # Every chunk is its own nearest neighbour: vector i belongs to chunk row i.
    for chunk in index.all_chunks():
        vector = index.dense.reconstruct(chunk.id)
        _, nearest = index.search_dense(vector, 1, "internal")
        assert nearest.tolist() == [chunk.id]


@pytest.mark.parametrize(
    ("default_visibility", "expected"),
    [
        (
            "internal",
            {SEED.name: "public", "intern/budget.md": "internal", SUMMER: "public",
             "utan-metadata.txt": "internal"},
        ),
        (
            "public",
            {SEED.name: "public", "intern/budget.md": "internal", SUMMER: "public",
             "utan-metadata.txt": "public"},
        ),
    ],
)  # fmt: skip
def test_public_mask_follows_each_documents_visibility(
    knowledge, index_dir, fake_encoder, default_visibility, expected
):
    (knowledge / "utan-metadata.txt").write_text(
        "Protokoll\n\nStyrgruppen träffas varannan vecka.\n", encoding="utf-8"
    )
    build_index(knowledge, index_dir, fake_encoder, settings_for(fake_encoder, default_visibility))

    index = load_index(index_dir, fake_encoder)
    assert {d: r.visibility for d, r in index.documents.items()} == expected
    assert index.public_mask.tolist() == [
        expected[doc_id] == "public" for doc_id in index.chunk_doc_ids
    ]
    _, ids = index.search_dense(fake_encoder.encode_queries(["budget"])[0], 100, "public")
    assert len(ids) == int(index.public_mask.sum())
    assert all(index.public_mask[ids])


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(FakeEncoder(model_id="other"), id="other-model-id"),
        pytest.param(FakeEncoder(dimension=32), id="other-dimension"),
    ],
)
def test_index_of_another_model_is_refused_and_rebuilding_embeds_everything(
    knowledge, index_dir, fake_encoder, built, other
):
    with pytest.raises(IndexIncompatibleError) as caught:
        load_index(index_dir, other)
    message = str(caught.value)
    assert "natverksbot index" in message
    assert fake_encoder.model_id in message and str(fake_encoder.dimension) in message

    summary = build(knowledge, index_dir, other)

    assert summary.changed is True
    assert summary.embedded == summary.chunks == built.chunks
    assert other.calls[0] > built.chunks  # every passage and sentence, with the other model
    assert load_index(index_dir, other).dimension == other.dimension
    with pytest.raises(IndexIncompatibleError):
        load_index(index_dir, fake_encoder)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda m: {**m, "format_version": FORMAT_VERSION + 1}, "format version"),
        (lambda m: {k: v for k, v in m.items() if k != "format_version"}, "format version"),
        (lambda m: "{ not json", "unreadable"),
    ],
    ids=["newer-format", "no-format", "not-json"],
)
def test_manifest_of_another_format_is_refused_and_a_build_replaces_it(
    knowledge, index_dir, fake_encoder, built, edit, expected
):
    manifest_path = current_build(index_dir) / "manifest.json"
    edited = edit(json.loads(manifest_path.read_text(encoding="utf-8")))
    manifest_path.write_text(edited if isinstance(edited, str) else json.dumps(edited))

    with pytest.raises(IndexIncompatibleError) as caught:
        load_index(index_dir, fake_encoder)
    assert expected in str(caught.value)
    assert "natverksbot index" in str(caught.value)

    summary = build(knowledge, index_dir, fake_encoder)

    assert summary.changed is True
    assert summary.embedded == 0  # the vectors come from the cache
    assert load_index(index_dir, fake_encoder).manifest["format_version"] == FORMAT_VERSION


@pytest.mark.parametrize(
    "prepare",
    [
        lambda d: None,
        lambda d: d.mkdir(),
        lambda d: (d.mkdir(), (d / "CURRENT").write_text("20240101T000000000000Z")),
        lambda d: (d.mkdir(), (d / "CURRENT").write_text("")),
    ],
    ids=["no-folder", "empty-folder", "current-names-missing-build", "empty-current"],
)
def test_missing_index_says_how_to_build_it(index_dir, fake_encoder, prepare):
    prepare(index_dir)

    with pytest.raises(IndexMissingError, match=r"run `natverksbot index` to build it"):
        load_index(index_dir, fake_encoder)


_HOLD_LOCK = """
import sys
from pathlib import Path
from index.store import index_lock

with index_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_build_is_refused_while_this_process_holds_the_lock(knowledge, index_dir, fake_encoder):
    with index_lock(index_dir):
        with pytest.raises(IndexLockedError, match=r"already running \(pid \d+ since .*wait"):
            build(knowledge, index_dir, fake_encoder)
    assert fake_encoder.calls == []
    assert build(knowledge, index_dir, fake_encoder).changed is True


def test_build_is_refused_while_another_process_holds_the_lock(knowledge, index_dir, fake_encoder):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(index_dir)],
        cwd=ROOT,
        env=subprocess_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLockedError) as caught:
            build(knowledge, index_dir, fake_encoder)
        assert f"pid {holder.pid}" in str(caught.value)
        assert "wait for it to finish" in str(caught.value)
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    assert build(knowledge, index_dir, fake_encoder).changed is True


class BlockingEncoder(FakeEncoder):
    """Stops inside encode_documents until released, so two builds surely overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def encode_documents(self, texts):
        self.entered.set()
        assert self.release.wait(timeout=30), "never released"
        return super().encode_documents(texts)


def test_of_two_concurrent_builds_exactly_one_runs_and_the_other_is_refused(knowledge, index_dir):
    encoder = BlockingEncoder()
    outcomes: list[object] = []
    finished = threading.Condition()

    def run() -> None:
        try:
            outcome: object = build(knowledge, index_dir, encoder)
        except Exception as exc:
            outcome = exc
        with finished:
            outcomes.append(outcome)
            finished.notify_all()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        # Release the running build only once the other one has given up.
        assert encoder.entered.wait(timeout=30), "no build reached the encoder"
        with finished:
            assert finished.wait_for(lambda: len(outcomes) == 1, timeout=30), "both waited"
    finally:
        encoder.release.set()
        for thread in threads:
            thread.join(timeout=30)

    refused = [o for o in outcomes if isinstance(o, IndexLockedError)]
    done = [o for o in outcomes if not isinstance(o, Exception)]
    assert (len(refused), len(done)) == (1, 1), outcomes
    assert "already running" in str(refused[0])
    assert done[0].changed is True
    assert indexed_hashes(index_dir) == file_hashes(knowledge)


_KILL_AT = """
import os, signal, sys
from pathlib import Path
from index.build import BuildSettings, build_index
from tests.conftest import FakeEncoder

knowledge, index_dir, stage, point = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
encoder = FakeEncoder()

def progress(at, done, total):
    if (at, done) == (stage, point):
        os.kill(os.getpid(), signal.SIGKILL)

settings = BuildSettings(
    model_id=encoder.model_id, dimension=encoder.dimension, default_visibility="internal"
)
build_index(Path(knowledge), Path(index_dir), encoder, settings, progress=progress)
sys.exit(3)  # the kill point never came
"""


def assert_whole_index(index_dir: Path, encoder: FakeEncoder, expected: dict[str, str]) -> None:
    """The live index is exactly one consistent build whose documents have these hashes."""
    index = load_index(index_dir, encoder)
    try:
        assert {d: r.content_hash for d, r in index.documents.items()} == expected
        assert set(index.chunk_doc_ids) == set(expected)
        assert index.dense.ntotal == index.size == index.words.size == index.chars.size
        scores, ids = index.search_dense(encoder.encode_queries(["sommarskola"])[0], 3, "public")
        assert len(ids) == 3 and np.isfinite(scores).all() and all(index.public_mask[ids])
        words = index.words.scores(word_terms("sommarskola nyanlända elever"))
        assert words.shape == (index.size,) and words.max() > 0
    finally:
        index.close()


@pytest.mark.parametrize(
    ("stage", "point", "live"),
    [
        ("read", 1, "old"),
        ("embed", 0, "old"),
        ("write", 0, "old"),
        ("write", 2, "old"),
        ("write", 4, "old"),
        ("swap", 0, "old"),
        ("swap", 1, "new"),
    ],
)
def test_sigkill_during_a_build_leaves_the_old_or_the_new_build_whole(
    knowledge, index_dir, fake_encoder, stage, point, live
):
    build(knowledge, index_dir, fake_encoder)
    old = indexed_hashes(index_dir)
    write_doc(
        knowledge, SUMMER, SUMMER_CHANGED, title="Sommarskolan i Borlänge", visibility="public"
    )
    new = {**old, SUMMER: sha256(knowledge / SUMMER)}
    assert new != old

    killed = subprocess.run(
        [sys.executable, "-c", _KILL_AT, str(knowledge), str(index_dir), stage, str(point)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert_whole_index(index_dir, fake_encoder, old if live == "old" else new)
    texts = " ".join(chunk_texts(index_dir, SUMMER))
    assert ("i juli" in texts, "i augusti" in texts) == (live == "old", live == "new")
    if stage == "write":
        assert list(index_dir.glob("tmp-*")), "the half-written build should still be there"

    summary = build(knowledge, index_dir, fake_encoder)  # the lock died with the process

    assert summary.changed is (live == "old")
    assert not list(index_dir.glob("tmp-*"))
    assert_whole_index(index_dir, fake_encoder, new)


_SLOW_BUILD = """
import sys, time
from pathlib import Path
from index.build import BuildSettings, build_index
from tests.conftest import FakeEncoder

class SlowEncoder(FakeEncoder):
    def encode_documents(self, texts):
        for _ in texts:
            time.sleep(0.004)
        return super().encode_documents(texts)

encoder = SlowEncoder()
settings = BuildSettings(
    model_id=encoder.model_id, dimension=encoder.dimension, default_visibility="internal"
)
print("ready", flush=True)
build_index(Path(sys.argv[1]), Path(sys.argv[2]), encoder, settings)
sys.exit(3)  # finished before the kill
"""


def write_many(folder: Path, count: int, change: str) -> None:
    for i in range(count):
        write_doc(
            folder,
            f"del-{i % 10}/dokument-{i:03d}.md",
            f"# Dokument {i}\n\nKommun {i} arbetar med fråga {i * 7} om integration och skola. "
            f"Beslutet togs år {1990 + i % 30}. {change}\n",
            title=f"Dokument {i}",
            visibility="public" if i % 2 else "internal",
        )


@pytest.mark.parametrize("delay", [0.05, 0.4, 0.9])
def test_sigkill_at_any_moment_leaves_a_loadable_index(tmp_path, index_dir, fake_encoder, delay):
    knowledge = tmp_path / "knowledge"
    write_many(knowledge, 300, "Första versionen.")
    build(knowledge, index_dir, fake_encoder)
    old = indexed_hashes(index_dir)
    write_many(knowledge, 300, "Andra versionen.")  # every chunk must be embedded again
    new = file_hashes(knowledge)

    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_BUILD, str(knowledge), str(index_dir)],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    time.sleep(delay)
    process.kill()
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == -signal.SIGKILL, stderr
    assert indexed_hashes(index_dir) in (old, new)
    load_index(index_dir, fake_encoder).close()
    build(knowledge, index_dir, fake_encoder)
    assert indexed_hashes(index_dir) == new
    assert not list(index_dir.glob("tmp-*"))


@pytest.mark.parametrize(
    "name",
    ["dense.faiss", "words.data.npy", "chunks.sqlite", "chars.vocab.json", "lead.indptr.npy"],
)
def test_same_size_garbage_in_a_build_is_found_and_the_next_build_rebuilds_it(
    knowledge, index_dir, fake_encoder, built, name
):
    damaged = current_build(index_dir) / name
    data = damaged.read_bytes()
    # The header stays (so readers take it for their format); everything after is garbage.
    garbage = np.random.default_rng(7).integers(0, 256, len(data) - 128, dtype=np.uint8)
    damaged.write_bytes(data[:128] + garbage.tobytes())
    assert damaged.stat().st_size == len(data)

    with pytest.raises(IndexIncompatibleError) as caught:
        load_index(index_dir, fake_encoder)
    assert f"{name} does not match its checksum" in str(caught.value)

    summary = build(knowledge, index_dir, fake_encoder)  # no --force needed

    assert summary.changed is True and summary.chunks == built.chunks
    assert summary.embedded == 0  # the vectors come from the cache, not the damaged build
    assert current_build(index_dir) != damaged.parent
    assert SEED.name in found_documents(index_dir, fake_encoder, "När startade samarbetet?")


def test_every_file_of_a_build_has_its_checksum_in_the_manifest(index_dir, built):
    from index.store import file_checksum

    folder = current_build(index_dir)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    on_disk = {p.name for p in folder.iterdir() if p.name != "manifest.json"}
    assert set(manifest["checksums"]) == set(manifest["files"]) == on_disk
    assert all(manifest["checksums"][n] == file_checksum(folder / n) for n in on_disk)


def test_a_big_file_is_checked_by_samples_that_find_garbage_in_them(tmp_path, monkeypatch):
    import index.store as store

    monkeypatch.setattr(store, "CHECKSUM_FULL_BYTES", 1 << 20)
    path = tmp_path / "big.bin"
    data = bytearray(np.random.default_rng(1).integers(0, 256, 3 << 20, dtype=np.uint8))
    path.write_bytes(data)
    before = store.file_checksum(path)
    assert before.startswith("b2s:")
    data[0:16] = bytes(16)  # the first sampled block
    path.write_bytes(data)
    assert store.file_checksum(path) != before


def mapped(array: np.ndarray) -> bool:
    """Whether an array's memory is a file mapping (a view of an np.memmap)."""
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = array.base if isinstance(array.base, np.ndarray) else None
    return False


def test_keyword_and_dense_indexes_are_memory_mapped_not_copied(tmp_path, knowledge):
    engine = make_engine(knowledge, tmp_path / "index", FakeEncoder())
    index = engine.index
    for bm25 in (index.words, index.chars, index.lead):
        for array in (bm25.weights.data, bm25.weights.indices, bm25.weights.indptr):
            assert mapped(array)
    assert not (index.folder / "words.npz").exists()
