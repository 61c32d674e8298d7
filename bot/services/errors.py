"""Refusals the services report: a catalogue key and its values, said in the user's language.

A service does not know who reads its error (the CLI in its language, an admin in
Discord, a log). So it raises an :class:`ExplainedError` naming a text of the catalogues
(``bot/locales``) and the values to fill in; each edge says it in its reader's language
with :meth:`ExplainedError.say`, and ``str()`` is the English text, for logs.
"""

from __future__ import annotations

from bot.locales import t


class ExplainedError(Exception):
    """An error whose message is the catalogue's text ``key`` filled with ``values``."""

    def __init__(self, key: str, /, **values: object) -> None:
        self.key = key
        self.values = values
        super().__init__(self.say("en"))

    def say(self, language: str) -> str:
        """Return the message in ``language``."""
        return t(self.key, language, **self.values)


EXIT_ERROR = 1
"""The exit status of a command that failed with a known error (the CLI and the runner)."""
EXIT_USAGE = 2
"""The exit status of a command used wrongly (argparse's, and a missing or malformed token)."""


def describe_error(error: BaseException, language: str, *, operator: bool = False) -> str | None:
    """Return a known error as the one line its reader sees, or None for an unexpected one.

    The one mapping from errors to text: the CLI, ``natverksbot run`` and the bot's error
    handler all use it. A Discord user (``operator=False``) is told what happened without
    the engine's details (paths, versions); the operator at the command line gets them, and
    also the services' refusals and the operating system's errors, naming the path.
    """
    from bot.locales import question_message
    from index.answer import QuestionError
    from index.embedding.base import ModelNotFoundError
    from index.evaluate import EvalFileError
    from index.folder_lock import FolderBusyError
    from index.store import IndexLockedError, IndexMissingError, StoreError

    if isinstance(error, QuestionError):
        return question_message(error)
    # The engine's errors are diagnostics in English: the reader is told what happened in
    # their own language; the operator keeps the engine's detail after it.
    for kind, user_key, operator_key in (
        (IndexLockedError, "reindex.locked", "cli.err.locked"),
        (FolderBusyError, "reindex.locked", "cli.err.folder_busy"),
        (IndexMissingError, "error.no_index", "cli.err.no_index"),
        (StoreError, "error.store", "cli.err.store"),
        (ModelNotFoundError, None, "cli.err.model"),
    ):
        if isinstance(error, kind):
            if operator:
                return t(operator_key, language, detail=error)
            return t(user_key, language) if user_key else None
    if not operator:
        return None
    if isinstance(error, ExplainedError):
        return error.say(language)
    if isinstance(error, EvalFileError):
        return str(error)
    if isinstance(error, OSError):  # a read-only or full disk, a folder that cannot be made ...
        return os_error_line(error)
    return None


def os_error_line(error: OSError) -> str:
    """Return an operating-system error as one line naming the path: "PATH: reason"."""
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason
