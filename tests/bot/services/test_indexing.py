"""The first index and the reindex after a change, as the command line and the bot share them."""

from __future__ import annotations

from pathlib import Path

from bot.services.indexing import ensure_index, reindex_unless_locked
from index.engine import Engine, EngineSettings
from index.store import IndexIncompatibleError
from tests.conftest import FakeEncoder, lock_held_elsewhere, write_doc


def _engine(knowledge: Path, index_dir: Path, encoder: FakeEncoder) -> Engine:
    return Engine(EngineSettings(knowledge_dir=knowledge, index_dir=index_dir), encoder)


def test_the_first_index_is_built_and_announced(knowledge, tmp_path, fake_encoder):
    engine = _engine(knowledge, tmp_path / "index", fake_encoder)
    told: list[object] = []
    stages: set[str] = set()

    summary = ensure_index(
        engine, lambda stage, done, total: stages.add(stage), before_build=told.append
    )

    assert told == [None]  # None: there was no index
    assert summary is not None and summary.documents == 3 and summary.chunks > 0
    assert engine.has_index() and len(engine.documents()) == 3
    assert "embed" in stages  # the progress callback reaches the build


def test_an_existing_index_is_loaded_not_rebuilt(knowledge, tmp_path, fake_encoder):
    _engine(knowledge, tmp_path / "index", fake_encoder).reindex()
    encoder = FakeEncoder()
    engine = _engine(knowledge, tmp_path / "index", encoder)
    told: list[object] = []

    summary = ensure_index(engine, before_build=told.append)

    assert summary is None and told == []
    assert encoder.calls == []  # no passage was embedded again
    assert {d.doc_id for d in engine.documents()} == {
        "allt-startade-i-almedalen.md",
        "intern/budget.md",
        "sommarskola.md",
    }


def test_an_index_of_another_model_is_rebuilt_and_the_reason_given(knowledge, tmp_path):
    _engine(knowledge, tmp_path / "index", FakeEncoder(32, "old-model-32")).reindex()
    engine = _engine(knowledge, tmp_path / "index", FakeEncoder(64, "new-model-64"))
    told: list[object] = []

    summary = ensure_index(engine, before_build=told.append)

    assert len(told) == 1 and isinstance(told[0], IndexIncompatibleError)
    assert summary is not None and summary.documents == 3
    assert engine.status()["model_id"] == "new-model-64"


def test_a_reindex_returns_its_summary(knowledge, tmp_path, fake_encoder):
    engine = _engine(knowledge, tmp_path / "index", fake_encoder)
    engine.reindex()
    write_doc(knowledge, "ny.md", "# Ny\n\nEn ny sida om mottagandet.\n", visibility="public")

    summary = reindex_unless_locked(engine)

    assert summary is not None and summary.added == ["ny.md"]
    assert "ny.md" in {d.doc_id for d in engine.documents()}


def test_a_reindex_while_another_holds_the_lock_returns_none(knowledge, tmp_path, fake_encoder):
    engine = _engine(knowledge, tmp_path / "index", fake_encoder)
    engine.reindex()
    write_doc(knowledge, "ny.md", "# Ny\n\nEn ny sida om mottagandet.\n", visibility="public")

    with lock_held_elsewhere(tmp_path / "index"):
        summary = reindex_unless_locked(engine)

    assert summary is None
    assert "ny.md" not in {d.doc_id for d in engine.documents()}
    # The change is on disk: the next reindex picks it up.
    later = reindex_unless_locked(engine)
    assert later is not None and later.added == ["ny.md"]
