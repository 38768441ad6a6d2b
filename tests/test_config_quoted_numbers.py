"""A number written in quotes in config.yaml (a staff group's id copied as "-100...") gets an
error that says to remove the quotes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError, load_settings
from tests.factories import settings_mapping


def test_a_quoted_staff_chat_id_is_refused_with_the_fix(tmp_path: Path) -> None:
    raw = settings_mapping(tmp_path / "faq")
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(raw) + 'handoff:\n  staff_chat_id: "-1001234567890"\n', encoding="utf-8"
    )

    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ={})

    message = str(refused.value)
    assert "handoff.staff_chat_id" in message
    assert "remove the quotes" in message
    assert "staff_chat_id: -1001234567890" in message


def test_a_word_where_a_number_belongs_still_gets_the_plain_error(tmp_path: Path) -> None:
    raw = settings_mapping(tmp_path / "faq")
    raw["handoff"] = {"staff_chat_id": "the staff group"}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")

    with pytest.raises(ConfigError, match="expected a whole number") as refused:
        load_settings(config, environ={})

    assert "quotes" not in str(refused.value)
