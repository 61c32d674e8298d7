"""The natverksbot command, run in-process with the real packaged model.

The module builds one index (tmp_path_factory) and loads the model once; tests that need
a folder of their own (first use, bad input) get a config in their tmp_path.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import SEED
from tests.conftest import fill_knowledge as fill_shared_knowledge

ROOT = Path(__file__).parents[2]
DEV_QUESTIONS = ROOT.parent / "shared" / "eval" / "dev-questions.jsonl"
SECRET = "Blåklocka"
ANSWER_KEYS = {"answered", "answer", "quotes", "sources", "language", "timings_ms"}
SOURCE_KEYS = {"id", "title", "url", "location", "score"}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


@dataclass(frozen=True)
class Site:
    root: Path
    config: Path
    knowledge: Path
    shipped_knowledge: Path


def write_config(folder: Path, knowledge: Path, state: Path) -> Path:
    path = folder / "config.yaml"
    path.write_text(f"knowledge_dir: {knowledge}\nstate_dir: {state}\n", encoding="utf-8")
    return path


def fill_knowledge(folder: Path) -> None:
    """The shared small knowledge base plus a broken PDF."""
    fill_shared_knowledge(folder)
    (folder / "trasig.pdf").write_bytes(bytes.fromhex("89504e470d0a1a0a") + bytes(100))


def run_main(*args: str) -> Run:
    """Run the CLI in-process, capturing what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Run(code, out.getvalue(), err.getvalue())


def assert_one_line_error(run: Run, *fragments: str) -> None:
    assert run.code == 1, run
    assert run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("natverksbot: error: ")
    assert "Traceback" not in run.err
    for fragment in fragments:
        assert fragment in lines[0]


def table(text: str) -> dict[str, str]:
    """The "  key   value" rows of the index summary."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^  (\S.*?)\s{2,}(\S.*)$", text, flags=re.MULTILINE)
    }


@pytest.fixture(scope="module")
def shared_model(real_encoder):
    """create_encoder memoised per model config, so the real model loads once per session."""
    from bot.services import indexing
    from index.settings import ModelSettings

    create = indexing.create_encoder
    default = ModelSettings()
    made = {}

    def create_once(config):
        if (config.name, config.backend) == (default.name, default.backend):
            return real_encoder
        if config not in made:
            made[config] = create(config)
        return made[config]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(indexing, "create_encoder", create_once)
        yield


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    root = tmp_path_factory.mktemp("cli")
    knowledge = root / "knowledge"
    fill_knowledge(knowledge)
    shipped = root / "shipped-knowledge"
    shutil.copytree(ROOT / "knowledge", shipped)
    return Site(root, write_config(root, knowledge, root / "state"), knowledge, shipped)


@pytest.fixture(scope="module")
def first_index(site, shared_model) -> Run:
    """The first `natverksbot index` of the module's knowledge folder."""
    return run_main("--config", site.config, "index")


@pytest.fixture
def cli(site, shared_model, first_index, capsys):
    """Run a command against the module's built index."""

    def run(*args: str) -> Run:
        code = main(["--config", str(site.config), *[str(a) for a in args]])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def fresh_config(tmp_path, site) -> Path:
    """A config over the module's documents with an empty state folder of its own."""
    return write_config(tmp_path, site.knowledge, tmp_path / "state")


# --------------------------------------------------------------------------- index


@pytest.mark.integration
def test_index_prints_a_summary_table_listing_skipped_files(first_index):
    assert first_index.code == 0, first_index
    assert first_index.out.startswith("Index built (")
    rows = table(first_index.out)
    assert rows["documents"] == "3"
    assert rows["chunks"] == rows["new passages embedded"] == "7"
    assert rows["reused"] == "0"
    assert rows["added / updated / removed"] == "3 / 0 / 0"
    assert rows["skipped"] == "1"
    assert float(rows["seconds"]) > 0
    assert re.search(r"^  skipped trasig\.pdf: not a valid PDF", first_index.out, re.MULTILINE)


@pytest.mark.integration
def test_second_index_says_up_to_date_and_embeds_nothing(cli):
    run = cli("index")

    assert run.code == 0
    assert run.out.splitlines()[0] == "Index up to date"
    rows = table(run.out)
    assert (rows["new passages embedded"], rows["reused"], rows["chunks"]) == ("0", "7", "7")


@pytest.mark.integration
@pytest.mark.parametrize(("flags", "changed"), [([], False), (["--force"], True)])
def test_index_json_is_the_summary_as_data(cli, flags, changed):
    run = cli("index", "--json", *flags)

    assert run.code == 0
    summary = run.json
    assert summary["changed"] is changed
    assert (summary["documents"], summary["chunks"]) == (3, 7)
    # --force embeds every passage again; otherwise the vectors come from the cache.
    assert (summary["embedded"], summary["reused"]) == ((7, 0) if changed else (0, 7))
    assert summary["skipped"] == [{"path": "trasig.pdf", "reason": summary["skipped"][0]["reason"]}]
    assert "not a valid PDF" in summary["skipped"][0]["reason"]
    assert {"added", "updated", "removed", "seconds", "build"} <= set(summary)


@pytest.mark.integration
def test_index_with_a_damaged_embedding_cache_moves_it_aside_and_succeeds(cli, site):
    cache = site.root / "state" / "index" / "embeddings.sqlite"
    cache.write_bytes(b"not a database" * 1000)

    run = cli("index", "--force")

    assert run.code == 0, run.err
    assert (table(run.out)["new passages embedded"], table(run.out)["reused"]) == ("7", "0")
    assert "Traceback" not in run.err
    assert [p.read_bytes()[:14] for p in cache.parent.glob("embeddings.sqlite.damaged-*")] == [
        b"not a database"
    ]
    assert cli("index").out.splitlines()[0] == "Index up to date"


def test_index_with_an_embedding_cache_it_cannot_open_is_one_line(fresh_config, shared_model):
    cache = fresh_config.parent / "state" / "index" / "embeddings.sqlite"
    cache.mkdir(parents=True)

    run = run_main("--config", fresh_config, "index")

    assert_one_line_error(run, "embedding cache", str(cache), "cannot be used")
    assert not list(cache.parent.glob("embeddings.sqlite.damaged-*"))


# --------------------------------------------------------------------------- ask


@pytest.mark.integration
def test_ask_json_answers_with_quotes_and_sources(cli):
    run = cli("ask", "När startade samarbetet mellan kommunerna?", "--json")

    assert run.code == 0, run.err
    answer = run.json
    assert ANSWER_KEYS <= set(answer)
    assert answer["answered"] is True
    assert "2012" in answer["answer"]
    assert answer["language"] == "sv"
    assert any("2012" in quote for quote in answer["quotes"])
    assert answer["sources"] and all(set(s) == SOURCE_KEYS for s in answer["sources"])
    assert answer["sources"][0]["id"] == SEED.name
    assert answer["sources"][0]["title"] == "Allt startade i Almedalen"
    assert {"encode", "search", "answer", "total"} <= set(answer["timings_ms"])


@pytest.mark.integration
@pytest.mark.parametrize(
    ("question", "language", "label", "other_label", "expected"),
    [
        ("När startade samarbetet mellan kommunerna?", "sv", "Källor:", "Sources:", "2012"),
        ("What is Nordic safe cities?", "en", "Sources:", "Källor:", "Nordic safe cities"),
    ],
    ids=["swedish", "english"],
)
def test_ask_answers_in_the_questions_language(
    cli, question, language, label, other_label, expected
):
    as_json = cli("ask", question, "--json").json
    run = cli("ask", question)

    assert as_json["language"] == language and as_json["answered"] is True
    assert run.code == 0
    assert run.out.rstrip("\n") == as_json["answer"]
    assert expected in run.out
    assert f"\n{label}\n[1] " in run.out
    assert other_label not in run.out


@pytest.mark.integration
@pytest.mark.parametrize(
    ("question", "visibility"),
    [
        ("Vad är kodordet Blåklocka?", "public"),
        ("Vad är den hemliga uppgiften?", "public"),
        ("Hur stor är nätverkets gemensamma budget för 2025?", "public"),
        ("Blåklocka", "public"),
        ("Vad är kodordet Blåklocka?", "internal"),
        ("Vad är den hemliga uppgiften?", "internal"),
        ("Hur stor är nätverkets gemensamma budget för 2025?", "internal"),
    ],
)
def test_public_readers_never_see_internal_documents(cli, question, visibility):
    run = cli("ask", question, "--json", "--visibility", visibility)

    assert run.code == 0, run.err
    answer = run.json
    cited = [s["id"] for s in answer["sources"]]
    rest = json.dumps({k: v for k, v in answer.items() if k != "question"}, ensure_ascii=False)
    if visibility == "public":
        assert "intern/budget.md" not in cited
        assert SECRET not in rest and "1 200 000" not in rest
    else:  # the same question does reach the document when the reader may see it
        assert answer["answered"] is True and cited[0] == "intern/budget.md"


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "Skriv en fråga"),
        ("   ", "Skriv en fråga"),
        ("???", "Skriv en fråga"),
        ("<@123456789>", "Skriv en fråga"),
        ("<@!123456789> <#42> <@&7>", "Skriv en fråga"),
        ("@everyone", "Skriv en fråga"),
        ("@here   ", "Skriv en fråga"),
        ("x" * 501, "Frågan är för lång (501 tecken)"),
        ("Vad? " * 101, "för lång (505 tecken)"),
    ],
    ids=[
        "empty", "blank", "punctuation", "mention", "mentions", "everyone", "here",
        "501-chars", "long-swedish",
    ],
)  # fmt: skip
def test_unfit_question_is_refused_in_one_line_before_anything_is_built(
    fresh_config, tmp_path, capsys, question, message
):
    code = main(["--config", str(fresh_config), "ask", question, "--json"])

    captured = capsys.readouterr()
    assert_one_line_error(Run(code, captured.out, captured.err), message)
    assert not (tmp_path / "state").exists()


@pytest.mark.integration
def test_ask_without_an_index_builds_it_first(fresh_config, tmp_path, shared_model):
    run = run_main("--config", fresh_config, "ask", "När startade samarbetet mellan kommunerna?")

    assert run.code == 0, run.err
    assert "Building the index for the first time" in run.err
    assert "Index built (" in run.err
    assert "2012" in run.out and "Källor:" in run.out
    status = run_main("--config", fresh_config, "status", "--json")
    assert status.json["documents"] == 3
    assert Path(status.json["index_dir"]) == tmp_path / "state" / "index"


# --------------------------------------------------------------------------- status


@pytest.mark.integration
def test_status_describes_the_live_index(cli):
    run = cli("status")

    assert run.code == 0
    assert re.search(r"^documents: 3 \(2 public, 1 internal\)$", run.out, re.MULTILINE)
    assert re.search(r"^chunks: +7$", run.out, re.MULTILINE)
    assert re.search(r"^model: +multilingual-e5-small@\w+ \(384 dim, exact\)$", run.out, re.M)
    assert re.search(r"^skipped: +trasig\.pdf: not a valid PDF", run.out, re.MULTILINE)


@pytest.mark.integration
def test_status_json_describes_the_live_index(cli, site):
    info = cli("status", "--json").json

    assert info["index_dir"] == str(site.root / "state" / "index")
    assert (info["documents"], info["public_documents"], info["internal_documents"]) == (3, 2, 1)
    assert (info["chunks"], info["dimension"], info["dense_index"]) == (7, 384, "exact")
    assert info["model_id"].startswith("multilingual-e5-small@")
    assert info["disk_bytes"] > 0 and info["build"] and info["built_at"]
    assert [s["path"] for s in info["skipped"]] == ["trasig.pdf"]


def test_status_without_an_index_says_how_to_build_it(fresh_config):
    run = run_main("--config", fresh_config, "status")

    assert_one_line_error(run, "no index", "natverksbot index")


# --------------------------------------------------------------------------- eval


@pytest.mark.integration
def test_eval_of_the_dev_questions_passes(site, shared_model):
    run = run_main(
        "--config", site.config, "--knowledge", site.shipped_knowledge,
        "eval", DEV_QUESTIONS, "--json",
    )  # fmt: skip

    report = run.json
    assert {"retrieval", "answers", "abstention", "failures"} <= set(report)
    assert report["answers"]["all"]["n"] + report["abstention"]["all"]["n"] == 10
    assert all({"id", "kind"} <= set(f) for f in report["failures"])
    failing = [(f["id"], f["kind"]) for f in report["failures"] if f["kind"] != "retrieval"]
    assert run.code == 0, f"failing dev questions: {failing}"
    assert failing == []


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ('{"question": "Ett?"}\n{not json\n', [":2: "]),
        ('{"question": "Ett?"}\n\n{"fråga": "Tre?"}\n', [":3: ", "'question'"]),
        ('["question"]\n', [":1: "]),
        ("\n\n", ["no questions"]),
    ],
    ids=["malformed-line", "missing-question", "not-an-object", "empty"],
)
def test_eval_of_a_malformed_question_file_names_the_line(
    fresh_config, tmp_path, content, fragments
):
    questions = tmp_path / "fragor.jsonl"
    questions.write_text(content, encoding="utf-8")

    run = run_main("--config", fresh_config, "eval", questions)

    assert_one_line_error(run, str(questions), *fragments)
    assert not (tmp_path / "state").exists()


def test_eval_of_a_missing_question_file_names_it(fresh_config, tmp_path):
    run = run_main("--config", fresh_config, "eval", tmp_path / "saknas.jsonl")

    assert_one_line_error(run, "saknas.jsonl")


# --------------------------------------------------------------------------- bad setup


@pytest.mark.parametrize(
    ("config_text", "extra", "fragments"),
    [
        ("knowledge_dir: {k}\nmodel:\n  nmae: x\n", [], ["config.yaml", "model.nmae"]),
        ("knowledge_dir: {k}\nsearch:\n  top_k: ten\n", [], ["config.yaml", "search.top_k"]),
        ("knowledge_dir: [oavslutad\n", [], ["config.yaml", "not valid YAML"]),
        ("knowledge_dir: {k}\n", ["--knowledge", "/nonexistent"], ["/nonexistent"]),
        ("knowledge_dir: /nonexistent\n", [], ["knowledge_dir", "/nonexistent"]),
    ],
    ids=["unknown-key", "wrong-type", "invalid-yaml", "knowledge-option", "knowledge-in-file"],
)
@pytest.mark.parametrize("command", [["status"], ["index"], ["ask", "När startade det?"]])
def test_bad_setup_is_one_line_and_exit_1(tmp_path, site, config_text, extra, fragments, command):
    config = tmp_path / "config.yaml"
    config.write_text(config_text.format(k=site.knowledge), encoding="utf-8")

    run = run_main("--config", config, *extra, *command)

    assert_one_line_error(run, *fragments)


@pytest.mark.parametrize(
    ("extra", "environ", "said"),
    [
        (["--knowledge", "no-such-folder"], {}, "--knowledge: folder not found: "),
        (
            [],
            {"NATVERKSBOT_SEARCH__TOPK": "5"},
            "the environment variable NATVERKSBOT_SEARCH__TOPK: search.topk: unknown key",
        ),
    ],
    ids=["option", "environment"],
)
def test_an_error_names_its_real_source_not_the_file(
    tmp_path, site, monkeypatch, extra, environ, said
):
    config = tmp_path / "config.yaml"
    config.write_text(f"knowledge_dir: {site.knowledge}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    run = run_main("--config", config, *extra, "status")

    assert_one_line_error(run, said)
    assert "config.yaml" not in run.err


def test_missing_config_file_is_one_line(tmp_path):
    run = run_main("--config", tmp_path / "saknas.yaml", "status")

    assert_one_line_error(run, "config file not found", "saknas.yaml")


# --------------------------------------------------------------------------- processes


def test_python_m_bot_help_lists_the_commands():
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: natverksbot")
    for command in ("index", "ask", "chat", "eval", "status", "run", "sync-commands"):
        assert re.search(rf"^\s+{command}\s", run.stdout, re.MULTILINE), command


def test_missing_model_is_one_line_naming_the_path_tried(tmp_path, site):
    config = write_config(tmp_path, site.knowledge, tmp_path / "state")
    env = {**os.environ, "NATVERKSBOT_MODEL__NAME": "/nonexistent/model"}

    run = subprocess.run(
        [str(Path(sys.executable).with_name("natverksbot")), "--config", str(config),
         "ask", "När startade samarbetet?"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip

    assert_one_line_error(Run(run.returncode, run.stdout, run.stderr), "/nonexistent/model")
    assert not (tmp_path / "state" / "index").exists()


# --------------------------------------------------------------------------- chat


@pytest.mark.integration
def test_chat_answers_each_line_until_end_of_input(cli, monkeypatch):
    import io

    # A new topic starts a new conversation (/ny): as in Discord, a follow-up the
    # conversation cannot answer is declined, not asked again on its own.
    lines = "När startade samarbetet mellan kommunerna?\n???\n/ny\nVem är presschef?\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    run = cli("chat")

    assert run.code == 0, run.err
    assert "2012" in run.out
    assert "Brovall" in run.out
    assert "Skriv en fråga" in run.out  # the unfit line gets the polite message, not a crash
    assert "Traceback" not in run.out + run.err


# --------------------------------------------------------------------------- one language


def _help(*args: str, language: str | None, tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NATVERKSBOT_CLI_LANGUAGE", None)
    config = tmp_path / "config.yaml"
    config.write_text(f"knowledge_dir: {tmp_path}\ncli_language: {language or 'en'}\n")
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize("command", [(), ("index",), ("report",), ("chat",)])
def test_help_speaks_swedish_throughout_when_configured(tmp_path, command):
    swedish = _help(*command, language="sv", tmp_path=tmp_path)
    english = _help(*command, language="en", tmp_path=tmp_path)
    assert swedish.startswith("användning: natverksbot")
    assert "alternativ:" in swedish and "visa den här hjälpen" in swedish
    for word in ("usage:", "options:", "show this help", "the index", "documents"):
        assert word not in swedish
    assert english.startswith("usage: natverksbot") and "show this help" in english


def test_status_and_errors_speak_swedish_when_configured(cli, site, tmp_path, monkeypatch):
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "sv")
    run = cli("status")
    assert re.search(r"^dokument: +3 \(2 offentliga, 1 interna\)$", run.out, re.M)
    assert re.search(r"^avsnitt: +7$", run.out, re.M)
    report = cli("report")
    assert report.code == 1
    assert report.err.startswith("natverksbot: fel: inget frågeregister i ")


def test_forget_user_kb_and_backup_speak_swedish_when_configured(cli, site, tmp_path, monkeypatch):
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "sv")
    bad = cli("forget-user", "inte-ett-id")
    assert bad.code == 1
    assert bad.err == (
        "natverksbot: fel: 'inte-ett-id' är inget användar-id i Discord"
        " (ett tal med högst 20 siffror)\n"
    )
    listed = cli("kb", "list")
    assert re.search(
        r"^sommarskola\.md  \(.+, ändrat \d{4}-\d\d-\d\d \d\d:\d\d\)$", listed.out, re.M
    )
    backup = cli("backup", str(tmp_path / "kopia"))
    assert backup.code == 0, backup.err
    assert backup.out.startswith("Säkerhetskopian är skriven till ")
    assert "filer ur kunskapsmappen" in backup.out
    # A refusal from a service is said in the CLI's language too (bot/services/errors.py).
    occupied = tmp_path / "upptagen"
    occupied.write_text("en fil, ingen mapp")
    refused = cli("backup", str(occupied / "kopia"))
    assert refused.code == 1
    assert refused.err.startswith("natverksbot: fel: det går inte att skriva en säkerhetskopia i ")
    assert "cannot" not in refused.err
    missing = cli("kb", "remove", "finns-inte.md", "--yes")
    assert missing.code == 1 and missing.err.startswith("natverksbot: fel: ")
    assert "finns-inte.md" in missing.err and "no document" not in missing.err


@pytest.mark.parametrize(
    ("listing", "swedish", "english"),
    [
        ("sources: [{url: 'ftp://x'}]", "post 1: url måste vara en http(s)-adress", "url must be"),
        (
            "sources: [{url: 'https://a.se', färg: blå}]",
            "post 1: okänd nyckel 'färg'",
            "unknown key",
        ),
        ("sources: {url: x}", "en lista med sidor väntades under 'sources:'", "expected a list"),
        (
            "sources: [https://a.se, https://a.se]",
            "post 2: https://a.se står med två gånger",
            "twice",
        ),
        ("sources: [{url: 'https://a.se', visibility: hemlig}]", "inte 'hemlig'", "must be public"),
    ],
)
def test_a_bad_source_list_is_explained_in_the_cli_language(
    tmp_path, site, monkeypatch, listing, swedish, english
):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "sources.yaml").write_text(listing + "\n", encoding="utf-8")
    for language, expected, foreign in (("sv", swedish, english), ("en", english, swedish)):
        monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", language)
        run = run_main("--config", site.config, "--knowledge", knowledge, "fetch-sources")
        assert run.code == 1 and run.out == "", run
        assert run.err.count("\n") == 1 and "sources.yaml" in run.err
        assert expected in run.err and foreign not in run.err


@pytest.mark.parametrize(
    ("args", "swedish", "english"),
    [
        (["ask"], "de här argumenten saknas: question", "arguments are required: question"),
        (["ask", "q", "--visibility", "x"], "ogiltigt val: 'x' (välj bland", "invalid choice"),
        (["report", "--top", "x"], "--top: ogiltigt värde för int: 'x'", "invalid int value"),
        (["ask", "q", "--bogus"], "okända argument: --bogus", "unrecognized arguments"),
        (["report", "--since"], "argument --since: ett värde behövs", "expected one argument"),
        (["nope"], "ogiltigt val: 'nope'", "invalid choice: 'nope'"),
        (["kb"], "de här argumenten saknas: VERB", "arguments are required: VERB"),
    ],
)
def test_usage_errors_speak_the_cli_language(monkeypatch, args, swedish, english):
    for language, expected, foreign in (("sv", swedish, english), ("en", english, swedish)):
        monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", language)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 2
        last = err.getvalue().splitlines()[-1]
        assert expected in last and foreign not in last
        assert last.startswith("natverksbot")
        assert (": fel: " in last) == (language == "sv")
        if language == "sv":
            for word in ("error", "argument is", "required", "choose", "invalid", "expected"):
                assert word not in last


def test_every_argparse_message_we_translate_is_still_argparses():
    """Translated by msgid: a message argparse rewords would silently stay English."""
    import argparse
    import inspect

    from bot.cli.parser import ARGPARSE_MESSAGES

    source = inspect.getsource(argparse)
    missing = [msgid for msgid in ARGPARSE_MESSAGES if f"_({msgid!r})" not in source]
    assert missing == []
