"""What the bot tells its staff about reloads of the knowledge base, in Telegram HTML.

Pure: the admin handlers decide who receives these texts and send them. Everything taken
from the FAQ files (paths, messages quoting what staff typed) is escaped, and a notice
stays within one Telegram message however many problems there are.
"""

from __future__ import annotations

import html
from pathlib import Path

from bot.core.knowledge import Problem
from bot.core.locales import Locales
from bot.core.telegram_html import MESSAGE_LIMIT, plain_length
from bot.staff.reloader import ReloadResult

# Commands only admins have; anyone else gets the reply to an unknown command.
STAFF_COMMANDS = ("stats", "unanswered", "report", "reload", "learn", "faq", "edit", "reviewed")
# A long list of problems is usually one mistake repeated; the first few show what to fix.
PROBLEMS_SHOWN = 10
# Room kept for the "...and N more" line.
_TAIL_ROOM = 100


def staff_command_descriptions(
    locales: Locales, lang: str, *, announcements: bool = False
) -> list[tuple[str, str]]:
    """The staff's menu; /announce only where config.yaml names topics to announce to."""
    names = (*STAFF_COMMANDS, "announce") if announcements else STAFF_COMMANDS
    return [(name, locales.text(lang, "command_" + name)) for name in names]


def reload_notice(locales: Locales, result: ReloadResult, lang: str) -> str:
    """The outcome of one reload attempt, for the admins."""
    if result.status == "reloaded":
        knowledge = result.served.knowledge
        return locales.text(
            lang,
            "staff_reloaded",
            entries=str(len(knowledge)),
            warnings=str(len(knowledge.warnings)),
        )
    if result.status == "unchanged":
        return locales.text(lang, "staff_unchanged")
    heading = locales.text(lang, "staff_rejected" if result.reported else "staff_rejected_again")
    return heading + "\n" + problem_list(locales, result.problems, lang)


def question_log_notice(locales: Locales, problem: str | None, lang: str) -> str:
    """The question log stopped working (`problem`, as the log describes it) or works again."""
    if problem is None:
        return locales.text(lang, "staff_log_recovered")
    shown = problem if len(problem) <= 600 else problem[:599] + "…"
    return locales.text(lang, "staff_log_problem", problem=html.escape(shown))


def problem_list(locales: Locales, problems: tuple[Problem, ...], lang: str) -> str:
    """One line per problem (file and line first), cut to fit one message."""
    lines: list[str] = []
    length = 0
    for problem in problems[:PROBLEMS_SHOWN]:
        line = _problem_line(problem)
        if length + plain_length(line) + 1 > MESSAGE_LIMIT - 2 * _TAIL_ROOM:
            break
        lines.append(line)
        length += plain_length(line) + 1
    left = len(problems) - len(lines)
    if left:
        lines.append(locales.text(lang, "staff_more_problems", count=str(left)))
    return "\n".join(lines)


def _problem_line(problem: Problem) -> str:
    where = Path(problem.file).name + (f":{problem.line}" if problem.line else "")
    entry = f" [{problem.entry_id}]" if problem.entry_id else ""
    message = problem.message if len(problem.message) <= 600 else problem.message[:599] + "…"
    return f"• <b>{html.escape(where)}</b>{html.escape(entry)}: {html.escape(message)}"
