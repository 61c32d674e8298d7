"""An upload of hostile text never stalls the bot (issue 18, item 1).

A Markdown upload of 30 kB of dots once held the event loop for 19-23 s: the upload
check ran in a child process, but the bot's own reindex cut the sentences, with a
quadratic regex. Now the regex is linear and the reindex cuts sentences in the child.
"""

from __future__ import annotations

import asyncio
import time

from tests.bot.conftest import World

MB = 1_000_000


async def _loop_lag(stop: asyncio.Event, lags: list[float], tick: float = 0.01) -> None:
    """Sleep ``tick`` over and over; record how late each wake-up was (seconds)."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(tick)
        lags.append(time.perf_counter() - before - tick)


async def test_an_upload_of_a_megabyte_of_punctuation_never_stalls_the_bot(world: World):
    admin = world.admin()
    text = "# Prickar\n\n" + "." * (MB // 2) + "\n\n" + "!" * (MB // 2) + "\n\nSista meningen.\n"
    async with world.running():
        stop = asyncio.Event()
        lags: list[float] = []
        ticker = asyncio.create_task(_loop_lag(stop, lags))
        attachment = world.fake.add_attachment("prickar.md", text.encode())
        ix = await world.fake.invoke_slash(
            "kb add",
            {"file": attachment, "visibility": "public"},
            guild=world.staff,
            user=admin,
        )
        await ix.wait_for_callback()
        reply = await ix.wait_for_message(timeout=120)
        stop.set()
        await ticker

    assert ix.callback_latency < 0.5  # acknowledged at once
    assert reply.content.startswith("Sparade **prickar.md** (offentlig, ")
    assert "tillagda / ändrade / borttagna  1 / 0 / 0" in reply.embeds[0]["description"]
    assert max(lags) < 0.5, f"event loop stalled for {max(lags) * 1000:.0f} ms"
