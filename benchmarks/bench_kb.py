"""Knowledge-management benchmark: the two figures of the knowledge-management issue.

Usage: .venv/bin/python benchmarks/bench_kb.py [--runs 3] [--questions 100000] [--no-faq]
       [--only add|report] [--html FILE]

1. Time from ``/kb add`` of a 20-page PDF to the first answer that cites it. The real bot
   (create_bot, real discord.py client) runs against the in-process fake Discord (on its
   own thread and loop), with config.yaml's model (multilingual-e5-small by default) over a
   copy of the shipped knowledge base plus the FAQ dev set's documents (``--no-faq``: the
   shipped base only). An admin uploads a generated 20-page PDF (a real text layer, one
   fact on page 14); as soon as the reply with the reindex summary arrives, /ask asks about
   the fact. Measured from the fake's
   INTERACTION_CREATE of /kb add to the answer message that cites the PDF, over --runs
   different PDFs (each a new document, so nothing comes from the embedding cache).
2. Report generation time on a record of --questions questions over 30 days (70 %
   answered; unanswered ones from 150 gaps asked in several phrasings plus a long tail of
   one-off questions; votes on 10 %): build_report, the terminal tables, the HTML page and
   the PNG chart, and the whole ``natverksbot report --since 30d --html`` command.

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
import discord
from _common import ROOT, SHARED

from bot.client import create_bot
from bot.config import load_config
from bot.services.records import SQLiteRecordStore
from bot.services.report import build_report, format_tables, render_html, render_png
from tests.fakes.discord import FakeDiscord
from tests.fakes.pdf import make_pdf

FAQ_KNOWLEDGE = SHARED / "eval" / "swedish-faq-dev" / "knowledge"
DAY = 86_400

# Each run's fact and question: a new programme per run, so nothing is cached.
FACTS = [
    ("Bro till arbete", "Lindesberg", "hösten 2021", 48),
    ("Språkstart", "Nässjö", "våren 2022", 35),
    ("Nya grannar", "Falköping", "hösten 2020", 61),
    ("Vägen in", "Borlänge", "våren 2023", 27),
    ("Första jobbet", "Nässjö", "hösten 2019", 52),
]
FILLER = [
    "Nätverket arbetar med mottagande och etablering av nyanlända i de fyra kommunerna.",
    "Kommunerna delar erfarenheter om boende, skola, arbetsmarknad och hälsa.",
    "Handläggarna träffas fyra gånger om året för att jämföra arbetssätt och resultat.",
    "Samverkan med Arbetsförmedlingen och regionen följs upp i varje kvartalsrapport.",
    "Civilsamhällets organisationer bidrar med språkcaféer, läxhjälp och mentorskap.",
    "Uppföljningen visar att fler nyanlända får arbete eller studerar efter två år.",
    "Kostnaderna för mottagandet redovisas per kommun och per verksamhetsår.",
    "Rapporten beskriver också utmaningar med bostadsbrist och långa väntetider.",
]


class FakeThread:
    """The fake Discord on its own thread and loop, so the bot's loop measures only the bot."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeDiscord(interaction_deadline=30.0)
        self.call(self.fake.start())

    def call(self, coro, timeout: float = 300.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def run(self, coro):
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self.call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def twenty_page_pdf(run: int) -> tuple[bytes, str, str]:
    """Return (a 20-page PDF, the question about its fact, the answer's year)."""
    name, town, when, people = FACTS[run % len(FACTS)]
    rng = random.Random(run)
    pages = []
    for number in range(1, 21):
        lines = [f"Årsrapport för integrationsnätverket {2024 + run}, sida {number}", ""]
        for _ in range(38):
            lines.append(rng.choice(FILLER))
        if number == 14:
            lines[10] = (
                f"Integrationsprogrammet {name} startade i {town} {when} med {people} deltagare."
            )
        pages.append(lines)
    title = f"Årsrapport integrationsnätverket {2024 + run}"
    question = f"När startade integrationsprogrammet {name}?"
    return make_pdf(pages, title=title), question, when.split()[-1]


async def bench_add(args: argparse.Namespace, state: Path, knowledge: Path) -> list[dict]:
    config = load_config(
        ROOT / "config.yaml",
        overrides={
            "knowledge_dir": str(knowledge),
            "state_dir": str(state),
            "index_dir": str(state / "index"),
        },
        environ={},
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
    from index.embedding import create_encoder
    from index.engine import Engine

    t = time.perf_counter()
    engine = Engine(config.engine, create_encoder(config.engine.model))
    first = engine.reindex()
    engine.ask(
        "När startade samarbetet mellan kommunerna?", visibility="internal"
    )  # the model is warm
    print(
        f"model + first index ({first.documents} documents, {first.chunks} chunks): "
        f"{time.perf_counter() - t:.1f} s",
        file=sys.stderr,
    )
    results = []
    with fake.patched():
        bot = create_bot(config, engine)
        await bot.login(fake.token)
        connect = asyncio.create_task(bot.connect())
        await bot.wait_until_ready()
        try:
            for run in range(args.runs):
                pdf, question, year = twenty_page_pdf(run)
                filename = f"arsrapport-{run}.pdf"
                attachment = fake.add_attachment(filename, pdf)
                add = await fake_thread.run(
                    fake.invoke_slash(
                        "kb add",
                        {"file": attachment, "visibility": "internal"},
                        guild=guild,
                        user=admin,
                    )
                )
                reply = await fake_thread.run(add.wait_for_message(timeout=300))
                ask = await fake_thread.run(
                    fake.invoke_slash("ask", {"question": question}, guild=guild)
                )
                answer = await fake_thread.run(ask.wait_for_message(timeout=120))
                text = answer.all_text()
                cited = filename in text or "Årsrapport integrationsnätverket" in text
                build = reply.embeds[0]["description"] if reply.embeds else ""
                results.append(
                    {
                        "run": run,
                        "pdf_bytes": len(pdf),
                        "saved_reply_s": reply.time - add.dispatched_at,
                        "answer_s": answer.time - ask.dispatched_at,
                        "total_s": answer.time - add.dispatched_at,
                        "cited": cited,
                        "year_in_answer": year in answer.embeds[0].get("description", ""),
                        "summary": {
                            line.split("  ")[1].strip(): line.split()[-1]
                            for line in build.replace("```", "").strip().splitlines()[1:]
                            if line.startswith("  ") and len(line.split("  ")) > 2
                        },
                    }
                )
                print(json.dumps(results[-1], ensure_ascii=False), file=sys.stderr)
        finally:
            await bot.close()
            connect.cancel()
            fake_thread.close()
    return results


# --------------------------------------------------------------------------- report

GAPS = [
    ("När öppnar {x}?", "Vilken tid öppnar {x}", "när öppnar {x} på helgen?"),
    ("Vad kostar {x}?", "vad kostar en {x}", "Vad är priset för {x}?"),
    ("Hur ansöker man om {x}?", "hur söker jag {x}", "Ansökan om {x}, hur gör man?"),
    ("Vem ansvarar för {x}?", "vem är ansvarig för {x}", "Vem har ansvaret för {x}?"),
    ("När började {x}?", "När startade {x}?", "när påbörjades {x}"),
]
THINGS = [
    "simhallen", "bygglov", "sfi-kursen", "familjecentralen", "biblioteket", "färdtjänst",
    "föreningsbidrag", "sommarskolan", "tolkservice", "hemtjänst", "busskort", "p-tillstånd",
    "förskoleplats", "språkcaféet", "mentorsprogrammet", "bostadskön", "ekonomiskt bistånd",
    "integrationsprojektet", "flyktingmottagningen", "samhällsorienteringen", "studiebesöket",
    "kulturskolan", "fritidsgården", "återvinningscentralen", "nätverksträffen", "valet",
    "ungdomsmottagningen", "lovskolan", "praktikplatsen", "kommunens app",
]  # fmt: skip
ANSWERED = [
    "När startade samarbetet mellan kommunerna?",
    "Vilka kommuner ingår i nätverket?",
    "Vad heter heldagen i Almedalen?",
    "Vilka seminarier arrangerades på eftermiddagen?",
    "Vilka internationella nätverk har Borlänge bjudits in till?",
]
DOCUMENTS = [f"dokument-{i:02}.md" for i in range(60)] + ["allt-startade-i-almedalen.md"]


def fill_record(state: Path, questions: int, now: float) -> Path:
    """Write ``questions`` records over 30 days into a fresh bot.sqlite; return its path."""
    store = SQLiteRecordStore.open(state, environ={"NATVERKSBOT_USER_SALT": "bench"})
    path = store.path
    hashes = [store.hash_user(u) for u in range(2000)]
    store.close()
    rng = random.Random(7)
    rows = []
    votes = []
    for i in range(questions):
        asked_at = now - rng.random() * 30 * DAY
        answered = rng.random() < 0.7
        if answered:
            question = rng.choice(ANSWERED)
            sources = rng.sample(DOCUMENTS, rng.randint(1, 3))
        elif rng.random() < 0.85:
            # A gap, in one of its phrasings, sometimes with a typo or other case.
            template = rng.choice(GAPS)[rng.randrange(3)]
            question = template.format(x=rng.choice(THINGS))
            if rng.random() < 0.1:
                question = question.lower()
            if rng.random() < 0.05 and len(question) > 10:
                k = rng.randrange(4, len(question) - 2)
                question = question[:k] + question[k + 1 :]
            sources = []
        else:  # the long tail: asked once
            words = rng.sample(THINGS, 3)
            question = f"Fråga {i}: hur hänger {words[0]}, {words[1]} och {words[2]} ihop?"
            sources = []
        up = down = 0
        if rng.random() < 0.1:
            up, down = (1, 0) if rng.random() < 0.7 else (0, 1)
        guild = rng.choice([111, 222, 333, None])
        rows.append(
            (
                asked_at,
                guild,
                1,
                rng.choice(hashes),
                "slash",
                question,
                int(answered),
                json.dumps(sources),
                rng.random(),
                rng.lognormvariate(5.5, 0.5),
                "public",
                "sv",
                up,
                down,
                (1 if up > down else -1) if up or down else None,
            )
        )
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO questions (asked_at, guild_id, channel_id, user_hash, via, question,"
            " answered, sources, confidence, latency_ms, visibility, language, votes_up,"
            " votes_down, feedback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany("INSERT INTO votes VALUES (?, ?, ?, ?)", votes)
    return path


def bench_report(args: argparse.Namespace, state: Path) -> dict:
    now = time.time()
    t = time.perf_counter()
    database = fill_record(state, args.questions, now)
    print(f"record of {args.questions} questions written in {time.perf_counter() - t:.1f} s",
          file=sys.stderr)  # fmt: skip
    timings: dict[str, list[float]] = {"build": [], "tables": [], "html": [], "png": []}
    report = None
    for _ in range(3):
        t = time.perf_counter()
        report = build_report(database, since=now - 30 * DAY, until=now + 1)
        timings["build"].append(time.perf_counter() - t)
        t = time.perf_counter()
        format_tables(report)
        timings["tables"].append(time.perf_counter() - t)
        t = time.perf_counter()
        page = render_html(report)
        timings["html"].append(time.perf_counter() - t)
        t = time.perf_counter()
        render_png(report)
        timings["png"].append(time.perf_counter() - t)
    assert report is not None
    if args.html:
        Path(args.html).write_text(page, encoding="utf-8")
    config = state / "config.yaml"
    config.write_text(f"knowledge_dir: {ROOT / 'knowledge'}\nstate_dir: {state}\n")
    out = state / "rapport.html"
    t = time.perf_counter()
    command = [sys.executable, "-m", "bot", "--config", str(config), "report"]
    done = subprocess.run(
        [*command, "--since", "30d", "--html", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NATVERKSBOT_USER_SALT": "bench"},
    )
    command_s = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return {
        "questions": report.asked,
        "unanswered": report.unanswered,
        "gaps": len(report.gaps),
        "top_gap": (report.gaps[0].question, report.gaps[0].count) if report.gaps else None,
        "timings": {k: statistics.median(v) for k, v in timings.items()},
        "command_s": command_s,
        "html_bytes": out.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--no-faq", action="store_true")
    parser.add_argument("--only", choices=["add", "report"])
    parser.add_argument("--html", help="also keep the 100,000-question HTML page here")
    args = parser.parse_args()
    lines = ["| figure | value |", "|---|---|"]
    with tempfile.TemporaryDirectory(prefix="bench-kb-") as tmp:
        tmp_path = Path(tmp)
        if args.only in (None, "add"):
            knowledge = tmp_path / "knowledge"
            shutil.copytree(ROOT / "knowledge", knowledge)
            if not args.no_faq and FAQ_KNOWLEDGE.is_dir():
                shutil.copytree(FAQ_KNOWLEDGE, knowledge / "faq")
            results = asyncio.run(bench_add(args, tmp_path / "state-add", knowledge))
            totals = [r["total_s"] for r in results]
            lines.append(
                f"/kb add of a 20-page PDF → first answer citing it (median of {len(results)}) "
                f"| {statistics.median(totals):.2f} s (runs: "
                + ", ".join(f"{v:.2f}" for v in totals)
                + ")"
            )
            lines.append(
                "… of which /kb add until its reply with the reindex summary | "
                + ", ".join(f"{r['saved_reply_s']:.2f} s" for r in results)
            )
            lines.append(
                "… of which the reindex itself (new passages embedded) | "
                + ", ".join(
                    f"{r['summary'].get('sekunder', '?')} s "
                    f"({r['summary'].get('nyinbäddade', '?')} passages)"
                    for r in results
                )
            )
            lines.append(
                "… of which /ask until the answer | "
                + ", ".join(f"{r['answer_s']:.2f} s" for r in results)
            )
            lines.append(
                "answers citing the PDF / with the right year | "
                f"{sum(r['cited'] for r in results)}/{len(results)} / "
                f"{sum(r['year_in_answer'] for r in results)}/{len(results)}"
            )
        if args.only in (None, "report"):
            state = tmp_path / "state-report"
            figures = bench_report(args, state)
            timing = figures["timings"]
            lines.append(
                f"report on {figures['questions']:,} questions: build_report (median of 3) | "
                f"{timing['build']:.2f} s"
            )
            lines.append(
                f"… terminal tables / HTML page / PNG chart | {timing['tables'] * 1000:.1f} ms / "
                f"{timing['html'] * 1000:.1f} ms / {timing['png'] * 1000:.1f} ms"
            )
            lines.append(
                "`natverksbot report --since 30d --html FILE`, whole command (new process) | "
                f"{figures['command_s']:.2f} s ({figures['html_bytes'] / 1000:.0f} kB page)"
            )
            lines.append(
                f"unanswered → groups | {figures['unanswered']:,} → top gap "
                f"{figures['top_gap'][0]!r} × {figures['top_gap'][1]}"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
