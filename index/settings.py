"""The engine's settings: one small typed section per job, each setting written once here.

These sections *are* the configuration: ``bot/config.py`` composes them into its
``Config`` under the same names (``config.yaml``'s ``model``, ``chunking``, ``lexical``,
``dense``, ``search``, ``answer`` and ``documents``), so a new setting is one field here
plus its line in ``config.yaml``. Each field's bounds are pydantic constraints, checked
when the configuration is validated; the engine itself builds them as plain frozen
dataclasses (tests may set values no config would accept). Nothing here loads FAISS or a
model, so reading the configuration stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from index.documents import ParseLimits
from index.embedding.e5_package import E5_MODEL
from index.types import Visibility

Backend = Literal["torch", "onnx", "onnx-int8"]
DenseKind = Literal["auto", "exact", "hnsw", "ivf"]

# A section of config.yaml: an unknown key in it is an error, not silently ignored.
SECTION = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ModelSettings:
    """Which model embeds passages and questions, where it runs, and how questions batch."""

    __pydantic_config__ = SECTION

    name: str = E5_MODEL
    # The torch backend's device (cpu | cuda | mps); the ONNX backends run on the CPU.
    torch_device: str = "cpu"
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    max_seq_length: Annotated[int | None, Field(ge=8)] = None
    query_prompt: str | None = None
    document_prompt: str | None = None
    backend: Backend = "onnx"
    export_dir: Path | None = None
    # Questions asked at the same time share one encoder call (index/batching.py).
    query_batch_max: Annotated[int, Field(ge=1, le=1024)] = 32
    query_batch_window_ms: Annotated[float, Field(ge=0, le=100)] = 0.0


@dataclass(frozen=True)
class ChunkingSettings:
    """How documents are cut into passages."""

    __pydantic_config__ = SECTION

    max_chars: Annotated[int, Field(ge=100, le=20000)] = 700
    overlap_sentences: Annotated[int, Field(ge=0, le=10)] = 1


@dataclass(frozen=True)
class LexicalSettings:
    """How the keyword indexes are built."""

    __pydantic_config__ = SECTION

    # n of the character n-gram field (3 measured best)
    char_ngram: Annotated[int, Field(ge=2, le=6)] = 3


@dataclass(frozen=True)
class DenseSettings:
    """Which FAISS index holds the vectors (decided per build in index/dense.py)."""

    __pydantic_config__ = SECTION

    dense_index: DenseKind = "auto"
    approximate_above: Annotated[int, Field(ge=1)] = 200_000
    hnsw_m: Annotated[int, Field(ge=4, le=128)] = 32
    # 1024 keeps recall@10 >= 0.95 at 1,000,000 vectors, 4 ms (docs/PERFORMANCE.md).
    hnsw_ef_search: Annotated[int, Field(ge=8)] = 1024
    hnsw_ef_construction: Annotated[int, Field(ge=8)] = 200
    ivf_nlist: Annotated[int, Field(ge=0)] = 0  # 0: about 4 x sqrt(vectors)
    ivf_nprobe: Annotated[int, Field(ge=0)] = 0  # 0: a quarter of the lists


@dataclass(frozen=True)
class FusionSettings:
    """How retriever scores are combined (config ``search.fusion``)."""

    __pydantic_config__ = SECTION

    method: Literal["weighted", "rrf"] = "weighted"
    # The weight of each retriever's normalised score in the weighted sum.
    dense: Annotated[float, Field(ge=0)] = 1.0
    words: Annotated[float, Field(ge=0)] = 0.0
    chars: Annotated[float, Field(ge=0)] = 0.05
    lead: Annotated[float, Field(ge=0)] = 0.05
    rrf_k: Annotated[int, Field(ge=1)] = 60
    candidates: Annotated[int, Field(ge=1, le=10000)] = 300
    # "minmax": dense cosines scaled between the candidates' lowest and highest (e5's
    # cosines sit in a narrow band, 0.7-0.9, so scaling by the maximum alone flattens them);
    # "max": scaled by the highest only, as the keyword scores are.
    dense_norm: Literal["minmax", "max"] = "minmax"


@dataclass(frozen=True)
class SearchSettings:
    """How many passages a search returns and how its signals are fused."""

    __pydantic_config__ = SECTION

    top_k: Annotated[int, Field(ge=1, le=100)] = 10
    fusion: FusionSettings = field(default_factory=FusionSettings)


@dataclass(frozen=True)
class ConfidenceSettings:
    """How a cosine counts as evidence for the answer model (``answer.confidence``).

    The best cosine of passage and sentence is mapped from [floor, floor + width] onto
    [0, 1] before the fitted answer model (index/selection_weights.json) weighs it. An
    English question's cosine with Swedish text runs lower, so each language has its own
    floor; the defaults are measured for multilingual-e5-small, and another model needs
    its own (benchmarks/calibrate.py).
    """

    __pydantic_config__ = SECTION

    floor_sv: Annotated[float, Field(ge=-1, le=1)] = 0.82
    floor_en: Annotated[float, Field(ge=-1, le=1)] = 0.76
    width: Annotated[float, Field(gt=0, le=2)] = 0.08


@dataclass(frozen=True)
class AnswerSettings:
    """Extractive answers and abstention."""

    __pydantic_config__ = SECTION

    # Quotes in an answer: one, and a second only when it carries what the first lacks.
    max_sentences: Annotated[int, Field(ge=1, le=10)] = 2
    passages: Annotated[int, Field(ge=1, le=20)] = 10  # top passages the quotes are drawn from
    # Below this answer probability the engine abstains (benchmarks/fit_selection.py).
    min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.22
    max_question_chars: Annotated[int, Field(ge=10, le=10000)] = 500
    confidence: ConfidenceSettings = field(default_factory=ConfidenceSettings)
    # The fitted sentence and answer models (benchmarks/fit_selection.py); None: the file
    # shipped for multilingual-e5-small. Another model needs weights fitted for it.
    selection_weights: Path | None = None


@dataclass(frozen=True)
class EngineSettings:
    """Everything the engine needs from the configuration, one section per job."""

    knowledge_dir: Path
    index_dir: Path
    default_visibility: Visibility = "internal"
    model: ModelSettings = field(default_factory=ModelSettings)
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    lexical: LexicalSettings = field(default_factory=LexicalSettings)
    dense: DenseSettings = field(default_factory=DenseSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    documents: ParseLimits = field(default_factory=ParseLimits)
