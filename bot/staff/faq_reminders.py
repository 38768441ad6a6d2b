"""Which dated answers to remind the admins of: entries that expire within a week (once per
entry and date), and once a week the entries past `dated_answers.review_after_days`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo

from bot.core.dated import DatedEntry, dated_entries
from bot.core.knowledge import Entry

# How long before its `expires:` day an entry is announced: a working week to update it.
EXPIRY_NOTICE = timedelta(days=7)


def expiring_soon(entries: Iterable[Entry], today: date) -> list[Entry]:
    """Entries still served whose `expires:` day is at most EXPIRY_NOTICE away."""
    return [
        entry
        for entry in entries
        if entry.expires is not None and today <= entry.expires <= today + EXPIRY_NOTICE
    ]


def stale_entries(
    entries: Iterable[Entry], now: datetime, review_after: timedelta, time_zone: tzinfo
) -> list[DatedEntry]:
    return [d for d in dated_entries(entries, now, review_after, time_zone) if d.state == "stale"]


def expiring_not_expired(entries: Iterable[Entry], now: datetime, today: date) -> list[Entry]:
    """Entries still served today whose `expires:` day is at most EXPIRY_NOTICE away."""
    return [entry for entry in expiring_soon(entries, today) if not entry.is_expired(now)]


def expiry_key(entry: Entry, admin_id: int) -> str:
    """One reminder per entry, expiry date and admin: a new date is a new reminder."""
    return f"expires:{entry.id}:{entry.expires}:{admin_id}"


def weekly_key(today: date, admin_id: int) -> str:
    year, week, _day = today.isocalendar()
    return f"stale:{year}-W{week:02d}:{admin_id}"
