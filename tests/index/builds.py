"""Helpers of the index tests: build a knowledge folder, read back what a build holds."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

from bot.locales import engine_phrases
from index.build import BuildSettings, build_index
from index.engine import Engine, EngineSettings
from index.search import hybrid_search
from index.store import load_index
from tests.conftest import FakeEncoder, fake_calibrated, write_doc

ROOT = Path(__file__).parents[2]


SUMMER = "sommarskola.md"


SUMMER_CHANGED = (
    "# Sommarskolan\n\nBorlänges sommarskola hålls varje år i augusti för nyanlända elever. "
    "Skolan har funnits sedan 2015.\n"
)


def settings_for(encoder: FakeEncoder, default_visibility: str = "internal") -> BuildSettings:
    return BuildSettings(
        model_id=encoder.model_id,
        dimension=encoder.dimension,
        default_visibility=default_visibility,
    )


def build(knowledge: Path, index_dir: Path, encoder: FakeEncoder, **kwargs):
    return build_index(knowledge, index_dir, encoder, settings_for(encoder), **kwargs)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_hashes(knowledge: Path) -> dict[str, str]:
    """The content hashes a build of the knowledge folder must record, by document id."""
    return {
        p.relative_to(knowledge).as_posix(): sha256(p)
        for p in sorted(knowledge.rglob("*"))
        if p.is_file()
    }


def indexed_hashes(index_dir: Path) -> dict[str, str]:
    index = load_index(index_dir)
    try:
        return {doc_id: record.content_hash for doc_id, record in index.documents.items()}
    finally:
        index.close()


def chunk_texts(index_dir: Path, doc_id: str | None = None) -> list[str]:
    index = load_index(index_dir)
    try:
        return [c.text for c in index.all_chunks() if doc_id is None or c.doc_id == doc_id]
    finally:
        index.close()


def found_documents(index_dir: Path, encoder: FakeEncoder, question: str) -> list[str]:
    index = load_index(index_dir, encoder)
    try:
        vector = encoder.encode_queries([question])[0]
        result = hybrid_search(index, question, vector, visibility="internal", top_k=10)
        return [hit.doc_id for hit in result.hits]
    finally:
        index.close()


def build_folders(index_dir: Path) -> list[str]:
    return sorted(p.name for p in (index_dir / "builds").iterdir())


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def many_documents(folder, count: int) -> None:
    for i in range(count):
        write_doc(
            folder,
            f"del-{i % 7}/dokument-{i:03d}.md",
            f"# Avsnitt {i}\n\nKommun {i % 13} beslutade år {1990 + i % 30} om skola och "
            f"integration för {i * 3} nyanlända. Ärende {i} gäller bygglov och mottagande.\n",
            title=f"Dokument {i}",
            visibility="public" if i % 3 else "internal",
        )


def make_engine(knowledge, index_dir, encoder, *, min_confidence=None, **dense) -> Engine:
    """An engine calibrated for the fake encoder, its index built; ``dense``: DenseSettings."""
    settings = fake_calibrated(EngineSettings(knowledge_dir=knowledge, index_dir=index_dir))
    settings = replace(settings, dense=replace(settings.dense, **dense))
    if min_confidence is not None:
        answer = replace(settings.answer, min_confidence=min_confidence)
        settings = replace(settings, answer=answer)
    engine = Engine(settings, encoder, engine_phrases())
    engine.reindex()
    return engine
