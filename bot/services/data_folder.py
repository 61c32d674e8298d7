"""A deployment's data folder: the admin's content kept apart from the code.

``natverksbot init DIR`` makes ``DIR/knowledge`` (the documents; ``/kb add`` writes
there) and ``DIR/state`` (index, model export, question record, trash) and writes a
commented starter config naming both, absolute, so the config can live elsewhere
(``/etc/natverksboten/config.yaml``) and the checkout stays as git left it: ``git pull``
and ``pip install -U`` never meet the admin's files.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.services.errors import ExplainedError

KNOWLEDGE = "knowledge"
STATE = "state"
CONFIG = "config.yaml"


class DataFolderError(ExplainedError):
    """The data folder or its config cannot be made (one exists already, a path is a file)."""


@dataclass(frozen=True)
class DataFolder:
    """What ``init`` made: the config file and the two folders it names."""

    config: Path
    knowledge_dir: Path
    state_dir: Path


# Values as the defaults in bot/config.py (a test holds them equal): the starter names the
# keys an admin sets first; every other key keeps its default.
STARTER_CONFIG = """\
# Nätverksboten configuration, written by `natverksbot init`.
# The bot reads it only where it is named: `natverksbot --config {config_literal} ...`
# (the systemd unit passes --config) or NATVERKSBOT_CONFIG.
# Relative paths are relative to this file's folder; `init` wrote these absolute.
# Keys left out keep their defaults; config.yaml in the source documents every key.
# Any key can be overridden from the environment: NATVERKSBOT_<SECTION>__<KEY>=value.
# Secrets never go here: the Discord token comes only from DISCORD_TOKEN.

# The documents (md with front matter, txt, html, pdf, docx); /kb add writes here.
knowledge_dir: {knowledge}
# The index, the model export, the question record and the trash.
state_dir: {state}
default_visibility: internal    # for documents that do not say (public | internal)
cli_language: {language}                # the command line's language, and its reports' (sv | en)

discord:
  staff_guild_ids: []           # guilds whose members see internal documents
  internal_channel_ids: []      # if non-empty, only these channels of staff guilds see internal
  admin_role_ids: []            # roles allowed to run admin commands (Manage Server also works)
  admin_channel_id: null        # a staff guild's channel for the sync's summaries (null: the log)

sync:
  interval_minutes: 0           # 0: off; else the running bot checks the knowledge folder
                                # this often and reindexes when files changed
  sources_interval_minutes: 0   # 0: web sources only on request; else fetched this often

knowledge:
  trash_days: 30                # removed and replaced documents stay this long in <state_dir>/trash
"""


def starter_config(knowledge_dir: Path, state_dir: Path, config: Path, language: str) -> str:
    """Return the text of a starter config naming ``knowledge_dir`` and ``state_dir``."""
    # A JSON string is a YAML double-quoted scalar: any path (spaces, '#', ': ') reads back.
    return STARTER_CONFIG.format(
        knowledge=json.dumps(str(knowledge_dir), ensure_ascii=False),
        state=json.dumps(str(state_dir), ensure_ascii=False),
        config_literal=json.dumps(str(config), ensure_ascii=False),
        language=language,
    )


def init_data_folder(
    folder: Path, config: Path | None = None, *, language: str = "en"
) -> DataFolder:
    """Make ``folder``'s knowledge and state folders and write a starter config; return them.

    The config goes to ``config`` (default ``folder/config.yaml``) and is never
    overwritten: an existing one is a DataFolderError and nothing is changed. An existing
    knowledge folder is kept as it is (documents moved in before ``init`` stay).
    """
    folder = Path(folder).absolute()
    config = Path(config).absolute() if config is not None else folder / CONFIG
    if config.exists() or config.is_symlink():
        raise DataFolderError("init.err.config_exists", path=config)
    if folder.exists() and not folder.is_dir():
        raise DataFolderError("init.err.not_a_folder", path=folder)
    made = DataFolder(config, folder / KNOWLEDGE, folder / STATE)
    for path in (made.knowledge_dir, made.state_dir):
        if path.exists() and not path.is_dir():
            raise DataFolderError("init.err.not_a_folder", path=path)
    folder.mkdir(parents=True, exist_ok=True)
    made.knowledge_dir.mkdir(exist_ok=True)
    # Private, as the bot makes it (records.py): the question record and the salt live here.
    made.state_dir.mkdir(mode=0o700, exist_ok=True)
    text = starter_config(made.knowledge_dir, made.state_dir, config, language)
    _write_new(config, text.encode("utf-8"))
    return made


def _write_new(path: Path, data: bytes) -> None:
    """Write ``path`` whole, or not at all, and only if no file is there yet.

    A hidden temporary file is written, then hard-linked to the name: the link fails if
    the name exists (even one made meanwhile), and a reader never sees a half file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise DataFolderError("init.err.config_exists", path=path) from None
    finally:
        tmp.unlink(missing_ok=True)
