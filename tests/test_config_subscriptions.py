"""config.yaml's `subscriptions:` section: topics named in every language, a sane rate, and
a clear error naming the key when something is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, Settings, load_settings, settings_from_mapping
from tests.factories import settings_mapping

REPO = Path(__file__).resolve().parent.parent
CALLS = {"sq": "Thirrjet për propozime", "en": "Calls for proposals"}


def with_section(tmp_path: Path, section: Any) -> Settings:
    raw = settings_mapping(tmp_path / "faq")
    raw["subscriptions"] = section
    return settings_from_mapping(raw, base_dir=tmp_path)


def test_the_shipped_config_offers_calls_for_proposals_and_news_in_both_languages() -> None:
    subscriptions = load_settings(REPO / "config.yaml", environ={}).subscriptions
    assert subscriptions.enabled
    assert subscriptions.topics["calls"].name("en") == "Calls for proposals"
    assert subscriptions.topics["calls"].name("sq") == "Thirrjet për propozime"
    assert set(subscriptions.topics["news"].names) == {"sq", "en"}
    assert 1 <= subscriptions.messages_per_second <= 30  # within Telegram's limit


def test_without_the_section_announcements_are_off(tmp_path: Path) -> None:
    raw = settings_mapping(tmp_path / "faq")
    assert not settings_from_mapping(raw, base_dir=tmp_path).subscriptions.enabled
    assert not with_section(tmp_path, {"topics": {}}).subscriptions.enabled


def test_a_topic_and_a_rate_are_read(tmp_path: Path) -> None:
    settings = with_section(tmp_path, {"topics": {"calls": CALLS}, "messages_per_second": 10})
    assert list(settings.subscriptions.topics) == ["calls"]
    assert settings.subscriptions.messages_per_second == 10


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"topics": {"calls": {"en": "Calls"}}}, "subscriptions.topics.calls.sq: missing"),
        (
            {"topics": {"calls": {**CALLS, "de": "Aufrufe"}}},
            "subscriptions.topics.calls.de: unknown",
        ),
        ({"topics": {"Calls!": CALLS}}, "subscriptions.topics.Calls!: a topic key uses a-z"),
        ({"topics": {"calls": {**CALLS, "en": ""}}}, "subscriptions.topics.calls.en: expected"),
        ({"topics": ["calls"]}, "subscriptions.topics: expected a mapping"),
        (
            {"topics": {}, "messages_per_second": 0},
            "subscriptions.messages_per_second: 0 is outside",
        ),
        ({"topic": {}}, "subscriptions.topic: unknown key"),
    ],
)
def test_a_bad_section_names_its_key(tmp_path: Path, section: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("!", "\\!")):
        with_section(tmp_path, section)
