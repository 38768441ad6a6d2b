"""Hand-off fixes from the security review: a question near Telegram's message limit still
reaches staff (cut in the card and the confirmation, whole after the card; a card refused for
good is not retried for ever), and "Send" works only in the user's own private chat."""

from __future__ import annotations

from datetime import timedelta

from bot.config import Settings
from bot.core.telegram_html import MESSAGE_LIMIT, plain_length
from bot.storage.tickets import TicketStore
from bot.telegram_bot.handoff import user_side as handoff
from bot.telegram_bot.handoff.state import handoff_in
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer, UpdateFactory, actions, user
from tests.telegram_bot.handoff.test_handoff import (
    ASKER,
    QUESTION,
    STAFF,
    STAFF_GROUP,
    Clock,
    ask_and_confirm,
    bot_message,
    count_to,
    handoff_settings,
    last_edit_text,
    plain,
    routed,
    running_bot,
    said,
    sent_to,
    store_for,
)

LONG_QUESTION = ("When & where do <grants> open? " * 200)[:3990].strip()


async def test_a_question_near_the_message_limit_with_a_long_name_reaches_staff_whole(
    settings: Settings, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        api = server.api
        api.members[STAFF_GROUP] = {STAFF["id"]: "member"}
        asker = user(4002, "en", name="N" * 64)
        asker["last_name"] = "L" * 64
        asker["username"] = "u" * 32
        live = handoff_settings(settings, server, forum_topics=False)
        with store_for(live) as tickets:
            async with running_bot(live, tickets):
                api.add_update(updates.command("/ask " + LONG_QUESTION, sender=asker))
                (confirmation,) = await count_to(api, asker["id"], 1)
                assert plain_length(str(confirmation.params["text"])) <= MESSAGE_LIMIT
                assert LONG_QUESTION[:1000] in plain(confirmation)
                send = next(a for a in actions(confirmation.params) if a.startswith("hn:"))
                edits = len(api.calls_of("editMessageText"))
                api.add_update(updates.callback(send, on=confirmation.result, sender=asker))
                await api.wait_for("editMessageText", edits + 1)
                assert "received" in last_edit_text(api)
                staff = await count_to(api, STAFF_GROUP, 2)  # the card, then the question whole
                card, rest = staff[0], staff[1:]
                assert "N" * 64 in plain(card)
                assert LONG_QUESTION[:1000] in plain(card)
                assert "".join(plain(c) for c in rest) == LONG_QUESTION
                assert all(
                    c.params["reply_parameters"]["message_id"] == card.result["message_id"]
                    for c in rest
                )
                assert tickets.unposted() == []


async def test_a_card_telegram_refuses_as_too_long_is_not_retried_and_the_user_is_told(
    settings: Settings, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        api = server.api
        live = handoff_settings(settings, server, forum_topics=False)
        with store_for(live) as tickets:
            async with running_bot(live, tickets):
                api.add_update(updates.command("/ask When do grants open?", sender=ASKER))
                (confirmation,) = await count_to(api, ASKER["id"], 1)
                send = next(a for a in actions(confirmation.params) if a.startswith("hs:"))
                api.fail_next(
                    "sendMessage", status=400, description="Bad Request: message is too long"
                )
                edits = len(api.calls_of("editMessageText"))
                api.add_update(updates.callback(send, on=confirmation.result, sender=ASKER))
                await api.wait_for("editMessageText", edits + 1)
                # Told "received" at once; the card's refusal follows as a message.
                assert "received" in last_edit_text(api)
                await said(api, ASKER["id"], "could not be passed")
                assert tickets.unposted() == []
                assert tickets.open_tickets_of(ASKER["id"]) == []  # not held at the open limit
                assert sent_to(api, STAFF_GROUP) == []


async def test_send_pressed_on_a_bot_message_in_a_group_opens_no_ticket_there(
    settings: Settings, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        api = server.api
        live = handoff_settings(settings, server, forum_topics=False)
        with store_for(live) as tickets:
            async with running_bot(live, tickets):
                api.add_update(updates.command("/ask When do grants open?", sender=ASKER))
                (confirmation,) = await count_to(api, ASKER["id"], 1)
                send = next(a for a in actions(confirmation.params) if a.startswith("hs:"))
                in_a_group = {
                    "message_id": 77,
                    "date": 0,
                    "chat": {"id": -100555, "type": "supergroup", "title": "Public chat"},
                    "text": "hi",
                    "from": {"id": 1, "is_bot": True, "first_name": "bot"},
                }
                answers = len(api.calls_of("answerCallbackQuery"))
                api.add_update(updates.callback(send, on=in_a_group, sender=ASKER))
                await api.wait_for("answerCallbackQuery", answers + 1)
                assert tickets.ticket(1) is None
                assert sent_to(api, STAFF_GROUP) == []
                # the real button, in the user's chat, still works
                api.add_update(updates.callback(send, on=confirmation.result, sender=ASKER))
                await count_to(api, STAFF_GROUP, 1)
                ticket = tickets.ticket(1)
                assert ticket is not None
                assert ticket.chat_id == ASKER["id"]


async def test_a_ticket_staff_never_answer_closes_after_the_configured_days_and_the_user_is_told(
    settings: Settings, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        api = server.api
        api.forums.add(STAFF_GROUP)
        clock = Clock()
        live = handoff_settings(settings, server, unanswered_close_days=5)
        with store_for(live, clock) as tickets:
            async with running_bot(live, tickets) as application:
                await ask_and_confirm(api, updates)
                await count_to(api, STAFF_GROUP, 1)
                clock.now += timedelta(days=4)
                await handoff.sweep(application)
                assert api.calls_of("closeForumTopic") == []
                clock.now += timedelta(days=2)
                await handoff.sweep(application)
                await api.wait_for("closeForumTopic", 1)
                assert any("could not answer" in plain(c) for c in sent_to(api, ASKER["id"]))
                assert "#1" in plain(sent_to(api, STAFF_GROUP)[-1])
                assert " 5 " in plain(sent_to(api, STAFF_GROUP)[-1])
                assert tickets.open_tickets_of(ASKER["id"]) == []  # they may ask again


async def ticket_with_a_copied_message(
    api: FakeBotApi, updates: UpdateFactory, tickets: TicketStore
) -> tuple[int, list[int]]:
    """A ticket in its own topic, and the user's follow-up relayed there: the topic's id and
    the staff-group messages that repeat what the user wrote."""
    confirmation = await ask_and_confirm(api, updates)
    thread = int(api.calls_of("createForumTopic")[0].result["message_thread_id"])
    await routed(tickets, ASKER["id"], confirmation.result["message_id"])
    api.add_update(
        updates.message(
            "My ID card number is J12345678A",
            sender=ASKER,
            reply_to=bot_message(confirmation.result["message_id"], ASKER["id"]),
        )
    )
    # A text reaches staff as one message, the header and the user's words together.
    relayed = await said(api, STAFF_GROUP, "J12345678A")
    return thread, [relayed.result["message_id"]]


def deleted_in_staff_group(api: FakeBotApi) -> list[int]:
    return sorted(m for chat, m in api.deleted if chat == STAFF_GROUP)


async def test_without_the_right_to_delete_it_forget_renames_the_topic_and_deletes_copies(
    settings: Settings, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        api = server.api
        api.forums.add(STAFF_GROUP)
        live = handoff_settings(settings, server)
        with store_for(live) as tickets:
            async with running_bot(live, tickets):
                thread, copies = await ticket_with_a_copied_message(api, updates, tickets)
                before = len(sent_to(api, ASKER["id"]))
                api.add_update(updates.command("/forget", sender=ASKER))
                await count_to(api, ASKER["id"], before + 1)
                await api.wait_for("deleteMessage", len(copies))
                name = api.topics[(STAFF_GROUP, thread)]["name"]
                assert name.startswith("#1 (")
                assert QUESTION.split()[0] not in name
                assert deleted_in_staff_group(api) == sorted(copies)


async def test_retention_renames_the_ticket_topic_and_deletes_the_users_copied_messages(
    settings: Settings, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        api = server.api
        api.forums.add(STAFF_GROUP)
        clock = Clock()
        live = handoff_settings(settings, server, retention_days=30)
        with store_for(live, clock) as tickets:
            async with running_bot(live, tickets) as application:
                thread, copies = await ticket_with_a_copied_message(api, updates, tickets)
                card = sent_to(api, STAFF_GROUP)[0]
                clock.now += timedelta(days=31)
                await handoff.sweep(application)
                name = api.topics[(STAFF_GROUP, thread)]["name"]
                assert name.startswith("#1 (")
                assert QUESTION.split()[0] not in name
                assert deleted_in_staff_group(api) == sorted(copies)
                card_edit = [
                    c
                    for c in api.calls_of("editMessageText")
                    if c.params["message_id"] == card.result["message_id"]
                ][-1]
                assert QUESTION not in plain(card_edit)


async def test_a_sent_or_cancelled_question_leaves_nothing_of_the_user_in_memory(
    settings: Settings, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        api = server.api
        live = handoff_settings(settings, server, forum_topics=False, max_open_per_user=3)
        with store_for(live) as tickets:
            async with running_bot(live, tickets) as application:
                state = handoff_in(application.bot_data)
                assert state is not None
                await ask_and_confirm(api, updates)
                assert (state.drafts, state.latest) == ({}, {})
                api.add_update(updates.command("/ask When do grants open?", sender=ASKER))
                confirmation = (
                    await count_to(api, ASKER["id"], len(sent_to(api, ASKER["id"])) + 1)
                )[-1]
                cancel = next(a for a in actions(confirmation.params) if a.startswith("hx:"))
                edits = len(api.calls_of("editMessageText"))
                api.add_update(updates.callback(cancel, on=confirmation.result, sender=ASKER))
                await api.wait_for("editMessageText", edits + 1)
                assert (state.drafts, state.latest) == ({}, {})


async def test_a_name_or_question_with_bidi_controls_cannot_disguise_itself_in_the_staff_group(
    settings: Settings, updates: UpdateFactory
) -> None:
    async with FakeBotApiServer() as server:
        api = server.api
        api.forums.add(STAFF_GROUP)
        spoofer = user(4003, "en", name="Arben \u202e)nimda_ycnega@(")
        live = handoff_settings(settings, server)
        with store_for(live) as tickets:
            async with running_bot(live, tickets):
                api.add_update(
                    updates.command("/ask When\u200b do\u2067 grants open?", sender=spoofer)
                )
                (confirmation,) = await count_to(api, spoofer["id"], 1)
                send = next(a for a in actions(confirmation.params) if a.startswith("hn:"))
                api.add_update(updates.callback(send, on=confirmation.result, sender=spoofer))
                (card,) = await count_to(api, STAFF_GROUP, 1)
                (topic,) = api.calls_of("createForumTopic")
                shown = [plain(card), str(topic.params["name"])]
                for text in shown:
                    assert not any(c in text for c in "\u202e\u200b\u2067")
                assert "When do grants open?" in shown[0]
                assert "Arben )nimda_ycnega@(" in shown[0]
                assert shown[1] == "#1 · en"  # the question is not in the topic's name
