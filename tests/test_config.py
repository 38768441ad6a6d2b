"""config.yaml: one place for contacts, links and thresholds; a bad value names its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, bot_token, load_settings, settings_from_mapping
from tests.factories import settings_mapping

REPO = Path(__file__).resolve().parent.parent


def settings_with(tmp_path: Path, change: Any) -> Any:
    raw = settings_mapping(tmp_path / "faq")
    change(raw)
    return settings_from_mapping(raw, base_dir=tmp_path)


def test_the_shipped_config_loads_with_the_agency_contacts() -> None:
    settings = load_settings(REPO / "config.yaml", environ={})
    assert settings.agency.phone == "04 22 355 69"
    assert settings.agency.email == "info@amshc.gov.al"
    assert settings.languages[0] in ("sq", "en")
    assert settings.faq_dir == REPO / "faq"
    assert settings.agency.coordinates is None  # the office's coordinates are not published
    for link in settings.links.values():
        assert link.url.startswith("https://")
    assert 0 <= settings.matching.suggest_threshold <= settings.matching.answer_threshold <= 100


def test_placeholders_follow_the_answer_language(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, lambda raw: None)
    assert "Tiranë" in settings.placeholders("sq")["address"]
    assert "Tirana" in settings.placeholders("en")["address"]
    assert settings.placeholders("en")["website"] == "https://www.amshc.gov.al"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"matching\.answer_treshold: unknown key"):
        settings_with(tmp_path, lambda raw: raw.update(matching={"answer_treshold": 60}))


def test_missing_section_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agency\.phone: missing"):
        settings_with(tmp_path, lambda raw: raw["agency"].pop("phone"))


def test_threshold_out_of_range_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"matching\.answer_threshold: 140 is outside 0\.\.100"):
        settings_with(tmp_path, lambda raw: raw.update(matching={"answer_threshold": 140}))


def test_threshold_of_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"matching\.suggest_threshold: expected a number"):
        settings_with(tmp_path, lambda raw: raw.update(matching={"suggest_threshold": "low"}))


def test_suggest_threshold_above_answer_threshold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must not be above"):
        settings_with(
            tmp_path,
            lambda raw: raw.update(matching={"answer_threshold": 40, "suggest_threshold": 60}),
        )


def test_bad_email_and_link_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agency\.email"):
        settings_with(tmp_path, lambda raw: raw["agency"].update(email="info at amshc"))
    with pytest.raises(ConfigError, match=r"links\.website\.url"):
        settings_with(tmp_path, lambda raw: raw["links"]["website"].update(url="www.amshc"))


def test_link_may_not_shadow_an_agency_placeholder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"links\.phone: the name is taken"):
        settings_with(
            tmp_path,
            lambda raw: raw["links"].update(phone={"url": "tel:+35542235569", "label": "Call"}),
        )


def test_webhook_mode_needs_a_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"telegram\.webhook\.url is required"):
        settings_with(tmp_path, lambda raw: raw.update(telegram={"mode": "webhook"}))
    with pytest.raises(ConfigError, match=r"telegram\.mode: 'push'"):
        settings_with(tmp_path, lambda raw: raw.update(telegram={"mode": "push"}))


def test_bad_language_code_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'albanian' is not a two-letter language code"):
        settings_with(tmp_path, lambda raw: raw.update(languages=["albanian"]))


def test_admin_ids_come_from_config_and_environment(tmp_path: Path) -> None:
    raw = settings_mapping(tmp_path / "faq")
    raw["telegram"] = {"admin_ids": [111]}
    settings = settings_from_mapping(raw, base_dir=tmp_path, environ={"BOT_ADMIN_IDS": "222, 333"})
    assert settings.telegram.admin_ids == {111, 222, 333}
    with pytest.raises(ConfigError, match="BOT_ADMIN_IDS: 'abc'"):
        settings_from_mapping(raw, base_dir=tmp_path, environ={"BOT_ADMIN_IDS": "abc"})


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("agency:\n  name: x\n   phone: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config\.yaml:3: not valid YAML"):
        load_settings(path)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path, lambda raw: raw.update(paths={"faq": "kb", "question_log": "var/log.db"})
    )
    assert settings.faq_dir == tmp_path / "kb"
    assert settings.question_log_path == tmp_path / "var" / "log.db"


def test_token_comes_only_from_the_environment() -> None:
    assert bot_token({"TELEGRAM_BOT_TOKEN": " 123:abc "}) == "123:abc"
    assert bot_token({}) is None


def test_the_committed_config_holds_no_secret() -> None:
    def keys(node: object) -> list[str]:
        if isinstance(node, dict):
            return [str(k) for k in node] + [k for v in node.values() for k in keys(v)]
        return []

    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    assert not [k for k in keys(raw) if "token" in k or "secret" in k or k == "key"]


@pytest.mark.parametrize("value", ["١٢٣", "²", "12²", "+12", "1 2", "0x1f", "12.0"])
def test_admin_ids_in_the_environment_are_ascii_digits_only(tmp_path: Path, value: str) -> None:
    raw = settings_mapping(tmp_path / "faq")
    with pytest.raises(ConfigError, match=r"BOT_ADMIN_IDS: .* is not a Telegram user id \(digits"):
        settings_from_mapping(raw, base_dir=tmp_path, environ={"BOT_ADMIN_IDS": f"5,{value}"})


def test_a_language_code_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="two-letter language code"):
        settings_with(tmp_path, lambda raw: raw.update(languages=["sq", "en\n"]))


@pytest.mark.parametrize(
    "url", ["http://bot.example.al/hook", "bot.example.al/hook", "https://", "https://a b/"]
)
def test_a_webhook_url_that_is_not_https_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"telegram.webhook.url: .* is not a public https://"):
        settings_with(
            tmp_path, lambda raw: raw.update(telegram={"mode": "webhook", "webhook": {"url": url}})
        )


def test_learning_settings_are_read_and_checked(tmp_path: Path) -> None:
    shipped = load_settings(REPO / "config.yaml", environ={}).learning
    assert (shipped.min_users, shipped.period_days) == (3, 90)
    changed = settings_with(tmp_path, lambda raw: raw.update(learning={"min_users": 5}))
    assert changed.learning.min_users == 5
    with pytest.raises(ConfigError, match=r"learning\.min_users: 0 is outside 1\.\.1000"):
        settings_with(tmp_path, lambda raw: raw.update(learning={"min_users": 0}))
    with pytest.raises(ConfigError, match=r"learning\.min_user: unknown key"):
        settings_with(tmp_path, lambda raw: raw.update(learning={"min_user": 2}))
