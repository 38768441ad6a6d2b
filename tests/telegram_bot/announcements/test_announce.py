"""Staff announce in Telegram: /announce, topic, texts in both languages, preview, Send;
subscribers of the topic get it once, each in their language, through the real bot against
the fake Bot API server on 127.0.0.1, with Telegram's failures injected."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.core.telegram_html import html_to_plain
from bot.storage.subscriptions import SubscriptionStore
from bot.telegram_bot.announcements.broadcast import MAX_ATTEMPTS
from tests.fake_bot_api import FakeBotApiServer, UpdateFactory, keyboard, user
from tests.telegram_bot.announcements.subscription_helpers import (
    ADMIN,
    announce,
    button_message,
    edits_to,
    messages_to,
    running_bot,
    wait_until,
)

TEXTS = {
    "sq": "<b>Thirrje e re</b> për propozime: afati 31 mars.",
    "en": "<b>New call</b> for proposals: deadline 31 March.",
}


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SubscriptionStore]:
    with SubscriptionStore(tmp_path / "questions.sqlite3") as opened:
        yield opened


def final_report(server: FakeBotApiServer) -> str:
    """The admin's last message once it is the final counts."""
    texts = [html_to_plain(str(c.params["text"])) for c in messages_to(server.api, ADMIN["id"])]
    return texts[-1] if texts and "has been sent" in texts[-1] else ""


async def test_an_announcement_reaches_exactly_its_topics_subscribers_each_in_their_language(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    albanian, english, news_only = [101, 102, 103], [201, 202], [301, 302]
    store.subscribe_many(dict.fromkeys(albanian, "sq"), "calls")
    store.subscribe_many(dict.fromkeys(english, "en"), "calls")
    store.subscribe_many(dict.fromkeys(news_only, "en"), "news")
    store.subscribe(101, "news", "sq")
    api = server.api
    async with running_bot(settings, knowledge, server, store):
        confirmation = await announce(api, updates, "calls", TEXTS, confirm=False)
        topic_menu = messages_to(api, ADMIN["id"])[0]
        assert "Which topic" in topic_menu.params["text"]
        assert [b["text"] for row in keyboard(topic_menu.params) for b in row] == [
            "Calls for proposals (5)",
            "News & events (3)",
            "✖️ Cancel",
        ]
        assert "It will reach 5 subscriber(s) (en: 2, sq: 3)" in html_to_plain(
            str(confirmation.params["text"])
        )
        previews = [str(c.params["text"]) for c in messages_to(api, ADMIN["id"])]
        assert api.deliveries()[101] == 0  # nothing goes out before Send

        _, send = await button_message(api, ADMIN["id"], "a:go:")
        api.add_update(updates.callback(send, on=confirmation.result, sender=ADMIN))
        report = await wait_until(lambda: final_report(server))

    assert "Delivered: 5 · blocked the bot: 0 · failed: 0" in report
    delivered = api.deliveries()
    assert {chat: delivered[chat] for chat in (*albanian, *english, *news_only)} == {
        **dict.fromkeys(albanian, 1),
        **dict.fromkeys(english, 1),
        **dict.fromkeys(news_only, 0),
    }
    for chat in albanian:
        (text,) = api.sent_texts(chat)
        assert text.startswith(TEXTS["sq"])
        assert "Thirrjet për propozime" in text  # the footer, in Albanian
        assert text in previews  # the admin's preview was exactly this
    for chat in english:
        (text,) = api.sent_texts(chat)
        assert text.startswith(TEXTS["en"])
        assert "/unsubscribe" in text
        assert text in previews
    assert store.unfinished() == []


async def test_a_text_telegram_would_refuse_is_sent_back_with_the_problem(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    store.subscribe(101, "calls", "sq")
    api = server.api
    async with running_bot(settings, knowledge, server, store):
        broken = {"sq": "<b>Thirrje e re", "en": TEXTS["en"]}
        api.add_update(updates.command("/announce", sender=ADMIN))
        menu, choice = await button_message(api, ADMIN["id"], "a:t:")
        choice = choice.rsplit(":", 1)[0] + ":calls"
        api.add_update(updates.callback(choice, on=menu.result, sender=ADMIN))
        await wait_until(lambda: edits_to(api, ADMIN["id"]))
        count = len(messages_to(api, ADMIN["id"]))
        api.add_update(updates.message(broken["sq"], sender=ADMIN))
        await wait_until(lambda: len(messages_to(api, ADMIN["id"])) > count)
        refusal = html_to_plain(str(messages_to(api, ADMIN["id"])[-1].params["text"]))
        assert "Telegram would refuse this text" in refusal
        assert "<b>" in refusal  # names the tag left open
        api.add_update(updates.message(TEXTS["sq"], sender=ADMIN))
        await wait_until(lambda: len(messages_to(api, ADMIN["id"])) > count + 1)
        assert "English" in str(messages_to(api, ADMIN["id"])[-1].params["text"])
        api.add_update(updates.command("/cancel", sender=ADMIN))
        await wait_until(lambda: len(messages_to(api, ADMIN["id"])) > count + 2)
        assert "nothing was sent" in str(messages_to(api, ADMIN["id"])[-1].params["text"])
    assert api.deliveries()[101] == 0
    assert store.unfinished() == []


async def test_only_admins_can_announce(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    stranger = user(4444, "en")
    api = server.api
    async with running_bot(settings, knowledge, server, store):
        api.add_update(updates.command("/announce", sender=stranger))
        (reply,) = await api.wait_for("sendMessage", 1)
    assert "/help" in reply.params["text"]  # answered like any unknown command
    assert "a:t:" not in str(reply.params)


async def test_429_waits_5xx_retries_a_bounded_number_of_times_and_403_unsubscribes(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    fine, slowed, flaky, broken, blocked = 11, 12, 13, 14, 15
    store.subscribe_many(dict.fromkeys((fine, slowed, flaky, broken, blocked), "en"), "calls")
    store.subscribe(blocked, "news", "en")
    api = server.api
    api.fail_chat(slowed, status=429, retry_after=1)
    api.fail_chat(flaky, status=500, times=2)
    api.fail_chat(broken, status=500, times=1000)
    api.fail_chat(blocked, status=403)
    async with running_bot(settings, knowledge, server, store):
        started = time.monotonic()
        await announce(api, updates, "calls", TEXTS)
        report = await wait_until(lambda: final_report(server))
        waited = time.monotonic() - started

    assert "Delivered: 3 · blocked the bot: 1 · failed: 1" in report
    delivered = api.deliveries()
    assert [delivered[chat] for chat in (fine, slowed, flaky, broken, blocked)] == [1, 1, 1, 0, 0]
    assert waited >= 1.0  # the 429's retry_after was waited out
    attempts = [c for c in api.calls if c.method == "sendMessage" and c.params["chat_id"] == broken]
    # The rate limiter tries each send 3 times (a 5xx is retried twice), the job up to
    # MAX_ATTEMPTS sends: a bounded number, then the recipient counts as failed.
    assert len(attempts) == 3 * MAX_ATTEMPTS
    assert store.topics_of(blocked) == frozenset()  # blocked the bot: every topic ends
    assert store.topics_of(fine) == {"calls"}


async def test_a_question_during_a_broadcast_is_answered_without_waiting_for_it(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    rate = 100  # announcement messages a second
    subscribers = list(range(100_000, 102_000))
    store.subscribe_many(dict.fromkeys(subscribers, "en"), "calls")
    asker = user(7777, "en")
    api = server.api
    async with running_bot(settings, knowledge, server, store, messages_per_second=rate):
        await announce(api, updates, "calls", TEXTS)
        await wait_until(lambda: sum(api.deliveries()[c] for c in subscribers[:200]) > 100)
        before = sum(api.deliveries().values())
        asked = time.monotonic()
        api.add_update(updates.message("what is your phone number", sender=asker))
        (answer,) = await wait_until(lambda: messages_to(api, asker["id"]), within=10)
        took = time.monotonic() - asked
        during = sum(api.deliveries().values()) - before
        remaining = store.counts(store.unfinished()[0]).pending

    assert "04 22 355 69" in answer.params["text"]
    # The answer did not queue behind the announcement: it went out while the broadcast
    # still had most of its recipients to go, before one second's worth of announcement
    # messages had gone out after the question.
    assert remaining > len(subscribers) // 2
    assert during < rate, f"{during} announcement messages went out before the answer"
    print(f"answered in {took * 1000:.0f} ms while {during} announcement messages went out")
    # A generous bound on a shared machine; the check above is the one that matters: queued
    # behind the announcement, the answer would have waited for ~1,900 messages (19 s).
    assert took < 5.0
