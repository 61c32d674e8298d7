"""``pip install .`` in a fresh virtual environment gives a bot that answers, and an
upgrade keeps everything of the admin's (docs/DEPLOY.md).

Slow (it installs torch and everything else, several minutes) and it needs the package
registries, so it runs only with ``NATVERKSBOTEN_SLOW_TESTS=1``:

    NATVERKSBOTEN_SLOW_TESTS=1 ./run test tests/test_install.py -s

The environment is made as an admin would on a server: a git clone of the project,
``python3 -m venv`` with the pip that Python bundles (not upgraded), the pinned CPU
torch first, then the project without its ``[dev]`` tools; both tests share it. Its size
is printed (the figure in the README), and the upgrade's time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
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


GIT = ("git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid")


@dataclass(frozen=True)
class Installed:
    """The project as a server has it: an upstream repository, its clone, a venv."""

    upstream: Path
    checkout: Path
    venv: Path
    bundled_pip: str

    def natverksbot(self, *args: str | Path, cwd: Path | None = None) -> str:
        # As on a server: no override of the configuration from this test run's environment.
        env = {k: v for k, v in os.environ.items() if not k.startswith("NATVERKSBOT")}
        env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        return _run(self.venv / "bin" / "natverksbot", *args, cwd=cwd or self.checkout, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("server")
    upstream = _copy_project(root / "upstream")
    _run(*GIT, "init", "-q", "-b", "main", cwd=upstream)
    _run(*GIT, "add", "-A", cwd=upstream)
    _run(*GIT, "commit", "-q", "-m", "this release", cwd=upstream)
    checkout = root / "opt" / "natverksboten"
    _run(*GIT, "clone", "-q", upstream, checkout, cwd=root)
    venv = checkout / ".venv"  # where DEPLOY.md puts it (ignored by git)
    _run(sys.executable, "-m", "venv", venv, cwd=root)
    pip = venv / "bin" / "pip"
    bundled = _run(pip, "--version", cwd=root)
    _run(pip, "install", "-q", "torch==2.13.0", cwd=root)
    _run(pip, "install", "-q", checkout, cwd=root)
    return Installed(upstream, checkout, venv, bundled)


def test_a_plain_pip_install_in_a_fresh_venv_gives_a_bot_that_answers(installed, tmp_path):
    venv, pip, python = (
        installed.venv,
        installed.venv / "bin" / "pip",
        installed.venv / "bin" / "python",
    )
    bundled = installed.bundled_pip
    freeze = _run(pip, "freeze", cwd=tmp_path).splitlines()
    names = {line.split("==")[0].split(" @ ")[0].strip().lower() for line in freeze}
    assert "natverksboten" in names
    assert not names & {"pytest", "ruff", "hypothesis", "pytest-asyncio"}
    # What fetch-sources needs: jusText imports lxml.html.clean (a separate project now).
    _run(python, "-c", "import lxml.html.clean, justext, trafilatura", cwd=tmp_path)

    # From the checkout, with its development config (./config.yaml).
    out = installed.natverksbot("ask", QUESTION, "--json")
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["answered"] is True
    assert "Almedalen 2012" in " ".join(answer["quotes"])
    assert [s["id"] for s in answer["sources"]][0] == "allt-startade-i-almedalen.md"

    size = _run("du", "-sh", venv, cwd=tmp_path).split()[0]
    print(f"\nfresh venv ({bundled.split(' from ')[0]}): {size}")


def _git_status(checkout: Path) -> str:
    return _run("git", "status", "--porcelain", "--ignored=no", cwd=checkout)


def test_an_upgrade_keeps_the_admins_documents_removals_and_config(installed, tmp_path):
    """Install, add and remove documents, edit the config, upgrade: everything is there."""
    started = time.perf_counter()
    bot, checkout = installed.natverksbot, installed.checkout
    assert bot("--version").strip() == "natverksbot 0.2.0"
    # The layout of docs/DEPLOY.md: the config in etc/, knowledge and state in var/lib/.
    config = tmp_path / "etc" / "natverksboten" / "config.yaml"
    data = tmp_path / "var" / "lib" / "natverksboten"
    bot("--config", config, "init", data, cwd=tmp_path)
    knowledge = data / "knowledge"
    shutil.copytree(checkout / "knowledge", knowledge, dirs_exist_ok=True)  # the examples
    (knowledge / "uppladdat").mkdir()
    (knowledge / "uppladdat" / "skolskjuts.md").write_text(
        "# Skolskjuts\n\nSkolskjutsar bokas senast den femte augusti hos kommunens trafikenhet.\n",
        encoding="utf-8",
    )
    bot("--config", config, "index", cwd=tmp_path)
    removed = "allt-startade-i-almedalen.md"
    bot("--config", config, "kb", "remove", removed, "--yes", cwd=tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("  trash_days: 30", "  trash_days: 45") + "# my own note\n",
        encoding="utf-8",
    )
    before = {
        "config": config.read_bytes(),
        "documents": bot("--config", config, "kb", "list", cwd=tmp_path),
        "trash": bot("--config", config, "kb", "list", "--trash", cwd=tmp_path),
        "status": json.loads(bot("--config", config, "status", "--json", cwd=tmp_path)),
    }
    assert removed not in before["documents"] and removed in before["trash"]
    assert "uppladdat/skolskjuts.md" in before["documents"]
    assert _git_status(checkout) == ""  # the checkout stayed as git left it

    # Upstream moves on: a newer version that also changes the checkout's config.yaml and
    # its example documents (the synthetic commit of the upgrade).
    upstream = installed.upstream
    pyproject = upstream / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace('version = "0.2.0"', 'version = "0.2.1"'),
        encoding="utf-8",
    )
    with (upstream / "config.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# a comment of the next release\n")
    (upstream / "knowledge" / "nytt-exempel.md").write_text("# Nytt\n\nEtt exempel.\n")
    (upstream / "knowledge" / removed).write_text("# Ändrad\n\nEtt ändrat exempel.\n")
    _run(*GIT, "commit", "-q", "-am", "the next release", cwd=upstream)
    _run(*GIT, "add", "-A", cwd=upstream)
    _run(*GIT, "commit", "-q", "-m", "a new example", cwd=upstream)

    upgrade_started = time.perf_counter()
    _run(*GIT, "pull", "-q", "--ff-only", cwd=checkout)
    _run(installed.venv / "bin" / "pip", "install", "-q", "--no-deps", checkout, cwd=tmp_path)
    upgrade_seconds = time.perf_counter() - upgrade_started

    assert bot("--version").strip() == "natverksbot 0.2.1"
    assert _git_status(checkout) == ""
    assert config.read_bytes() == before["config"]
    assert bot("--config", config, "kb", "list", cwd=tmp_path) == before["documents"]
    assert bot("--config", config, "kb", "list", "--trash", cwd=tmp_path) == before["trash"]
    assert not (knowledge / removed).exists()  # removed stays removed
    assert not (knowledge / "nytt-exempel.md").exists()  # the checkout's examples are its own
    status = json.loads(bot("--config", config, "status", "--json", cwd=tmp_path))
    assert status["version"] == "0.2.1"
    assert status["build"] == before["status"]["build"]  # the same index, still valid
    assert status["commands"]["synced"] is None  # never synced here: status says to
    answer = json.loads(
        bot("--config", config, "ask", "När bokas skolskjutsar?", "--json", cwd=tmp_path)
    )
    assert answer["sources"][0]["id"] == "uppladdat/skolskjuts.md"
    print(
        f"\nupgrade test: {time.perf_counter() - started:.0f} s in all, "
        f"git pull + pip install --no-deps {upgrade_seconds:.0f} s"
    )
