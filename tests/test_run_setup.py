"""The ``run`` script's first-run set-up: where torch comes from, said before it is installed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The set-up's functions, taken from the script and run against this checkout's .venv.
HARNESS = """
set -euo pipefail
venv="$1"
eval "$(sed -n '/^say()/p; /^torch_source()/,/^}/p; /^torch_build()/,/^}/p' "$2")"
torch_source
echo "from: $torch_from"
echo "args: ${torch_args[*]:-}"
torch_build
"""


def setup_lines(environ: dict[str, str]) -> tuple[list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "NATVERKSBOT_"))}
    env.update(environ)
    venv = Path(sys.executable).parent.parent
    done = subprocess.run(
        ["bash", "-c", HARNESS, "harness", str(venv), str(ROOT / "run")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.splitlines(), done.stderr


def test_a_reachable_torch_index_is_used_for_torch(tmp_path):
    (tmp_path / "simple" / "torch").mkdir(parents=True)
    url = (tmp_path / "simple").as_uri()
    lines, _err = setup_lines({"NATVERKSBOT_TORCH_INDEX": url})
    assert lines[0] == f"from: {url} (NATVERKSBOT_TORCH_INDEX)"
    assert lines[1] == f"args: --extra-index-url {url}"
    assert lines[2].startswith("torch 2.13.0")  # and which build it is


def test_an_unreachable_torch_index_is_said_and_pip_s_own_indexes_are_used(tmp_path):
    url = (tmp_path / "nowhere").as_uri()
    lines, err = setup_lines({"NATVERKSBOT_TORCH_INDEX": url})
    assert "cannot be reached" in err
    assert lines[1] == "args: "


def test_a_torch_index_that_never_answers_is_given_up_within_5_seconds():
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/whl/cpu"
        started = time.monotonic()
        lines, err = setup_lines({"NATVERKSBOT_TORCH_INDEX": url})
        elapsed = time.monotonic() - started
    assert "cannot be reached (tried for 5 s at most)" in err
    assert lines[1] == "args: "
    assert elapsed < 10  # 5 s and pip's start, with room for a busy machine


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({"PIP_INDEX_URL": "https://download.pytorch.org/whl/cpu"}, "PyTorch's CPU index"),
        ({"PIP_EXTRA_INDEX_URL": "https://download.pytorch.org/whl/cpu"}, "PyTorch's CPU index"),
        ({}, "PyPI (on Linux x86-64 the CUDA build, several GB; for the CPU build set"),
    ],
)
def test_the_source_of_torch_is_said_from_pip_s_configuration(environ, said):
    lines, _err = setup_lines({"PIP_CONFIG_FILE": os.devnull, **environ})
    assert lines[0].startswith("from: " + said)
    assert lines[1] == "args: "  # pip reads its own configuration
