"""Users follow topics with /subscribe and stop with /unsubscribe, in Albanian and English,
end to end: the real bot long polling the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.storage.subscriptions import SubscriptionStore
from bot.telegram_bot.announcements.broadcast import subscription_services
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer, UpdateFactory, actions, keyboard, user
from tests.telegram_bot.announcements.subscription_helpers import (
    button_message,
    edits_to,
    messages_to,
    running_bot,
    wait_until,
)

ENGLISH = user(5001, "en", name="Ana")
ALBANIAN = user(5002, "sq", name="Elira")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SubscriptionStore]:
    with SubscriptionStore(tmp_path / "questions.sqlite3") as opened:
        yield opened


def labels(call_params: dict[str, object]) -> list[str]:
    return [str(b["text"]) for row in keyboard(call_params) for b in row]


async def press(
    api: FakeBotApi,
    updates: UpdateFactory,
    sender: dict[str, object],
    data: str,
    on: dict[str, object],
) -> str:
    """Press a button; returns the toast the bot answered with ('' for none)."""
    before = len(api.calls_of("answerCallbackQuery"))
    api.add_update(updates.callback(data, on=on, sender=sender))
    answers = await api.wait_for("answerCallbackQuery", before + 1)
    return str(answers[-1].params.get("text") or "")


async def test_subscribe_and_unsubscribe_in_english(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    api, chat = server.api, ENGLISH["id"]
    async with running_bot(settings, knowledge, server, store):
        api.add_update(updates.command("/subscribe", sender=ENGLISH))
        menu, toggle = await button_message(api, chat, "s:t:calls")
        assert "Announcements" in menu.params["text"]
        assert labels(menu.params) == ["➕ Calls for proposals", "➕ News & events"]

        toast = await press(api, updates, ENGLISH, toggle, menu.result)
        assert toast == "You will get: Calls for proposals"
        (edited,) = await wait_until(lambda: edits_to(api, chat))
        assert "You follow: Calls for proposals." in edited.params["text"]
        assert labels(edited.params)[:2] == ["✅ Calls for proposals", "➕ News & events"]
        assert "s:all" in actions(edited.params)
        assert store.topics_of(chat) == {"calls"}
        assert store.language_of(chat) == "en"
        await press(api, updates, ENGLISH, "s:t:news", menu.result)
        both = await wait_until(lambda: len(edits_to(api, chat)) == 2 and edits_to(api, chat))
        # A topic's name is text, not HTML: its "&" reaches Telegram escaped.
        assert "You follow: Calls for proposals, News &amp; events." in both[-1].params["text"]
        assert store.topics_of(chat) == {"calls", "news"}

        api.add_update(updates.command("/unsubscribe", sender=ENGLISH))
        await wait_until(lambda: len(messages_to(api, chat)) == 2)
        stopped = messages_to(api, chat)[-1]
        assert "no more announcements" in stopped.params["text"]
        assert labels(stopped.params) == ["➕ Calls for proposals", "➕ News & events"]
        assert store.topics_of(chat) == frozenset()
        assert store.subscribers() == {}

        api.add_update(updates.command("/unsubscribe", sender=ENGLISH))
        await wait_until(lambda: len(messages_to(api, chat)) == 3)
        assert "You do not follow any announcements" in messages_to(api, chat)[-1].params["text"]


async def test_forget_removes_the_users_subscriptions(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    api, chat = server.api, ENGLISH["id"]
    async with running_bot(settings, knowledge, server, store):
        api.add_update(updates.command("/subscribe", sender=ENGLISH))
        menu, toggle = await button_message(api, chat, "s:t:calls")
        await press(api, updates, ENGLISH, toggle, menu.result)
        await wait_until(lambda: store.topics_of(chat) == {"calls"})
        api.add_update(updates.command("/forget", sender=ENGLISH))
        await wait_until(lambda: any("Done" in m.params["text"] for m in messages_to(api, chat)))
        assert store.topics_of(chat) == frozenset()
        assert store.language_of(chat) is None
        assert store.subscribers() == {}


async def test_subscribe_and_unsubscribe_in_albanian_with_the_same_buttons(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    api, chat = server.api, ALBANIAN["id"]
    async with running_bot(settings, knowledge, server, store):
        api.add_update(updates.command("/subscribe", sender=ALBANIAN))
        menu, _ = await button_message(api, chat, "s:t:news")
        assert "Njoftimet" in menu.params["text"]
        assert labels(menu.params) == [
            "➕ Thirrjet për propozime",
            "➕ Lajmet dhe aktivitetet",
        ]

        assert await press(api, updates, ALBANIAN, "s:t:news", menu.result) == (
            "Do të merrni njoftime për: Lajmet dhe aktivitetet"
        )
        assert store.topics_of(chat) == {"news"}
        assert store.language_of(chat) == "sq"
        assert await press(api, updates, ALBANIAN, "s:t:news", menu.result) == (
            "Nuk do të merrni më njoftime për: Lajmet dhe aktivitetet"
        )
        assert store.topics_of(chat) == frozenset()
        last = await wait_until(lambda: len(edits_to(api, chat)) == 2 and edits_to(api, chat))
        assert "Nuk ndiqni ende asnjë temë." in last[-1].params["text"]

        await press(api, updates, ALBANIAN, "s:t:calls", menu.result)
        await press(api, updates, ALBANIAN, "s:all", menu.result)
        assert store.topics_of(chat) == frozenset()
        stopped = await wait_until(lambda: len(edits_to(api, chat)) == 4 and edits_to(api, chat))
        assert "nuk do të merrni më njoftime" in stopped[-1].params["text"]


async def test_the_welcome_offers_announcements_once_to_those_who_follow_nothing(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    api, chat = server.api, ENGLISH["id"]
    async with running_bot(settings, knowledge, server, store):
        api.add_update(updates.command("/start", sender=ENGLISH))
        offer, data = await button_message(api, chat, "s:menu")
        welcome, shown = messages_to(api, chat)
        assert "Hello!" in welcome.params["text"]  # the welcome first, then the offer
        assert "call for proposals" in shown.params["text"]
        await press(api, updates, ENGLISH, data, offer.result)
        (menu,) = await wait_until(lambda: edits_to(api, chat))
        assert "s:t:calls" in actions(menu.params)

        api.add_update(updates.command("/start", sender=ENGLISH))  # offered already
        await wait_until(lambda: len(messages_to(api, chat)) >= 3)
        await asyncio.sleep(0.5)  # time for an (unwanted) offer to follow
        assert len(messages_to(api, chat)) == 3  # the welcome, without the offer

        other = user(5003, "sq", name="Drita")
        store.subscribe(other["id"], "news", "sq")  # follows something already
        api.add_update(updates.command("/start", sender=other))
        await wait_until(lambda: messages_to(api, other["id"]))
        await asyncio.sleep(0.5)
        assert len(messages_to(api, other["id"])) == 1


async def test_announcements_follow_the_language_the_user_chooses(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    api, chat = server.api, ALBANIAN["id"]
    store.subscribe(chat, "calls", "sq")
    async with running_bot(settings, knowledge, server, store):
        api.add_update(updates.command("/language", sender=ALBANIAN))
        menu, _ = await button_message(api, chat, "l:en")
        api.add_update(updates.callback("l:en", on=menu.result, sender=ALBANIAN))
        await wait_until(lambda: store.language_of(chat) == "en")
    assert store.topics_of(chat) == {"calls"}


async def test_forget_also_forgets_that_the_user_was_offered_announcements(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    updates: UpdateFactory,
) -> None:
    api, chat = server.api, ENGLISH["id"]
    async with running_bot(settings, knowledge, server, store) as application:
        subs = subscription_services(application.bot_data)
        assert subs is not None
        api.add_update(updates.command("/start", sender=ENGLISH))
        await button_message(api, chat, "s:menu")
        assert chat in subs.offered
        api.add_update(updates.command("/forget", sender=ENGLISH))
        await wait_until(lambda: len(messages_to(api, chat)) >= 3)
        assert chat not in subs.offered
        assert not application.user_data.get(chat)
