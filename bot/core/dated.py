"""Dated answers: entries past their `expires:` day, or not reviewed for too long.

An entry's `reviewed:` day says when staff last checked it; `expires:` is the last day it
may be given. The matcher and the dialog leave expired entries out by themselves; this
module tells staff (lint, the report) which entries need them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from bot.core.knowledge import Entry

DatedState = Literal["expired", "stale"]


@dataclass(frozen=True)
class DatedEntry:
    entry_id: str
    state: DatedState  # expired: no longer served; stale: reviewed too long ago
    reviewed: date | None
    expires: date | None
    file: str = ""
    line: int = 0


def dated_entries(
    entries: Iterable[Entry], now: datetime, review_after: timedelta, time_zone: tzinfo
) -> list[DatedEntry]:
    """Expired and stale entries, expired first, each group in knowledge-base order."""
    today = now.astimezone(time_zone).date()
    expired, stale = [], []
    for entry in entries:
        if entry.is_expired(now):
            expired.append(_dated(entry, "expired"))
        elif entry.reviewed is not None and today - entry.reviewed > review_after:
            stale.append(_dated(entry, "stale"))
    return expired + stale


def _dated(entry: Entry, state: DatedState) -> DatedEntry:
    return DatedEntry(entry.id, state, entry.reviewed, entry.expires, entry.file, entry.line)
