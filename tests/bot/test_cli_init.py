"""``natverksbot init DIR``: a data folder and a starter config, never an overwrite."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Config, load_config


def run_main(*args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _no_config_around(tmp_path, monkeypatch):
    # init runs where there is no config yet: an empty working folder, no variable.
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("NATVERKSBOT_CONFIG", raising=False)
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "en")


def test_init_writes_a_commented_config_naming_an_empty_knowledge_folder_and_a_state_folder(
    tmp_path,
):
    data = tmp_path / "var" / "lib" / "natverksboten"

    code, out, err = run_main("init", data)

    assert (code, err) == (0, "")
    config_file = data / "config.yaml"
    assert str(config_file) in out and "index" in out
    text = config_file.read_text(encoding="utf-8")
    assert text.startswith("# Nätverksboten configuration")
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) >= 5
    config = load_config(config_file, environ={})
    assert config.knowledge_dir == data / "knowledge"
    assert config.state_dir == data / "state"
    assert config.index_path == data / "state" / "index"
    assert config.model.export_dir == data / "state" / "models"
    assert list(config.knowledge_dir.iterdir()) == []
    assert (data / "state").stat().st_mode & 0o777 == 0o700
    # Every other value is the default: the starter never quietly differs from it.
    paths = {"knowledge_dir", "state_dir", "model"}
    assert config.model_dump(exclude=paths) == Config().model_dump(exclude=paths)
    assert config.model.name == Config().model.name


def test_init_writes_the_config_where_config_names_it_with_paths_into_the_folder(tmp_path):
    data, etc = tmp_path / "data", tmp_path / "etc" / "natverksboten"

    code, _out, err = run_main("--config", etc / "config.yaml", "init", data)

    assert (code, err) == (0, "")
    assert not (data / "config.yaml").exists()
    config = load_config(etc / "config.yaml", environ={})
    assert (config.knowledge_dir, config.state_dir) == (data / "knowledge", data / "state")


def test_a_relative_folder_is_written_absolute_so_the_config_works_from_anywhere(tmp_path):
    code, _out, err = run_main("--config", "../etc/config.yaml", "init", "data")

    assert (code, err) == (0, "")
    os.chdir(tmp_path)  # elsewhere
    config = load_config(tmp_path / "etc" / "config.yaml", environ={})
    assert config.knowledge_dir == tmp_path / "cwd" / "data" / "knowledge"


@pytest.mark.parametrize(
    "name", ["med mellanslag", "a: b # c", "'quoted'", 'dub"bel', "åäö-Ö", "[x]", "- y"]
)
def test_any_folder_name_reads_back_exactly(tmp_path, name):
    data = tmp_path / name

    code, _out, err = run_main("init", data)

    assert (code, err) == (0, "")
    config = load_config(data / "config.yaml", environ={})
    assert config.knowledge_dir == data / "knowledge"


def test_init_refuses_to_overwrite_a_config_in_one_line_and_changes_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.yaml").write_text("cli_language: sv  # mine\n", encoding="utf-8")

    code, out, err = run_main("init", data)

    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("natverksbot: error: ")
    assert f"{data / 'config.yaml'} exists already" in err
    assert (data / "config.yaml").read_text(encoding="utf-8") == "cli_language: sv  # mine\n"
    assert sorted(p.name for p in data.iterdir()) == ["config.yaml"]  # no folders made either


def test_init_refuses_a_config_path_held_by_a_dangling_link(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.yaml").symlink_to(tmp_path / "nowhere.yaml")

    code, _out, err = run_main("init", data)

    assert code == 1 and "exists already" in err
    assert not (tmp_path / "nowhere.yaml").exists()


def test_an_existing_knowledge_folder_is_kept_as_it_is(tmp_path):
    data = tmp_path / "data"
    (data / "knowledge" / "sub").mkdir(parents=True)
    (data / "knowledge" / "sub" / "doc.md").write_text("# Mitt\n\nInnehåll.\n", encoding="utf-8")

    code, _out, err = run_main("init", data)

    assert (code, err) == (0, "")
    assert (data / "knowledge" / "sub" / "doc.md").read_text(encoding="utf-8").startswith("# Mitt")


@pytest.mark.parametrize("where", [".", "knowledge", "state"])
def test_a_file_where_a_folder_goes_is_one_line(tmp_path, where):
    data = tmp_path / "data"
    if where == ".":
        data.write_text("a file", encoding="utf-8")
        blocked = data
    else:
        data.mkdir()
        blocked = data / where
        blocked.write_text("a file", encoding="utf-8")

    code, _out, err = run_main("init", data)

    assert code == 1 and err.count("\n") == 1
    assert f"{blocked} is a file, not a folder" in err
    if where != ".":
        assert sorted(p.name for p in data.iterdir()) == [where]  # no config, no folder


def test_init_speaks_swedish_when_the_cli_does(tmp_path, monkeypatch):
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "sv")
    data = tmp_path / "data"

    code, out, _err = run_main("init", data)
    again, _out, err = run_main("init", data)

    assert code == 0 and out.startswith("Skrev ")
    assert load_config(data / "config.yaml", environ={}).cli_language == "sv"
    assert again == 1 and "finns redan" in err and "natverksbot: fel: " in err


def test_the_folder_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["init"])
    assert exit_.value.code == 2
    assert "DIR" in capsys.readouterr().err


def test_the_written_config_is_the_one_commands_then_use(tmp_path):
    data = tmp_path / "data"
    run_main("init", data)
    (data / "knowledge" / "a.md").write_text("# A\n\nText.\n", encoding="utf-8")

    code, out, err = run_main("--config", data / "config.yaml", "kb", "list")

    assert code == 0, err
    assert "a.md" in out
    assert Path(data / "state").is_dir()
