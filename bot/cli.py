"""The ``natverksbot`` command: index, ask, chat, eval, status, run, sync-commands and more.

The knowledge-base commands are ``fetch-sources``, ``report``, ``forget-user``, ``kb
list|remove|restore`` (the same verbs as ``/kb`` in Discord, through the same service
functions) and ``backup``.

Known errors become one plain line on stderr and a non-zero exit; nothing prints a
traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Config, ConfigError, engine_settings, load_config

if TYPE_CHECKING:
    from index.engine import Engine
    from index.store import BuildSummary

log = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    """An error to show the user as one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="natverksbot",
        description="Nätverksboten: answers from the network's documents, with sources.",
    )
    parser.add_argument("--config", type=Path, help="config file (default: ./config.yaml)")
    parser.add_argument("--knowledge", type=Path, help="folder of documents (overrides config)")
    parser.add_argument("--index-dir", type=Path, help="index folder (overrides config)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index")
    p.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("ask", help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--visibility", choices=["public", "internal"], default="internal")

    p = sub.add_parser("chat", help="ask questions interactively")
    p.add_argument("--visibility", choices=["public", "internal"], default="internal")

    p = sub.add_parser("eval", help="evaluate on a question set (JSONL)")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--visibility", choices=["public", "internal"], default="internal")
    p.add_argument(
        "--retriever",
        choices=["hybrid", "dense", "keyword", "words", "chars", "lead"],
        default="hybrid",
        help="rank with one signal only (for comparisons)",
    )

    p = sub.add_parser("status", help="what is indexed, with which model, when, how big")
    p.add_argument("--json", action="store_true")

    sub.add_parser("run", help="run the Discord bot (token from DISCORD_TOKEN)")
    p = sub.add_parser("sync-commands", help="register the slash commands with Discord")
    p.add_argument("--guild", type=int, help="sync to one guild only (instant)")

    p = sub.add_parser(
        "fetch-sources", help="fetch the web pages of knowledge/sources.yaml, then update the index"
    )
    p.add_argument("--no-index", action="store_true", help="only fetch; do not update the index")

    p = sub.add_parser("report", help="what people asked: per day, answered, gaps, sources")
    p.add_argument(
        "--since", default="30d", help="period: 30d, 12h, 2w, 3m or a date (default 30d)"
    )
    p.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained page")
    p.add_argument("--top", type=int, default=10, help="rows in the top lists (default 10)")

    p = sub.add_parser("forget-user", help="delete a person's questions and votes")
    p.add_argument("user_id", metavar="DISCORD_USER_ID", help="the person's Discord user id")

    p = sub.add_parser("kb", help="the knowledge folder: list, remove (to the trash), restore")
    kb = p.add_subparsers(dest="kb_command", required=True, metavar="VERB")
    q = kb.add_parser("list", help="list the documents (--trash: what the trash holds)")
    q.add_argument("--trash", action="store_true", help="list the trash instead")
    q = kb.add_parser("remove", help="move a document to the trash and update the index")
    q.add_argument("document", help="its id, as `kb list` shows it (path under knowledge/)")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.add_argument("--no-index", action="store_true", help="do not update the index")
    q = kb.add_parser("restore", help="bring a document back from the trash; update the index")
    q.add_argument("entry", help="the trash entry (`kb list --trash`) or a document id")
    q.add_argument("--no-index", action="store_true", help="do not update the index")

    p = sub.add_parser(
        "backup", help="copy the database (safely, while the bot runs) and the knowledge folder"
    )
    p.add_argument("target", type=Path, metavar="DIR", help="folder to write the backup into")
    return parser


def _load(args: argparse.Namespace) -> Config:
    overrides = {
        "knowledge_dir": args.knowledge.resolve() if args.knowledge else None,
        "index_dir": args.index_dir.resolve() if args.index_dir else None,
    }
    config = load_config(args.config, overrides=overrides)
    if args.knowledge and not args.index_dir:
        # Another knowledge folder gets an index of its own, never the shipped one's.
        key = hashlib.sha256(str(config.knowledge_dir).encode()).hexdigest()[:12]
        config = config.model_copy(update={"index_dir": config.state_dir / f"index-{key}"})
    return config


def _engine(config: Config) -> Engine:
    from index.embedding import create_encoder
    from index.engine import Engine

    return Engine(engine_settings(config), create_encoder(config.model))


def _progress_bar() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    from tqdm import tqdm

    bars: dict[str, Any] = {}
    labels = {"read": "läser dokument", "embed": "bäddar in", "write": "skriver index"}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in labels or total <= 0:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total,
                desc=labels[stage],
                unit="",
                file=sys.stderr,
                leave=False,
                disable=not sys.stderr.isatty() and os.environ.get("NATVERKSBOT_PROGRESS") != "1",
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, close


def _summary_table(summary: BuildSummary) -> str:
    rows = [
        ("documents", str(summary.documents)),
        ("chunks", str(summary.chunks)),
        ("re-embedded", str(summary.embedded)),
        ("reused", str(summary.reused)),
        (
            "added / updated / removed",
            f"{len(summary.added)} / {len(summary.updated)} / {len(summary.removed)}",
        ),
        ("skipped", str(len(summary.skipped))),
        ("seconds", f"{summary.seconds:.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [("Index up to date" if not summary.changed else f"Index built: {summary.build}")]
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    for skipped in summary.skipped:
        lines.append(f"  skipped {skipped.path}: {skipped.reason}")
    return "\n".join(lines)


def _reindex(engine: Engine, *, force: bool = False) -> BuildSummary:
    progress, close = _progress_bar()
    try:
        return engine.reindex(progress, force=force)
    finally:
        close()


def _ensure_index(engine: Engine) -> None:
    from index.store import IndexIncompatibleError

    if engine.has_index():
        try:
            engine.reload()
            return
        except IndexIncompatibleError as exc:
            # An index from another model (e.g. before an upgrade): rebuild, as the bot does.
            print(f"{exc}: bygger om indexet ...", file=sys.stderr)
    else:
        print("Bygger index första gången ...", file=sys.stderr)
    summary = _reindex(engine)
    print(_summary_table(summary), file=sys.stderr)


def _print_answer(answer: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print(answer.text)


def cmd_index(args: argparse.Namespace, config: Config) -> int:
    """Build or update the index and print the summary."""
    summary = _reindex(_engine(config), force=args.force)
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        print(_summary_table(summary))
    return 0


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    """Answer one question."""
    from index.answer import clean_question

    # A bad question is refused before any model is loaded.
    clean_question(args.question, config.answer.max_question_chars)
    engine = _engine(config)
    _ensure_index(engine)
    _print_answer(engine.ask(args.question, visibility=args.visibility), args.json)
    return 0


def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    """Answer questions typed at a prompt until EOF or an empty line twice."""
    from index.answer import QuestionError

    engine = _engine(config)
    _ensure_index(engine)
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ställ en fråga (tom rad eller Ctrl-D avslutar).")
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            break
        if not line.strip():
            if interactive:
                break
            continue
        try:
            print(engine.ask(line, visibility=args.visibility).text)
        except QuestionError as exc:
            print(str(exc))
        print()
    return 0


def cmd_eval(args: argparse.Namespace, config: Config) -> int:
    """Run a question set and print metrics; exit 1 when an answer or abstention fails."""
    from index.evaluate import evaluate, load_questions, passed

    questions = load_questions(args.file)
    engine = _engine(config)
    _ensure_index(engine)
    report = evaluate(engine, questions, visibility=args.visibility, retriever=args.retriever)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(_format_report(report))
    return 0 if passed(report) else EXIT_ERROR


def _format_report(report: dict[str, Any]) -> str:
    lines = [f"retriever: {report['retriever']}"]
    if report["retrieval"]:
        lines.append(f"{'lang':<6}{'n':>5}{'hit@1':>8}{'hit@5':>8}{'mrr@10':>8}{'ndcg@10':>9}")
        for lang, m in report["retrieval"].items():
            lines.append(
                f"{lang:<6}{m['n']:>5}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}"
                f"{m['mrr@10']:>8.3f}{m['ndcg@10']:>9.3f}"
            )
    for section in ("answers", "abstention"):
        for lang, m in report[section].items():
            if "accuracy" in m:
                lines.append(f"{section} {lang}: {m['accuracy']:.3f} (n={m['n']})")
            if "answer@1" in m:
                lines.append(
                    f"{section} {lang}: answer@1 {m['answer@1']:.3f}, answered "
                    f"{m['answered']:.3f} (n={m['n_expected_source']})"
                )
    misses = [f for f in report["failures"] if f["kind"] != "retrieval"]
    for f in misses:
        lines.append(f"FAIL {f['id']} ({f['kind']}): {f.get('question', '')}")
    retrieval_misses = sum(1 for f in report["failures"] if f["kind"] == "retrieval")
    if retrieval_misses:
        lines.append(
            f"{retrieval_misses} questions without the expected document first (--json lists them)"
        )
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    """Print what is indexed."""
    from index.store import index_status

    info = index_status(config.index_path)
    info["model"] = _configured_model(config, info)
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    size_mb = info["disk_bytes"] / 1e6
    model = info["model"]
    print(f"index:     {info['index_dir']} (build {info['build']}, {info['built_at']})")
    print(f"model:     {info['model_id']} ({info['dimension']} dim, {info['dense_index']})")
    if model.get("error"):
        print(f"configured: {model['name']} ({model['backend']}): {model['error']}")
    else:
        prompts = model["prompts"]
        print(
            f"backend:   {model['backend']}; prompts: query {prompts['query']!r},"
            f" document {prompts['document']!r}"
        )
        if not model["matches_index"]:
            print(
                f"configured: {model['model_id']} ({model['dimension']} dim), not the index's:"
                " run `natverksbot index` to rebuild it"
            )
    print(
        f"documents: {info['documents']} ({info['public_documents']} public, "
        f"{info['internal_documents']} internal)"
    )
    print(f"chunks:    {info['chunks']}")
    print(f"size:      {size_mb:.2f} MB")
    for skipped in info["skipped"]:
        print(f"skipped:   {skipped['path']}: {skipped['reason']}")
    return 0


def _configured_model(config: Config, info: dict[str, Any]) -> dict[str, Any]:
    """Return the configured model: name, backend, id, dimension, prompts, if the index's."""
    from index.embedding import ModelNotFoundError, create_encoder

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


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """Run the Discord bot until SIGINT/SIGTERM."""
    from bot.runner import run_bot

    return run_bot(config)


def cmd_sync_commands(args: argparse.Namespace, config: Config) -> int:
    """Register the slash commands globally or for one guild."""
    from bot.runner import sync_commands

    return sync_commands(config, guild_id=args.guild)


def cmd_fetch_sources(args: argparse.Namespace, config: Config) -> int:
    """Fetch the listed web pages, log what changed, update the index; exit 1 on a failure."""
    import asyncio

    from bot.records import ChangeRecord, RecordStore
    from bot.sources import fetch_sources

    report = asyncio.run(
        fetch_sources(
            config.knowledge_dir,
            default_visibility=config.default_visibility,
            timeout=config.sources.timeout_seconds,
            max_bytes=int(config.sources.max_mb * 1_000_000),
            concurrency=config.sources.concurrency,
            allowed_hosts=config.sources.allowed_hosts,
        )
    )
    if not report.results:
        print(f"{config.knowledge_dir / 'sources.yaml'} lists no web pages")
        return 0
    width = max(len(r.outcome) for r in report.results)
    for result in report.results:
        line = f"{result.outcome:<{width}}  {result.url}  ->  {result.doc_id}"
        if result.reason:
            line += f"  ({result.reason}; the last good copy is kept)"
        print(line)
    print(
        f"{len(report.results)} pages in {report.seconds:.1f} s: "
        f"{report.count('added')} added, {report.count('updated')} updated, "
        f"{report.count('unchanged')} unchanged, {report.count('removed')} removed, "
        f"{len(report.failed)} failed"
    )
    changes = [r for r in report.results if r.outcome in ("added", "updated", "removed")]
    if changes:
        # The command line hashes nobody: it logs its fetches without a salt if it has none.
        store = RecordStore.open(config.state_dir, need_salt=False)
        try:
            for result in changes:
                store.log_change(
                    ChangeRecord(
                        action=f"fetch-{result.outcome}",
                        document=result.doc_id,
                        via="cli",
                        detail=result.url,
                    )
                )
        finally:
            store.close()
    if report.changed and not args.no_index:
        print(_summary_table(_reindex(_engine(config))))
    return EXIT_ERROR if report.failed else 0


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    """Print the question report as tables; with --html also write it as one page."""
    import time

    from bot.knowledge import atomic_write
    from bot.records import DATABASE_NAME
    from bot.report import build_report, format_tables, parse_since, render_html

    database = config.state_dir / DATABASE_NAME
    if not database.is_file():
        raise CliError(f"no question record at {database}: the Discord bot records questions")
    try:
        since = parse_since(args.since)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    started = time.perf_counter()
    report = build_report(database, since=since, top=max(1, args.top))
    print(format_tables(report))
    if args.html:
        atomic_write(args.html, render_html(report).encode("utf-8"))
        print(f"wrote {args.html}", file=sys.stderr)
    log.info("report made in %.2f s", time.perf_counter() - started)
    return 0


def cmd_forget_user(args: argparse.Namespace, config: Config) -> int:
    """Delete one person's questions and votes from the record; print how many rows went."""
    from bot.records import DATABASE_NAME, RecordStore

    user_id = str(args.user_id).strip()
    if not user_id.isdigit() or not 1 <= len(user_id) <= 20:
        raise CliError(f"{args.user_id!r} is not a Discord user id (a number of up to 20 digits)")
    database = config.state_dir / DATABASE_NAME
    if not database.is_file():
        # Saying "0 rows deleted" here could hide a wrong --config or state_dir.
        raise CliError(f"no question record at {database}: nothing was deleted")
    store = RecordStore.open(config.state_dir)
    try:
        forgotten = store.forget_user(int(user_id))
    finally:
        store.close()
    print(
        f"Deleted {_count(forgotten.rows, 'row')}: {_count(forgotten.questions, 'question')}"
        f" and {_count(forgotten.votes, 'vote')} by that user, and"
        f" {_count(forgotten.votes_on_their_answers, 'vote')} by others on their answers."
    )
    if forgotten.contexts or forgotten.changes:
        print(
            f"Cleared their words from {_count(forgotten.contexts, 'follow-up')} by others"
            f" and removed them from {_count(forgotten.changes, 'logged change')}."
        )
    return 0


def cmd_kb(args: argparse.Namespace, config: Config) -> int:
    """List, remove (to the trash) or restore documents, as /kb does in Discord."""
    from bot.knowledge import (
        KnowledgeError,
        format_size,
        list_documents,
        list_trash,
        removable_document,
        restore_document,
        trash_document,
    )
    from bot.records import ChangeRecord

    root, trash = config.knowledge_dir, config.trash_dir
    try:
        if args.kb_command == "list":
            if args.trash:
                for entry in list_trash(trash):
                    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.trashed_at))
                    why = "replaced" if entry.reason == "replace" else "removed"
                    print(f"{entry.key}  {entry.id}  ({why} {when}, {format_size(entry.size)})")
                return 0
            for info in list_documents(root):
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
                print(f"{info.id}  ({format_size(info.size)}, changed {when})")
            return 0
        if args.kb_command == "remove":
            info = removable_document(root, args.document)
            if not args.yes:
                if not sys.stdin.isatty():
                    raise CliError(f"remove {info.id}: add --yes to remove without being asked")
                reply = input(f"Move {info.id} to the trash? [y/N] ").strip().lower()
                if reply not in ("y", "yes", "j", "ja"):
                    print("Nothing was removed.")
                    return 0
            entry = trash_document(root, trash, info.id)
            change = ChangeRecord(
                action="remove",
                document=entry.id,
                via="cli",
                visibility=entry.visibility,
                size=entry.size,
                detail=f"trash {entry.key}",
            )
            print(
                f"Moved {entry.id} to the trash ({entry.key}); `natverksbot kb restore"
                f" {entry.key}` brings it back for {config.knowledge.trash_days} days."
            )
        else:
            restored = restore_document(root, trash, args.entry)
            entry = restored.entry
            change = ChangeRecord(
                action="restore",
                document=entry.id,
                via="cli",
                visibility=entry.visibility,
                size=entry.size,
                detail=f"trash {entry.key}",
            )
            print(f"Restored {entry.id}.")
            if restored.displaced is not None:
                print(f"The version that was there is in the trash ({restored.displaced.key}).")
    except KnowledgeError as exc:
        raise CliError(str(exc)) from None
    _log_changes(config, [change])
    if not args.no_index:
        print(_summary_table(_reindex(_engine(config))))
    return 0


def _log_changes(config: Config, changes: Sequence[Any]) -> None:
    """Log changes to the knowledge base in the state database (who: the command line)."""
    from bot.records import RecordStore

    # The command line hashes nobody: it logs without a salt if the bot has not made one.
    store = RecordStore.open(config.state_dir, need_salt=False)
    try:
        for change in changes:
            store.log_change(change)
    finally:
        store.close()


def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    """Write a backup of the database, the salt, the trash and the knowledge folder."""
    from bot.backup import write_backup
    from bot.config import default_config_path

    backup = write_backup(
        args.target,
        knowledge_dir=config.knowledge_dir,
        state_dir=config.state_dir,
        config_file=args.config or default_config_path(),
    )
    if backup.questions is None:
        questions = "no question record"
    else:
        questions = (
            f"{_count(backup.questions, 'question')} and {_count(backup.changes or 0, 'change')}"
        )
    print(
        f"Backup written to {backup.folder}: {questions},"
        f" {_count(backup.documents, 'file')} of the knowledge folder,"
        f" {backup.bytes / 1e6:.1f} MB."
    )
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "index": cmd_index,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "eval": cmd_eval,
    "status": cmd_status,
    "run": cmd_run,
    "sync-commands": cmd_sync_commands,
    "fetch-sources": cmd_fetch_sources,
    "report": cmd_report,
    "forget-user": cmd_forget_user,
    "kb": cmd_kb,
    "backup": cmd_backup,
}


def _known_errors() -> tuple[type[BaseException], ...]:
    from bot.backup import BackupError
    from bot.records import RecordsError
    from bot.sources import SourcesError
    from index.answer import QuestionError
    from index.embedding import ModelNotFoundError
    from index.evaluate import EvalFileError
    from index.store import StoreError

    return (
        ConfigError,
        RecordsError,
        SourcesError,
        CliError,
        QuestionError,
        ModelNotFoundError,
        StoreError,
        EvalFileError,
        BackupError,
        FileNotFoundError,
        PermissionError,
    )


def os_error_line(exc: OSError) -> str:
    """Return an operating-system error as one line naming the path: "PATH: reason"."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING if args.verbose else logging.ERROR)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        config = _load(args)
        return COMMANDS[args.command](args, config)
    except _known_errors() as exc:
        if args.debug:
            raise
        print(f"natverksbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # a read-only or full disk, a folder that cannot be made ...
        if args.debug:
            raise
        print(f"natverksbot: error: {os_error_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
