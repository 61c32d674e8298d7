"""Formatting runs in linear time on any text a document or a user sends (issue 18, item 1).

The bot formats on its event loop: one regex that takes seconds there stops every answer,
acknowledgement and heartbeat. Each function gets 1 MB of the input that is worst for
its patterns and must finish well within a second; the bound asserted is 2 s of this
thread's CPU time, so a loaded machine does not make it flaky.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest

from bot import formatting
from bot.exts.answers._cog import strip_bot_mentions

MB = 1_000_000
BOUND_SECONDS = 2.0


def _times(count: int, unit: str) -> str:
    return unit * (count // len(unit))


def _within(text: str) -> object:
    return formatting.escaped_within(text, formatting.DESCRIPTION_LIMIT)


def _quote(text: str) -> object:
    return formatting._render_quote(text)


def _mentions(text: str) -> object:
    return strip_bot_mentions(text, 123456789012345678, 987654321098765432)


# (what, function, worst input): a URL's scheme ("[a-z][a-z0-9+.-]*://"), markdown,
# mentions, sentence ends and whitespace, each as a long run that ends where it cannot match.
CASES: list[tuple[str, Callable[[str], object], str]] = [
    ("escape/letters", formatting.escape, "a" * MB),
    ("escape/letters and dots", formatting.escape, _times(MB, "a.")),
    ("escape/digits and letters", formatting.escape, _times(MB, "1a")),
    ("escape/scheme characters", formatting.escape, _times(MB, "a+-.")),
    ("escape/schemes without body", formatting.escape, _times(MB, "http:// ")),
    ("escape/colon slashes", formatting.escape, _times(MB, "1://")),
    ("escape/urls", formatting.escape, _times(MB, "http://a ")),
    ("escape/glued urls", formatting.escape, _times(MB, "xhttps://a.se/")),
    ("escape/http", formatting.escape, _times(MB, "http")),
    ("escape/spaces", formatting.escape, " " * MB + "x"),
    ("escape/line start digits", formatting.escape, "1" * MB + "x"),
    ("escape/markdown", formatting.escape, _times(MB, "*_~|`[]<>#")),
    ("escape/at signs", formatting.escape, _times(MB, "@everyon")),
    ("escape inline/markdown", formatting.escape_inline, _times(MB, "*_#@here")),
    ("one line/whitespace", formatting.one_line, _times(MB, " \n\t")),
    ("cut/dots", lambda text: formatting.cut(text, MB // 2), "." * MB),
    ("cut/closers", lambda text: formatting.cut(text, MB // 2), "." + ")" * MB),
    ("cut/sentences", lambda text: formatting.cut(text, MB // 2), _times(MB, "a. ")),
    ("escaped within/urls", _within, _times(MB, "ahttp://x ")),
    ("escaped within/letters", _within, "a" * MB),
    # A quote is escaped line by line (each line's start may be markdown); a quote holds
    # one chunk's lines, not a million, so this one has lines of a list.
    ("quote/lines", _quote, _times(MB, "- 1. punkt\n")),
    ("mentions/digits", _mentions, "<@" + "1" * MB),
    ("mentions/open brackets", _mentions, _times(MB, "<@!")),
]


@pytest.mark.parametrize(("function", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_formatting_takes_linear_time_on_its_worst_input(function, text):
    started = time.thread_time()
    function(text)
    assert time.thread_time() - started < BOUND_SECONDS


# The URL pattern before issue 18, without the \b that hid "x_https://…": what the
# scanner now finds, on short random texts where that pattern was fast.
UNBOUNDED_URL = re.compile(r"(?i)[a-z][a-z0-9+.\-]*://[^\s<>]+")


def test_raw_urls_are_found_wherever_a_scheme_stands():
    rng = random.Random(18)
    pieces = ["a", "h", "1", "+", ".", "-", "_", "å", ":", "/", "://", " ", "<", "x"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(5000)]
    found = [list(formatting._raw_urls(text)) for text in texts]
    expected = [[m.span() for m in UNBOUNDED_URL.finditer(text)] for text in texts]
    assert sum(map(len, expected)) > 300  # the texts hold many URLs
    assert [(t, f, e) for t, f, e in zip(texts, found, expected, strict=True) if f != e] == []


OLD_MARKDOWN = re.compile(r"([\\*_~|`\[\]<>])")
OLD_INLINE_MARKDOWN = re.compile(r"([\\*_~|`\[\]<>#])")


def test_markdown_is_escaped_as_it_was():
    rng = random.Random(18)
    texts = ["".join(rng.choice("\\*_~|`[]<>#a @") for _ in range(20)) for _ in range(2000)]
    for text in texts:
        assert text.translate(formatting._MARKDOWN) == OLD_MARKDOWN.sub(r"\\\1", text)
        assert text.translate(formatting._INLINE_MARKDOWN) == OLD_INLINE_MARKDOWN.sub(r"\\\1", text)
