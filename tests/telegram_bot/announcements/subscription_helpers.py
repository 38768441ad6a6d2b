"""Shared by the subscription and announcement tests: settings with topics and an admin, the
bot running against the fake Bot API server, and the admin's /announce conversation."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from bot.config import Settings, SubscriptionSettings, Topic
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.storage.subscriptions import SubscriptionStore
from bot.telegram_bot.app import (
    ALLOWED_UPDATES,
    TelegramApplication,
    build_application,
    post_init,
    post_stop,
)
from tests.fake_bot_api import (
    TOKEN,
    Call,
    FakeBotApi,
    FakeBotApiServer,
    UpdateFactory,
    actions,
    user,
)

TOPICS = {
    "calls": Topic("calls", {"sq": "Thirrjet për propozime", "en": "Calls for proposals"}),
    "news": Topic("news", {"sq": "Lajmet dhe aktivitetet", "en": "News & events"}),
}
ADMIN = user(9001, "en", name="Staff")
WAIT_SECONDS = 20.0


def with_subscriptions(
    settings: Settings, *, messages_per_second: float = 1000.0, base_url: str | None = None
) -> Settings:
    telegram = replace(settings.telegram, admin_ids=frozenset({ADMIN["id"]}))
    if base_url is not None:
        telegram = replace(telegram, base_url=base_url)
    return replace(
        settings,
        telegram=telegram,
        subscriptions=SubscriptionSettings(TOPICS, messages_per_second),
    )


@asynccontextmanager
async def running_bot(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    server: FakeBotApiServer,
    store: SubscriptionStore,
    **options: Any,
) -> AsyncIterator[TelegramApplication]:
    """The bot with announcements, long polling the fake server over HTTP."""
    dialog, holder = knowledge
    live = with_subscriptions(settings, base_url=server.base_url, **options)
    # The dialog carries the settings the handlers read (topics, admins).
    dialog = replace(dialog, settings=live)
    application = build_application(live, TOKEN, dialog, holder, subscription_store=store)
    assert application.updater is not None
    await application.initialize()
    try:
        await post_init(application)
        await application.start()
        await application.updater.start_polling(
            timeout=dt.timedelta(seconds=1), allowed_updates=ALLOWED_UPDATES
        )
        yield application
    finally:
        await post_stop(application)
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()


async def wait_until(
    condition: Callable[[], Any], within: float = WAIT_SECONDS, every: float = 0.02
) -> Any:
    """The first truthy value of `condition()`, polled `every` seconds; fails after `within`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        await asyncio.sleep(every)
    raise AssertionError(f"not within {within} s")  # pragma: no cover


def messages_to(api: FakeBotApi, chat_id: int) -> list[Call]:
    return [
        c
        for c in api.calls
        if c.method == "sendMessage" and c.ok and c.params.get("chat_id") == chat_id
    ]


def edits_to(api: FakeBotApi, chat_id: int) -> list[Call]:
    return [
        c
        for c in api.calls
        if c.method == "editMessageText" and c.ok and c.params.get("chat_id") == chat_id
    ]


async def button_message(api: FakeBotApi, chat_id: int, prefix: str) -> tuple[Call, str]:
    """The newest message to `chat_id` with a button whose data starts with `prefix`."""

    def find() -> tuple[Call, str] | None:
        for call in reversed(messages_to(api, chat_id)):
            for data in actions(call.params):
                if data.startswith(prefix):
                    return call, data
        return None

    found: tuple[Call, str] = await wait_until(find)
    return found


async def announce(
    api: FakeBotApi,
    updates: UpdateFactory,
    topic: str,
    texts: Mapping[str, str],
    *,
    confirm: bool = True,
) -> Call:
    """The admin's /announce conversation up to (and with `confirm`, including) Send;
    returns the confirmation message."""
    chat = ADMIN["id"]
    api.add_update(updates.command("/announce", sender=ADMIN))
    menu, _ = await button_message(api, chat, "a:t:")
    choice = next(d for d in actions(menu.params) if d.endswith(f":{topic}"))
    edits = len(edits_to(api, chat))
    api.add_update(updates.callback(choice, on=menu.result, sender=ADMIN))
    await wait_until(lambda: len(edits_to(api, chat)) > edits)
    for lang in ("sq", "en"):
        before = len(messages_to(api, chat))
        api.add_update(updates.message(texts[lang], sender=ADMIN))
        await wait_until(lambda before=before: len(messages_to(api, chat)) > before)
    confirmation, send = await button_message(api, chat, "a:go:")
    if confirm:
        api.add_update(updates.callback(send, on=confirmation.result, sender=ADMIN))
    return confirmation
