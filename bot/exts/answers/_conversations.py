"""Follow-up contexts in memory: answer message or thread id -> context for the next question.

Older ones are read back from the record store. Each context is kept with the record
store's forget generation it was read at; one read at another generation may quote
someone forgotten since, and is dropped.
"""

from __future__ import annotations

from index.bounded import BoundedMap

CONVERSATIONS_IN_MEMORY = 10_000
"""Follow-up contexts kept in memory (older ones are read back from the record store)."""


class Conversations:
    """A bounded map of follow-up contexts, each valid at one forget generation."""

    def __init__(self, size: int = CONVERSATIONS_IN_MEMORY) -> None:
        self._items: BoundedMap[int, tuple[str, int | None]] = BoundedMap(size)

    def get(self, key: int, generation: int | None = None) -> str | None:
        """Return the context kept for ``key`` at ``generation``; drop one of another."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] != generation:
            self._items.pop(key)
            return None
        return item[0]

    def put(self, key: int, value: str, generation: int | None = None) -> None:
        """Keep the context ``value`` for ``key``, read at ``generation``."""
        self._items.put(key, (value, generation))
