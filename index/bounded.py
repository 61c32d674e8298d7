"""A map that keeps its most recently used entries only: a bounded LRU cache.

Used wherever something is remembered in memory for a while and may be forgotten: the
parses of checked uploads (index/documents.py) and, in the bot, follow-up contexts, the
first-answer hints and what the buttons under recent answers need. It lives in index/
because the engine uses it too, and index/ imports nothing from bot/.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    """A map of at most ``size`` entries that forgets the least recently used one first.

    Reading an entry (``get``) or storing it (``put``) makes it the most recently used.
    Every call holds a lock, so threads may share one map.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a bounded map holds at least 1 entry, not {size}")
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Return the value of ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key``, forgetting the least recently used entry when full."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def pop(self, key: K) -> V | None:
        """Remove ``key`` and return its value, or None."""
        with self._lock:
            return self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
