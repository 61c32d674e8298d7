"""The ``natverksbot`` command: index, ask, chat, eval, status, run, sync-commands and more.

Thin: :mod:`bot.cli.parser` builds the parser; one module per command group parses its
arguments, calls the services and prints (:mod:`bot.cli.questions`: ask, chat, eval;
:mod:`bot.cli.runner`: run, sync-commands; :mod:`bot.cli.knowledge`: index, status, kb,
fetch-sources, backup, report, forget-user; :mod:`bot.cli.setup`: init;
:mod:`bot.cli.health`: health). Known errors become one plain line on stderr and a
non-zero exit (:func:`bot.services.errors.describe_error`); nothing prints a traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from bot.cli._common import EXIT_ERROR, CliError, _, set_language
from bot.cli.parser import _parser, cli_language
from bot.config import Config, load_config
from bot.services import errors


def _load(args: argparse.Namespace) -> Config:
    overrides = {
        "knowledge_dir": args.knowledge.resolve() if args.knowledge else None,
        "index_dir": args.index_dir.resolve() if args.index_dir else None,
    }
    options = {"knowledge_dir": "--knowledge", "index_dir": "--index-dir"}
    config = load_config(args.config, overrides=overrides, options=options)
    if args.knowledge and not args.index_dir:
        # Another knowledge folder gets an index of its own, never the shipped one's.
        key = hashlib.sha256(str(config.knowledge_dir).encode()).hexdigest()[:12]
        config = config.model_copy(update={"index_dir": config.state_dir / f"index-{key}"})
    return config


# command -> (its group's module in bot/cli, function): a group is imported only when used,
# so ``ask`` never loads discord.py.
COMMANDS: dict[str, tuple[str, str]] = {
    "index": ("knowledge", "cmd_index"),
    "ask": ("questions", "cmd_ask"),
    "chat": ("questions", "cmd_chat"),
    "eval": ("questions", "cmd_eval"),
    "status": ("knowledge", "cmd_status"),
    "run": ("runner", "cmd_run"),
    "sync-commands": ("runner", "cmd_sync_commands"),
    "health": ("health", "cmd_health"),
    "fetch-sources": ("knowledge", "cmd_fetch_sources"),
    "report": ("knowledge", "cmd_report"),
    "forget-user": ("knowledge", "cmd_forget_user"),
    "kb": ("knowledge", "cmd_kb"),
    "backup": ("knowledge", "cmd_backup"),
    "init": ("setup", "cmd_init"),
}
# Commands that run before there is a config: no config is loaded for them.
WITHOUT_CONFIG = frozenset({"init"})


def command(name: str) -> Callable[[argparse.Namespace, Config | None], int]:
    """Return the function that runs the command ``name``."""
    module, function = COMMANDS[name]
    return getattr(importlib.import_module(f"bot.cli.{module}"), function)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    spoken = cli_language(argv)
    set_language(spoken)
    args = _parser(spoken).parse_args(argv)
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
        config = _load(args) if args.command not in WITHOUT_CONFIG else None
        return command(args.command)(args, config)
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
        message = errors.describe_error(exc, spoken, operator=True)
        if message is None or args.debug:
            raise
        print(_("cli.error", message=message), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
