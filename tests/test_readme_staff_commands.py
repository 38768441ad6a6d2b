"""The README's staff-command table and config.yaml's admin_ids comment list every command
admins have, in one unbroken table."""

from __future__ import annotations

import re
from pathlib import Path

from bot.telegram_bot.admin.staff_notices import STAFF_COMMANDS

REPO = Path(__file__).resolve().parent.parent
EVERY_STAFF_COMMAND = (*STAFF_COMMANDS, "announce")


def staff_table() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Staff commands in Telegram", 1)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| command |"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break  # a blank line ends a Markdown table: rows after it come loose
        table.append(line)
    return table


def test_the_staff_table_lists_every_staff_command_in_one_piece() -> None:
    listed = {m.group(1) for line in staff_table() for m in [re.match(r"\| `/(\w+)", line)] if m}
    assert set(EVERY_STAFF_COMMAND) <= listed


def test_the_readme_does_not_say_admins_see_only_some_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "first three" not in readme


def test_the_admin_ids_comment_in_config_names_every_staff_command() -> None:
    config = (REPO / "config.yaml").read_text(encoding="utf-8")
    before = config.split("admin_ids:", 1)[0]
    comment = " ".join(line for line in before.splitlines()[-4:] if line.strip().startswith("#"))
    for name in EVERY_STAFF_COMMAND:
        assert f"/{name}" in comment, name
