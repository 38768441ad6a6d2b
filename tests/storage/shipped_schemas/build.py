"""Rebuild the schema fixtures from the git history: one SQL script per distinct database
schema that a version of the bot on main ever created.

    .venv/bin/python tests/storage/shipped_schemas/build.py

For every commit of main (first parent) that touched a store, the stores' migrations
(`_MIGRATIONS`, read with `ast` from the file as it was, never imported) are run into an
empty database the way that commit's bot ran them, with its version rows. Commits giving
the same schema share one fixture; each fixture names the first commit that made it.
test_migrations.py opens each with today's stores.
"""

from __future__ import annotations

import ast
import re
import sqlite3
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[2]
# Every file that ever held a store's migrations, old layout and new.
STORE_FILES = (
    "bot/question_log.py",
    "bot/storage/question_log.py",
    "bot/storage/user_prefs.py",
    "bot/storage/tickets.py",
    "bot/storage/learning_store.py",
    "bot/storage/subscriptions.py",
)
VERSION_TABLE = re.compile(r"\b(\w*schema_version|user_prefs_version)\b")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=PROJECT, check=True, capture_output=True, text=True
    ).stdout


def migrations_in(source: str) -> dict[int, str] | None:
    for node in ast.walk(ast.parse(source)):
        target = None
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        if target == "_MIGRATIONS" and value is not None:
            result: dict[int, str] = ast.literal_eval(value)
            return result
    return None


def schema_of(commit: str) -> tuple[str, str] | None:
    """The SQL dump of the database this commit's stores create, and a summary."""
    connection = sqlite3.connect(":memory:")
    stores = []
    for path in STORE_FILES:
        try:
            source = git("show", f"{commit}:{path}")
        except subprocess.CalledProcessError:
            continue
        migrations = migrations_in(source)
        tables = VERSION_TABLE.findall(source)
        if not migrations or not tables:
            continue
        version_table = max(set(tables), key=tables.count)
        connection.execute(f"CREATE TABLE IF NOT EXISTS {version_table} (version INTEGER NOT NULL)")
        for version in sorted(migrations):
            connection.executescript(migrations[version])
            connection.execute(f"INSERT INTO {version_table} (version) VALUES (?)", (version,))
        stores.append(f"{Path(path).stem} v{max(migrations)}")
    if not stores:
        return None
    dump = "\n".join(connection.iterdump())
    connection.close()
    return dump, ", ".join(stores)


def main() -> None:
    # --first-parent: what main held, merges included; a branch's work in progress never
    # shipped, so its intermediate schemas are not fixtures.
    commits = git(
        "log", "--first-parent", "--reverse", "--format=%h %ad %s", "--date=short", "HEAD",
        "--", *STORE_FILES,
    )  # fmt: skip
    seen: dict[str, str] = {}
    for old in HERE.glob("*.sql"):
        old.unlink()
    for line in commits.splitlines():
        commit, day, subject = line.split(" ", 2)
        built = schema_of(commit)
        if built is None or built[0] in seen:
            continue
        dump, stores = built
        seen[dump] = commit
        number = len(seen)
        header = f"-- Schema {number}: first made by commit {commit} ({day}): {subject[:70]}\n"
        header += f"-- Stores: {stores}\n"
        (HERE / f"schema_{number:02d}_{commit}.sql").write_text(header + dump + "\n")
        print(f"schema {number}: {commit} {day} {stores}")


if __name__ == "__main__":
    main()
