"""The staff group through the outbox: a handler never waits for the group's limit, and a
user's replies that queue up reach staff as one message."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from tests.fake_bot_api import FakeBotApiServer, UpdateFactory, user
from tests.telegram_bot.handoff.test_handoff import (
    ASKER,
    STAFF_GROUP,
    ask_and_confirm,
    bot_message,
    handoff_settings,
    plain,
    routed,
    running_bot,
    said,
    sent_to,
    store_for,
)
from tests.telegram_bot.handoff.test_handoff import server as server  # a fixture

BYSTANDER = user(7001, "en", name="Bora")


async def test_a_staff_group_at_its_limit_delays_neither_the_user_nor_anyone_else(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    live = handoff_settings(settings, server, forum_topics=False)
    with store_for(live) as store:
        async with running_bot(live, store):
            confirmation = await ask_and_confirm(api, updates)
            await routed(store, ASKER["id"], confirmation.result["message_id"])
            posted = len(sent_to(api, STAFF_GROUP))
            # From now on the group answers every post with 429 "retry after 30 s".
            api.fail_chat(STAFF_GROUP, status=429, times=1000, retry_after=30)
            for n in range(3):
                api.add_update(
                    updates.message(
                        f"Follow-up number {n}",
                        sender=ASKER,
                        reply_to=bot_message(confirmation.result["message_id"], ASKER["id"]),
                    )
                )
            api.add_update(updates.message("phone number", sender=BYSTANDER))
            # Both are answered while the group still has none of the follow-ups.
            answer = await said(api, BYSTANDER["id"], "")
            assert answer.ok
            await said(api, ASKER["id"], "Sent to the agency")
            await asyncio.sleep(0.5)
            assert len(sent_to(api, STAFF_GROUP)) == posted
            # The follow-ups queued together: not "sent" three times (the first may have
            # been on its way when the others came).
            told = [c for c in sent_to(api, ASKER["id"]) if "Sent to the agency" in plain(c)]
            assert len(told) <= 2


async def test_replies_queued_behind_the_group_limit_reach_staff_as_one_message(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    live = handoff_settings(settings, server, forum_topics=False)
    with store_for(live) as store:
        async with running_bot(live, store):
            confirmation = await ask_and_confirm(api, updates)
            await routed(store, ASKER["id"], confirmation.result["message_id"])
            posted = len(sent_to(api, STAFF_GROUP))
            # The group refuses the next post once (429, retry after 2 s): the replies that
            # arrive meanwhile wait in the outbox and merge.
            api.fail_chat(STAFF_GROUP, status=429, times=1, retry_after=2)
            for n in range(4):
                api.add_update(
                    updates.message(
                        f"Part {n} of my answer",
                        sender=ASKER,
                        reply_to=bot_message(confirmation.result["message_id"], ASKER["id"]),
                    )
                )
            for _ in range(100):
                relayed = [plain(c) for c in sent_to(api, STAFF_GROUP)[posted:]]
                if sum(text.count(" of my answer") for text in relayed) == 4:
                    break
                await asyncio.sleep(0.1)
            # Each part once, in at most two messages: the one in flight when the group
            # said "wait", and one with everything that queued up behind it.
            assert all(sum(t.count(f"Part {n} of") for t in relayed) == 1 for n in range(4))
            assert len(relayed) <= 2
