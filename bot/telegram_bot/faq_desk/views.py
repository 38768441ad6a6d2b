"""The FAQ desk's texts, in Telegram HTML: the overview, a change's summary, lint's errors,
the edit card, the history and the reminders. Everything taken from the files or from
admins is escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.core.dated import DatedEntry
from bot.core.knowledge import Entry, Problem
from bot.core.locales import LocaleError, Locales
from bot.core.telegram_html import MESSAGE_LIMIT, plain_length
from bot.staff.faq_editing import EntryChange
from bot.storage.audit import AuditRecord

# A file's ids beyond this many characters are cut: the overview lists every file.
IDS_CHARS = 400
# Lint's errors and diffs are cut to leave room for the rest of one message.
PROBLEMS_CHARS = 2500
DIFF_CHARS = 2500


def review_after(days: int) -> timedelta:
    return timedelta(days=days)


def language_name(locales: Locales, lang: str, code: str) -> str:
    try:
        return locales.text(lang, f"faqdesk_language_{code}")
    except LocaleError:
        return code


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def overview(
    locales: Locales,
    lang: str,
    files: dict[str, list[Entry]],
    expiring: Sequence[Entry],
    dated: Sequence[DatedEntry],
) -> str:
    entries = [entry for listed in files.values() for entry in listed]
    lines = [
        locales.text(
            lang, "faqdesk_overview_title", entries=str(len(entries)), files=str(len(files))
        )
    ]
    for name, listed in files.items():
        ids = cut(", ".join(entry.id for entry in listed), IDS_CHARS)
        lines.append(
            locales.text(
                lang,
                "faqdesk_overview_file",
                file=html.escape(name),
                count=str(len(listed)),
                ids=html.escape(ids),
            )
        )
    unknown = [entry for entry in entries if entry.unknown]
    if unknown:
        lines += ["", locales.text(lang, "faqdesk_unknown_title")]
        lines += [
            locales.text(
                lang,
                "faqdesk_unknown_line",
                id=html.escape(entry.id),
                fact=html.escape(cut(entry.unknown or "", 200)),
            )
            for entry in unknown
        ]
    if dated or expiring:
        lines += ["", locales.text(lang, "faqdesk_dated_title")]
        for item in dated:
            if item.state == "expired":
                key, day = "faqdesk_expired_line", item.expires
            else:
                key, day = "faqdesk_stale_line", item.reviewed
            lines.append(locales.text(lang, key, id=html.escape(item.entry_id), date=str(day)))
        lines += [
            locales.text(
                lang, "faqdesk_expiring_line", id=html.escape(entry.id), date=str(entry.expires)
            )
            for entry in expiring
        ]
    lines += ["", locales.text(lang, "faqdesk_overview_help")]
    return "\n".join(lines)


def problem_lines(problems: Sequence[Problem]) -> str:
    """lint's errors as `lint` prints them (file:line: [entry] error: ...), one a line."""
    lines, length = [], 0
    for problem in problems:
        line = html.escape(str(problem))
        if length + len(line) > PROBLEMS_CHARS:
            lines.append("…")
            break
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines)


def change_summary(locales: Locales, lang: str, name: str, changes: Sequence[EntryChange]) -> str:
    counts = {
        kind: sum(c.kind == kind for c in changes) for kind in ("added", "removed", "changed")
    }
    lines = []
    for change in changes:
        values = {
            "id": html.escape(change.entry_id),
            "question": html.escape(change.question),
            "answer": html.escape(change.answer),
            "fields": html.escape(", ".join(change.fields)),
        }
        lines.append(locales.text(lang, f"faqdesk_{change.kind}_line", **values))
    listed = "\n".join(lines) or locales.text(lang, "faqdesk_no_entry_change")
    text = locales.text(
        lang,
        "faqdesk_summary",
        file=html.escape(name),
        added=str(counts["added"]),
        removed=str(counts["removed"]),
        changed=str(counts["changed"]),
        lines=listed,
    )
    if plain_length(text) > MESSAGE_LIMIT - 100:
        # Many entries changed: the counts and the first lines still say what happens.
        shown = "\n".join(lines[:20]) + "\n…"
        text = locales.text(
            lang,
            "faqdesk_summary",
            file=html.escape(name),
            added=str(counts["added"]),
            removed=str(counts["removed"]),
            changed=str(counts["changed"]),
            lines=cut(shown, 3000),
        )
    return text


def history(locales: Locales, lang: str, records: Sequence[AuditRecord]) -> str:
    if not records:
        return locales.text(lang, "faqdesk_history_none")
    lines = [locales.text(lang, "faqdesk_history_title")]
    for record in records:
        lines.append(
            locales.text(
                lang,
                "faqdesk_history_line",
                number=str(record.id),
                when=_when(record.changed_at),
                action=html.escape(_optional(locales, lang, f"faqdesk_action_{record.action}")),
                file=html.escape(record.path.name),
                entry=f" [{html.escape(record.entry_id)}]" if record.entry_id else "",
                who=html.escape(record.changed_by),
                state=html.escape(_optional(locales, lang, f"faqdesk_state_{record.state}")),
            )
        )
    return "\n".join(lines)


def _optional(locales: Locales, lang: str, key: str) -> str:
    try:
        return locales.text(lang, key)
    except LocaleError:  # a value a newer version wrote: shown as it is
        return key.rpartition("_")[2]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def stale_reminder(locales: Locales, lang: str, days: int, stale: Sequence[DatedEntry]) -> str:
    lines = [
        locales.text(
            lang, "faqdesk_stale_line", id=html.escape(item.entry_id), date=str(item.reviewed)
        )
        for item in stale[:60]
    ]
    if len(stale) > 60:
        lines.append("…")
    return locales.text(lang, "faqdesk_stale_reminder", days=str(days), lines="\n".join(lines))


def expiry_reminder(locales: Locales, lang: str, entry: Entry, file: str, day: date) -> str:
    return locales.text(
        lang,
        "faqdesk_expiring_reminder",
        id=html.escape(entry.id),
        file=html.escape(file),
        date=str(day),
    )
