"""Known errors become short polite messages; unknown ones are not described."""

from __future__ import annotations

import pytest
from discord import app_commands

from bot.access import NotAdmin
from bot.client import EngineNotReadyError
from bot.exts.errors import describe, unwrap
from bot.ratelimit import RateLimitedError
from index.answer import QuestionError
from index.store import IndexIncompatibleError, IndexLockedError, IndexMissingError


@pytest.mark.parametrize(
    ("error", "language", "expected"),
    [
        (QuestionError("empty", "sv"), "sv", "Skriv en fråga, till exempel"),
        (QuestionError("empty", "en"), "sv", "Please write a question"),  # the question's language
        (QuestionError("too_long", "sv", length=900, limit=500), "en", "för lång (900 tecken)"),
        (RateLimitedError("user", 12.1), "sv", "Försök igen om 13 sekunder."),
        (RateLimitedError("guild", 3), "en", "This server has asked many questions"),
        (NotAdmin("x"), "sv", "bara för administratörer"),
        (app_commands.MissingPermissions(["manage_guild"]), "en", "only for administrators"),
        (app_commands.NoPrivateMessage(), "sv", "bara på en server"),
        (IndexLockedError("pid 1"), "sv", "pågår redan i en annan process"),
        (IndexMissingError("none"), "en", "not indexed yet"),
        (IndexIncompatibleError("model"), "sv", "går inte att läsa just nu"),
        (EngineNotReadyError(), "sv", "fortfarande på att starta"),
    ],
)
def test_known_errors_get_a_short_polite_message(error, language, expected):
    text = describe(error, language)
    assert text is not None and expected in text
    assert "Traceback" not in text and len(text) < 200


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("x"), ValueError("y")])
def test_unexpected_errors_are_not_described(error):
    assert describe(error, "sv") is None


def test_command_wrappers_are_unwrapped():
    original = RuntimeError("inside")

    class Dummy:
        name = qualified_name = "ask"

    wrapped = app_commands.CommandInvokeError(Dummy(), original)  # type: ignore[arg-type]
    assert unwrap(wrapped) is original
