"""A slow engine never stalls the event loop: heartbeats keep being acknowledged."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.client import create_bot
from tests.bot.conftest import ANSWERABLE, make_config
from tests.fakes.discord import FakeDiscord


async def _loop_lag(stop: asyncio.Event, samples: list[float], tick: float = 0.01) -> None:
    """Sleep ``tick`` over and over; record how late each wake-up was (seconds)."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(tick)
        samples.append(time.perf_counter() - before - tick)


@pytest.mark.integration  # the fake Discord end to end, without the fixture
async def test_a_slow_engine_does_not_stall_heartbeats(knowledge, tmp_path, indexed_engine):
    ask = indexed_engine.ask
    sleeping_in: list[str] = []

    def slow_ask(question, **kwargs):
        sleeping_in.append(threading.current_thread().name)
        time.sleep(2.0)  # a blocking engine call, as a big model on a slow CPU
        return ask(question, **kwargs)

    indexed_engine.ask = slow_ask
    async with FakeDiscord(heartbeat_interval=0.2) as fake:
        guild = fake.add_guild()
        config = make_config(knowledge, tmp_path / "state")
        bot = create_bot(config, indexed_engine)
        async with fake.run_bot(bot):
            [conn] = fake.connections
            stop = asyncio.Event()
            lags: list[float] = []
            ticker = asyncio.create_task(_loop_lag(stop, lags))
            ix = await fake.invoke_slash("ask", {"question": ANSWERABLE}, guild=guild)
            await ix.wait_for_callback()
            beats_before = len(conn.heartbeats)
            started = time.monotonic()
            answer = await ix.wait_for_message(timeout=5)
            elapsed = time.monotonic() - started
            beats = [t for t in conn.heartbeats if t >= started]
            latency = bot.latency  # from the last heartbeat and its ACK
            stop.set()
            await ticker
        fake.assert_no_unknown_requests()

    assert sleeping_in and sleeping_in[0].startswith("engine")
    assert elapsed >= 1.9
    assert "2012" in answer.embeds[0]["description"]
    assert ix.callback_latency < 0.2  # deferred before the engine even started
    # One heartbeat per 0.2 s interval went out and was ACKed while the engine slept.
    # A blocked loop would stall for the whole 2 s; the margins below only absorb a
    # busy test machine (benchmarks/bench_bot.py measures the real lag).
    assert len(conn.heartbeats) - beats_before >= 7
    gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
    assert max(gaps) < 0.6
    assert latency < 0.5
    assert max(lags) < 0.3, f"event loop stalled for {max(lags) * 1000:.0f} ms"
