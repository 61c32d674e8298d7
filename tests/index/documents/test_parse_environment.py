"""The parser child gets a minimal environment: none of the bot's secrets reach it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import index.documents as documents
from index.documents import read_document_isolated
from index.documents._isolated import _child_environment
from tests.index.documents.test_parse_limits import small_docx

SECRETS = {
    "DISCORD_TOKEN": "hemlig-token",
    "NATVERKSBOT_USER_SALT": "hemligt-salt",
    "NATVERKSBOT_CONFIG": "/etc/natverksbot.yaml",
    "AWS_SECRET_ACCESS_KEY": "nyckel",
}


def test_the_child_environment_keeps_only_what_python_and_the_locale_need():
    parent = {
        **SECRETS,
        "PATH": "/usr/bin",
        "HOME": "/home/bot",
        "LANG": "sv_SE.UTF-8",
        "LC_ALL": "sv_SE.UTF-8",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": "/opt/extra",
    }
    env = _child_environment(parent)
    assert not set(SECRETS) & set(env)
    package_root = str(Path(documents.__file__).resolve().parents[2])
    assert env["PYTHONPATH"] == os.pathsep.join([package_root, "/opt/extra"])
    assert {k: env[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "OMP_NUM_THREADS")} == {
        k: parent[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "OMP_NUM_THREADS")
    }


def test_a_real_child_parses_without_seeing_the_token_or_the_salt(tmp_path, monkeypatch):
    # Python imports sitecustomize at start-up: this one, first on the path, writes down
    # the environment the child really got, next to itself.
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(
        "import json, os, pathlib\n"
        "pathlib.Path(__file__).with_name('env.json').write_text(json.dumps(dict(os.environ)))\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(spy))
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "plan.docx").write_bytes(small_docx(2))

    document = read_document_isolated(upload / "plan.docx", upload)

    assert "Stycke 1 om mottagandet i Nässjö." in document.text
    seen = json.loads((spy / "env.json").read_text())
    assert not set(SECRETS) & set(seen)
    assert not any(value in "\n".join(seen.values()) for value in SECRETS.values())
    assert seen["PATH"] == os.environ["PATH"]
