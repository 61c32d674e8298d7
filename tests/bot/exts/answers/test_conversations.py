"""Follow-up contexts in memory: bounded, and valid only at the generation they were read at."""

from __future__ import annotations

from bot.exts.answers._conversations import Conversations


def test_a_context_is_found_at_its_generation_and_dropped_at_another():
    conversations = Conversations()
    conversations.put(1, "Förra frågan", 3)

    assert conversations.get(1, 3) == "Förra frågan"
    assert conversations.get(1, 4) is None  # someone was forgotten since: it may quote them
    assert conversations.get(1, 3) is None  # and it is gone, not kept for the old generation


def test_the_least_recently_used_context_is_forgotten_first():
    conversations = Conversations(size=2)
    conversations.put(1, "ett")
    conversations.put(2, "två")
    conversations.get(1)
    conversations.put(3, "tre")

    assert [conversations.get(k) for k in (1, 2, 3)] == ["ett", None, "tre"]
