"""Backpressure and a bounded stop: the bot holds few updates, and stops within its grace."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from telegram import Update

from bot.config import Settings
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.telegram_bot.app import build_application
from bot.telegram_bot.transport.update_flow import BoundedUpdateQueue
from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiRequest, UpdateFactory, user

SAFETY = 10.0  # bounds every wait; never reached when the code works


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def an_update(updates: UpdateFactory, n: int) -> Update:
    return Update.de_json({"update_id": n, **updates.message("phone", sender=user(n))}, None)


async def test_an_update_waits_for_room_while_the_queue_holds_its_limit(
    updates: UpdateFactory,
) -> None:
    queue = BoundedUpdateQueue(2)
    await queue.put(an_update(updates, 1))
    await queue.put(an_update(updates, 2))
    third = asyncio.create_task(queue.put(an_update(updates, 3)))
    await settle()
    assert not third.done()
    queue.get_nowait()
    await settle()
    assert not third.done()  # taken out is not handled: still in hand
    queue.task_done()
    await asyncio.wait_for(third, SAFETY)
    assert queue.in_hand == 2


class StallingRequest(FakeBotApiRequest):
    """The fake, except that sendMessage never comes back."""

    def __init__(self, api: FakeBotApi) -> None:
        super().__init__(api)
        self.stalled = asyncio.Event()

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
        if url.endswith("/sendMessage"):
            self.stalled.set()
            await asyncio.Event().wait()
        return await super().do_request(url, method, *args, **kwargs)


@pytest.fixture
def parts(
    settings: Settings, knowledge: tuple[Dialog, KnowledgeHolder]
) -> tuple[Settings, Dialog, KnowledgeHolder]:
    return settings, *knowledge


async def test_getupdates_asks_only_for_what_fits_and_waits_while_nothing_does(
    parts: tuple[Settings, Dialog, KnowledgeHolder], fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    settings, dialog, holder = parts
    request = FakeBotApiRequest(fake_api)
    application = build_application(settings, TOKEN, dialog, holder, request=request)
    for n in range(200):
        fake_api.add_update(updates.message("phone", sender=user(n)))
    queue = application.update_queue
    assert isinstance(queue, BoundedUpdateQueue)
    async with application:
        fetched = await application.bot.get_updates(timeout=5)
        assert len(fetched) == queue.limit  # not Telegram's 100
        for update in fetched:
            await queue.put(update)
        # Confirming without waiting (as python-telegram-bot does on stop) never blocks.
        await asyncio.wait_for(application.bot.get_updates(timeout=0), SAFETY)
        poll = asyncio.create_task(
            application.bot.get_updates(offset=fetched[-1].update_id + 1, timeout=5)
        )
        await settle()
        assert not poll.done()  # full: no poll, so nothing more fetched or confirmed
        assert fake_api.confirmed_below == 0
        for _ in range(8):
            queue.get_nowait()
            queue.task_done()
        assert len(await asyncio.wait_for(poll, SAFETY)) == 8  # POLL_BATCH: as many as fit
        assert fake_api.confirmed_below == fetched[-1].update_id + 1


async def test_stopping_gives_the_updates_in_hand_a_bounded_time(
    parts: tuple[Settings, Dialog, KnowledgeHolder],
    fake_api: FakeBotApi,
    updates: UpdateFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings, dialog, holder = parts
    request = StallingRequest(fake_api)
    application = build_application(
        settings, TOKEN, dialog, holder, request=request, stop_grace=0.2
    )
    async with application:
        await application.start()
        update = Update.de_json(
            {"update_id": 1, **updates.message("phone number", sender=user(7))}, application.bot
        )
        await application.update_queue.put(update)
        await asyncio.wait_for(request.stalled.wait(), SAFETY)
        await asyncio.wait_for(application.stop(), SAFETY)
    assert any("not finished within" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_queued_updates_take_turns_by_sender_so_one_burst_does_not_delay_others(
    updates: UpdateFactory,
) -> None:
    queue = BoundedUpdateQueue(64)
    flood = [
        Update.de_json({"update_id": n, **updates.message(f"q{n}", sender=user(1))}, None)
        for n in range(1, 21)
    ]
    for update in flood:
        await queue.put(update)
    late = Update.de_json({"update_id": 99, **updates.message("phone", sender=user(2))}, None)
    await queue.put(late)
    stop_marker = object()
    await queue.put(stop_marker)
    order = [queue.get_nowait() for _ in range(22)]
    # The second user's first question comes right after the first user's first.
    assert order[:2] == [flood[0], late]
    # The first user's own updates keep their order, and the stop marker comes last.
    assert order[2:21] == flood[1:]
    assert order[21] is stop_marker
    assert queue.qsize() == 0
