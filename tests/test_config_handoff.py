"""config.yaml `handoff:`: off unless a staff group is named; bad values name their key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, HandoffSettings, load_settings, settings_from_mapping
from tests.factories import settings_mapping

REPO = Path(__file__).resolve().parent.parent


def with_handoff(tmp_path: Path, handoff: Any) -> HandoffSettings:
    raw = settings_mapping(tmp_path / "faq")
    raw["handoff"] = handoff
    return settings_from_mapping(raw, base_dir=tmp_path).handoff


def test_the_shipped_config_has_hand_off_off_until_a_group_is_named() -> None:
    handoff = load_settings(REPO / "config.yaml", environ={}).handoff
    assert not handoff.enabled
    assert handoff.forum_topics
    assert handoff.retention_days >= 1


def test_a_full_section_is_read(tmp_path: Path) -> None:
    handoff = with_handoff(
        tmp_path,
        {
            "staff_chat_id": -1001234567890,
            "forum_topics": False,
            "idle_close_hours": 24,
            "max_open_per_user": 2,
            "max_per_day": 5,
            "retention_days": 14,
            "unanswered_close_days": 7,
        },
    )
    assert handoff == HandoffSettings(-1001234567890, False, 24, 2, 5, 14, 7)
    assert handoff.enabled


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"staff_chat_id": 12345}, r"handoff\.staff_chat_id: 12345 is not a group's id"),
        ({"staff_chat_id": "-100123"}, r"handoff\.staff_chat_id: expected a whole number"),
        ({"forum_topics": "yes"}, r"handoff\.forum_topics: expected true or false"),
        ({"idle_close_hours": 0}, r"handoff\.idle_close_hours: 0 is outside 1\.\.8760"),
        ({"max_open_per_user": 50}, r"handoff\.max_open_per_user: 50 is outside 1\.\.20"),
        ({"max_per_day": 1.5}, r"handoff\.max_per_day: expected a whole number"),
        ({"retention_days": -1}, r"handoff\.retention_days: -1 is outside"),
        ({"staff_chat": -100}, r"handoff\.staff_chat: unknown key \(known: .*staff_chat_id"),
        ([-100], r"handoff: expected a mapping"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, section: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        with_handoff(tmp_path, section)
