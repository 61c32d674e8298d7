"""Conversations: what a follow-up question is asked with, in Discord and in ``chat``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.answer import Answer
    from index.engine import Engine
    from index.types import Language, Visibility

_WHITESPACE = re.compile(r"\s+")


def next_context(question: str, context: str | None, limit: int) -> str:
    """Return the context a follow-up to ``question`` gets: the conversation so far.

    The earlier questions are kept, newest last; when they grow beyond ``limit``
    characters the oldest words go first.
    """
    chain = f"{context} {question}" if context else question
    chain = _WHITESPACE.sub(" ", chain).strip()
    if len(chain) <= limit:
        return chain
    tail = chain[-limit:]
    space = tail.find(" ")
    return tail[space + 1 :] if 0 <= space < limit // 2 else tail


def ask_follow_up(
    engine: Engine,
    question: str,
    context: str | None,
    *,
    visibility: Visibility,
    limit: int,
    language_hint: Language | None = None,
) -> tuple[Answer, str]:
    """Return the answer to ``question`` asked with its conversation, and the next context.

    A follow-up the conversation cannot answer is declined as it is: it is not asked
    again on its own (Discord and ``chat`` alike). Blocking: the engine encodes and searches.
    """
    answer = engine.ask(
        question, visibility=visibility, context=context, language_hint=language_hint
    )
    return answer, next_context(question, context, limit)
