"""Bot benchmark for the Discord issue's figures (not part of CI).

Usage: .venv/bin/python benchmarks/bench_bot.py [--questions 100] [--in-flight 50] [--big]

Runs the real bot (create_bot, real discord.py client) against the in-process fake
Discord, with config.yaml's model (multilingual-e5-small by default) on the shipped
knowledge base (a copy, in a temporary state folder). The fake runs on its own thread and
event loop so that the bot's loop measures only the bot. Measured:

1. event-loop lag of the bot's loop (a 10 ms ticker: how late each wake-up is) while
   idle, while --in-flight questions are in flight, and while /reindex runs (the shipped
   document changed; with --big also while the FAQ dev set's documents are indexed);
2. time from the fake's INTERACTION_CREATE to the first response (the defer) and to the
   answer, over --questions questions asked one after the other.

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
import discord
from _common import ROOT, SHARED, percentile

from bot.client import create_bot
from bot.config import load_config
from tests.fakes.discord import FakeDiscord

FAQ_KNOWLEDGE = SHARED / "eval" / "swedish-faq-dev" / "knowledge"
QUESTIONS = [
    "När startade samarbetet mellan kommunerna?",
    "Vilka kommuner ingår i nätverket tillsammans med Borlänge?",
    "Vad heter heldagen som nätverket håller i Almedalen varje år?",
    "Vilka seminarier arrangerades på eftermiddagen?",
    "Vilka internationella nätverk har Borlänge bjudits in till?",
]


class FakeThread:
    """The fake Discord on its own thread and loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeDiscord()
        self.call(self.fake.start())

    def call(self, coro, timeout: float = 120.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def run(self, coro):
        """Await ``coro`` on the fake's loop from the bot's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self.call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class LagProbe:
    """Samples the event loop's lag with a 10 ms ticker, per named phase."""

    def __init__(self, tick: float = 0.01) -> None:
        self.tick = tick
        self.phase: str | None = None
        self.samples: dict[str, list[float]] = {}
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.tick)
            lag = time.perf_counter() - before - self.tick
            if self.phase is not None:
                self.samples.setdefault(self.phase, []).append(lag * 1000)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def bench(args: argparse.Namespace, state: Path, knowledge: Path) -> list[tuple]:
    config = load_config(
        ROOT / "config.yaml",
        overrides={
            "knowledge_dir": str(knowledge),
            "state_dir": str(state),
            "index_dir": str(state / "index"),
        },
        environ={},
    )
    config = config.model_copy(
        update={
            "discord": config.discord.model_copy(
                update={
                    "rate_limit": config.discord.rate_limit.model_copy(
                        update={"per_user_per_minute": 10_000, "per_guild_per_minute": 10_000}
                    ),
                    "reindex_progress_seconds": 1.0,
                }
            )
        }
    )
    fake_thread = FakeThread()
    fake = fake_thread.fake
    guild = fake.add_guild("Personalen")
    config = config.model_copy(
        update={"discord": config.discord.model_copy(update={"staff_guild_ids": [guild.id]})}
    )
    managers = fake.add_role(guild, "Förvaltare", discord.Permissions(manage_guild=True).value)
    admin = fake.add_user("förvaltare")
    fake.add_member(guild, admin, roles=[managers])

    t = time.perf_counter()
    from index.embedding import create_encoder
    from index.engine import Engine

    engine = Engine(config.engine, create_encoder(config.engine.model))
    engine.reindex()
    engine.ask(QUESTIONS[0], visibility="public")  # loads the model
    print(f"model + first index: {time.perf_counter() - t:.1f} s", file=sys.stderr)

    rows: list[tuple] = []
    probe = LagProbe()
    with fake.patched():
        bot = create_bot(config, engine)
        await bot.login(fake.token)
        connect = asyncio.create_task(bot.connect())
        await bot.wait_until_ready()
        probe.start()
        try:
            # Idle baseline.
            probe.phase = "idle"
            await asyncio.sleep(1.0)

            # Questions in flight at once.
            probe.phase = f"{args.in_flight} questions in flight"
            ixs = []
            for i in range(args.in_flight):
                ixs.append(
                    await fake_thread.run(
                        fake.invoke_slash("ask", {"question": QUESTIONS[i % len(QUESTIONS)]})
                    )
                )
            for ix in ixs:
                await fake_thread.run(ix.wait_for_message(timeout=120))
            inflight = [
                (ix.messages[0].time - ix.dispatched_at) * 1000 for ix in ixs if ix.messages
            ]
            defers = [ix.callback_latency * 1000 for ix in ixs]

            # Reindex (the shipped document changed) while questions keep coming.
            # Reindex (the shipped document changed) while questions keep coming. The
            # files are changed before the phase starts, off the loop: not the bot's work.
            probe.phase = None
            await asyncio.to_thread(_touch_document, knowledge)
            probe.phase = "reindex (one document changed)"
            await _reindex_with_questions(fake_thread, admin, guild)

            if args.big and FAQ_KNOWLEDGE.is_dir():
                probe.phase = None
                await asyncio.to_thread(shutil.copytree, FAQ_KNOWLEDGE, knowledge / "faq")
                n = sum(1 for p in (knowledge / "faq").rglob("*") if p.is_file())
                probe.phase = f"reindex (+{n} FAQ documents)"
                await _reindex_with_questions(fake_thread, admin, guild)

            # Sequential questions: defer and answer latency.
            probe.phase = None
            first_response, answer_time = [], []
            for i in range(args.questions):
                ix = await fake_thread.run(
                    fake.invoke_slash("ask", {"question": QUESTIONS[i % len(QUESTIONS)]})
                )
                message = await fake_thread.run(ix.wait_for_message(timeout=60))
                first_response.append(ix.callback_latency * 1000)
                answer_time.append((message.time - ix.dispatched_at) * 1000)
        finally:
            await probe.stop()
            await bot.close()
            await connect
    fake_thread.close()
    fake.assert_no_unknown_requests()

    for phase, samples in probe.samples.items():
        rows.append(
            (
                f"event-loop lag, {phase}",
                f"max {max(samples):.1f} ms",
                f"p99 {percentile(samples, 99):.1f} ms",
                f"{len(samples)} ticks",
            )
        )
    rows.append(
        (
            f"{args.in_flight} in flight: INTERACTION_CREATE → defer",
            f"median {statistics.median(defers):.1f} ms",
            f"max {max(defers):.1f} ms",
            "",
        )
    )
    rows.append(
        (
            f"{args.in_flight} in flight: INTERACTION_CREATE → answer",
            f"median {statistics.median(inflight):.0f} ms",
            f"max {max(inflight):.0f} ms",
            f"{len(inflight)} answered",
        )
    )
    rows.append(
        (
            f"INTERACTION_CREATE → first response (defer), {args.questions} questions",
            f"median {statistics.median(first_response):.1f} ms",
            f"p95 {percentile(first_response, 95):.1f} ms",
            f"max {max(first_response):.1f} ms",
        )
    )
    rows.append(
        (
            f"INTERACTION_CREATE → answer, {args.questions} questions",
            f"median {statistics.median(answer_time):.1f} ms",
            f"p95 {percentile(answer_time, 95):.1f} ms",
            f"max {max(answer_time):.1f} ms",
        )
    )
    return rows


def _touch_document(knowledge: Path) -> None:
    doc = next(knowledge.glob("*.md"))
    doc.write_text(doc.read_text(encoding="utf-8") + "\nEtt tillägg.\n", encoding="utf-8")


async def _reindex_with_questions(fake_thread: FakeThread, admin: dict, guild) -> None:
    """Run /reindex and ask a question every 100 ms until its summary arrives."""
    fake = fake_thread.fake
    job = await fake_thread.run(fake.invoke_slash("reindex", guild=guild, user=admin))
    asked = []
    started = time.perf_counter()
    while True:
        done = [m for m in job.messages if m.content.startswith("```")]
        if done:
            break
        if time.perf_counter() - started > 600:
            raise TimeoutError("the reindex did not finish in 10 minutes")
        asked.append(await fake_thread.run(fake.invoke_slash("ask", {"question": QUESTIONS[0]})))
        await asyncio.sleep(0.1)
    for ix in asked:
        await fake_thread.run(ix.wait_for_message(timeout=60))
    seconds = time.perf_counter() - started
    print(f"reindex: {seconds:.1f} s, {len(asked)} questions meanwhile", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--big", action="store_true", help="also index the FAQ dev documents")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        knowledge = Path(tmp) / "knowledge"
        shutil.copytree(ROOT / "knowledge", knowledge)
        rows = asyncio.run(bench(args, Path(tmp) / "state", knowledge))
    print(
        f"\nCPU: {os.cpu_count()} cores; Python {sys.version.split()[0]}; discord.py "
        f"{discord.__version__}\n"
    )
    print("| measurement | value | | |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
