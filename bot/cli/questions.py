"""The question commands: ``ask``, ``chat`` and ``eval``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli._common import EXIT_ERROR, _, _engine, _ensure_index, _print_answer
from bot.cli._common import language as cli_language
from bot.config import Config
from bot.locales import question_message
from bot.services.evaluation import sentence_report_lines


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    """Answer one question."""
    from index.answer import clean_question

    # A bad question is refused before any model is loaded.
    clean_question(args.question, config.answer.max_question_chars)
    engine = _engine(config)
    _ensure_index(engine)
    _print_answer(engine.ask(args.question, visibility=args.visibility), args.json)
    return 0


def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    """Answer questions typed at a prompt, each following up the earlier ones, until EOF.

    Like a Discord thread, every question is asked with the conversation so far as its
    context (as in Discord, one the conversation cannot answer is declined, not retried alone);
    "/ny" (or "/new") starts a new conversation. At a terminal the prompt has
    line editing and a history kept in the state folder.
    """
    from bot.services.conversation import ask_follow_up
    from index.answer import QuestionError

    engine = _engine(config)
    _ensure_index(engine)
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_line_editing(config.state_dir / CHAT_HISTORY)
        print(_("cli.chat.welcome"))
        print(_("cli.chat.quit"))
    context: str | None = None
    limit = config.answer.max_question_chars
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            break
        if not line.strip():
            if interactive:
                break
            continue
        if line.strip().lower() in NEW_CONVERSATION:
            context = None
            if interactive:
                print(_("cli.chat.new") + "\n")
            continue
        try:
            answer, following = ask_follow_up(
                engine, line, context, visibility=args.visibility, limit=limit
            )
        except QuestionError as exc:
            print(question_message(exc))
        else:
            print(answer.text)
            context = following
        print()
    return 0


CHAT_HISTORY = "chat-history"


NEW_CONVERSATION = frozenset({"/ny", "/new"})


def _enable_line_editing(history: Path) -> None:
    """Give ``input()`` line editing and a history file (where readline exists)."""
    try:
        import readline
    except ImportError:  # not on this platform: plain input still works
        return
    import atexit

    readline.set_history_length(1000)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)

    def save() -> None:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)
            history.chmod(0o600)  # the questions someone typed are theirs

    atexit.register(save)


def cmd_eval(args: argparse.Namespace, config: Config) -> int:
    """Run a question set and print metrics; exit 1 when an answer or abstention fails."""
    from index.evaluate import evaluate, load_questions, passed

    questions = load_questions(args.file)
    engine = _engine(config)
    _ensure_index(engine)
    report = evaluate(engine, questions, visibility=args.visibility, retriever=args.retriever)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(_format_report(report))
    return 0 if passed(report) else EXIT_ERROR


def _format_report(report: dict[str, Any]) -> str:
    lines = [_("cli.eval.retriever", retriever=report["retriever"])]
    if report["retrieval"]:
        lang = _("cli.eval.language")
        lines.append(f"{lang:<6}{'n':>5}{'hit@1':>8}{'hit@5':>8}{'mrr@10':>8}{'ndcg@10':>9}")
        for language, m in report["retrieval"].items():
            lines.append(
                f"{language:<6}{m['n']:>5}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}"
                f"{m['mrr@10']:>8.3f}{m['ndcg@10']:>9.3f}"
            )
    for section in ("answers", "abstention"):
        for language, m in report[section].items():
            if "accuracy" in m:
                lines.append(
                    _(
                        f"cli.eval.{section}",
                        language=language,
                        accuracy=f"{m['accuracy']:.3f}",
                        n=m["n"],
                    )
                )
            if "answer@1" in m:
                lines.append(
                    _(
                        "cli.eval.answer_at_1",
                        section=_(f"cli.eval.section.{section}"),
                        language=language,
                        answer_at_1=f"{m['answer@1']:.3f}",
                        answered=f"{m['answered']:.3f}",
                        n=m["n_expected_source"],
                    )
                )
    lines += sentence_report_lines(report, cli_language())
    for f in (f for f in report["failures"] if f["kind"] != "retrieval"):
        lines.append(_("cli.eval.fail", id=f["id"], kind=f["kind"], question=f.get("question", "")))
    retrieval_misses = sum(1 for f in report["failures"] if f["kind"] == "retrieval")
    if retrieval_misses:
        lines.append(_("cli.eval.retrieval_misses", n=retrieval_misses))
    return "\n".join(lines)
