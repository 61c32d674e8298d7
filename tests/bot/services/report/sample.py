"""A small question record for the report tests: six questions over 40 days, three votes."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.records import QuestionRecord, SQLiteRecordStore

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600
DAY = 86_400


def add_question(
    store,
    user,
    question,
    answered,
    *,
    days_ago=0.0,
    guild=1,
    sources=(),
    latency=100,
    private=False,
) -> int:
    """Record one question asked ``days_ago`` days before NOW; return its record id.

    ``private``: answered with "only me" (to the asker alone).
    """
    return store.add_question(
        QuestionRecord(
            guild_id=guild,
            channel_id=5,
            user_id=user,
            via="slash",
            answer_mode="private" if private else "public",
            question=question,
            answered=answered,
            sources=list(sources),
            visibility="public",
            language="sv",
            latency_ms=latency,
            asked_at=NOW - days_ago * DAY,
        )
    )


def fill(store: SQLiteRecordStore) -> None:
    """Record the sample: two phrasings answered today, three unanswered, one old."""
    a = add_question(
        store, 1, "När startade samarbetet?", True, sources=["almedalen.md"], latency=80
    )
    b = add_question(store, 2, "När började samarbetet", True, sources=["almedalen.md", "plan.pdf"])
    add_question(store, 3, "Vad kostar bygglov?", False, days_ago=1, latency=300)
    add_question(store, 4, "vad kostar ett bygglov", False, days_ago=1, guild=None)
    add_question(store, 5, "Vem <script>alert(1)</script>?", False, days_ago=2, guild=2)
    add_question(store, 6, "Gammal fråga", True, days_ago=40)
    store.vote(a, 10, 1)
    store.vote(a, 11, 1)
    store.vote(b, 10, -1)
