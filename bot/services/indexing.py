"""The engine for the command line and the bot alike: opening it, the first index, a reindex.

Both call these (the CLI, ``natverksbot run`` and the bot's client all open their engine
with :func:`open_engine`), so a fix lands in both at once. They block (a build embeds every new
passage): the bot runs them on its reindex thread, the command line in its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.locales import engine_phrases
from index.build import BuildSummary, Progress
from index.embedding import Encoder, create_encoder
from index.embedding.onnx_backend import announcing_preparation
from index.engine import Engine
from index.folder_lock import FolderBusyError
from index.store import IndexIncompatibleError, IndexLockedError

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)


def open_engine(
    config: Config,
    encoder: Encoder | None = None,
    *,
    before_prepare: Callable[[], None] | None = None,
) -> Engine:
    """Return the engine of ``config``, with ``encoder`` or else the configured model (loaded).

    Its index is not loaded yet: :func:`ensure_index` does that (building it if need be).
    ``before_prepare`` is told when the configured model must first be prepared, once
    (exported: about a minute), before that starts.
    """
    settings = config.engine
    if encoder is None:
        told: list[bool] = []

        def announce() -> None:  # once, before the first child of the preparation
            if before_prepare is not None and not told:
                told.append(True)
                before_prepare()

        with announcing_preparation(announce):
            encoder = create_encoder(settings.model)
            prepare = getattr(encoder, "prepare", None)
            if prepare is not None:  # exported now, announced, not in the first build
                prepare()
    return Engine(settings, encoder, engine_phrases())


def ensure_index(
    engine: Engine,
    progress: Progress | None = None,
    *,
    before_build: Callable[[IndexIncompatibleError | None], None] | None = None,
) -> BuildSummary | None:
    """Load the live index, building it first if there is none; return the build's summary.

    An index built with another model or format (say, before an upgrade) is rebuilt, as
    ``natverksbot index`` would. ``before_build`` is told before a build starts: None
    for the first index, else why the existing one cannot be used. Returns None when the
    existing index was loaded as it is.
    """
    if engine.has_index():
        try:
            engine.reload()
            return None
        except IndexIncompatibleError as exc:
            log.info("%s; rebuilding the index with the configured model", exc)
            reason: IndexIncompatibleError | None = exc
    else:
        reason = None
    if before_build is not None:
        before_build(reason)
    summary = engine.reindex(progress)
    log.info("index built: %s", summary.as_dict())
    return summary


def reindex_unless_locked(engine: Engine, progress: Progress | None = None) -> BuildSummary | None:
    """Return the incremental reindex's summary, or None when it cannot run now.

    That is when another reindex holds the index's lock, or changes to the knowledge
    folder kept it from reading the folder for too long. A change to the knowledge folder
    is on disk either way: the reindex that holds the lock, or the next one, picks it up.
    """
    try:
        return engine.reindex(progress)
    except (IndexLockedError, FolderBusyError) as exc:
        log.warning("the change is indexed later: %s", exc)
        return None
