"""The version: `natverksbot --version`, from the checkout's pyproject or the installed metadata."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata

import pytest

from bot.version import UNKNOWN, version
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_this_release_is_0_2_0():
    assert PYPROJECT["version"] == "0.2.0"


def test_from_a_checkout_the_version_is_the_pyprojects():
    assert version() == PYPROJECT["version"]


def test_a_checkout_that_moved_on_is_read_again_not_the_stale_editable_metadata(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "natverksboten"\nversion = "9.8.7"\n', encoding="utf-8"
    )

    assert version(tmp_path) == "9.8.7"


@pytest.mark.parametrize(
    "pyproject",
    [
        None,  # installed: no pyproject beside the package
        '[project]\nname = "another"\nversion = "1.0"\n',  # some other project's
        "[project\nname = broken",
        '[project]\nname = "natverksboten"\n',  # dynamic version: not ours to guess
    ],
    ids=["installed", "other-project", "broken-toml", "no-version"],
)
def test_installed_code_reads_the_packages_metadata(tmp_path, pyproject):
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")

    assert version(tmp_path) == metadata.version("natverksboten")


def test_code_neither_installed_nor_in_a_checkout_says_so(tmp_path, monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)

    assert version(tmp_path) == UNKNOWN


def test_natverksbot_version_prints_it_and_needs_no_config(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        cwd=tmp_path,  # no config.yaml here
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )

    assert (run.returncode, run.stdout, run.stderr) == (0, f"natverksbot {version()}\n", "")


def test_help_names_version_in_the_cli_language(monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "sv")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--version" in out and "visa versionen och avsluta" in out
