"""Ask the agency, end to end: the real bot against the fake Bot API server on 127.0.0.1.

A user's question goes to the staff group (a forum topic per ticket, or one message per
ticket in a plain group), staff replies (text, a document) come back as copies, the user
answers back, staff close the ticket. Around it: a restart in the middle, a user who blocked
the bot, staff blocking a user, the limits, strangers in the staff group, idle closing and
/forget down to the database bytes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import HandoffSettings, Settings
from bot.core.assembly import build_dialog
from bot.core.telegram_html import html_to_plain
from bot.storage.database import Database
from bot.storage.question_log import QuestionLog, hash_user
from bot.storage.tickets import TicketStore
from bot.storage.user_prefs import UserPrefs
from bot.telegram_bot.app import ALLOWED_UPDATES, TelegramApplication, build_application
from bot.telegram_bot.app import post_init as bot_post_init
from bot.telegram_bot.handoff import user_side as handoff
from tests.fake_bot_api import (
    BOT_ID,
    BOT_USERNAME,
    GROUP,
    TOKEN,
    Call,
    FakeBotApi,
    FakeBotApiServer,
    Json,
    UpdateFactory,
    actions,
    user,
)

KEY = b"t" * 32
STAFF_GROUP = -1009876543210
STAFF_CHAT: Json = {
    "id": STAFF_GROUP,
    "type": "supergroup",
    "title": "ASCS staff",
    "is_forum": True,
}
PLAIN_STAFF_CHAT: Json = {"id": STAFF_GROUP, "type": "supergroup", "title": "ASCS staff"}
ASKER = user(4001, "en", name="Zana")
STAFF = user(5001, "sq", name="Mirela")
STRANGER = user(6001, "sq", name="Stranger")
QUESTION = "What time does the football match start tonight?"
BOT: Json = {"id": BOT_ID, "is_bot": True, "first_name": "ASCS FAQ (test)"}
DOCUMENT: Json = {
    "file_id": "BQACAgIAAxkBAAIBdoc",
    "file_unique_id": "AgADdoc",
    "file_name": "grant-guide.pdf",
    "mime_type": "application/pdf",
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer() as running:
        running.api.members[STAFF_GROUP] = {STAFF["id"]: "member", STRANGER["id"]: "left"}
        yield running


def handoff_settings(settings: Settings, server: FakeBotApiServer, **options: Any) -> Settings:
    values: dict[str, Any] = {"staff_chat_id": STAFF_GROUP, "forum_topics": True}
    values.update(options)
    telegram = replace(settings.telegram, base_url=server.base_url)
    return replace(settings, telegram=telegram, handoff=HandoffSettings(**values))


@asynccontextmanager
async def running_bot(
    live: Settings, store: TicketStore | None, **options: Any
) -> AsyncIterator[TelegramApplication]:
    """The bot as `python -m bot run` builds it, polling the fake server."""
    dialog, holder = build_dialog(live)
    application = build_application(live, TOKEN, dialog, holder, tickets=store, **options)
    assert application.updater is not None
    await application.initialize()
    try:
        await bot_post_init(application)
        await application.start()
        await application.updater.start_polling(
            timeout=timedelta(seconds=1), allowed_updates=ALLOWED_UPDATES
        )
        yield application
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()


def store_for(live: Settings, clock: Clock | None = None) -> TicketStore:
    if clock is None:
        return TicketStore(live.question_log_path, key=KEY)
    return TicketStore(live.question_log_path, key=KEY, clock=clock)


def sent_to(api: FakeBotApi, chat_id: int, method: str = "sendMessage") -> list[Call]:
    return [c for c in api.calls_of(method) if c.params.get("chat_id") == chat_id]


async def count_to(
    api: FakeBotApi, chat_id: int, count: int, method: str = "sendMessage"
) -> list[Call]:
    """Wait until `chat_id` has had `count` calls of `method`."""
    for _ in range(100):
        calls = sent_to(api, chat_id, method)
        if len(calls) >= count:
            return calls
        total = len(api.calls_of(method))
        await api.wait_for(method, total + 1, within=5.0)
    raise AssertionError(f"fewer than {count} {method} to {chat_id}")


async def routed(store: TicketStore, chat_id: int, message_id: int) -> None:
    """Wait until the bot has noted which ticket a message it sent belongs to (it does so
    right after sending; a person cannot reply faster)."""
    for _ in range(200):
        if store.ticket_for_message(chat_id, message_id) is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"message {message_id} in chat {chat_id} never got a route")


async def said(api: FakeBotApi, chat_id: int, fragment: str) -> Call:
    """The first message to `chat_id` containing `fragment`, once it is sent."""
    for _ in range(100):
        for call in sent_to(api, chat_id):
            if fragment in plain(call):
                return call
        await api.wait_for("sendMessage", len(api.calls_of("sendMessage")) + 1, within=5.0)
    raise AssertionError(f"nothing with {fragment!r} was sent to {chat_id}")


def plain(call: Call) -> str:
    return html_to_plain(str(call.params["text"]))


async def ask_and_confirm(
    api: FakeBotApi, updates: UpdateFactory, *, with_name: bool = False, sender: Json = ASKER
) -> Call:
    """The user asks what the bot cannot answer, taps "Ask the agency", then "Send"; returns
    the confirmation message (now saying "received")."""
    chat_id = sender["id"]
    before = len(sent_to(api, chat_id))
    api.add_update(updates.message(QUESTION, sender=sender))
    fallback = (await count_to(api, chat_id, before + 1))[-1]
    assert "h:" in actions(fallback.params)
    api.add_update(updates.callback("h:", on=fallback.result, sender=sender))
    confirmation = (await count_to(api, chat_id, before + 2))[-1]
    shown = plain(confirmation)
    assert QUESTION in shown
    assert "staff" in shown
    send = [a for a in actions(confirmation.params) if a.startswith("hn:" if with_name else "hs:")]
    edits = len(api.calls_of("editMessageText"))
    to_staff = len(staff_group_attempts(api))
    api.add_update(updates.callback(send[0], on=confirmation.result, sender=sender))
    await api.wait_for("editMessageText", edits + 1)
    # The user is told "received" first; the card follows from the outbox.
    for _ in range(250):
        if len(staff_group_attempts(api)) > to_staff:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # the card's own follow-ups (the whole question, its route)
    return confirmation


def staff_group_attempts(api: FakeBotApi) -> list[Call]:
    """Every call into the staff group that posts something, accepted or not."""
    return [
        c
        for c in api.calls
        if c.method in ("sendMessage", "createForumTopic")
        and c.params.get("chat_id") == STAFF_GROUP
    ]


def staff_message(
    updates: UpdateFactory,
    text: str | None = None,
    *,
    thread: int | None = None,
    sender: Json = STAFF,
    **content: Any,
) -> Json:
    chat = STAFF_CHAT if thread is not None else PLAIN_STAFF_CHAT
    if thread is not None:
        content.update(message_thread_id=thread, is_topic_message=True)
    return updates.message(text, sender=sender, chat=chat, **content)


def bot_message(message_id: int, chat_id: int) -> Json:
    """A message of the bot in a private chat, as a reply's reply_to_message."""
    return {
        "message_id": message_id,
        "date": 0,
        "chat": {"id": chat_id, "type": "private"},
        "from": BOT,
    }


def last_edit_text(api: FakeBotApi) -> str:
    return html_to_plain(str(api.calls_of("editMessageText")[-1].params["text"]))


# ----- the whole conversation ----------------------------------------------------------


async def test_forum_topics_a_question_reaches_staff_and_the_answers_come_back(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server)
    with store_for(live) as store:
        async with running_bot(live, store):
            staff_menu = next(
                c
                for c in api.calls_of("setMyCommands")
                if c.params.get("scope", {}).get("type") == "chat"
            )
            assert staff_menu.params["scope"]["chat_id"] == STAFF_GROUP
            assert [c["command"] for c in staff_menu.params["commands"]] == [
                "close",
                "reopen",
                "block",
                "unblock",
            ]
            await ask_and_confirm(api, updates, with_name=True)
            assert "received" in last_edit_text(api)
            (topic,) = api.calls_of("createForumTopic")
            assert topic.params["chat_id"] == STAFF_GROUP
            assert topic.params["name"] == "#1 · en"  # never the question
            thread = topic.result["message_thread_id"]
            (card,) = sent_to(api, STAFF_GROUP)
            assert card.params["message_thread_id"] == thread
            card_text = plain(card)
            assert "#1" in card_text
            assert QUESTION in card_text
            assert "Zana" in card_text  # the user agreed to show their name
            assert "· en" in card_text

            # Staff answer in the topic: a text, then a document; both are copied.
            api.add_update(staff_message(updates, "Përshëndetje! Nuk jemi ne.", thread=thread))
            text_reply = staff_message(updates, "Here is the guide.", thread=thread)
            api.add_update(text_reply)
            document = staff_message(
                updates, None, thread=thread, document=DOCUMENT, caption="Guide"
            )
            api.add_update(document)
            copies = await count_to(api, ASKER["id"], 3, "copyMessage")
            assert [c.params["from_chat_id"] for c in copies] == [STAFF_GROUP] * 3
            (copied_document,) = [
                c for c in copies if c.params["message_id"] == document["message"]["message_id"]
            ]
            await routed(store, ASKER["id"], copied_document.result["message_id"])
            headers = [
                plain(c) for c in sent_to(api, ASKER["id"]) if "Reply from the agency" in plain(c)
            ]
            assert len(headers) == 3

            # The user answers back by replying to the copied document.
            before = len(sent_to(api, STAFF_GROUP))
            answer = updates.message(
                "Thank you, and what is the deadline?",
                sender=ASKER,
                reply_to=bot_message(copied_document.result["message_id"], ASKER["id"]),
            )
            api.add_update(answer)
            # A text reaches staff as one message: the header, then the user's words.
            to_staff = (await count_to(api, STAFF_GROUP, before + 1))[-1]
            assert to_staff.params["message_thread_id"] == thread
            assert "The user wrote" in plain(to_staff) or "Përdoruesi shkroi" in plain(to_staff)
            assert "Thank you, and what is the deadline?" in plain(to_staff)
            await said(api, ASKER["id"], "Sent to the agency")

            # Staff close the ticket: the user is told, the topic closes.
            api.add_update(staff_message(updates, "/close", thread=thread))
            await api.wait_for("closeForumTopic", 1)
            await said(api, ASKER["id"], "closed your question")
            closed = store.ticket(1)
            assert closed is not None
            assert closed.closed_by == "staff"
            assert closed.first_staff_reply_at is not None

            # Writing in a closed ticket reaches nobody; staff are told to reopen it.
            copies_before = len(sent_to(api, ASKER["id"], "copyMessage"))
            api.add_update(staff_message(updates, "One more thing", thread=thread))
            await said(api, STAFF_GROUP, "është e mbyllur")  # "is closed; /reopen it"
            api.add_update(staff_message(updates, "/reopen", thread=thread))
            await api.wait_for("reopenForumTopic", 1)
            api.add_update(staff_message(updates, "One more thing, now open", thread=thread))
            await count_to(api, ASKER["id"], copies_before + 1, "copyMessage")
        ticket = store.ticket(1)
        assert ticket is not None
        assert ticket.is_open
        assert len(sent_to(api, ASKER["id"], "copyMessage")) == copies_before + 1


async def test_plain_group_staff_answer_by_replying_to_the_ticket(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    live = handoff_settings(settings, server, forum_topics=False)
    with store_for(live) as store:
        async with running_bot(live, store):
            confirmation = await ask_and_confirm(api, updates)
            assert api.calls_of("createForumTopic") == []
            (card,) = sent_to(api, STAFF_GROUP)
            assert "message_thread_id" not in card.params
            card_text = plain(card)
            assert QUESTION in card_text
            assert "Zana" not in card_text  # no name without consent
            assert (
                "replying to this message" in card_text or "përgjigjur këtij mesazhi" in card_text
            )

            # A message in the group that answers nothing stays there.
            api.add_update(staff_message(updates, "Who takes this one?"))
            # Staff reply to the card.
            reply = staff_message(updates, "We do not know about football.", reply_to=card.result)
            api.add_update(reply)
            (copy,) = await count_to(api, ASKER["id"], 1, "copyMessage")
            assert copy.params["message_id"] == reply["message"]["message_id"]

            # The user replies to the "received" message; staff see it as a reply to the card.
            answer = updates.message(
                "Thanks anyway!",
                sender=ASKER,
                reply_to=bot_message(confirmation.result["message_id"], ASKER["id"]),
            )
            api.add_update(answer)
            to_staff = await said(api, STAFF_GROUP, "Thanks anyway!")
            assert to_staff.params["reply_parameters"]["message_id"] == card.result["message_id"]

            # Staff reply to the user's copied message: it reaches the user too.
            await routed(store, STAFF_GROUP, to_staff.result["message_id"])
            copied_user_message = {
                "message_id": to_staff.result["message_id"],
                "date": 0,
                "chat": PLAIN_STAFF_CHAT,
                "from": BOT,
            }
            api.add_update(staff_message(updates, "You are welcome.", reply_to=copied_user_message))
            await count_to(api, ASKER["id"], 2, "copyMessage")

            api.add_update(staff_message(updates, "/close", reply_to=card.result))
            for _ in range(50):
                if any("closed your question" in plain(c) for c in sent_to(api, ASKER["id"])):
                    break
                await api.wait_for("sendMessage", len(api.calls_of("sendMessage")) + 1)
        ticket = store.ticket(1)
        assert ticket is not None
        assert ticket.status == "closed"
        # Nothing of the ticket went anywhere but the user's chat and the staff group.
        chats = {c.params.get("chat_id") for c in api.calls if "chat_id" in c.params}
        assert chats <= {ASKER["id"], STAFF_GROUP}


async def test_a_restart_in_the_middle_loses_no_ticket_and_no_route(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server)
    with store_for(live) as store:
        async with running_bot(live, store):
            await ask_and_confirm(api, updates)
    thread = api.calls_of("createForumTopic")[0].result["message_thread_id"]
    # A new process: a new store on the same file, a new application.
    with store_for(live) as store:
        async with running_bot(live, store):
            api.add_update(staff_message(updates, "Answer after the restart.", thread=thread))
            (copy,) = await count_to(api, ASKER["id"], 1, "copyMessage")
            assert copy.params["from_chat_id"] == STAFF_GROUP
    assert len(api.calls_of("createForumTopic")) == 1  # the ticket was not posted twice


async def test_a_ticket_the_group_missed_is_posted_when_the_bot_comes_back(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    live = handoff_settings(settings, server)  # topics on, but the group is no forum yet
    with store_for(live) as store:
        async with running_bot(live, store):
            await ask_and_confirm(api, updates)
            # The user was told "received": the ticket is on disk even though staff
            # could not get it.
            assert "received" in last_edit_text(api)
            assert sent_to(api, STAFF_GROUP) == []
        api.forums.add(STAFF_GROUP)  # staff turn topics on
    with store_for(live) as store:
        async with running_bot(live, store):
            (card,) = await count_to(api, STAFF_GROUP, 1)
            assert QUESTION in plain(card)


# ----- when things go wrong ------------------------------------------------------------


async def test_a_user_who_blocked_the_bot_is_marked_and_staff_see_it(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server)
    with store_for(live) as store:
        async with running_bot(live, store):
            await ask_and_confirm(api, updates)
            thread = api.calls_of("createForumTopic")[0].result["message_thread_id"]
            before = len(sent_to(api, STAFF_GROUP))
            api.fail_next("sendMessage", status=403)
            api.add_update(staff_message(updates, "Are you still there?", thread=thread))
            notice = (await count_to(api, STAFF_GROUP, before + 1))[-1]
            assert "blocked the bot" in plain(notice) or "bllokuar botin" in plain(notice)
            assert notice.params["message_thread_id"] == thread
            assert sent_to(api, ASKER["id"], "copyMessage") == []
        ticket = store.ticket(1)
        assert ticket is not None
        assert ticket.undeliverable


async def test_staff_block_a_user_who_is_not_told_and_no_longer_reaches_them(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server, max_open_per_user=3)
    with store_for(live) as store:
        async with running_bot(live, store):
            await ask_and_confirm(api, updates)
            thread = api.calls_of("createForumTopic")[0].result["message_thread_id"]
            api.add_update(staff_message(updates, "/block", thread=thread))
            await api.wait_for("closeForumTopic", 1)
            user_messages = len(sent_to(api, ASKER["id"]))
            await ask_and_confirm(api, updates)
            assert "received" in last_edit_text(api)  # told the same as anyone
            assert len(api.calls_of("createForumTopic")) == 1  # but nothing reached staff
            closing = [plain(c) for c in sent_to(api, ASKER["id"])[user_messages - 1 :]]
            assert not any("closed" in text for text in closing)
        assert store.ticket(2) is None


async def test_a_user_over_the_limits_is_told_when_to_ask_again(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server, max_open_per_user=1, max_per_day=2)
    with store_for(live) as store:
        async with running_bot(live, store):
            await ask_and_confirm(api, updates)
            await ask_and_confirm(api, updates)
            assert "already have a question waiting" in last_edit_text(api)
            store.close_ticket(1, "staff")
            await ask_and_confirm(api, updates)
            assert "received" in last_edit_text(api)
            store.close_ticket(2, "staff")
            await ask_and_confirm(api, updates)
            limit = last_edit_text(api)
            assert "as many questions as allowed in one day" in limit
            assert "24 hours" in limit
        assert len(api.calls_of("createForumTopic")) == 2
        assert store.ticket(3) is None


async def test_strangers_bots_and_other_chats_cannot_answer_a_ticket(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server)
    with store_for(live) as store:
        async with running_bot(live, store):
            await ask_and_confirm(api, updates)
            thread = api.calls_of("createForumTopic")[0].result["message_thread_id"]
            api.add_update(staff_message(updates, "I am not staff", thread=thread, sender=STRANGER))
            other_bot = {"id": 777, "is_bot": True, "first_name": "Spam bot"}
            api.add_update(staff_message(updates, "Buy now", thread=thread, sender=other_bot))
            elsewhere = {
                "id": -1005555555555,
                "type": "supergroup",
                "title": "Other",
                "is_forum": True,
            }
            api.add_update(
                updates.message(
                    "/close",
                    sender=STAFF,
                    chat=elsewhere,
                    message_thread_id=thread,
                    is_topic_message=True,
                )
            )
            api.add_update(staff_message(updates, "/close@someone_else_bot", thread=thread))
            # A real member's message afterwards is the only one relayed.
            api.add_update(staff_message(updates, "The real answer.", thread=thread))
            (copy,) = await count_to(api, ASKER["id"], 1, "copyMessage")
            await api.wait_for("getChatMember", 2)
        assert copy.params["message_id"] != 0
        assert len(sent_to(api, ASKER["id"], "copyMessage")) == 1
        ticket = store.ticket(1)
        assert ticket is not None
        assert ticket.is_open
        asked = {c.params["user_id"] for c in api.calls_of("getChatMember")}
        assert asked == {STAFF["id"], STRANGER["id"]}


async def test_an_answered_ticket_closes_after_the_idle_time_and_both_sides_are_told(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    clock = Clock()
    live = handoff_settings(settings, server, idle_close_hours=48)
    with store_for(live, clock) as store:
        async with running_bot(live, store) as application:
            confirmation = await ask_and_confirm(api, updates)
            thread = api.calls_of("createForumTopic")[0].result["message_thread_id"]
            api.add_update(staff_message(updates, "Does this help?", thread=thread))
            await count_to(api, ASKER["id"], 1, "copyMessage")
            for _ in range(200):  # the bot notes the reply right after relaying it
                noted = store.ticket(1)
                if noted is not None and noted.first_staff_reply_at is not None:
                    break
                await asyncio.sleep(0.02)
            clock.now += timedelta(hours=47)
            await handoff.sweep(application)
            assert api.calls_of("closeForumTopic") == []
            clock.now += timedelta(hours=2)
            await handoff.sweep(application)
            await api.wait_for("closeForumTopic", 1)
            assert any(
                "closed, as there were no new messages" in plain(c)
                for c in sent_to(api, ASKER["id"])
            )
            assert any("48" in plain(c) for c in sent_to(api, STAFF_GROUP))
            # The user replies to the closed ticket: they learn it is closed, staff get nothing.
            copies = len(sent_to(api, STAFF_GROUP, "copyMessage"))
            received = confirmation
            api.add_update(
                updates.message(
                    "One more thing",
                    sender=ASKER,
                    reply_to=bot_message(received.result["message_id"], ASKER["id"]),
                )
            )
            last = (await count_to(api, ASKER["id"], len(sent_to(api, ASKER["id"])) + 1))[-1]
            assert "question is closed" in plain(last)
            assert len(sent_to(api, STAFF_GROUP, "copyMessage")) == copies


# ----- /ask, 👎 and /forget --------------------------------------------------------------


async def test_ask_command_and_the_button_after_a_thumbs_down(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server, max_open_per_user=5)
    with store_for(live) as store:
        async with running_bot(live, store):
            api.add_update(updates.command("/ask", sender=ASKER))
            (how,) = await count_to(api, ASKER["id"], 1)
            assert "/ask followed by your question" in plain(how)
            api.add_update(
                updates.command("/ask Can a foundation apply for a grant?", sender=ASKER)
            )
            confirmation = (await count_to(api, ASKER["id"], 2))[-1]
            assert "Can a foundation apply for a grant?" in plain(confirmation)
            cancel = next(a for a in actions(confirmation.params) if a.startswith("hx:"))
            api.add_update(updates.callback(cancel, on=confirmation.result, sender=ASKER))
            await api.wait_for("editMessageText", 1)
            assert "Not sent" in last_edit_text(api)

            # An answer, a 👎, and the "Ask the agency" button in its place.
            api.add_update(updates.message("What is your phone number?", sender=ASKER))
            answer = (await count_to(api, ASKER["id"], 3))[-1]
            vote = next(a for a in actions(answer.params) if a.startswith("f:n:"))
            api.add_update(updates.callback(vote, on=answer.result, sender=ASKER))
            (edit,) = await api.wait_for("editMessageReplyMarkup", 1)
            ask = [a for a in actions(edit.params) if a.startswith("h:")]
            assert ask == ["h:" + vote[4:]]
            api.add_update(updates.callback(ask[0], on=edit.result, sender=ASKER))
            confirmation = (await count_to(api, ASKER["id"], 4))[-1]
            assert "What is your phone number?" in plain(confirmation)
            send = next(a for a in actions(confirmation.params) if a.startswith("hs:"))
            api.add_update(updates.callback(send, on=confirmation.result, sender=ASKER))
            (card,) = await count_to(api, STAFF_GROUP, 1)
            assert "rated 👎" in plain(card) or "vlerësoi 👎" in plain(card)
            assert "phone-number" in plain(card)

            # A button from before a restart (or someone else's) is refused gently.
            api.add_update(updates.callback("hs:unknown", on=confirmation.result, sender=ASKER))
            await api.wait_for("answerCallbackQuery", 5)
            stale = api.calls_of("answerCallbackQuery")[-1]
            assert "no longer here" in str(stale.params.get("text"))

            # In a group the button points to a private chat: nothing is sent from there.
            api.add_update(updates.message(f"@{BOT_USERNAME} {QUESTION}", sender=ASKER, chat=GROUP))
            (in_group,) = await count_to(api, GROUP["id"], 1)
            assert "h:" in actions(in_group.params)
            api.add_update(updates.callback("h:", on=in_group.result, sender=ASKER))
            await api.wait_for("answerCallbackQuery", 6)
            alert = api.calls_of("answerCallbackQuery")[-1]
            assert "private chat" in str(alert.params.get("text"))
            assert len(sent_to(api, STAFF_GROUP)) == 1


async def test_forget_deletes_every_row_of_the_user_down_to_the_database_bytes(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory, tmp_path: Path
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    live = handoff_settings(settings, server, max_open_per_user=3)
    path = live.question_log_path
    other = user(4002, "en", name="Other")
    with (
        store_for(live) as store,
        Database(path, key_source=lambda: KEY) as database,
        QuestionLog(database) as log,
    ):
        prefs = UserPrefs(database)
        async with running_bot(live, store, question_log=log, prefs=prefs):
            api.add_update(updates.command("/language", sender=ASKER))
            menu = (await count_to(api, ASKER["id"], 1))[-1]
            api.add_update(updates.callback("l:en", on=menu.result, sender=ASKER))
            await count_to(api, ASKER["id"], 2)
            await ask_and_confirm(api, updates, with_name=True)
            await ask_and_confirm(api, updates, sender=other)
            thread = api.calls_of("createForumTopic")[0].result["message_thread_id"]
            api.add_update(staff_message(updates, "Noted.", thread=thread))
            await count_to(api, ASKER["id"], 1, "copyMessage")
            assert log.flush()

            before = len(sent_to(api, ASKER["id"]))
            api.add_update(updates.command("/forget", sender=ASKER))
            done = (await count_to(api, ASKER["id"], before + 1))[-1]
            assert "Done" in plain(done)
        withdrawn = [plain(c) for c in sent_to(api, STAFF_GROUP) if "tërhoq" in plain(c)]
        assert withdrawn
        assert all(QUESTION not in text for text in withdrawn)
        card_edit = api.calls_of("editMessageText")[-1]
        assert card_edit.params["chat_id"] == STAFF_GROUP
        assert QUESTION not in plain(card_edit)

        # The other user's question and ticket are still there.
        assert store.ticket(2) is not None
        assert store.ticket(1) is None
    with sqlite3.connect(path) as connection:
        (mine,) = connection.execute(
            "SELECT COUNT(*) FROM questions WHERE user_hash = ?", (hash_user(KEY, ASKER["id"]),)
        ).fetchone()
        (theirs,) = connection.execute(
            "SELECT COUNT(*) FROM questions WHERE user_hash = ?", (hash_user(KEY, other["id"]),)
        ).fetchone()
        routes = connection.execute(
            "SELECT COUNT(*) FROM ticket_routes WHERE chat_id = ?", (ASKER["id"],)
        ).fetchone()
    assert (mine, routes[0]) == (0, 0)
    assert theirs >= 1
    files = b"".join(
        p.read_bytes() for p in path.parent.iterdir() if p.is_file() and not p.name.endswith(".key")
    )
    assert hash_user(KEY, ASKER["id"]).encode() not in files
    assert b"Zana" not in files
    with sqlite3.connect(path) as connection:
        chosen = connection.execute("SELECT user_hash FROM user_prefs").fetchall()
    assert (hash_user(KEY, ASKER["id"]),) not in chosen


async def test_stats_counts_the_questions_handed_to_staff(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    api.forums.add(STAFF_GROUP)
    admin = user(5100, "en", name="Admin")
    live = handoff_settings(settings, server)
    live = replace(live, telegram=replace(live.telegram, admin_ids=frozenset({admin["id"]})))
    path = live.question_log_path
    with store_for(live) as store, QuestionLog(path, key=KEY) as log:
        async with running_bot(live, store, question_log=log):
            await ask_and_confirm(api, updates)
            thread = api.calls_of("createForumTopic")[0].result["message_thread_id"]
            api.add_update(staff_message(updates, "Answered.", thread=thread))
            await count_to(api, ASKER["id"], 1, "copyMessage")
            for _ in range(200):
                noted = store.ticket(1)
                if noted is not None and noted.first_staff_reply_at is not None:
                    break
                await asyncio.sleep(0.02)
            assert log.flush()
            api.add_update(updates.command("/stats", sender=admin))
            stats = await said(api, admin["id"], "Handed to staff")
    assert "Handed to staff: 1 · answered: 1" in plain(stats)


async def test_forget_works_without_a_staff_group(
    settings: Settings, server: FakeBotApiServer, updates: UpdateFactory
) -> None:
    api = server.api
    live = replace(settings, telegram=replace(settings.telegram, base_url=server.base_url))
    path = live.question_log_path
    with Database(path, key_source=lambda: KEY) as database, QuestionLog(database) as log:
        prefs = UserPrefs(database)
        async with running_bot(live, None, question_log=log, prefs=prefs):
            api.add_update(updates.command("/language", sender=ASKER))
            menu = (await count_to(api, ASKER["id"], 1))[-1]
            api.add_update(updates.callback("l:sq", on=menu.result, sender=ASKER))
            await count_to(api, ASKER["id"], 2)
            api.add_update(updates.message("Kur hapet thirrja per grante?", sender=ASKER))
            fallback = (await count_to(api, ASKER["id"], 3))[-1]
            assert not any(a.startswith("h:") for a in actions(fallback.params))
            assert log.flush()
            api.add_update(updates.command("/forget", sender=ASKER))
            done = await said(api, ASKER["id"], "U krye")  # in the language chosen before
            assert "pyetjet tuaja" in plain(done)
    files = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert hash_user(KEY, ASKER["id"]).encode() not in files
    assert b"thirrja" not in files
