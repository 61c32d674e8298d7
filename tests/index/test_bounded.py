"""The bounded map: at most its size, forgetting the least recently used entry first."""

from __future__ import annotations

import threading

import pytest

from index.bounded import BoundedMap


def test_the_least_recently_used_entry_is_forgotten_first():
    kept = BoundedMap[str, int](2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # a is now more recent than b
    kept.put("c", 3)
    assert ("a" in kept, "b" in kept, "c" in kept, len(kept)) == (True, False, True, 2)


def test_storing_again_replaces_the_value_and_makes_it_recent():
    kept = BoundedMap[str, int](2)
    kept.put("a", 1)
    kept.put("b", 2)
    kept.put("a", 10)
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (10, None, 3)


def test_pop_removes_and_returns_and_a_missing_key_is_none():
    kept = BoundedMap[str, int](3)
    kept.put("a", 1)
    assert (kept.pop("a"), kept.pop("a"), kept.get("a")) == (1, None, None)
    assert len(kept) == 0


def test_a_map_holds_at_least_one_entry():
    with pytest.raises(ValueError, match="at least 1"):
        BoundedMap(0)


def test_threads_may_share_a_map_and_it_stays_bounded():
    kept = BoundedMap[int, int](50)

    def fill(start: int) -> None:
        for i in range(start, start + 2000):
            kept.put(i, i)
            kept.get(i - 1)

    threads = [threading.Thread(target=fill, args=(n * 10_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kept) == 50
