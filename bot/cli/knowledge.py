"""The knowledge-base commands: index, status, kb, fetch-sources, backup, report, forget-user.

``kb list|remove|restore`` are the same verbs as ``/kb`` in Discord, through the same
service functions.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from bot.cli._common import (
    EXIT_ERROR,
    CliError,
    _,
    _count,
    _engine,
    _reindex,
    _reindex_after_change,
    _summary_table,
    language,
)
from bot.config import Config

if TYPE_CHECKING:
    from bot.command_sync import CommandsState
    from bot.services.knowledge import TrashEntry

log = logging.getLogger(__name__)


def cmd_index(args: argparse.Namespace, config: Config) -> int:
    """Build or update the index and print the summary."""
    summary = _reindex(_engine(config), force=args.force)
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        print(_summary_table(summary))
    return 0


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    """Print what is indexed."""
    from bot.client import code_fingerprint
    from bot.command_sync import commands_state
    from bot.version import version
    from index.store import index_status

    info = {"version": version(), **index_status(config.index_path)}
    info["model"] = _configured_model(config, info)
    commands = commands_state(config.state_dir, code_fingerprint(config))
    info["commands"] = commands.as_dict()
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    rows = [
        (_("cli.status.version"), info["version"]),
        (
            _("cli.status.index"),
            _(
                "cli.status.index_value",
                path=info["index_dir"],
                build=info["build"],
                built_at=info["built_at"],
            ),
        ),
        (
            _("cli.status.model"),
            _(
                "cli.status.model_value",
                model=info["model_id"],
                dimension=info["dimension"],
                dense_index=info["dense_index"],
            ),
        ),
        *_model_rows(info["model"]),
        (
            _("cli.status.documents"),
            _(
                "status.documents_value",
                total=info["documents"],
                public=info["public_documents"],
                internal=info["internal_documents"],
            ),
        ),
        (_("cli.status.chunks"), str(info["chunks"])),
        (_("cli.status.size"), f"{info['disk_bytes'] / 1e6:.2f} MB"),
        (_("cli.status.commands"), _commands_value(commands, config)),
    ]
    # Labels line up on the usual rows; a rare longer one (configured) just runs over.
    width = 1 + max(
        len(_(k))
        for k in ("cli.status.index", "cli.status.model", "cli.status.documents")
        + ("cli.status.chunks", "cli.status.size")
    )
    rows += [
        (_("cli.status.skipped"), f"{skipped['path']}: {skipped['reason']}")
        for skipped in info["skipped"]
    ]
    for name, value in rows:
        print(f"{name + ':':<{width}} {value}")
    return 0


def _commands_value(commands: CommandsState, config: Config) -> str:
    """Return whether the slash commands need a sync, and the command that does it."""
    synced = commands.synced
    if synced is None:
        return _("cli.status.commands_never", state=config.state_dir)
    targets = ", ".join(
        _("cli.status.commands_global") if target == "global" else target
        for target in synced.targets
    )
    key = "cli.status.commands_same" if commands.in_sync else "cli.status.commands_changed"
    return _(key, synced_at=synced.synced_at, targets=targets, version=synced.version)


def _model_rows(model: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the status rows of the configured model: its backend, or why it cannot load."""
    if model.get("error"):
        return [
            (_("cli.status.configured"), f"{model['name']} ({model['backend']}): {model['error']}")
        ]
    prompts = model["prompts"]
    rows = [
        (
            _("cli.status.backend"),
            _(
                "cli.status.backend_value",
                backend=model["backend"],
                query=repr(prompts["query"]),
                document=repr(prompts["document"]),
            ),
        )
    ]
    if not model["matches_index"]:
        mismatch = _("cli.status.mismatch", model=model["model_id"], dimension=model["dimension"])
        rows.append((_("cli.status.configured"), mismatch))
    return rows


def _configured_model(config: Config, info: dict[str, Any]) -> dict[str, Any]:
    """Return the configured model: name, backend, id, dimension, prompts, if the index's."""
    from bot.services.indexing import create_encoder
    from index.embedding import ModelNotFoundError

    described: dict[str, Any] = {"name": config.model.name, "backend": config.model.backend}
    try:
        encoder = create_encoder(config.model)
        described |= {
            "model_id": encoder.model_id,
            "dimension": encoder.dimension,
            "prompts": getattr(encoder, "prompts", {"query": None, "document": None}),
        }
    except (ModelNotFoundError, OSError, ValueError) as exc:
        return described | {"error": " ".join(str(exc).split())}
    described["matches_index"] = (
        described["model_id"] == info["model_id"] and described["dimension"] == info["dimension"]
    )
    return described


def cmd_fetch_sources(args: argparse.Namespace, config: Config) -> int:
    """Fetch the listed web pages, log what changed, update the index; exit 1 on a failure."""
    import asyncio
    import functools

    from bot.services.changes import log_changes
    from bot.services.fetching import fetch_and_log

    # mypy checks a partial of to_thread as the whole call, missing the changes: call-arg.
    write = functools.partial(asyncio.to_thread, log_changes, config.state_dir)  # type: ignore[call-arg]
    report = asyncio.run(fetch_and_log(config, write, via="cli"))
    if not report.results:
        print(_("cli.fetch.none", path=config.knowledge_dir / "sources.yaml"))
        return 0
    outcomes = {r.outcome: _(f"cli.fetch.outcome.{r.outcome}") for r in report.results}
    width = max(len(label) for label in outcomes.values())
    for result in report.results:
        line = f"{outcomes[result.outcome]:<{width}}  {result.url}  ->  {result.doc_id}"
        if result.reason:
            line += f"  ({_('cli.fetch.kept', reason=result.reason)})"
        print(line)
    print(
        _(
            "cli.fetch.summary",
            n=len(report.results),
            seconds=f"{report.seconds:.1f}",
            added=report.count("added"),
            updated=report.count("updated"),
            unchanged=report.count("unchanged"),
            removed=report.count("removed"),
            failed=len(report.failed),
        )
    )
    if report.changed and not args.no_index:
        print(_summary_table(_reindex(_engine(config))))
    return EXIT_ERROR if report.failed else 0


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    """Print the question report as tables; with --html also write it as one page."""
    import time

    from bot.services.records import DATABASE_NAME
    from bot.services.report import build_report, format_tables, parse_since, write_html
    from bot.services.report.periods import PeriodError

    database = config.state_dir / DATABASE_NAME
    if not database.is_file():
        raise CliError(_("cli.report.no_record", path=database))
    try:
        since = parse_since(args.since)
    except PeriodError as exc:
        raise CliError(exc.say(language())) from None
    started = time.perf_counter()
    report = build_report(database, since=since, top=max(1, args.top))
    print(format_tables(report, language()))
    if args.html:
        write_html(args.html, report, language())
        print(_("cli.report.wrote", path=args.html), file=sys.stderr)
    log.info("report made in %.2f s", time.perf_counter() - started)
    return 0


def cmd_forget_user(args: argparse.Namespace, config: Config) -> int:
    """Delete one person's questions and votes from the record; print how many rows went."""
    from bot.services.record_store import open_record_store
    from bot.services.records import DATABASE_NAME

    user_id = str(args.user_id).strip()
    if not user_id.isdigit() or not 1 <= len(user_id) <= 20:
        raise CliError(_("cli.forget.bad_id", value=repr(args.user_id)))
    database = config.state_dir / DATABASE_NAME
    if not database.is_file():
        # Saying "0 rows deleted" here could hide a wrong --config or state_dir.
        raise CliError(_("cli.forget.no_record", path=database))
    store = open_record_store(config.state_dir)
    try:
        forgotten = store.forget_user(int(user_id))
    finally:
        store.close()
    print(
        _(
            "cli.forget.deleted",
            rows=_count(forgotten.rows, "row"),
            questions=_count(forgotten.questions, "question"),
            votes=_count(forgotten.votes, "vote"),
            others=_count(forgotten.votes_on_their_answers, "vote"),
        )
    )
    if forgotten.contexts or forgotten.changes:
        print(
            _(
                "cli.forget.cleared",
                contexts=_count(forgotten.contexts, "follow_up"),
                changes=_count(forgotten.changes, "logged_change"),
            )
        )
    if not forgotten.checkpointed:
        raise CliError(_("cli.forget.not_checkpointed", path=database))
    return 0


def cmd_kb(args: argparse.Namespace, config: Config) -> int:
    """List, remove (to the trash) or restore documents, as /kb does in Discord."""
    from bot.services.changes import log_changes, trash_change
    from bot.services.knowledge import KnowledgeError

    try:
        if args.kb_command == "list":
            _kb_list(config, trash=args.trash)
            return 0
        if args.kb_command == "remove":
            entry = _kb_remove(config, args.document, yes=args.yes)
            if entry is None:
                return 0
        else:
            entry = _kb_restore(config, args.entry)
    except KnowledgeError as exc:
        raise CliError(exc.say(language())) from None
    log_changes(config.state_dir, [trash_change(args.kb_command, entry, "cli")])
    if not args.no_index:
        _reindex_after_change(_engine(config))
    return 0


def _kb_list(config: Config, *, trash: bool) -> None:
    """Print the knowledge folder's documents, or with ``trash`` what the trash holds."""
    from bot.services.knowledge import format_size, list_documents, list_trash

    if trash:
        for entry in list_trash(config.trash_dir):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.trashed_at))
            why = _("cli.kb.replaced" if entry.reason == "replace" else "cli.kb.removed")
            size = format_size(entry.size)
            print(_("cli.kb.trash_line", key=entry.key, id=entry.id, why=why, when=when, size=size))
        return
    for info in list_documents(config.knowledge_dir):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
        print(_("cli.kb.line", id=info.id, size=format_size(info.size), when=when))


def _kb_remove(config: Config, document: str, *, yes: bool) -> TrashEntry | None:
    """Move a document to the trash once confirmed; return its entry (None: not confirmed)."""
    from bot.services.knowledge import removable_document, trash_document

    info = removable_document(config.knowledge_dir, document)
    if not yes:
        if not sys.stdin.isatty():
            raise CliError(_("cli.kb.needs_yes", id=info.id))
        reply = input(_("cli.kb.confirm", id=info.id)).strip().lower()
        if reply not in ("y", "yes", "j", "ja"):
            print(_("cli.kb.nothing_removed"))
            return None
    entry = trash_document(config.knowledge_dir, config.trash_dir, info.id)
    print(_("cli.kb.moved", id=entry.id, key=entry.key, n=config.knowledge.trash_days))
    return entry


def _kb_restore(config: Config, key: str) -> TrashEntry:
    """Bring a trash entry back (the current version goes to the trash); return the entry."""
    from bot.services.knowledge import restore_document

    restored = restore_document(config.knowledge_dir, config.trash_dir, key)
    print(_("cli.kb.restored", id=restored.entry.id))
    if restored.displaced is not None:
        print(_("cli.kb.displaced", key=restored.displaced.key))
    return restored.entry


def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    """Write a backup of the database, the salt, the trash and the knowledge folder."""
    from bot.config import default_config_path
    from bot.services.backup import write_backup

    backup = write_backup(
        args.target,
        knowledge_dir=config.knowledge_dir,
        state_dir=config.state_dir,
        config_file=args.config or default_config_path(),
    )
    if backup.questions is None:
        questions = _("cli.backup.no_record")
    else:
        questions = _(
            "cli.backup.record",
            questions=_count(backup.questions, "question"),
            changes=_count(backup.changes or 0, "change"),
        )
    print(
        _(
            "cli.backup.written",
            folder=backup.folder,
            questions=questions,
            files=_count(backup.documents, "file"),
            mb=f"{backup.bytes / 1e6:.1f}",
        )
    )
    return 0
