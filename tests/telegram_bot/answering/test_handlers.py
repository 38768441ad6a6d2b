"""The bot's behaviour in Telegram, through the real python-telegram-bot Application.

Each test feeds real updates (JSON as Telegram sends it) to the application, whose every
Bot API call goes to the in-process fake (which checks it as Telegram would). Nothing here
opens a socket.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.core.dialog import topic_token
from bot.core.telegram_html import html_to_plain
from bot.storage.database import Database
from bot.storage.user_prefs import UserPrefs
from bot.telegram_bot.app import TelegramApplication
from tests.conftest import FakeClock, Handle, RecordingQuestionLog
from tests.fake_bot_api import (
    BOT_USERNAME,
    GROUP,
    FakeBotApi,
    UpdateFactory,
    actions,
    urls,
    user,
)

ENGLISH = user(1001, "en")
ALBANIAN = user(1002, "sq", name="Elira")


def last_message(fake_api: FakeBotApi) -> dict[str, Any]:
    return fake_api.calls_of("sendMessage")[-1].params


def text_of(params: dict[str, Any]) -> str:
    return html_to_plain(str(params["text"]))


# ----- commands ---------------------------------------------------------------------------


async def test_start_welcomes_in_telegrams_language_with_the_menu(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/start", sender=ALBANIAN))
    sent = last_message(fake_api)
    assert sent["chat_id"] == ALBANIAN["id"]
    assert "Përshëndetje" in text_of(sent)
    assert {"m:ask", "t", "m:contact", "m:register", "m:language"} <= set(actions(sent))
    assert sent["parse_mode"] == "HTML"


async def test_deep_link_opens_the_entry_directly(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/start grant-types", sender=ENGLISH))
    assert "Grants for projects" in text_of(last_message(fake_api))


async def test_the_command_menu_is_set_in_each_language(
    app: TelegramApplication, fake_api: FakeBotApi
) -> None:
    calls = fake_api.calls_of("setMyCommands")
    assert sorted(str(c.params.get("language_code")) for c in calls) == ["None", "en", "sq"]
    english = next(c for c in calls if c.params.get("language_code") == "en")
    assert [c["command"] for c in english.params["commands"]][:2] == ["start", "topics"]


async def test_help_names_the_bots_username(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/help", sender=ENGLISH))
    help_text = text_of(last_message(fake_api))
    assert f"@{BOT_USERNAME}" in help_text
    assert "/contact" in help_text


async def test_an_unknown_command_in_private_gets_the_help(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/whatever", sender=ENGLISH))
    assert "/topics" in text_of(last_message(fake_api))


async def test_contact_sends_the_details_then_a_contact_card_and_the_map_pin(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/contact", sender=ENGLISH))
    assert "info@amshc.gov.al" in text_of(last_message(fake_api))
    assert all(url.startswith("https://") for url in urls(last_message(fake_api)))
    (card,) = fake_api.calls_of("sendContact")
    assert card.params["phone_number"] == "+355 4 22 355 69"
    (venue,) = fake_api.calls_of("sendVenue")
    assert float(venue.params["latitude"]) == pytest.approx(41.3275)
    assert [c.method for c in fake_api.calls[-3:]] == ["sendMessage", "sendContact", "sendVenue"]


async def test_register_offers_the_registration_link(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/register", sender=ENGLISH))
    assert urls(last_message(fake_api)) == ["https://www.amshc.gov.al"]


async def test_the_language_choice_wins_and_survives_a_restart(
    handle: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
    prefs: UserPrefs,
) -> None:
    await handle(updates.command("/language", sender=ALBANIAN))
    menu = fake_api.calls_of("sendMessage")[-1]
    assert actions(menu.params) == ["l:sq", "l:en"]
    await handle(updates.callback("l:en", on=menu.result, sender=ALBANIAN))
    assert "reply in English" in text_of(last_message(fake_api))
    await handle(updates.command("/start", sender=ALBANIAN))
    assert "Hello!" in text_of(last_message(fake_api))
    assert prefs.database is not None
    assert prefs.database.flush()
    with Database(prefs.database.path, key_source=lambda: b"k" * 32) as reopened:
        assert UserPrefs(reopened).chosen_language(ALBANIAN["id"]) == "en"
    assert str(ALBANIAN["id"]).encode() not in prefs.database.path.read_bytes()


# ----- questions --------------------------------------------------------------------------


async def test_an_answer_has_link_and_related_buttons_and_asks_if_it_helped(
    handle: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
    question_log: RecordingQuestionLog,
) -> None:
    await handle(updates.message("Where is your office?", sender=ENGLISH))
    sent = last_message(fake_api)
    assert "Frosina Plaku" in text_of(sent)
    assert "Was this helpful?" in text_of(sent)
    assert any("google.com/maps" in url for url in urls(sent))
    assert "e:phone-number" in actions(sent)
    assert actions(sent)[-2:] == ["f:y:q1", "f:n:q1"]
    (logged,) = question_log.questions
    assert logged["outcome"] == "answer"
    assert logged["entry_id"] == "office-address"
    assert logged["user_id"] == ENGLISH["id"]


async def test_an_albanian_question_is_answered_in_albanian_whatever_telegrams_language(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.message("Ku ndodhet zyra?", sender=ENGLISH))
    sent = last_message(fake_api)
    assert "Zyra jonë" in text_of(sent)
    # ...and the next menu follows the language the user wrote in.
    await handle(updates.command("/topics", sender=ENGLISH))
    assert "Zgjidhni" in text_of(last_message(fake_api))


async def test_a_did_you_mean_offers_its_candidates_as_buttons(
    handle: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
    question_log: RecordingQuestionLog,
) -> None:
    await handle(updates.message("grant deadline", sender=ENGLISH))
    sent = last_message(fake_api)
    assert "Did you mean" in text_of(sent)
    (question_id,) = {q["id"] for q in question_log.questions}
    # Each choice names the question too, so that a pick can be tied to it.
    assert {f"e:deadline-projects:{question_id}", f"e:deadline-institutional:{question_id}"} <= set(
        actions(sent)
    )
    assert not any(a.startswith("f:") for a in actions(sent))
    await handle(
        updates.callback(f"e:deadline-projects:{question_id}", on=fake_api.calls[-1].result)
    )
    picked = last_message(fake_api)
    assert "31 March" in text_of(picked)
    # The picked answer asks "Was this helpful?" about the question asked.
    assert f"f:n:{question_id}" in actions(picked)


async def test_an_unknown_question_apologises_with_contacts_and_browse_buttons(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.message("asdkjh qwe zzz", sender=ENGLISH))
    sent = last_message(fake_api)
    assert "Sorry" in text_of(sent)
    assert {"t", "m:contact"} <= set(actions(sent))
    # Telegram cannot open mailto: from a button (the e-mail address is in the text).
    assert urls(sent) == ["https://www.amshc.gov.al"]


@pytest.mark.parametrize(
    "text",
    ["🙂🙂🙂", "?!...", "<b>hi</b> & <script>alert(1)</script>", "office " * 900],
    ids=["emoji", "punctuation", "html", "very-long"],
)
async def test_odd_messages_get_a_sensible_reply_that_telegram_accepts(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi, text: str
) -> None:
    await handle(updates.message(text, sender=ENGLISH))
    (call,) = fake_api.calls_of("sendMessage", ok_only=False)
    assert call.ok, call.error
    assert "<script>" not in str(call.params["text"])


async def test_a_sticker_gets_the_text_only_notice(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.sticker(sender=ENGLISH))
    assert "text questions" in text_of(last_message(fake_api))


# ----- buttons ----------------------------------------------------------------------------


async def test_browsing_edits_the_same_message_through_topics_pages_and_back(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/topics", sender=ENGLISH))
    menu = fake_api.calls_of("sendMessage")[-1]
    documents = topic_token("documents")
    assert f"c:{documents}:0" in actions(menu.params)
    await handle(updates.callback(f"c:{documents}:0", on=menu.result))
    first_page = fake_api.calls_of("editMessageText")[-1]
    assert first_page.params["message_id"] == menu.result["message_id"]
    assert "(1/2)" in text_of(first_page.params)
    await handle(updates.callback(f"c:{documents}:1", on=first_page.result))
    second_page = fake_api.calls_of("editMessageText")[-1]
    assert "(2/2)" in text_of(second_page.params)
    await handle(updates.callback("t", on=second_page.result))
    assert "Choose a topic" in text_of(fake_api.calls_of("editMessageText")[-1].params)
    assert len(fake_api.calls_of("sendMessage")) == 1  # no new messages while browsing
    assert len(fake_api.calls_of("answerCallbackQuery")) == 3


async def test_pressing_the_same_page_twice_is_quietly_fine(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    await handle(updates.command("/topics", sender=ENGLISH))
    menu = fake_api.calls_of("sendMessage")[-1]
    await handle(updates.callback("c:grants:0", on=menu.result))
    await handle(updates.callback("c:grants:0", on=menu.result))
    assert "not modified" in str(fake_api.calls_of("editMessageText", ok_only=False)[-1].error)
    assert len(fake_api.calls_of("sendMessage")) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_helpful_vote_is_logged_thanked_and_its_buttons_removed(
    handle: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
    question_log: RecordingQuestionLog,
) -> None:
    await handle(updates.message("phone number", sender=ENGLISH))
    answer = fake_api.calls_of("sendMessage")[-1]
    await handle(updates.callback("f:y:q1", on=answer.result, sender=ENGLISH))
    assert question_log.votes == [("q1", True, ENGLISH["id"])]
    (thanks,) = fake_api.calls_of("answerCallbackQuery")
    assert "Thank you" in thanks.params["text"]
    (edit,) = fake_api.calls_of("editMessageReplyMarkup")
    assert not any(a.startswith("f:") for a in actions(edit.params))
    assert len(fake_api.calls_of("sendMessage")) == 1


async def test_a_not_helpful_vote_shows_the_contacts_in_an_alert(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.message("phone number", sender=ENGLISH))
    answer = fake_api.calls_of("sendMessage")[-1]
    await handle(updates.callback("f:n:q1", on=answer.result, sender=ENGLISH))
    (thanks,) = fake_api.calls_of("answerCallbackQuery")
    assert "04 22 355 69" in thanks.params["text"]
    assert thanks.params["show_alert"] in (True, "true")


async def test_a_stale_button_gets_a_short_answer_and_nothing_else(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/start", sender=ENGLISH))
    menu = fake_api.calls_of("sendMessage")[-1]
    await handle(updates.callback("old-format:42", on=menu.result))
    (answer,) = fake_api.calls_of("answerCallbackQuery")
    assert answer.params["text"]
    assert len(fake_api.calls_of("sendMessage")) == 1


async def test_a_menu_button_sends_its_reply_as_a_new_message(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command("/start", sender=ENGLISH))
    menu = fake_api.calls_of("sendMessage")[-1]
    await handle(updates.callback("m:contact", on=menu.result))
    assert "info@amshc.gov.al" in text_of(last_message(fake_api))
    assert len(fake_api.calls_of("sendContact")) == 1


# ----- inline mode ------------------------------------------------------------------------


async def test_inline_query_lists_matching_answers_with_link_buttons_only(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.inline_query("where is your office", sender=ENGLISH))
    (call,) = fake_api.calls_of("answerInlineQuery")
    results = call.params["results"]
    assert results[0]["id"] == "office-address"
    content = results[0]["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert "Frosina Plaku" in content["message_text"]
    for result in results:
        for row in (result.get("reply_markup") or {}).get("inline_keyboard", []):
            assert all("url" in button for button in row)
    assert int(call.params["cache_time"]) <= 60


async def test_an_empty_inline_query_offers_top_entries(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.inline_query("", sender=ALBANIAN))
    (call,) = fake_api.calls_of("answerInlineQuery")
    assert len(call.params["results"]) >= 2


# ----- groups -----------------------------------------------------------------------------


async def test_in_a_group_the_bot_stays_quiet_unless_addressed(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.message("Where is your office?", chat=GROUP))
    await handle(updates.sticker(chat=GROUP))
    await handle(updates.command("/help@some_other_bot", chat=GROUP))
    assert fake_api.calls_of("sendMessage") == []


async def test_in_a_group_a_mention_is_answered_as_a_reply_without_the_mention(
    handle: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
    question_log: RecordingQuestionLog,
) -> None:
    question = updates.message(f"@{BOT_USERNAME} where is your office?", chat=GROUP)
    await handle(question)
    sent = last_message(fake_api)
    assert sent["chat_id"] == GROUP["id"]
    assert sent["reply_parameters"]["message_id"] == question["message"]["message_id"]
    assert "Frosina Plaku" in text_of(sent)
    assert question_log.questions[0]["text"] == "where is your office?"


async def test_in_a_group_replies_to_the_bot_and_commands_are_answered(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle(updates.command(f"/help@{BOT_USERNAME}", chat=GROUP))
    await handle(updates.command("/contact", chat=GROUP))
    bots_message = fake_api.calls_of("sendMessage")[-1].result
    await handle(updates.message("phone number", chat=GROUP, reply_to=bots_message))
    assert "+355 4 22 355 69" in text_of(last_message(fake_api))
    assert len(fake_api.calls_of("sendMessage")) == 3


# ----- the world misbehaving --------------------------------------------------------------


async def test_a_user_who_blocked_the_bot_breaks_nothing(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.fail_next("sendMessage", status=403)
    await handle(updates.message("phone number", sender=ENGLISH))
    await handle(updates.message("phone number", sender=ALBANIAN))
    assert len(fake_api.calls_of("sendMessage")) == 1
    assert any("blocked" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_handler_error_is_logged_with_its_traceback_and_the_bot_carries_on(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    await handle(updates.message("phone number", sender=ENGLISH))
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.exc_info is not None
    await handle(updates.message("phone number", sender=ENGLISH))
    assert len(fake_api.calls_of("sendMessage")) == 1


async def test_a_flooding_user_gets_one_notice_then_silence_while_others_are_answered(
    app: TelegramApplication,
    handle: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
    clock: FakeClock,
) -> None:
    limit = 20  # settings.telegram.flood_limit_per_minute
    for _ in range(limit + 10):
        await handle(updates.message("phone number", sender=ENGLISH))
        clock.advance(0.1)
    to_flooder = fake_api.sent_texts(ENGLISH["id"])
    assert len(to_flooder) == limit + 1
    assert "very quickly" in html_to_plain(to_flooder[-1])
    await handle(updates.message("phone number", sender=ALBANIAN))
    assert len(fake_api.sent_texts(ALBANIAN["id"])) == 1
    clock.advance(61)
    await handle(updates.message("phone number", sender=ENGLISH))
    assert len(fake_api.sent_texts(ENGLISH["id"])) == limit + 2


async def test_inline_queries_are_flood_guarded_with_their_own_allowance(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi, clock: FakeClock
) -> None:
    inline_limit = 3 * 20  # INLINE_PER_MESSAGE times settings.telegram.flood_limit_per_minute
    for n in range(inline_limit + 40):
        await handle(updates.inline_query(f"where is your office {n}", sender=ENGLISH))
        clock.advance(0.1)
    assert len(fake_api.calls_of("answerInlineQuery")) == inline_limit
    # Typing inline did not use up the user's messages, and others are answered inline.
    await handle(updates.message("phone number", sender=ENGLISH))
    assert len(fake_api.sent_texts(ENGLISH["id"])) == 1
    await handle(updates.inline_query("phone", sender=ALBANIAN))
    assert len(fake_api.calls_of("answerInlineQuery")) == inline_limit + 1
    clock.advance(61)
    await handle(updates.inline_query("phone", sender=ENGLISH))
    assert len(fake_api.calls_of("answerInlineQuery")) == inline_limit + 2


async def test_each_update_is_logged_on_one_line_with_outcome_entry_score_and_time(
    handle: Handle, updates: UpdateFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram_bot.app")
    await handle(updates.message("Where is your office?", sender=ENGLISH))
    await handle(updates.message("Where is your office?", chat=GROUP))  # not for the bot
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.telegram_bot.app"]
    assert len(lines) == 1
    assert "answer entry=office-address score=100 lang=en" in lines[0]
    assert lines[0].endswith(" ms")
    assert "Where is your office" not in lines[0]
