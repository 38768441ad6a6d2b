"""The "Ask the agency" button and /ask appear exactly when a staff group is configured:
on a fallback, on "did you mean" and after a 👎 - never on a plain answer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import HandoffSettings, SubscriptionSettings, Topic
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog, Reply
from bot.core.telegram_html import html_to_plain
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, make_settings, write_faq

OFF_TOPIC = "What time does the football match start tonight?"


def actions(reply: Reply) -> list[str]:
    return [button.action for row in reply.buttons for button in row if button.action]


@pytest.fixture
def dialogs(tmp_path: Path) -> tuple[Dialog, Dialog]:
    """(hand-off off, hand-off on) over the same knowledge base."""
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    on = replace(settings, handoff=HandoffSettings(staff_chat_id=-1001))
    return build_dialog(settings)[0], build_dialog(on)[0]


def test_the_button_comes_with_a_fallback_and_a_did_you_mean_only_when_on(
    dialogs: tuple[Dialog, Dialog],
) -> None:
    off, on = dialogs
    fallback = on.reply_to_question(OFF_TOPIC)
    assert fallback.kind == "fallback"
    assert "h:" in actions(fallback)
    assert "h:" not in actions(off.reply_to_question(OFF_TOPIC))
    suggest = on.reply_to_question("office phone")
    assert suggest.kind == "suggest"
    assert "h:" in actions(suggest)
    assert "h:" not in actions(off.reply_to_question("office phone"))
    answer = on.reply_to_question("What is your phone number?")
    assert answer.kind == "answer"
    assert not any(a.startswith("h:") for a in actions(answer))


def test_a_thumbs_down_offers_that_question_to_staff(dialogs: tuple[Dialog, Dialog]) -> None:
    off, on = dialogs
    no = on.handle_action("f:n:q123", "sq")
    assert no is not None
    assert actions(no) == ["h:q123"]
    assert "agjencinë" in no.buttons[0][0].label
    yes = on.handle_action("f:y:q123", "en")
    assert yes is not None
    assert actions(yes) == []
    off_no = off.handle_action("f:n:q123", "en")
    assert off_no is not None
    assert actions(off_no) == []


def test_ask_is_in_the_menu_and_help_only_when_on_and_forget_always(
    dialogs: tuple[Dialog, Dialog],
) -> None:
    off, on = dialogs
    assert "ask" not in [name for name, _ in off.command_descriptions("en")]
    assert [name for name, _ in on.command_descriptions("en")][-2:] == ["ask", "forget"]
    assert "/ask" in html_to_plain(on.help("sq").text)
    assert "/ask" not in html_to_plain(off.help("en").text)
    assert "/forget" in html_to_plain(off.help("en").text)


def test_subscribe_and_unsubscribe_are_in_the_menu_only_when_there_are_topics(
    dialogs: tuple[Dialog, Dialog],
) -> None:
    off, _ = dialogs
    topics = {"calls": Topic("calls", {"sq": "Thirrjet", "en": "Calls"})}
    following = replace(off.settings, subscriptions=SubscriptionSettings(topics=topics))
    on = build_dialog(following)[0]
    assert "subscribe" not in [name for name, _ in off.command_descriptions("en")]
    names = [name for name, _ in on.command_descriptions("sq")]
    assert names[-3:] == ["subscribe", "unsubscribe", "forget"]
    assert "/subscribe" in html_to_plain(on.help("en").text)
