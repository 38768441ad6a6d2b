"""`python -m bot doctor`: what a deployment needs, checked in one go, one line per check.

Each failure says what to do. The checks are those a deploy gets wrong (README, "On a
server"): the settings, the FAQ, the folders the service writes (state, FAQ, temporary
files), where the question-log key lives, and the token's shape. Nothing here touches the
network; the Telegram checks (`--online`) come from the adapter as `online_checks`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config import (
    BOT_TOKEN_SHAPE,
    LOG_KEY_ENV,
    STATE_DIR_ENV,
    TOKEN_ENV,
    ConfigError,
    Settings,
    folders_the_bot_writes,
    load_settings,
    write_problem,
)
from bot.core.knowledge import KnowledgeBaseError
from bot.core.knowledge_state import build_knowledge
from bot.staff.lint import lint_warnings
from bot.storage.database import connect
from bot.storage.keys import key_path_for


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"ok    {self.name}: {self.detail}"
        return f"FAIL  {self.name}: {self.detail}; fix: {self.fix}"


OnlineChecks = Callable[[Settings, str], Iterable[Check]]


def run_checks(
    config: Path | None,
    environ: Mapping[str, str],
    *,
    online_checks: OnlineChecks | None = None,
) -> list[Check]:
    """Every check, in the order a deployer fixes things. A broken config.yaml stops there:
    the other checks need its paths."""
    try:
        settings = load_settings(config, environ)
    except ConfigError as error:
        return [Check("config", False, str(error), "correct the key named above")]
    checks = [Check("config", True, f"{settings.source} is valid")]
    checks.append(_faq_check(settings))
    checks.extend(_folder_checks(settings, environ))
    checks.append(_key_check(settings, environ))
    checks.append(_database_check(settings))
    token_check, token = _token_check(environ)
    checks.append(token_check)
    if online_checks is not None:
        if token is None:
            checks.append(Check("telegram", False, "not asked: no usable token", token_check.fix))
        else:
            checks.extend(online_checks(settings, token))
    return checks


def _faq_check(settings: Settings) -> Check:
    try:
        loaded = build_knowledge(settings)
    except KnowledgeBaseError as error:
        errors = [p for p in error.problems if p.severity == "error"]
        first = errors[0] if errors else error.problems[0]
        return Check(
            "faq",
            False,
            f"{len(errors)} error(s) in {settings.faq_dir}, the first: {first}",
            "run `python -m bot lint` and correct each error it lists",
        )
    problems = lint_warnings(
        loaded,
        settings.faq_dir,
        dated=settings.dated_answers,
        pending_links=settings.pending_links,
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return Check(
            "faq",
            False,
            f"lint finds {len(errors)} error(s), the first: {errors[0]}",
            "run `python -m bot lint` and correct each error it lists",
        )
    return Check(
        "faq",
        True,
        f"{len(loaded.knowledge)} entries in {settings.faq_dir}, lint: 0 errors, "
        f"{len(problems)} warning(s)",
    )


def _folder_checks(settings: Settings, environ: Mapping[str, str]) -> list[Check]:
    checks = []
    for folder in folders_the_bot_writes(settings, environ):
        name = folder.name
        problem = write_problem(folder.path, create=folder.moved_by == STATE_DIR_ENV)
        if problem is None:
            checks.append(Check(name, True, f"{folder.path} is writable"))
            continue
        if folder.moved_by == "TMPDIR":
            fix = (
                "in the systemd unit add PrivateTmp=yes (ProtectSystem=strict makes /tmp "
                "read-only), or set TMPDIR to a writable folder"
            )
        else:
            fix = (
                f"chown the folder to the service's user, add it to the unit's ReadWritePaths= "
                f"(or StateDirectory=), or set {folder.moved_by} to a writable folder"
            )
        checks.append(Check(name, False, f"{folder.path} is not writable ({problem})", fix))
    return checks


def _key_check(settings: Settings, environ: Mapping[str, str]) -> Check:
    key_file = key_path_for(settings.question_log_path)
    from_environment = environ.get(LOG_KEY_ENV, "").strip()
    make_one = (
        f"put {LOG_KEY_ENV}=$(openssl rand -hex 32) in the service's EnvironmentFile "
        "(mode 600, outside the state folder)"
    )
    if from_environment:
        if len(from_environment) < 16:
            return Check("key", False, f"{LOG_KEY_ENV} is shorter than 16 characters", make_one)
        if key_file.exists():
            return Check(
                "key",
                False,
                f"{LOG_KEY_ENV} is set, but an old key file is still beside the database "
                f"({key_file})",
                f"if {LOG_KEY_ENV} holds that file's key, delete the file; a backup of the "
                "state folder must not carry the key",
            )
        return Check("key", True, f"{LOG_KEY_ENV} comes from the environment")
    if key_file.exists():
        return Check(
            "key",
            False,
            f"the question-log key is in {key_file}, beside the database (whoever copies the "
            "folder can tell who asked what)",
            f"put {LOG_KEY_ENV}=<the file's content> in the service's EnvironmentFile, then "
            "delete the file (README, Privacy)",
        )
    return Check("key", False, f"no {LOG_KEY_ENV} in the environment", make_one)


def _database_check(settings: Settings) -> Check:
    database = settings.question_log_path
    if not database.exists():
        return Check("database", True, f"{database} does not exist yet (made when first used)")
    try:
        connection = connect(database, read_only=True)
        try:
            result = [row[0] for row in connection.execute("PRAGMA quick_check")]
        finally:
            connection.close()
    except sqlite3.Error as error:
        result = [str(error)]
    if result == ["ok"]:
        return Check("database", True, f"{database} passes SQLite's quick check")
    return Check(
        "database",
        False,
        f"{database} fails SQLite's check: {'; '.join(result[:2])}",
        "stop the bot and restore the latest backup (`python -m bot restore FILE`)",
    )


def _token_check(environ: Mapping[str, str]) -> tuple[Check, str | None]:
    token = environ.get(TOKEN_ENV, "").strip()
    fix = (
        f"set {TOKEN_ENV} in the service's EnvironmentFile to the token @BotFather gave "
        "(/mybots, API Token): digits, a colon, then 35 letters, digits, '_' or '-'"
    )
    if not token:
        return Check("token", False, f"no {TOKEN_ENV} in the environment", fix), None
    if not BOT_TOKEN_SHAPE.fullmatch(token):
        # Never the token itself: only its shape.
        return Check("token", False, f"{TOKEN_ENV} is not shaped like a bot token", fix), None
    return Check("token", True, f"{TOKEN_ENV} is set and well formed"), token
