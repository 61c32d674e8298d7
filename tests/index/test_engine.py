"""The engine facade: a reindex is picked up by the next question."""

from __future__ import annotations

from tests.conftest import write_doc
from tests.index.builds import make_engine


def test_an_index_swap_is_picked_up_by_reload(knowledge, tmp_path, fake_encoder):
    engine = make_engine(knowledge, tmp_path / "index", fake_encoder)
    old = engine.index
    write_doc(knowledge, "ny.md", "Fritidsgården Kompassen öppnade 2019 i Falköping.\n")
    engine.reindex()
    assert engine.index is not old
    answer = engine.ask("När öppnade fritidsgården Kompassen?", visibility="internal")
    assert answer.answered and "2019" in answer.text
