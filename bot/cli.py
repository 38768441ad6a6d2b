"""The command line: python -m bot run | chat | ask | lint | eval | links | report | export |
learn | announce | history | backup | restore | doctor | demo.

This is the composition root: it reads the settings, builds the core and hands it to the
adapter a command needs. Library errors become clear messages and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.config import ConfigError, Settings, bot_token, load_settings
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog, Reply
from bot.core.knowledge import KnowledgeBaseError
from bot.core.knowledge_state import LoadedKnowledge
from bot.core.locales import LocaleError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # as a shell reports Ctrl-C (128 + SIGINT)
# Telegram usernames: 5-32 characters a-z, 0-9 and _, starting with a letter; a bot's ends
# in "bot" (any case).
BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,28}[Bb][Oo][Tt]")
BOT_USERNAME_PLACEHOLDER = "<bot_username>"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="ASCS FAQ bot: answers questions about the Agency for the Support of Civil "
        "Society in Albanian and English, in Telegram or in the terminal.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="settings file (default: config.yaml of the project)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run", help="run the Telegram bot (without a token: the terminal chat)"
    )
    run.add_argument("--faq", type=Path, help="folder of FAQ files (default: from config.yaml)")
    run.add_argument(
        "--debug", action="store_true", help="if the bot fails, show the traceback too"
    )

    chat = commands.add_parser("chat", help="chat with the bot in the terminal")
    chat.add_argument("--faq", type=Path, help="folder of FAQ files")
    chat.add_argument("--lang", help="reply language (sq or en); default: the question's")

    ask = commands.add_parser("ask", help="answer questions (arguments, or one per line on stdin)")
    ask.add_argument("question", nargs="*", help="a question; none: read lines from stdin")
    ask.add_argument("--json", action="store_true", help="one JSON object per line per question")
    ask.add_argument("--faq", type=Path, help="folder of FAQ files")
    ask.add_argument("--lang", help="reply language (sq or en); default: the question's")

    lint = commands.add_parser("lint", help="check the FAQ files; exit 1 on errors")
    lint.add_argument("--faq", type=Path, help="folder of FAQ files")
    lint.add_argument("--strict", action="store_true", help="exit 1 on warnings too")

    evaluate = commands.add_parser("eval", help="score the bot on a case file")
    evaluate.add_argument("cases", type=Path, help="a case file such as tests/eval_cases.yaml")
    evaluate.add_argument("--faq", type=Path, help="folder of FAQ files")
    evaluate.add_argument("-v", "--verbose", action="store_true", help="list the failures")

    links = commands.add_parser("links", help="list the deep link of every entry")
    links.add_argument("--bot", help="the bot's Telegram username (e.g. @ascs_faq_bot)")
    links.add_argument("--faq", type=Path, help="folder of FAQ files")

    report = commands.add_parser(
        "report", help="what users asked: unanswered questions, popular entries, feedback"
    )
    report.add_argument("--since", default="30d", help="period, e.g. 7d, 30d, 12h (default 30d)")
    report.add_argument("--format", choices=("table", "csv", "json", "html"), default="table")
    report.add_argument(
        "--lang",
        help="language of the texts (sq or en); default: en, and for html the bot's first language",
    )
    report.add_argument("--faq", type=Path, help="folder of FAQ files")

    learn = commands.add_parser(
        "learn", help="suggested question variants from users' choices: list, accept, reject"
    )
    acting = learn.add_mutually_exclusive_group()
    acting.add_argument("--accept", metavar="ID", help="write suggestion ID into faq/")
    acting.add_argument("--reject", metavar="ID", help="never suggest ID again")
    acting.add_argument("--undo", action="store_true", help="revert the last accepted change")
    learn.add_argument("--format", choices=("table", "json"), default="table")
    learn.add_argument("--faq", type=Path, help="folder of FAQ files")

    export = commands.add_parser(
        "export", help="the FAQ as web pages (one per language) or JSON, for a website"
    )
    export.add_argument("--format", choices=("html", "json"), default="html")
    export.add_argument("--out", type=Path, required=True, help="folder to write the files to")
    export.add_argument(
        "--bot", help="the bot's Telegram username, for the 'open in Telegram' links"
    )
    export.add_argument("--faq", type=Path, help="folder of FAQ files")

    announce = commands.add_parser(
        "announce",
        help="send an announcement to a topic's subscribers (token from the environment)",
    )
    announce.add_argument("--topic", help="the topic's key in config.yaml (subscriptions.topics)")
    announce.add_argument("--sq-file", type=Path, help="the text in Albanian (Telegram HTML)")
    announce.add_argument("--en-file", type=Path, help="the text in English (Telegram HTML)")
    announce.add_argument("--yes", action="store_true", help="send without asking")
    announce.add_argument(
        "--resume", action="store_true", help="finish announcements a stop left unfinished"
    )
    history = commands.add_parser(
        "history", help="the changes admins made to faq/ from Telegram: who, when, which file"
    )
    history.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    history.add_argument("--diff", action="store_true", help="show each change's diff too")

    backup = commands.add_parser(
        "backup", help="a consistent copy of the database, also while the bot runs"
    )
    backup.add_argument("dest", type=Path, help="folder for the backups")
    backup.add_argument(
        "--keep", type=int, metavar="N", help="then keep only the newest N backups there"
    )

    restore = commands.add_parser(
        "restore", help="put a backup in place of the database (the bot must be stopped)"
    )
    restore.add_argument("src", type=Path, help="a backup file made by `backup`")

    doctor = commands.add_parser(
        "doctor", help="check what a deployment needs, one line per check; exit 1 on a failure"
    )
    doctor.add_argument(
        "--online", action="store_true", help="also ask Telegram (getMe, getWebhookInfo)"
    )

    demo = commands.add_parser(
        "demo", help="a demo question log in DIR, to try report and learn without users"
    )
    demo.add_argument("dir", type=Path, help="folder for the demo's question log")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(stdout)
        return EXIT_USAGE
    settings: Settings | None = None
    if args.command == "doctor":  # it reports a broken config.yaml as one of its checks
        return _doctor(args, stdout)
    try:
        settings = load_settings(args.config)
        handler = _COMMANDS[args.command]
        return handler(args, settings, stdin, stdout, stderr)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=stderr)
        return EXIT_USAGE
    except LocaleError as error:
        print(f"Interface texts error: {error}", file=stderr)
        return EXIT_USAGE
    except KnowledgeBaseError as error:
        _print_problems(error, stderr)
        if settings is not None:
            _explain_missing_faq_folder(error, settings, getattr(args, "faq", None), stderr)
        return EXIT_PROBLEMS
    except BrokenPipeError:  # `python -m bot ask ... | head`
        return EXIT_OK
    except KeyboardInterrupt:  # Ctrl-C: end the line the user was typing on, no traceback
        print(file=stderr)
        return EXIT_INTERRUPTED


def _print_problems(error: KnowledgeBaseError, stream: TextIO) -> None:
    errors = [p for p in error.problems if p.severity == "error"]
    print(
        f"The FAQ files have {len(errors)} error(s); the bot cannot use them until they are fixed:",
        file=stream,
    )
    for problem in error.problems:
        print(f"  {problem}", file=stream)


def _explain_missing_faq_folder(
    error: KnowledgeBaseError, settings: Settings, faq_option: Path | None, stream: TextIO
) -> None:
    """A config.yaml copied elsewhere still names faq/ relative to its own folder: say so."""
    missing = any(p.file == str(settings.faq_dir) and p.line == 0 for p in error.problems)
    source = settings.source
    if faq_option is not None or source is None or not missing or settings.faq_dir.is_dir():
        return
    written = _configured_faq_path(source)
    if written is None or Path(written).is_absolute():
        return
    print(
        f"  paths.faq in {source} is relative to the folder {source.parent}; "
        "write the FAQ folder's full path there, or use --faq DIR",
        file=stream,
    )


def _configured_faq_path(source: Path) -> str | None:
    """paths.faq as written in the config file (it loaded a moment ago); None if unreadable."""
    import yaml

    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    paths = raw.get("paths") if isinstance(raw, dict) else None
    faq = paths.get("faq", "faq") if isinstance(paths, dict) else "faq"
    return str(faq)


def _dialog(args: argparse.Namespace, settings: Settings) -> Dialog:
    from bot.storage.knowledge_cache import load_knowledge

    faq_dir = getattr(args, "faq", None)
    dialog, _holder = build_dialog(settings, faq_dir, loaded=load_knowledge(settings, faq_dir))
    return dialog


def _run(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    token = bot_token()
    if token is None:
        print(
            "No TELEGRAM_BOT_TOKEN in the environment, so the Telegram bot cannot start.\n"
            "To get a token: open Telegram, talk to @BotFather, send /newbot and follow the\n"
            "steps; then run:  TELEGRAM_BOT_TOKEN=<token> python -m bot run\n"
            "Meanwhile, here is the same bot in the terminal.\n",
            file=stderr,
        )
        from bot.terminal import run_chat

        return run_chat(_dialog(args, settings), stdin=stdin, stdout=stdout)
    from bot.config import unwritable_folder_line
    from bot.storage.instance_lock import LockHeld, hold_instance_lock
    from bot.telegram_bot.app import run_telegram_bot

    if args.faq is not None:
        settings = dataclasses.replace(settings, faq_dir=args.faq)
    problem = unwritable_folder_line(settings)
    if problem is not None:
        print(problem, file=stderr)
        return EXIT_USAGE  # a person must fix it: systemd's RestartPreventExitStatus=2
    try:
        with hold_instance_lock(settings.question_log_path, "the bot"):
            return run_telegram_bot(settings, token, faq_dir=args.faq, debug=args.debug)
    except LockHeld as held:
        # A restore in progress, or a second copy of the bot: worth retrying later (exit 1).
        print(
            f"Cannot start: {held.holder or 'another process'} is using the state folder "
            f"{held.path.parent}; wait for it to finish, or stop the other copy of the bot.",
            file=stderr,
        )
        return EXIT_PROBLEMS


def _chat(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.terminal import run_chat

    return run_chat(_dialog(args, settings), stdin=stdin, stdout=stdout, lang=args.lang)


def ask_result(question: str, reply: Reply) -> dict[str, Any]:
    """The `ask --json` object for one question."""
    from bot.terminal import reply_as_plain_text

    match = reply.match
    best = match.best if match else None
    # A greeting or a thanks is neither an answer from the FAQ nor a miss: "smalltalk",
    # the report's word for it.
    status = reply.kind if reply.kind in ("answer", "smalltalk", "suggest") else "fallback"
    suggestions = list(match.candidates) if match and status == "suggest" else []
    return {
        "question": question,
        "status": status,
        "id": reply.entry_id if status == "answer" else None,
        "score": round(best.score, 1) if best else 0.0,
        "lang": reply.lang,
        "text": reply_as_plain_text(reply),
        "suggestions": [{"id": c.entry_id, "score": round(c.score, 1)} for c in suggestions],
        "best": {"id": best.entry_id, "score": round(best.score, 1)} if best else None,
    }


def _ask(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.terminal import render_for_terminal

    dialog = _dialog(args, settings)
    chosen = dialog.supported(args.lang)
    if args.lang and chosen is None:
        print(f"--lang {args.lang}: the bot speaks {', '.join(settings.languages)}", file=stderr)
        return EXIT_USAGE
    # Each argument is one question (quote it); without arguments, one question per line.
    if not args.question and stdin.isatty():
        print("Type a question, one question per line; Ctrl-D to end.", file=stderr)
    questions = args.question if args.question else (line.rstrip("\n") for line in stdin)
    for question in questions:
        if not question.strip() and not args.question:
            continue
        reply = dialog.reply_to_question(question, forced_lang=chosen)
        if args.json:
            print(json.dumps(ask_result(question, reply), ensure_ascii=False), file=stdout)
        else:
            result = ask_result(question, reply)
            print(
                f"? {question}\n[{result['status']} {result['id'] or '-'} "
                f"score {result['score']:.0f}, {result['lang']}]",
                file=stdout,
            )
            print(render_for_terminal(reply, []), file=stdout)
            print(file=stdout)
        stdout.flush()
    return EXIT_OK


def _lint(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.staff.lint import lint_warnings, unknown_fact_notes
    from bot.storage.knowledge_cache import load_knowledge

    faq_dir = args.faq or settings.faq_dir
    loaded = load_knowledge(settings, faq_dir)
    warnings = lint_warnings(
        loaded, faq_dir, dated=settings.dated_answers, pending_links=settings.pending_links
    )
    for warning in warnings:
        print(warning, file=stdout)
    # Facts staff still owe are listed, never counted as warnings (--strict ignores them).
    notes = unknown_fact_notes(loaded)
    for note in notes:
        print(note, file=stdout)
    knowledge = loaded.knowledge
    errors = sum(w.severity == "error" for w in warnings)
    variants = sum(len(v) for e in knowledge for v in e.questions.values())
    print(
        f"{'ERRORS' if errors else 'OK'}: {len(knowledge)} entries, "
        f"{variants} question variants in "
        f"{len(knowledge.categories)} topics ({', '.join(knowledge.languages)}); "
        f"{errors} error(s), {len(warnings) - errors} warning(s); "
        f"{len(notes)} answer(s) wait for a fact from staff (unknown:).",
        file=stdout,
    )
    return EXIT_PROBLEMS if errors or (warnings and args.strict) else EXIT_OK


def _eval(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.staff.evaluation import CaseFileError, evaluate, format_report, load_cases

    try:
        cases = load_cases(args.cases)
    except CaseFileError as error:
        print(f"Case file error: {error}", file=stderr)
        return EXIT_USAGE
    summary = evaluate(_dialog(args, settings), cases)
    print(format_report(summary, verbose=args.verbose), file=stdout)
    return EXIT_OK if summary.meets_bars else EXIT_PROBLEMS


def _links(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.staff.faq_export import deep_link

    username = BOT_USERNAME_PLACEHOLDER
    if args.bot is None:
        print(
            f"No --bot USERNAME: the links below name {BOT_USERNAME_PLACEHOLDER}. Give the bot's "
            "Telegram username (--bot @ascs_faq_bot) for links that work.",
            file=stderr,
        )
    else:
        username = args.bot.strip().removeprefix("@")
        if not BOT_USERNAME.fullmatch(username):
            print(
                f"--bot {args.bot!r} is not a bot's Telegram username: 5-32 letters, digits "
                "and _, starting with a letter and ending in 'bot' (e.g. @ascs_faq_bot)",
                file=stderr,
            )
            return EXIT_USAGE
    dialog = _dialog(args, settings)
    for entry in dialog.knowledge().knowledge:
        print(
            f"{deep_link(username, entry.id)}\t{entry.title(settings.default_language)}",
            file=stdout,
        )
    return EXIT_OK


def _report(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.core.knowledge_state import build_knowledge
    from bot.staff.report import build_report, parse_since, render_report
    from bot.storage.question_log import QuestionLog
    from bot.storage.tickets import TicketStore

    try:
        since = parse_since(args.since)
    except ValueError as error:
        print(f"--since: {error}", file=stderr)
        return EXIT_USAGE
    if not settings.question_log_path.exists():
        print(
            f"No question log yet at {settings.question_log_path}: the bot creates it when it "
            "answers its first question; no report was written.",
            file=stderr,
        )
        return EXIT_PROBLEMS
    if args.lang is not None and args.lang not in settings.languages:
        print(f"--lang {args.lang}: the bot speaks {', '.join(settings.languages)}", file=stderr)
        return EXIT_USAGE
    knowledge = build_knowledge(settings, args.faq)
    with QuestionLog.from_settings(settings) as log, contextlib.ExitStack() as stores:
        if log.problem is not None:
            print(f"Cannot read the question log: {log.problem}", file=stderr)
            return EXIT_PROBLEMS
        tickets = None
        if settings.handoff.enabled:  # questions handed to staff are counted too
            tickets = stores.enter_context(TicketStore.from_settings(settings))
        report = build_report(log, knowledge, since, dated=settings.dated_answers, tickets=tickets)
    if args.format == "html":
        from bot.core.locales import load_locales
        from bot.staff.report_html import render_html_report

        lang = args.lang or settings.default_language
        stdout.write(render_html_report(report, load_locales(settings.languages), lang))
        return EXIT_OK
    print(render_report(report, args.format, args.lang or "en"), file=stdout)
    return EXIT_OK


def _export(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.core.knowledge_state import build_knowledge
    from bot.core.locales import load_locales
    from bot.staff.faq_export import ExportError, write_export

    knowledge = build_knowledge(settings, args.faq).knowledge
    username = args.bot.strip().removeprefix("@") if args.bot else None
    if username is not None and not BOT_USERNAME.fullmatch(username):
        print(f"--bot {args.bot!r} is not a bot's Telegram username", file=stderr)
        return EXIT_USAGE
    if username is None:
        print(
            "No --bot USERNAME: the pages have no 'open in Telegram' links. Give the bot's "
            "Telegram username to add them.",
            file=stderr,
        )
    try:
        written = write_export(
            knowledge, settings, load_locales(settings.languages), args.out, args.format, username
        )
    except ExportError as error:
        print(f"export: {error}", file=stderr)
        return EXIT_PROBLEMS
    for path in written:
        print(path, file=stdout)
    return EXIT_OK


def _learn(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.core.knowledge_state import build_knowledge

    faq_dir = args.faq or settings.faq_dir
    loaded = build_knowledge(settings, faq_dir)
    from bot.storage.database import StorageUnavailable

    path = settings.question_log_path
    try:
        return _learn_with_log(args, settings, loaded, faq_dir, stdout, stderr)
    except sqlite3.DatabaseError as error:  # the log's path names something else
        print(f"learn: cannot read the question log {path}: {error}", file=stderr)
        return EXIT_PROBLEMS
    except (OSError, sqlite3.Error, StorageUnavailable) as error:
        # A read-only data folder (or faq/): one line that names it, not a traceback.
        reason = getattr(error, "strerror", None) or str(error)
        where = getattr(error, "filename", None) or path
        print(f"learn: cannot write {where}: {reason}", file=stderr)
        return EXIT_PROBLEMS


def _learn_with_log(
    args: argparse.Namespace,
    settings: Settings,
    loaded: LoadedKnowledge,
    faq_dir: Path,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    from bot.staff.learning_desk import LearnError, LearningDesk
    from bot.staff.learning_view import suggestions_json, suggestions_table
    from bot.storage.learning_store import LearningStore
    from bot.storage.question_log import QuestionLog

    with (
        QuestionLog.from_settings(settings) as log,
        LearningStore(settings.question_log_path) as store,
    ):
        desk = LearningDesk(settings, store, log, lambda: loaded, faq_dir=faq_dir)
        try:
            if args.accept:
                accepted = desk.accept(args.accept, "cli")
                print(accepted.diff, file=stdout)
                if accepted.suggestion.kind == "entry":
                    served = (
                        "the bot never serves drafts: write its answer and move it into a "
                        "topic file"
                    )
                else:
                    served = "a running bot serves it within seconds"
                print(
                    f"Written to {accepted.path}; {served}. Undo: python -m bot learn --undo",
                    file=stdout,
                )
            elif args.reject:
                rejected = desk.reject(args.reject, "cli")
                print(f"Rejected {rejected.id}: it will not be suggested again.", file=stdout)
            elif args.undo:
                change = desk.undo()
                print(change.diff, file=stdout)
                print(f"Undone: {change.path} is back as it was before.", file=stdout)
            else:
                found = desk.suggestions()
                render = suggestions_json if args.format == "json" else suggestions_table
                print(render(found, loaded), file=stdout)
        except LearnError as error:
            print(f"learn: {error}", file=stderr)
            return EXIT_PROBLEMS
    return EXIT_OK


def _announce(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    token = bot_token()
    if token is None:
        print(
            "No TELEGRAM_BOT_TOKEN in the environment: announcements go out through the bot.",
            file=stderr,
        )
        return EXIT_USAGE
    from bot.telegram_bot.announcements.command_line import run_announce_command

    return run_announce_command(
        settings,
        token,
        topic=args.topic,
        text_files={"sq": args.sq_file, "en": args.en_file},
        yes=args.yes,
        resume=args.resume,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
    )


def _history(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.staff.faq_edit_desk import FaqEditDesk
    from bot.storage.audit import AuditStore
    from bot.storage.database import StorageUnavailable

    path = settings.question_log_path
    if not path.exists():
        print(f"No changes from Telegram yet (there is no database at {path}).", file=stdout)
        return EXIT_OK
    try:
        with AuditStore(path) as audit:
            FaqEditDesk(settings, audit).settle()  # a change a kill -9 cut short
            records = audit.history(max(1, args.limit))
    except (OSError, sqlite3.Error, StorageUnavailable) as error:
        print(f"history: cannot read the database {path}: {error}", file=stderr)
        return EXIT_PROBLEMS
    if not records:
        print("No changes from Telegram yet.", file=stdout)
    for record in records:
        entry = f" [{record.entry_id}]" if record.entry_id else ""
        when = record.changed_at.strftime("%Y-%m-%d %H:%M UTC")
        print(
            f"#{record.id}  {when}  {record.action:<8}  {record.path.name}{entry}  "
            f"by {record.changed_by}  ({record.state})",
            file=stdout,
        )
        if args.diff:
            print(record.diff.rstrip("\n") or "(no difference)", file=stdout)
    return EXIT_OK


def _backup(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.storage.backup import BackupError, backup_database

    try:
        result = backup_database(settings.question_log_path, args.dest, keep=args.keep)
    except (BackupError, OSError) as error:
        print(f"No backup made: {error}", file=stderr)
        return EXIT_PROBLEMS
    print(f"{result.path} ({result.size:,} bytes), integrity check ok", file=stdout)
    for old in result.removed:
        print(f"removed {old} (--keep {args.keep})", file=stdout)
    return EXIT_OK


def _restore(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from bot.storage.backup import BackupError, restore_database

    try:
        kept = restore_database(args.src, settings.question_log_path)
    except (BackupError, OSError) as error:
        print(f"Nothing restored: {error}", file=stderr)
        return EXIT_PROBLEMS
    print(f"{settings.question_log_path} restored from {args.src}", file=stdout)
    if kept is not None:
        print(f"the database it replaced is kept as {kept}", file=stdout)
    return EXIT_OK


def _doctor(args: argparse.Namespace, stdout: TextIO) -> int:
    from bot.staff.doctor import run_checks

    online = None
    if args.online:
        from bot.telegram_bot.transport.online_checks import telegram_checks

        online = telegram_checks
    checks = run_checks(args.config, os.environ, online_checks=online)
    for check in checks:
        print(check.line(), file=stdout)
    failed = sum(not check.ok for check in checks)
    print(f"{len(checks) - failed} ok, {failed} failed", file=stdout)
    return EXIT_PROBLEMS if failed else EXIT_OK


def _demo(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    from datetime import UTC, datetime

    from bot.staff.demo import write_demo_log

    database = args.dir.absolute() / settings.question_log_path.name
    try:
        asked = write_demo_log(database, now=datetime.now(UTC))
    except OSError as error:
        print(f"No demo written: {error}", file=stderr)
        return EXIT_PROBLEMS
    print(
        f"{asked} made-up questions of 30 days in {database}. Try:\n"
        f"  BOT_QUESTION_LOG={database} python -m bot report\n"
        f"  BOT_QUESTION_LOG={database} python -m bot report --format html > report.html\n"
        f"  BOT_QUESTION_LOG={database} python -m bot learn",
        file=stdout,
    )
    return EXIT_OK


_COMMANDS = {
    "run": _run,
    "chat": _chat,
    "ask": _ask,
    "lint": _lint,
    "eval": _eval,
    "links": _links,
    "report": _report,
    "export": _export,
    "learn": _learn,
    "announce": _announce,
    "history": _history,
    "backup": _backup,
    "restore": _restore,
    "demo": _demo,
}


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
