"""``pip install .`` in a fresh virtual environment gives a bot that answers (docs/DEPLOY.md).

Slow (it installs torch and everything else, several minutes) and it needs the package
registries, so it runs only with ``NATVERKSBOTEN_SLOW_TESTS=1``:

    NATVERKSBOTEN_SLOW_TESTS=1 ./run test tests/test_install.py -s

The environment is made as an admin would on a server: ``python3 -m venv`` with the pip
that Python bundles (not upgraded), the pinned CPU torch first, then the project without
its ``[dev]`` tools. Its size is printed (the figure in the README).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(
        os.environ.get("NATVERKSBOTEN_SLOW_TESTS") != "1",
        reason="installs torch and the project into a fresh venv (minutes, needs the package "
        "registries): set NATVERKSBOTEN_SLOW_TESTS=1 to run it",
    ),
]

QUESTION = "När startade samarbetet mellan kommunerna?"


def _copy_project(target: Path) -> Path:
    """Copy the files git knows of (tracked and new, not ignored) to ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_a_plain_pip_install_in_a_fresh_venv_gives_a_bot_that_answers(tmp_path):
    project = _copy_project(tmp_path / "natverksboten")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, pip = venv / "bin" / "python", venv / "bin" / "pip"
    bundled = _run(pip, "--version", cwd=tmp_path)
    _run(pip, "install", "-q", "torch==2.13.0", cwd=tmp_path)
    _run(pip, "install", "-q", project, cwd=tmp_path)

    freeze = _run(pip, "freeze", cwd=tmp_path).splitlines()
    installed = {line.split("==")[0].split(" @ ")[0].strip().lower() for line in freeze}
    assert "natverksboten" in installed
    assert not installed & {"pytest", "ruff", "hypothesis", "pytest-asyncio"}
    # What fetch-sources needs: jusText imports lxml.html.clean (a separate project now).
    _run(python, "-c", "import lxml.html.clean, justext, trafilatura", cwd=tmp_path)

    # As on a server: no override of the configuration from this test run's environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATVERKSBOT_")}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = _run(venv / "bin" / "natverksbot", "ask", QUESTION, "--json", cwd=project, env=env)
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["answered"] is True
    assert "Almedalen 2012" in " ".join(answer["quotes"])
    assert [s["id"] for s in answer["sources"]][0] == "allt-startade-i-almedalen.md"

    size = _run("du", "-sh", venv, cwd=tmp_path).split()[0]
    print(f"\nfresh venv ({bundled.split(' from ')[0]}): {size}")
