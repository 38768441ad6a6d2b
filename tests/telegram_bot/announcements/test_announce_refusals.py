"""What Telegram refuses in an announcement never goes out half-way: a refused preview tells
the admin why and stores nothing; a job whose first messages are all refused stops and tells
the admin, keeping its text; /unsubscribe during an announcement cancels what was not sent
yet. The real bot against the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.core.telegram_html import html_to_plain
from bot.storage.subscriptions import SubscriptionStore
from tests.fake_bot_api import FakeBotApiServer, UpdateFactory, user
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
# Telegram's own words when it refuses a text the bot's check let through.
REFUSAL = 'Bad Request: can\'t parse entities: unsupported start tag "tg-time" at byte offset 0'


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SubscriptionStore]:
    with SubscriptionStore(tmp_path / "questions.sqlite3") as opened:
        yield opened


def jobs_stored(store: SubscriptionStore) -> int:
    assert store.path is not None
    with sqlite3.connect(store.path) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM broadcasts").fetchone()[0])


def admin_texts(server: FakeBotApiServer) -> list[str]:
    return [html_to_plain(str(c.params["text"])) for c in messages_to(server.api, ADMIN["id"])]


async def test_a_refused_preview_tells_the_admin_why_and_stores_nothing(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    store.subscribe(101, "calls", "en")
    api = server.api
    api.refuse_texts_with("Thirrje e re", REFUSAL)
    async with running_bot(settings, knowledge, server, store):
        api.add_update(updates.command("/announce", sender=ADMIN))
        menu, choice = await button_message(api, ADMIN["id"], "a:t:")
        choice = choice.rsplit(":", 1)[0] + ":calls"
        api.add_update(updates.callback(choice, on=menu.result, sender=ADMIN))
        await wait_until(lambda: edits_to(api, ADMIN["id"]))
        for lang in ("sq", "en"):
            count = len(messages_to(api, ADMIN["id"]))
            api.add_update(updates.message(TEXTS[lang], sender=ADMIN))
            await wait_until(lambda count=count: len(messages_to(api, ADMIN["id"])) > count)
        refusal = await wait_until(
            lambda: [t for t in admin_texts(server) if "Telegram refused the preview" in t]
        )
        assert "tg-time" in refusal[-1]  # what Telegram said
        assert "Shqip" in refusal[-1]  # which text
        assert jobs_stored(store) == 0
        assert not any("a:go:" in str(c.params) for c in messages_to(api, ADMIN["id"]))

        # The corrected text is previewed, and only then can it be sent.
        corrected = "<b>Thirrje</b> për propozime: afati 31 mars."
        api.add_update(updates.message(corrected, sender=ADMIN))
        confirmation, send = await button_message(api, ADMIN["id"], "a:go:")
        assert jobs_stored(store) == 0
        api.add_update(updates.callback(send, on=confirmation.result, sender=ADMIN))
        await wait_until(lambda: api.deliveries()[101] == 1)
    assert jobs_stored(store) == 1


async def test_a_job_whose_first_messages_are_all_refused_stops_and_keeps_its_text(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    subscribers = {200 + n: "en" for n in range(40)}
    store.subscribe_many(subscribers, "calls")
    api = server.api
    refused_text = {"sq": TEXTS["sq"] + " <i>tg</i>", "en": TEXTS["en"] + " <i>tg</i>"}
    api.refuse_texts_with("<i>tg</i>", REFUSAL)
    async with running_bot(settings, knowledge, server, store, messages_per_second=20):
        # As `python -m bot announce --yes` leaves it: no preview went to Telegram.
        job = store.create_broadcast(
            "calls", refused_text, requested_by=ADMIN["id"], requested_lang="en"
        ).id
        told = await wait_until(
            lambda: [t for t in admin_texts(server) if "was stopped" in t], within=30
        )
    assert "tg-time" in told[-1]
    assert "<b>New call</b> for proposals" in told[-1]  # the text given back, as written
    attempts = [
        c for c in api.calls_of("sendMessage", ok_only=False) if c.params["chat_id"] in subscribers
    ]
    # 5 refusals stop it; at most 4 more were already on their way.
    assert len(attempts) <= 9
    assert sum(api.deliveries()[chat] for chat in subscribers) == 0
    assert store.unfinished() == []
    kept = store.broadcast(job)
    assert kept is not None
    assert kept.state == "refused"
    assert kept.texts == refused_text


async def test_unsubscribe_during_an_announcement_cancels_what_was_not_sent(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    subscribers = {300 + n: "en" for n in range(60)}
    store.subscribe_many(subscribers, "calls")
    leaving = user(359, "en", name="Leaving")  # the last in the queue
    api = server.api
    async with running_bot(settings, knowledge, server, store, messages_per_second=15):
        await announce(api, updates, "calls", TEXTS)
        await wait_until(lambda: sum(api.deliveries()[chat] for chat in subscribers) >= 3)
        api.add_update(updates.command("/unsubscribe", sender=leaving))
        await wait_until(
            lambda: any(
                "no more announcements" in str(c.params["text"]) for c in messages_to(api, 359)
            )
        )
        await wait_until(lambda: any("has been sent" in t for t in admin_texts(server)), within=30)
    announcement = [
        c for c in messages_to(api, 359) if "New call" in html_to_plain(str(c.params["text"]))
    ]
    assert announcement == []
    assert all(api.deliveries()[chat] == 1 for chat in subscribers if chat != 359)


async def test_recipients_telegram_cannot_reach_do_not_stop_an_announcement(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    gone = {400 + n: "en" for n in range(6)}  # deleted accounts: "chat not found", each
    store.subscribe_many({**gone, 499: "en"}, "calls")
    api = server.api
    api.unreachable_chats.update(gone)
    async with running_bot(settings, knowledge, server, store):
        await announce(api, updates, "calls", TEXTS)
        report = await wait_until(
            lambda: [t for t in admin_texts(server) if "has been sent" in t], within=30
        )
    assert "Delivered: 1" in report[-1]
    assert "failed: 6" in report[-1]
    assert api.deliveries()[499] == 1
