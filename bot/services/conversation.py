"""Conversations: what a follow-up question is asked with, in Discord and in ``chat``."""

from __future__ import annotations

import re

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
