"""What a user over the hand-off limits is told, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.dialog import Dialog
from bot.storage.tickets import LimitReached
from bot.telegram_bot.handoff.user_side import limit_text

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("wait", "lang", "expected"),
    [
        (timedelta(minutes=20), "en", "in an hour"),
        (timedelta(minutes=20), "sq", "pas një ore"),
        (timedelta(hours=5, minutes=1), "en", "in 6 hours"),
        (timedelta(hours=5, minutes=1), "sq", "pas 6 orësh"),
    ],
)
def test_the_daily_limit_says_when_to_ask_again_in_good_grammar(
    dialog: Dialog, wait: timedelta, lang: str, expected: str
) -> None:
    text = limit_text(dialog, lang, LimitReached("daily", NOW + wait), NOW)
    assert expected in text
    assert "1 hours" not in text
    assert "1 orësh" not in text


def test_the_open_limit_says_to_wait_for_the_open_question(dialog: Dialog) -> None:
    text = limit_text(dialog, "en", LimitReached("open", None), NOW)
    assert "waiting" in text
