"""The ``natverksbot`` parser: its commands and options, all in the CLI's language.

argparse's own texts (usage errors, "usage: ", section titles) are translated by message
id: while a parser parses or formats, argparse's ``_`` and ``ngettext`` are a
translation backed by the catalogues (``cli.arg.*``), keyed by argparse's msgids
(:data:`ARGPARSE_MESSAGES`; a test checks each still exists in this Python's argparse).
"""

from __future__ import annotations

import argparse
import contextlib
import gettext
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from bot.config import default_config_path
from bot.locales import Language, t

# argparse's msgids -> the catalogue's texts, which keep argparse's %-placeholders.
ARGPARSE_MESSAGES: dict[str, str] = {
    "%(prog)s: error: %(message)s\n": "cli.arg.error",
    "argument %(argument_name)s: %(message)s": "cli.arg.argument",
    "the following arguments are required: %s": "cli.arg.required",
    "unrecognized arguments: %s": "cli.arg.unrecognized",
    "invalid choice: %(value)r (choose from %(choices)s)": "cli.arg.invalid_choice",
    "invalid %(type)s value: %(value)r": "cli.arg.invalid_value",
    "expected one argument": "cli.arg.expected_one",
    "usage: ": "cli.usage",
    "positional arguments": "cli.positionals",
    "options": "cli.options",
    "show this help message and exit": "cli.help",
}


class ArgparseTranslation(gettext.NullTranslations):
    """argparse's messages in ``language``, looked up by msgid in the catalogues."""

    def __init__(self, language: Language) -> None:
        super().__init__()
        self.language = language

    def gettext(self, message: str) -> str:
        """Return ``message`` in the CLI's language (as it is when not in the catalogues)."""
        key = ARGPARSE_MESSAGES.get(message)
        return t(key, self.language) if key else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        """Return the singular or plural message in the CLI's language."""
        return self.gettext(msgid1 if n == 1 else msgid2)


@contextlib.contextmanager
def speaking(language: Language) -> Iterator[None]:
    """Make argparse say its messages in ``language`` for the duration."""
    translation = ArgparseTranslation(language)
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._ = translation.gettext  # type: ignore[attr-defined]
    argparse.ngettext = translation.ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


CLI_LANGUAGE_ENV = "NATVERKSBOT_CLI_LANGUAGE"


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


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose own texts (usage errors above all) speak the CLI's language."""

    def __init__(self, *args: Any, language: Language = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language = language

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse as argparse does, its messages (and exit on an error) in the parser's language."""
        with speaking(self.language):
            return super().parse_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Print the usage and ``message`` in the parser's language; exit with status 2."""
        with speaking(self.language):
            super().error(message)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse as argparse does, its messages (and exit on an error) in the parser's language."""
        with speaking(self.language):
            return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        """Return the help in the parser's language."""
        with speaking(self.language):
            return super().format_help()

    def format_usage(self) -> str:
        """Return the usage line in the parser's language."""
        with speaking(self.language):
            return super().format_usage()


class _VersionAction(argparse.Action):
    """``--version``: print "natverksbot VERSION" and exit (the version read only then)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, *args: Any
    ) -> NoReturn:
        from bot.version import version

        print(f"{parser.prog} {version()}")  # on stdout, as argparse's own version action
        parser.exit()


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
    parser.add_argument("--version", action=_VersionAction, help=_("cli.opt.version"))
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
    """Add ``run``, ``sync-commands`` and ``health``."""
    _sub(sub, "run", "cli.cmd.run", language)
    p = _sub(sub, "sync-commands", "cli.cmd.sync", language)
    p.add_argument("--guild", type=int, help=t("cli.opt.guild", language))
    p = _sub(sub, "health", "cli.cmd.health", language)
    p.add_argument("--max-age", type=float, metavar="SECONDS", help=t("cli.opt.max_age", language))


def _add_knowledge_commands(sub: Any, language: Language) -> None:
    """Add ``fetch-sources``, ``report``, ``forget-user``, ``kb``, ``backup`` and ``init``."""

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

    p = _sub(sub, "init", "cli.cmd.init", language)
    p.add_argument("folder", type=Path, metavar="DIR", help=_("cli.opt.data_folder"))
