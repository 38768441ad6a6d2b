"""What the running bot keeps, opened together: one database shared by the question log and
the users' preferences."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.storage.database import DEFAULT_RETRY_SECONDS, Database
from bot.storage.question_log import QuestionLog, database_from_settings, warn_about_key_placement
from bot.storage.user_prefs import UserPrefs, user_prefs_path

if TYPE_CHECKING:
    from bot.config import Settings


@dataclass(frozen=True)
class Stores:
    database: Database
    question_log: QuestionLog
    prefs: UserPrefs

    def close(self) -> None:
        """Write everything still queued and close the database."""
        self.database.close()

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_stores(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    retry_seconds: float = DEFAULT_RETRY_SECONDS,
) -> Stores:
    """The bot's stores at paths.question_log. Never raises over the disk: a database that
    cannot be used is reported (database.problem, its health listeners) and tried again."""
    warn_about_key_placement(settings, environ)
    database = database_from_settings(settings, environ, retry_seconds=retry_seconds)
    prefs = UserPrefs(database, legacy_file=user_prefs_path(settings.question_log_path))
    question_log = QuestionLog(
        database, retention_days=settings.question_log.retention_days, owns_database=False
    )
    return Stores(database, question_log, prefs)
