"""A database made by any version of the bot that was on main opens with today's stores:
its rows are kept, each store migrates its own tables, and the result has the same tables
and columns as a database today's bot makes from scratch.

The fixtures (shipped_schemas/*.sql) are built from the git history by
shipped_schemas/build.py: one per distinct schema, named after the commit that made it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage.learning_store import LearningStore
from bot.storage.stores import open_stores
from bot.storage.subscriptions import SubscriptionStore
from bot.storage.tickets import TicketStore
from tests.factories import make_settings

FIXTURES = sorted((Path(__file__).parent / "shipped_schemas").glob("schema_*.sql"))
KEY = "a-test-key-of-32-characters-long"


def test_every_schema_on_main_has_a_fixture() -> None:
    # The first schema (the question log alone) and the last (all five stores) at least.
    assert len(FIXTURES) >= 5
    first = FIXTURES[0].read_text()
    assert "Stores: question_log v1\n" in first
    assert "subscriptions" in FIXTURES[-1].read_text()


def open_every_store(tmp_path: Path, database: Path) -> None:
    settings = make_settings(tmp_path, paths={"faq": "faq", "question_log": str(database)})
    environ = {"QUESTION_LOG_KEY": KEY}
    with open_stores(settings, environ) as stores:
        assert stores.database.problem is None
        stores.question_log.record_question(
            "orari i zyres", user_id=7, lang="sq", outcome="answer", entry_id="office-hours",
            score=80,
        )  # fmt: skip
        stores.prefs.choose_language(7, "en")
        assert stores.question_log.flush()
    with TicketStore(database, key=KEY.encode()):
        pass
    with LearningStore(database):
        pass
    with SubscriptionStore(database):
        pass


def columns(database: Path) -> dict[str, list[str]]:
    connection = sqlite3.connect(database)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
            for table in tables
        }
    finally:
        connection.close()


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.stem)
def test_a_database_of_an_earlier_version_opens_keeps_its_rows_and_migrates(
    tmp_path: Path, fixture: Path
) -> None:
    old = tmp_path / "old" / "questions.sqlite3"
    old.parent.mkdir()
    connection = sqlite3.connect(old)
    connection.executescript(fixture.read_text())
    asked = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    connection.execute(
        "INSERT INTO questions (id, asked_at, text, lang, outcome, entry_id, score, user_hash,"
        " channel, helpful, feedback_at) VALUES ('old-question', ?, 'ku ndodhet zyra', 'sq',"
        " 'answer', 'office-address', 75, 'abc', 'telegram', 1, NULL)",
        (asked,),
    )
    connection.commit()
    connection.close()

    open_every_store(tmp_path, old)
    fresh = tmp_path / "fresh" / "questions.sqlite3"
    fresh.parent.mkdir()
    open_every_store(tmp_path, fresh)

    assert columns(old) == columns(fresh)
    connection = sqlite3.connect(old)
    try:
        texts = {row[0]: row[1] for row in connection.execute("SELECT id, text FROM questions")}
    finally:
        connection.close()
    assert texts["old-question"] == "ku ndodhet zyra"
    assert "orari i zyres" in texts.values()
    assert len(texts) == 2
