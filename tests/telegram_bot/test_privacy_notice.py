"""/privacy tells users, in their language, what the bot keeps about them, for how long (the
figures of config.yaml), what the staff group sees, and that /forget deletes it; /start and
/help point to it."""

from __future__ import annotations

from pathlib import Path

from bot.core.telegram_html import html_to_plain
from tests.conftest import Handle
from tests.factories import make_dialog
from tests.fake_bot_api import FakeBotApi, UpdateFactory, user

ENGLISH = user(1001, "en")
ALBANIAN = user(1002, "sq")


async def test_privacy_in_english_gives_the_retention_hashed_ids_and_forget(
    handle: Handle, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    await handle(updates.command("/privacy", sender=ENGLISH))
    (sent,) = fake_api.calls_of("sendMessage")
    text = html_to_plain(sent.params["text"])
    assert "for 180 days" in text  # question_log.retention_days (the default)
    assert "keyed hash" in text
    assert "never your Telegram id, name or username" in text
    assert "/forget deletes all of this" in text
    assert "/ask" not in text  # hand-off is off in these settings: not mentioned


async def test_privacy_in_albanian(
    handle: Handle, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    await handle(updates.command("/privacy", sender=ALBANIAN))
    (sent,) = fake_api.calls_of("sendMessage")
    text = html_to_plain(sent.params["text"])
    assert text.startswith("Privatësia juaj")
    assert "për 180 ditë" in text
    assert "hash me çelës" in text
    assert "Me /forget i fshini të gjitha" in text


async def test_start_and_help_point_to_privacy(
    handle: Handle, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    await handle(updates.command("/start", sender=ENGLISH))
    await handle(updates.command("/help", sender=ALBANIAN))
    start, help_ = (call.params["text"] for call in fake_api.calls_of("sendMessage")[:2])
    assert "What I keep about you: /privacy" in start
    assert "/privacy – Çfarë ruan boti për ju dhe për sa kohë" in help_


def test_the_figures_come_from_config_and_hand_off_is_explained_when_on(
    tmp_path: Path,
) -> None:
    dialog, _ = make_dialog(
        tmp_path,
        question_log={"retention_days": 90},
        handoff={"staff_chat_id": -1001234567890, "retention_days": 21},
        subscriptions={"topics": {"calls": {"sq": "Thirrjet", "en": "Calls"}}},
    )
    english = html_to_plain(dialog.privacy("en").text)
    assert "for 90 days" in english
    assert "only what you choose to send" in english
    assert "your name only if you press “Send with my name”" in english
    assert "for 21 days after it closes" in english
    assert "until you unsubscribe" in english
    albanian = html_to_plain(dialog.privacy("sq").text)
    assert "për 90 ditë" in albanian
    assert "21 ditë pasi mbyllet" in albanian
    assert "“Dërgoni me emrin tuaj”" in albanian
