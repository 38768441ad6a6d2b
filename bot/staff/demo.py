"""A demo question log with known contents, so `report`, the HTML report and `learn` can be
tried in the first minutes, before the bot has met a single user.

The log is a real question log (SQLite) filled with 30 days of made-up questions about the
project's FAQ: the same every run (a fixed seed and a fixed "now"), so the README's
screenshot can be made again (scripts/demo_report.py).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from bot.storage.question_log import QuestionLog

NOW: Final = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
DAYS: Final = 30
SEED: Final = 13
DEMO_KEY: Final = b"demo-key-".ljust(32, b"0")
# What people ask most, with the language they ask in; ids from faq/.
POPULAR: Final = [
    ("office-hours", "sq", "cili eshte orari i zyres"),
    ("office-address", "sq", "ku ndodhet zyra"),
    ("how-to-apply", "en", "how do i apply for a grant"),
    ("call-open-now", "sq", "a ka thirrje te hapur tani"),
    ("ngo-database-register", "sq", "si ta regjistroj organizaten"),
    ("phone", "en", "phone number"),
    ("who-can-apply", "en", "who can apply for a grant"),
    ("grant-amount", "sq", "sa eshte shuma e grantit"),
]
UNANSWERED: Final = [
    ("sq", "si te hap nje llogari bankare per shoqaten"),
    ("sq", "si hap llogari bankare per shoqaten"),
    ("en", "can you help me write the project budget"),
    ("en", "how do i write a project budget"),
    ("sq", "sa kushton noterizimi i statutit"),
    ("en", "is there parking near the office"),
]
SUGGESTED: Final = [("en", "deadline for the call"), ("sq", "afati i aplikimit per grante")]
# A wording the FAQ lacks that users confirmed with 👍 on an unsure answer: `learn` then
# suggests it as a new variant of the entry.
CONFIRMED: Final = ("office-hours", "sq", "deri ne cfare ore punon agjencia")
CONFIRMED_BY: Final = 4  # different people (learning.min_users is 3 by default)


def fill_log(log: QuestionLog, rnd: random.Random, now: datetime = NOW) -> int:
    """Record the demo's questions, of the DAYS days before `now`, into `log`; returns how
    many."""
    count = 0
    for day in range(DAYS):
        start = now - timedelta(days=day)
        weekday = start.weekday() < 5
        asked = rnd.randint(14, 24) if weekday else rnd.randint(3, 8)
        for n in range(asked):
            moment = start - timedelta(minutes=17 * n + rnd.randint(0, 15))
            user = 1000 + rnd.randint(0, 120)
            roll = rnd.random()
            if roll < 0.68:
                entry, lang, text = rnd.choice(POPULAR[: rnd.randint(3, len(POPULAR))])
                question = log.record_question(
                    text, user_id=user, lang=lang, outcome="answer", entry_id=entry,
                    score=70, asked_at=moment,
                )  # fmt: skip
                vote = rnd.random()
                if vote < 0.3:
                    log.record_feedback(question, not (entry == "call-open-now" and vote < 0.2))
            elif roll < 0.78:
                lang, text = rnd.choice(SUGGESTED)
                log.record_question(
                    text, user_id=user, lang=lang, outcome="suggest", score=28, asked_at=moment
                )
            elif roll < 0.9:
                lang, text = rnd.choice(UNANSWERED)
                log.record_question(
                    text, user_id=user, lang=lang, outcome="fallback", score=8, asked_at=moment
                )
            else:
                log.record_question(
                    "faleminderit", user_id=user, lang="sq", outcome="smalltalk", asked_at=moment
                )
            count += 1
    entry, lang, text = CONFIRMED
    for person in range(CONFIRMED_BY):
        question = log.record_question(
            text, user_id=2000 + person, lang=lang, outcome="answer", entry_id=entry,
            score=45, asked_at=now - timedelta(days=person + 1, hours=3),
        )  # fmt: skip
        log.record_feedback(question, True)
        count += 1
    return count


def write_demo_log(database: Path, now: datetime = NOW) -> int:
    """A fresh demo log at `database` (an older demo there is replaced), its questions in the
    DAYS days before `now`; returns how many there are."""
    database.parent.mkdir(parents=True, exist_ok=True)
    for stale in database.parent.glob(database.name + "*"):
        stale.unlink()
    with QuestionLog(database, key=DEMO_KEY, clock=lambda: now) as log:
        asked = fill_log(log, random.Random(SEED), now)
        log.flush()
    return asked
