"""Hand-off limits that /forget cannot reset, the cap on a user's messages in one ticket,
topics named without the question, and /forget deleting the ticket's topic when the bot may:
the real bot against the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.storage.tickets import TicketStore
from bot.telegram_bot.handoff.state import handoff_in
from tests.fake_bot_api import BOT_ID, FakeBotApi, FakeBotApiServer, Json, UpdateFactory, user
from tests.telegram_bot.announcements.subscription_helpers import wait_until
from tests.telegram_bot.handoff.test_handoff import (
    ASKER,
    QUESTION,
    STAFF,
    STAFF_CHAT,
    STAFF_GROUP,
    ask_and_confirm,
    bot_message,
    count_to,
    handoff_settings,
    last_edit_text,
    plain,
    running_bot,
    said,
    sent_to,
    staff_message,
    store_for,
)

OTHER_STAFF = user(5003, "sq", name="Arta")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        running.api.members[STAFF_GROUP] = {STAFF["id"]: "member"}
        yield running


async def forget(api: FakeBotApi, updates: UpdateFactory, sender: Json = ASKER) -> None:
    before = len(sent_to(api, int(str(sender["id"]))))
    api.add_update(updates.command("/forget", sender=sender))
    done = (await count_to(api, int(str(sender["id"])), before + 1))[-1]
    assert "Done" in plain(done)


async def test_forget_does_not_reset_the_daily_limit(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server, max_open_per_user=1, max_per_day=2)
    with store_for(live) as store:
        async with running_bot(live, store):
            for _ in range(2):
                await ask_and_confirm(api, updates)
                assert "received" in last_edit_text(api)
                await forget(api, updates)
            await ask_and_confirm(api, updates)
            assert "as many questions as allowed in one day" in last_edit_text(api)
            # Someone else is not affected.
            await ask_and_confirm(api, updates, sender=user(4010, "en", name="Other"))
            assert "received" in last_edit_text(api)
    topics = [str(c.params["name"]) for c in api.calls_of("createForumTopic")]
    assert len(topics) == 3
    # Named by number and language only: Telegram keeps a topic's first name for good.
    assert topics == ["#1 · en", "#2 · en", "#3 · en"]
    for name in topics:
        assert not set(QUESTION.lower().split()) & set(name.lower().split()), name


async def test_a_users_messages_in_one_ticket_are_capped_per_hour(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server, max_replies_per_hour=2)
    with store_for(live) as store:
        async with running_bot(live, store):
            confirmation = await ask_and_confirm(api, updates)
            for number in range(3):
                before = len(sent_to(api, ASKER["id"]))
                api.add_update(
                    updates.message(
                        f"One more detail, number {number}",
                        sender=ASKER,
                        reply_to=bot_message(confirmation.result["message_id"], ASKER["id"]),
                    )
                )
                await count_to(api, ASKER["id"], before + 1)
            told = plain(sent_to(api, ASKER["id"])[-1])
            assert "did not reach the agency's staff" in told
            assert "wait" in told
            # Texts reach staff through the outbox, several queued ones in one message.
            staff_text = ""
            for _ in range(100):
                staff_text = " ".join(plain(c) for c in sent_to(api, STAFF_GROUP))
                if "number 1" in staff_text:
                    break
                await asyncio.sleep(0.05)
            assert "One more detail, number 0" in staff_text
            assert "One more detail, number 1" in staff_text
            assert "number 2" not in staff_text


async def test_forget_deletes_the_tickets_topic_when_the_bot_may(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    api.members[STAFF_GROUP][BOT_ID] = "administrator"
    live = handoff_settings(settings, server)
    with store_for(live) as store:
        async with running_bot(live, store):
            await ask_and_confirm(api, updates)
            (topic,) = api.calls_of("createForumTopic")
            thread = topic.result["message_thread_id"]
            await forget(api, updates)
            (deleted,) = await api.wait_for("deleteForumTopic", 1)
            assert deleted.params["message_thread_id"] == thread
            notice = await said(api, STAFF_GROUP, "tërhoq")  # "withdrawn by the user"
            assert "#1" in plain(notice)
            assert notice.params.get("message_thread_id") is None  # the topic is gone
        assert (STAFF_GROUP, thread) not in api.topics
        assert api.calls_of("editForumTopic") == []
        assert isinstance(store, TicketStore)
        assert store.ticket(1) is None


async def test_the_membership_cache_follows_who_leaves_the_staff_group(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    api.members[STAFF_GROUP][OTHER_STAFF["id"]] = "member"
    live = handoff_settings(settings, server)
    with store_for(live) as store:
        async with running_bot(live, store) as application:
            await ask_and_confirm(api, updates)
            (topic,) = api.calls_of("createForumTopic")
            thread = topic.result["message_thread_id"]
            first = staff_message(updates, "We are looking into it.", thread=thread)
            api.add_update(first)
            await count_to(api, ASKER["id"], 1, "copyMessage")
            # Removed from the group: Telegram says so at once (the bot is an admin there).
            api.members[STAFF_GROUP][STAFF["id"]] = "left"
            api.add_update(
                {
                    "chat_member": {
                        "chat": STAFF_CHAT,
                        "from": OTHER_STAFF,
                        "date": 0,
                        "old_chat_member": {"status": "member", "user": STAFF},
                        "new_chat_member": {"status": "left", "user": STAFF},
                    }
                }
            )
            handoff = handoff_in(application.bot_data)
            assert handoff is not None
            await wait_until(lambda: handoff.membership.get(STAFF["id"], (True, 0))[0] is False)
            api.add_update(staff_message(updates, "One more thing from me.", thread=thread))
            colleague = staff_message(updates, "Colleague.", thread=thread, sender=OTHER_STAFF)
            api.add_update(colleague)
            copies = await count_to(api, ASKER["id"], 2, "copyMessage")
    relayed = [c.params["message_id"] for c in copies]
    assert relayed == [first["message"]["message_id"], colleague["message"]["message_id"]]


def edit_of(original: Json, text: str) -> Json:
    """The update Telegram sends when the author edits `original` (a message update)."""
    return {"edited_message": {**original["message"], "text": text, "edit_date": 1}}


async def test_a_staff_edit_of_a_relayed_reply_corrects_the_users_copy(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server)
    with store_for(live) as store:
        async with running_bot(live, store):
            await ask_and_confirm(api, updates)
            (topic,) = api.calls_of("createForumTopic")
            thread = topic.result["message_thread_id"]
            reply = staff_message(updates, "The deadline is 13 March.", thread=thread)
            api.add_update(reply)
            (copy,) = await count_to(api, ASKER["id"], 1, "copyMessage")
            copy_id = copy.result["message_id"]
            # The bot notes the copy right after sending it; a person edits later than that.
            staff_id = reply["message"]["message_id"]
            await wait_until(lambda: store.relayed_copy(1, staff_id) == copy_id)

            # Edited: the user's copy is edited the same way.
            edits = len(sent_to(api, ASKER["id"], "editMessageText"))  # "received"
            api.add_update(edit_of(reply, "The deadline is 31 March."))
            edit = (await count_to(api, ASKER["id"], edits + 1, "editMessageText"))[-1]
            assert edit.params["message_id"] == copy_id
            assert edit.params["text"] == "The deadline is 31 March."

            # When Telegram cannot edit the copy, a correction follows it.
            api.fail_next(
                "editMessageText", status=400, description="Bad Request: message can't be edited"
            )
            before = len(sent_to(api, ASKER["id"]))
            api.add_update(edit_of(reply, "The deadline is 31 March, at noon."))
            correction = (await count_to(api, ASKER["id"], before + 1))[-1]
            assert plain(correction) == "✏️ Correction:\nThe deadline is 31 March, at noon."
            assert correction.params["reply_parameters"]["message_id"] == copy_id

            # An edit of staff chatter that never reached the user changes nothing.
            chatter = staff_message(updates, "/close@someone_else", thread=thread)
            api.add_update(chatter)
            api.add_update(edit_of(chatter, "never mind"))
            api.add_update(edit_of(reply, "The deadline is 31 March, at 12:00."))
            await count_to(api, ASKER["id"], edits + 2, "editMessageText")
        assert len(sent_to(api, ASKER["id"], "editMessageText")) == edits + 2
        assert len(sent_to(api, ASKER["id"])) == before + 1
