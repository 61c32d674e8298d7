"""The ``natverksbot`` command: index, ask, chat, eval, status, run, sync-commands and more.

The knowledge-base commands are ``fetch-sources``, ``report``, ``forget-user``, ``kb
list|remove|restore`` (the same verbs as ``/kb`` in Discord, through the same service
functions) and ``backup``.

Known errors become one plain line on stderr and a non-zero exit; nothing prints a
traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.config import Config, default_config_path, load_config
from bot.locales import Language, question_message, t
from bot.services import errors

if TYPE_CHECKING:
    from bot.services.knowledge import TrashEntry
    from index.build import BuildSummary
    from index.engine import Engine

log = logging.getLogger(__name__)

# The language this run of the CLI speaks (set by main from cli_language).
_language: Language = "en"


def _(key: str, /, **values: object) -> str:
    """Return the CLI's text ``key`` in its language."""
    return t(key, _language, **values)


EXIT_ERROR = errors.EXIT_ERROR
EXIT_USAGE = errors.EXIT_USAGE


class CliError(Exception):
    """An error to show the user as one line."""


def cli_language(argv: Sequence[str] | None = None) -> Language:
    """Return the CLI's language, known before parsing: environment, then the config file.

    ``--help`` is printed before the configuration is validated, so the key
    ``cli_language`` is read here on its own (anything unreadable means English).
    """
    env = os.environ.get(CLI_LANGUAGE_ENV)
    if env in ("sv", "en"):
        return env  # type: ignore[return-value]
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--config", type=Path)
    known, _rest = early.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    try:
        import yaml

        path = known.config or default_config_path()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        language = data.get("cli_language") if isinstance(data, dict) else None
    except (OSError, ValueError, yaml.YAMLError):
        language = None
    return language if language in ("sv", "en") else "en"


CLI_LANGUAGE_ENV = "NATVERKSBOT_CLI_LANGUAGE"


# argparse's own error messages, as Python 3.11-3.13 words them, mapped to the catalogues.
_ARGPARSE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"the following arguments are required: (?P<names>.+)", "cli.arg.required"),
        (r"unrecognized arguments: (?P<args>.+)", "cli.arg.unrecognized"),
        (
            r"invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
            "cli.arg.invalid_choice",
        ),
        (r"invalid int value: (?P<value>.+)", "cli.arg.invalid_int"),
        (r"invalid \S+ value: (?P<value>.+)", "cli.arg.invalid_value"),
        (r"expected one argument", "cli.arg.expected_one"),
    )
)
_ARGUMENT = re.compile(r"argument (?P<name>[^:]+): (?P<message>.+)", re.DOTALL)


def argparse_message(message: str, language: Language) -> str:
    """Return one of argparse's error messages in ``language`` (unknown ones as they are)."""
    argument = _ARGUMENT.fullmatch(message)
    if argument:
        inner = argparse_message(argument["message"], language)
        return t("cli.arg.argument", language, name=argument["name"], message=inner)
    for pattern, key in _ARGPARSE_ERRORS:
        found = pattern.fullmatch(message)
        if found:
            return t(key, language, **found.groupdict())
    return message


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors speak the CLI's language."""

    def __init__(self, *args: Any, language: Language = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language = language

    def error(self, message: str) -> NoReturn:
        """Print the usage and the error in the parser's language; exit with status 2."""
        self.print_usage(sys.stderr)
        text = argparse_message(message, self.language)
        self.exit(2, t("cli.arg.error", self.language, prog=self.prog, message=text) + "\n")


def _formatter(language: Language) -> type[argparse.HelpFormatter]:
    class Formatter(argparse.HelpFormatter):
        def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: Any = None) -> None:
            if prefix is None:  # "" when argparse builds a subcommand's name
                prefix = t("cli.usage", language)
            super().add_usage(usage, actions, groups, prefix)

    return Formatter


def _sub(sub: Any, name: str, key: str, language: Language) -> argparse.ArgumentParser:
    """Return a subcommand's parser whose help is all in ``language``."""
    parser = sub.add_parser(
        name,
        help=t(key, language),
        description=t(key, language),
        add_help=False,
        formatter_class=_formatter(language),
        language=language,
    )
    _localise(parser, language)
    return parser


def _localise(parser: argparse.ArgumentParser, language: Language) -> None:
    """Give a parser its -h and its section titles in ``language``."""
    parser.add_argument("-h", "--help", action="help", help=t("cli.help", language))
    parser._positionals.title = t("cli.positionals", language)
    parser._optionals.title = t("cli.options", language)


def _parser(language: Language = "en") -> argparse.ArgumentParser:
    def _(key: str) -> str:
        return t(key, language)

    parser = _Parser(
        prog="natverksbot",
        description=_("cli.description"),
        add_help=False,
        formatter_class=_formatter(language),
        language=language,
    )
    _localise(parser, language)
    parser.add_argument("--config", type=Path, help=_("cli.opt.config"))
    parser.add_argument("--knowledge", type=Path, help=_("cli.opt.knowledge"))
    parser.add_argument("--index-dir", type=Path, help=_("cli.opt.index_dir"))
    parser.add_argument("-v", "--verbose", action="store_true", help=_("cli.opt.verbose"))
    parser.add_argument("--debug", action="store_true", help=_("cli.opt.debug"))
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title=_("cli.commands")
    )
    _add_question_commands(sub, language)
    _add_bot_commands(sub, language)
    _add_knowledge_commands(sub, language)
    return parser


VISIBILITY_OPTION: dict[str, Any] = {"choices": ["public", "internal"], "default": "internal"}


def _add_question_commands(sub: Any, language: Language) -> None:
    """Add ``index``, ``ask``, ``chat``, ``eval`` and ``status``."""

    def _(key: str) -> str:
        return t(key, language)

    visibility = VISIBILITY_OPTION
    p = _sub(sub, "index", "cli.cmd.index", language)
    p.add_argument("--force", action="store_true", help=_("cli.opt.force"))
    p.add_argument("--json", action="store_true", help=_("cli.opt.json"))

    p = _sub(sub, "ask", "cli.cmd.ask", language)
    p.add_argument("question", help=_("cli.opt.question"))
    p.add_argument("--json", action="store_true", help=_("cli.opt.json"))
    p.add_argument("--visibility", help=_("cli.opt.visibility"), **visibility)

    p = _sub(sub, "chat", "cli.cmd.chat", language)
    p.add_argument("--visibility", help=_("cli.opt.visibility"), **visibility)

    p = _sub(sub, "eval", "cli.cmd.eval", language)
    p.add_argument("file", type=Path, help=_("cli.opt.eval_file"))
    p.add_argument("--json", action="store_true", help=_("cli.opt.json"))
    p.add_argument("--visibility", help=_("cli.opt.visibility"), **visibility)
    p.add_argument(
        "--retriever",
        choices=["hybrid", "dense", "keyword", "words", "chars", "lead"],
        default="hybrid",
        help=_("cli.opt.retriever"),
    )

    p = _sub(sub, "status", "cli.cmd.status", language)
    p.add_argument("--json", action="store_true", help=_("cli.opt.json"))


def _add_bot_commands(sub: Any, language: Language) -> None:
    """Add ``run`` and ``sync-commands``."""
    _sub(sub, "run", "cli.cmd.run", language)
    p = _sub(sub, "sync-commands", "cli.cmd.sync", language)
    p.add_argument("--guild", type=int, help=t("cli.opt.guild", language))


def _add_knowledge_commands(sub: Any, language: Language) -> None:
    """Add ``fetch-sources``, ``report``, ``forget-user``, ``kb`` and ``backup``."""

    def _(key: str) -> str:
        return t(key, language)

    p = _sub(sub, "fetch-sources", "cli.cmd.fetch", language)
    p.add_argument("--no-index", action="store_true", help=_("cli.opt.no_index"))

    p = _sub(sub, "report", "cli.cmd.report", language)
    p.add_argument("--since", default="30d", help=_("cli.opt.since"))
    p.add_argument("--html", type=Path, metavar="FILE", help=_("cli.opt.html"))
    p.add_argument("--top", type=int, default=10, help=_("cli.opt.top"))

    p = _sub(sub, "forget-user", "cli.cmd.forget", language)
    p.add_argument("user_id", metavar="DISCORD_USER_ID", help=_("cli.opt.user_id"))

    p = _sub(sub, "kb", "cli.cmd.kb", language)
    kb = p.add_subparsers(dest="kb_command", required=True, metavar="VERB", title=_("cli.commands"))
    q = _sub(kb, "list", "cli.kb.list", language)
    q.add_argument("--trash", action="store_true", help=_("cli.opt.trash"))
    q = _sub(kb, "remove", "cli.kb.remove", language)
    q.add_argument("document", help=_("cli.opt.document"))
    q.add_argument("--yes", action="store_true", help=_("cli.opt.yes"))
    q.add_argument("--no-index", action="store_true", help=_("cli.opt.kb_no_index"))
    q = _sub(kb, "restore", "cli.kb.restore", language)
    q.add_argument("entry", help=_("cli.opt.entry"))
    q.add_argument("--no-index", action="store_true", help=_("cli.opt.kb_no_index"))

    p = _sub(sub, "backup", "cli.cmd.backup", language)
    p.add_argument("target", type=Path, metavar="DIR", help=_("cli.opt.target"))


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
    from bot.services.indexing import open_engine

    return open_engine(config)


def _progress_bar() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    from tqdm import tqdm

    bars: dict[str, Any] = {}
    labels = {stage: _(f"cli.progress.{stage}") for stage in ("read", "embed", "write")}

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
    from bot.services.summary import summary_heading, summary_rows

    rows = summary_rows(summary, _language)
    width = max(len(k) for k, _v in rows)
    lines = [summary_heading(summary, _language)]
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    skipped = _("summary.skipped_file")
    for item in summary.skipped:
        lines.append(f"  {skipped} {item.path}: {item.reason}")
    return "\n".join(lines)


def _reindex(engine: Engine, *, force: bool = False) -> BuildSummary:
    progress, close = _progress_bar()
    try:
        return engine.reindex(progress, force=force)
    finally:
        close()


def _ensure_index(engine: Engine) -> None:
    from bot.services.indexing import ensure_index

    def before_build(incompatible: Exception | None) -> None:
        if incompatible is None:
            print(_("cli.first_index"), file=sys.stderr)
        else:
            # An index from another model (e.g. before an upgrade): rebuild, as the bot does.
            print(_("cli.rebuild", reason=incompatible), file=sys.stderr)

    progress, close = _progress_bar()
    try:
        summary = ensure_index(engine, progress, before_build=before_build)
    finally:
        close()
    if summary is not None:
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
    """Answer questions typed at a prompt, each following up the earlier ones, until EOF.

    Like a Discord thread, every question is asked with the conversation so far as its
    context (as in Discord, one the conversation cannot answer is declined, not retried alone);
    "/ny" (or "/new") starts a new conversation. At a terminal the prompt has
    line editing and a history kept in the state folder.
    """
    from bot.services.conversation import ask_follow_up
    from index.answer import QuestionError

    engine = _engine(config)
    _ensure_index(engine)
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_line_editing(config.state_dir / CHAT_HISTORY)
        print(_("cli.chat.welcome"))
        print(_("cli.chat.quit"))
    context: str | None = None
    limit = config.answer.max_question_chars
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            break
        if not line.strip():
            if interactive:
                break
            continue
        if line.strip().lower() in NEW_CONVERSATION:
            context = None
            if interactive:
                print(_("cli.chat.new") + "\n")
            continue
        try:
            answer, following = ask_follow_up(
                engine, line, context, visibility=args.visibility, limit=limit
            )
        except QuestionError as exc:
            print(question_message(exc))
        else:
            print(answer.text)
            context = following
        print()
    return 0


CHAT_HISTORY = "chat-history"
NEW_CONVERSATION = frozenset({"/ny", "/new"})


def _enable_line_editing(history: Path) -> None:
    """Give ``input()`` line editing and a history file (where readline exists)."""
    try:
        import readline
    except ImportError:  # not on this platform: plain input still works
        return
    import atexit

    readline.set_history_length(1000)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)

    def save() -> None:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)
            history.chmod(0o600)  # the questions someone typed are theirs

    atexit.register(save)


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
    lines = [_("cli.eval.retriever", retriever=report["retriever"])]
    if report["retrieval"]:
        lang = _("cli.eval.language")
        lines.append(f"{lang:<6}{'n':>5}{'hit@1':>8}{'hit@5':>8}{'mrr@10':>8}{'ndcg@10':>9}")
        for language, m in report["retrieval"].items():
            lines.append(
                f"{language:<6}{m['n']:>5}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}"
                f"{m['mrr@10']:>8.3f}{m['ndcg@10']:>9.3f}"
            )
    for section in ("answers", "abstention"):
        for language, m in report[section].items():
            if "accuracy" in m:
                lines.append(
                    _(
                        f"cli.eval.{section}",
                        language=language,
                        accuracy=f"{m['accuracy']:.3f}",
                        n=m["n"],
                    )
                )
            if "answer@1" in m:
                lines.append(
                    _(
                        "cli.eval.answer_at_1",
                        section=_(f"cli.eval.section.{section}"),
                        language=language,
                        answer_at_1=f"{m['answer@1']:.3f}",
                        answered=f"{m['answered']:.3f}",
                        n=m["n_expected_source"],
                    )
                )
    for f in (f for f in report["failures"] if f["kind"] != "retrieval"):
        lines.append(_("cli.eval.fail", id=f["id"], kind=f["kind"], question=f.get("question", "")))
    retrieval_misses = sum(1 for f in report["failures"] if f["kind"] == "retrieval")
    if retrieval_misses:
        lines.append(_("cli.eval.retrieval_misses", count=retrieval_misses))
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    """Print what is indexed."""
    from index.store import index_status

    info = index_status(config.index_path)
    info["model"] = _configured_model(config, info)
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    rows = [
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
    import functools

    from bot.services.changes import log_changes
    from bot.services.fetching import fetch_and_log

    write = functools.partial(asyncio.to_thread, log_changes, config.state_dir)
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
            pages=len(report.results),
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

    from bot.services.knowledge import atomic_write
    from bot.services.records import DATABASE_NAME
    from bot.services.report import build_report, format_tables, parse_since, render_html
    from bot.services.report.periods import PeriodError

    database = config.state_dir / DATABASE_NAME
    if not database.is_file():
        raise CliError(_("cli.report.no_record", path=database))
    try:
        since = parse_since(args.since)
    except PeriodError as exc:
        raise CliError(exc.say(_language)) from None
    started = time.perf_counter()
    report = build_report(database, since=since, top=max(1, args.top))
    print(format_tables(report, _language))
    if args.html:
        atomic_write(args.html, render_html(report, _language).encode("utf-8"))
        print(_("cli.report.wrote", path=args.html), file=sys.stderr)
    log.info("report made in %.2f s", time.perf_counter() - started)
    return 0


def cmd_forget_user(args: argparse.Namespace, config: Config) -> int:
    """Delete one person's questions and votes from the record; print how many rows went."""
    from bot.services.records import DATABASE_NAME, RecordStore

    user_id = str(args.user_id).strip()
    if not user_id.isdigit() or not 1 <= len(user_id) <= 20:
        raise CliError(_("cli.forget.bad_id", value=repr(args.user_id)))
    database = config.state_dir / DATABASE_NAME
    if not database.is_file():
        # Saying "0 rows deleted" here could hide a wrong --config or state_dir.
        raise CliError(_("cli.forget.no_record", path=database))
    store = RecordStore.open(config.state_dir)
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
        raise CliError(exc.say(_language)) from None
    log_changes(config.state_dir, [trash_change(args.kb_command, entry, "cli")])
    if not args.no_index:
        _reindex_after_change(_engine(config))
    return 0


def _reindex_after_change(engine: Engine) -> None:
    """Reindex after a change to the knowledge folder, or say the next reindex picks it up."""
    from bot.services.indexing import reindex_unless_locked

    progress, close = _progress_bar()
    try:
        summary = reindex_unless_locked(engine, progress)
    finally:
        close()
    print(_summary_table(summary) if summary is not None else _("kb.index_later"))


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
    print(_("cli.kb.moved", id=entry.id, key=entry.key, days=config.knowledge.trash_days))
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


def _count(n: int, noun: str) -> str:
    """Return "1 row" / "2 rows" in the CLI's language (``cli.noun.<noun>.one|many``)."""
    return f"{n} {_(f'cli.noun.{noun}.one' if n == 1 else f'cli.noun.{noun}.many')}"


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    global _language
    _language = cli_language(argv)
    args = _parser(_language).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING if args.verbose else logging.ERROR)
    if args.command == "run" and not args.debug:
        # The running bot reports its own start, stop and answers; discord.py only problems.
        logging.getLogger("bot").setLevel(logging.INFO)
        logging.getLogger("discord").setLevel(logging.INFO if args.verbose else logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        config = _load(args)
        return COMMANDS[args.command](args, config)
    except BrokenPipeError:  # before OSError, which it is
        # The reader went away (`report | head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        if args.debug:
            raise
        print(_("cli.error", message=exc), file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        message = errors.describe_error(exc, _language, operator=True)
        if message is None or args.debug:
            raise
        print(_("cli.error", message=message), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
