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
