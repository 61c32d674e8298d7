"""Moving a 0.1 deployment (config and knowledge inside the checkout) to code and data apart.

Follows docs/DEPLOY.md, "Moving from the old layout", with the CLI: the state moved, the
knowledge copied, ``init`` with ``--config``, the admin's settings carried over (putting
the checkout back as git left it is the upgrade test's, tests/test_install.py). The bot
then finds everything: the index as it was, the uploaded document, the trash, the change
log, the salt.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3

import pytest

from bot.cli import main
from tests.conftest import FakeEncoder, fill_knowledge, write_doc

UPLOAD = "Skolskjutsar bokas senast den femte augusti hos kommunens trafikenhet."


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    assert code == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch):
    from bot.services import indexing

    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "en")
    monkeypatch.delenv("NATVERKSBOT_CONFIG", raising=False)


@pytest.fixture
def old_checkout(tmp_path):
    """A 0.1 deployment: config.yaml edited in the checkout, uploads and state inside it."""
    checkout = tmp_path / "opt" / "natverksboten"
    fill_knowledge(checkout / "knowledge")
    (checkout / "config.yaml").write_text(
        "knowledge_dir: knowledge\nstate_dir: .state\nknowledge:\n  trash_days: 45\n",
        encoding="utf-8",
    )
    config = checkout / "config.yaml"
    write_doc(checkout / "knowledge", "uppladdad/skolskjuts.md", f"# Skolskjuts\n\n{UPLOAD}\n")
    run("--config", config, "index")
    run("--config", config, "kb", "remove", "intern/budget.md", "--yes")  # to the trash
    (checkout / ".state" / "user-salt").write_text("the-old-salt\n", encoding="utf-8")
    return checkout


def test_the_documented_move_keeps_index_documents_trash_change_log_and_salt(
    old_checkout, tmp_path
):
    old_config = old_checkout / "config.yaml"
    before = {
        "documents": run("--config", old_config, "kb", "list"),
        "trash": run("--config", old_config, "kb", "list", "--trash"),
        "status": json.loads(run("--config", old_config, "status", "--json")),
    }
    data, etc = tmp_path / "var" / "lib" / "natverksboten", tmp_path / "etc" / "natverksboten"

    # 1. The admin's content out of the checkout: the state moved, the knowledge copied,
    #    the old config kept aside to carry its settings over.
    data.mkdir(parents=True)
    shutil.move(old_checkout / ".state", data / "state")
    shutil.copytree(old_checkout / "knowledge", data / "knowledge", symlinks=True)
    etc.mkdir(parents=True)
    shutil.copy2(old_config, etc / "config.yaml.old")
    # 2. init keeps the folders that are there and writes a config naming them.
    run("--config", etc / "config.yaml", "init", data)
    # 3. The settings the admin had changed, carried into the new config.
    new_config = etc / "config.yaml"
    text = new_config.read_text(encoding="utf-8")
    assert "  trash_days: 30" in text
    new_config.write_text(text.replace("  trash_days: 30", "  trash_days: 45"), encoding="utf-8")

    status = json.loads(run("--config", new_config, "status", "--json"))
    assert status["index_dir"] == str(data / "state" / "index")
    assert status["build"] == before["status"]["build"]  # the same index, not rebuilt
    assert status["documents"] == before["status"]["documents"]
    assert run("--config", new_config, "kb", "list") == before["documents"]
    assert run("--config", new_config, "kb", "list", "--trash") == before["trash"]
    assert "intern/budget.md" in before["trash"]
    summary = json.loads(run("--config", new_config, "index", "--json"))
    assert summary["changed"] is False  # the move changed no document
    answer = json.loads(run("--config", new_config, "ask", "När bokas skolskjutsar?", "--json"))
    assert answer["sources"][0]["id"] == "uppladdad/skolskjuts.md"
    assert (data / "state" / "user-salt").read_text(encoding="utf-8") == "the-old-salt\n"
    with sqlite3.connect(data / "state" / "bot.sqlite") as db:
        [(changes,)] = db.execute("SELECT count(*) FROM changes").fetchall()
    assert changes >= 1  # the removal's entry in the change log
    from bot.config import load_config

    assert load_config(new_config, environ={}).knowledge.trash_days == 45
