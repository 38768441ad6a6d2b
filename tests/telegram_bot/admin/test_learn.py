"""Learning in Telegram: users' picks become a suggestion, /learn accepts it, the bot answers.

The real python-telegram-bot application with a real question log and learning store; its
Bot API calls go to the fake (over HTTP on 127.0.0.1 for the end-to-end run, in-process for
the rest).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.config import Settings, settings_from_mapping
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.core.telegram_html import html_to_plain
from bot.storage.learning_store import LearningStore
from bot.storage.question_log import QuestionLog
from bot.telegram_bot.app import TelegramApplication, build_application, post_init
from tests.conftest import TEST_FAQ, Handle
from tests.factories import settings_mapping, write_faq
from tests.fake_bot_api import (
    BOT_USERNAME,
    TOKEN,
    FakeBotApi,
    FakeBotApiRequest,
    FakeBotApiServer,
    UpdateFactory,
    actions,
    user,
)
from tests.telegram_bot.test_end_to_end import running_bot

ADMIN = user(7001, "en", name="Staff")
CITIZENS = [user(1001 + n, "en") for n in range(4)]
WORDING = "deadline for grants"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Overrides conftest's: the same small FAQ, with an admin and three people as enough."""
    mapping: dict[str, Any] = settings_mapping(tmp_path / "faq")
    mapping["telegram"] = {"admin_ids": [ADMIN["id"]]}
    mapping["learning"] = {"min_users": 3}
    loaded = settings_from_mapping(mapping, base_dir=tmp_path)
    write_faq(loaded.faq_dir, TEST_FAQ)
    return loaded


@pytest.fixture
def log(settings: Settings) -> Iterator[QuestionLog]:
    with QuestionLog(settings.question_log_path, key=b"k" * 32) as opened:
        yield opened


@pytest.fixture
def store(settings: Settings) -> Iterator[LearningStore]:
    with LearningStore(settings.question_log_path) as opened:
        yield opened


@pytest.fixture
async def learn_app(
    settings: Settings, fake_api: FakeBotApi, log: QuestionLog, store: LearningStore
) -> AsyncIterator[TelegramApplication]:
    dialog, holder = build_dialog(settings)
    application = build_application(
        settings,
        TOKEN,
        dialog,
        holder,
        question_log=log,
        learning=store,
        request=FakeBotApiRequest(fake_api),
    )
    async with application:
        await post_init(application)
        yield application


@pytest.fixture
def handle_learn(learn_app: TelegramApplication) -> Handle:
    update_ids = itertools.count(1)

    async def process(update: dict[str, Any]) -> None:
        parsed = Update.de_json({"update_id": next(update_ids), **update}, learn_app.bot)
        await learn_app.update_processor.process_update(parsed, learn_app.process_update(parsed))

    return process


def pick_of(params: dict[str, Any], entry_id: str) -> str:
    (found,) = [a for a in actions(params) if a.startswith(f"e:{entry_id}:")]
    return found


async def test_picks_become_a_suggestion_that_an_admin_accepts_and_users_then_get_answered(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    log: QuestionLog,
    store: LearningStore,
    updates: UpdateFactory,
) -> None:
    path = settings.faq_dir / "deadlines.yaml"
    before = path.read_bytes()
    async with (
        FakeBotApiServer() as server,
        running_bot(settings, knowledge, server, question_log=log, learning=store),
    ):
        api = server.api
        sent = 0
        for citizen in CITIZENS[:3]:
            api.add_update(updates.message(WORDING, sender=citizen))
            sent += 1
            offer = (await api.wait_for("sendMessage", sent))[-1]
            assert "Did you mean" in html_to_plain(str(offer.params["text"]))
            pick = pick_of(offer.params, "deadline-projects")
            api.add_update(updates.callback(pick, on=offer.result, sender=citizen))
            sent += 1
            answer = (await api.wait_for("sendMessage", sent))[-1]
            assert "31 March" in str(answer.params["text"])

        api.add_update(updates.command("/learn", sender=ADMIN))
        sent += 1
        card = (await api.wait_for("sendMessage", sent))[-1]
        card_text = html_to_plain(str(card.params["text"]))
        assert WORDING in card_text
        assert "3 people" in card_text
        # What backs it, and that each pick was of an entry the bot offered.
        assert "Backed by: 3 pick(s) of this entry among the ones the bot itself offered" in (
            card_text
        )
        assert "👍" not in card_text
        (accept,) = [a for a in actions(card.params) if a.startswith("lr:a:")]

        api.add_update(updates.callback(accept, on=card.result, sender=ADMIN))
        edited = (await api.wait_for("editMessageText"))[-1]
        assert "accepted" in html_to_plain(str(edited.params["text"]))
        assert f'"{WORDING}"' in html_to_plain(str(edited.params["text"]))  # the diff
        assert "lr:u" in actions(edited.params)
        sent += 2  # the admins' notice that the FAQ was reloaded, and the next suggestion
        await api.wait_for("sendMessage", sent)
        assert "No suggestions now" in api.sent_texts(ADMIN["id"])[-1]

        api.add_update(updates.message(WORDING, sender=CITIZENS[3]))
        sent += 1
        direct = (await api.wait_for("sendMessage", sent))[-1]
        assert "31 March" in str(direct.params["text"])  # answered, no "did you mean"
        assert any(a.startswith("f:y:") for a in actions(direct.params))
    after = path.read_bytes()
    added = set(after.decode().splitlines()) - set(before.decode().splitlines())
    assert len(after.decode().splitlines()) == len(before.decode().splitlines())
    assert len(added) == 1  # the flow list of English questions, now with the wording


async def test_a_pick_then_voted_down_is_not_a_signal(
    handle_learn: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
    learn_app: TelegramApplication,
) -> None:
    for citizen in CITIZENS[:3]:
        await handle_learn(updates.message(WORDING, sender=citizen))
        offer = fake_api.calls_of("sendMessage")[-1]
        pick = pick_of(offer.params, "deadline-projects")
        await handle_learn(updates.callback(pick, on=offer.result, sender=citizen))
        answer = fake_api.calls_of("sendMessage")[-1]
        (no,) = [a for a in actions(answer.params) if a.startswith("f:n:")]
        await handle_learn(updates.callback(no, on=answer.result, sender=citizen))

    await handle_learn(updates.command("/learn", sender=ADMIN))

    assert "No suggestions now" in fake_api.sent_texts(ADMIN["id"])[-1]


async def test_a_forged_pick_of_an_entry_never_offered_is_not_a_signal(
    handle_learn: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    for citizen in CITIZENS[:3]:
        await handle_learn(updates.message(WORDING, sender=citizen))
        offer = fake_api.calls_of("sendMessage")[-1]
        offered = {a.split(":")[1] for a in actions(offer.params) if a.startswith("e:")}
        assert "doc-0" not in offered
        # The real button's data with another entry put in: what an attacker can send.
        real = pick_of(offer.params, "deadline-projects")
        forged = real.replace("e:deadline-projects:", "e:doc-0:", 1)
        await handle_learn(updates.callback(forged, on=offer.result, sender=citizen))
        assert "statute" in fake_api.sent_texts(citizen["id"])[-1]  # still shown to them

    await handle_learn(updates.command("/learn", sender=ADMIN))

    assert "No suggestions now" in fake_api.sent_texts(ADMIN["id"])[-1]


async def test_a_pick_pressed_by_someone_other_than_the_asker_is_not_a_signal(
    handle_learn: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    group: dict[str, Any] = {"id": -100777, "type": "supergroup", "title": "NGO forum"}
    meddler = user(1999, "en", name="Meddler")
    for citizen in CITIZENS[:3]:
        await handle_learn(
            updates.message(f"@{BOT_USERNAME} {WORDING}", sender=citizen, chat=group)
        )
        offer = fake_api.calls_of("sendMessage")[-1]
        assert offer.params["chat_id"] == group["id"]
        pick = pick_of(offer.params, "deadline-projects")
        await handle_learn(updates.callback(pick, on=offer.result, sender=meddler))

    await handle_learn(updates.command("/learn", sender=ADMIN))

    assert "No suggestions now" in fake_api.sent_texts(ADMIN["id"])[-1]


async def three_picks(handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi) -> None:
    for citizen in CITIZENS[:3]:
        await handle(updates.message(WORDING, sender=citizen))
        offer = fake_api.calls_of("sendMessage")[-1]
        pick = pick_of(offer.params, "deadline-projects")
        await handle(updates.callback(pick, on=offer.result, sender=citizen))


async def test_reject_and_skip(
    handle_learn: Handle, updates: UpdateFactory, fake_api: FakeBotApi, settings: Settings
) -> None:
    files = {p: p.read_bytes() for p in settings.faq_dir.iterdir()}
    await three_picks(handle_learn, updates, fake_api)
    await handle_learn(updates.command("/learn", sender=ADMIN))
    card = fake_api.calls_of("sendMessage")[-1]
    skip = next(a for a in actions(card.params) if a.startswith("lr:s:"))
    await handle_learn(updates.callback(skip, on=card.result, sender=ADMIN))
    assert "No suggestions now" in fake_api.sent_texts(ADMIN["id"])[-1]  # skipped for now

    # Another admin session (a new /learn) still skips it; rejecting closes it for good.
    reject = skip.replace("lr:s:", "lr:r:")
    await handle_learn(updates.callback(reject, on=card.result, sender=ADMIN))
    (edited,) = fake_api.calls_of("editMessageText")
    assert "will not be suggested again" in str(edited.params["text"])
    # The old card's Accept now refuses, says why, and writes nothing.
    accept = skip.replace("lr:s:", "lr:a:")
    await handle_learn(updates.callback(accept, on=card.result, sender=ADMIN))
    alert = fake_api.calls_of("answerCallbackQuery")[-1]
    assert alert.params.get("show_alert")
    assert "no open suggestion" in str(alert.params["text"])
    assert "no open suggestion" in fake_api.sent_texts(ADMIN["id"])[-1]
    assert {p: p.read_bytes() for p in settings.faq_dir.iterdir()} == files


async def test_undo_in_telegram_restores_the_file_and_the_old_behaviour(
    handle_learn: Handle, updates: UpdateFactory, fake_api: FakeBotApi, settings: Settings
) -> None:
    path = settings.faq_dir / "deadlines.yaml"
    before = path.read_bytes()
    await three_picks(handle_learn, updates, fake_api)
    await handle_learn(updates.command("/learn", sender=ADMIN))
    card = fake_api.calls_of("sendMessage")[-1]
    accept = next(a for a in actions(card.params) if a.startswith("lr:a:"))
    await handle_learn(updates.callback(accept, on=card.result, sender=ADMIN))
    assert path.read_bytes() != before

    await handle_learn(updates.callback("lr:u", on=card.result, sender=ADMIN))

    assert path.read_bytes() == before
    assert "back exactly as it was" in str(fake_api.calls_of("editMessageText")[-1].params["text"])
    await handle_learn(updates.message(WORDING, sender=CITIZENS[3]))
    assert "Did you mean" in fake_api.sent_texts(CITIZENS[3]["id"])[-1]
    # The English-speaking admin heard of both reloads in English (the bot's first
    # language is Albanian).
    notices = [t for t in fake_api.sent_texts(ADMIN["id"]) if "FAQ" in t]
    assert len(notices) == 2
    assert all("The FAQ was reloaded" in notice for notice in notices), notices


async def test_to_anyone_but_an_admin_learn_is_an_unknown_command_and_its_buttons_do_nothing(
    handle_learn: Handle, updates: UpdateFactory, fake_api: FakeBotApi, settings: Settings
) -> None:
    files = {p: p.read_bytes() for p in settings.faq_dir.iterdir()}
    await three_picks(handle_learn, updates, fake_api)
    await handle_learn(updates.command("/nosuchcommand", sender=CITIZENS[0]))
    await handle_learn(updates.command("/learn", sender=CITIZENS[0]))
    unknown, learn = fake_api.sent_texts(CITIZENS[0]["id"])[-2:]
    assert learn == unknown

    await handle_learn(updates.command("/learn", sender=ADMIN))
    card = fake_api.calls_of("sendMessage")[-1]
    accept = next(a for a in actions(card.params) if a.startswith("lr:a:"))
    await handle_learn(updates.callback(accept, on=card.result, sender=CITIZENS[0]))

    assert {p: p.read_bytes() for p in settings.faq_dir.iterdir()} == files
    assert fake_api.calls_of("editMessageText") == []


# ----- hand-off tickets ------------------------------------------------------------------


async def ticket_answered_by_staff(
    api: FakeBotApi, updates: UpdateFactory, question: str, asker: dict[str, Any]
) -> Any:
    """`asker` asks `question`, hands it to the agency, and staff answer in its topic;
    returns the bot's message under the staff reply (the learning buttons)."""
    from tests.telegram_bot.handoff.test_handoff import (
        STAFF_GROUP,
        count_to,
        sent_to,
        staff_message,
    )

    api.add_update(updates.message(question, sender=asker))
    offer = (await count_to(api, asker["id"], 1))[-1]
    handoff_button = next(a for a in actions(offer.params) if a.startswith("h:"))
    api.add_update(updates.callback(handoff_button, on=offer.result, sender=asker))
    confirmation = (await count_to(api, asker["id"], 2))[-1]
    send = next(a for a in actions(confirmation.params) if a.startswith("hs:"))
    api.add_update(updates.callback(send, on=confirmation.result, sender=asker))
    await count_to(api, STAFF_GROUP, 1)  # the ticket's card
    (topic,) = api.calls_of("createForumTopic")
    thread = topic.result["message_thread_id"]
    api.add_update(staff_message(updates, "Applications close on 31 March.", thread=thread))
    await count_to(api, asker["id"], 1, "copyMessage")
    prompt = (await count_to(api, STAFF_GROUP, 2))[-1]
    assert prompt in sent_to(api, STAFF_GROUP)
    return prompt


@pytest.mark.parametrize("kind", ["variant", "draft"])
async def test_a_staff_reply_to_a_ticket_offers_to_teach_the_bot_its_question(
    settings: Settings,
    log: QuestionLog,
    store: LearningStore,
    updates: UpdateFactory,
    kind: str,
) -> None:
    from tests.telegram_bot.handoff.test_handoff import (
        STAFF,
        STAFF_GROUP,
        handoff_settings,
        store_for,
    )
    from tests.telegram_bot.handoff.test_handoff import running_bot as handoff_bot

    asker = CITIZENS[0]
    question = "When do grants close?" if kind == "variant" else "Can I get a job at ASCS?"
    async with FakeBotApiServer() as server:
        api = server.api
        api.members[STAFF_GROUP] = {STAFF["id"]: "member"}
        api.forums.add(STAFF_GROUP)
        live = handoff_settings(settings, server)
        with store_for(live) as tickets:
            async with handoff_bot(live, tickets, question_log=log, learning=store):
                prompt = await ticket_answered_by_staff(api, updates, question, asker)
                buttons = actions(prompt.params)
                assert "lt:d:1" in buttons
                if kind == "variant":
                    assert "lt:v:1:deadline-projects" in buttons
                    pressed = "lt:v:1:deadline-projects"
                else:
                    pressed = "lt:d:1"
                api.add_update(updates.callback(pressed, on=prompt.result, sender=STAFF))
                edited = (await api.wait_for("editMessageText", 2))[-1]
                assert "when do grants close" in html_to_plain(str(edited.params["text"])) or (
                    "can i get a job at ascs" in html_to_plain(str(edited.params["text"]))
                )
                if kind == "variant":
                    api.add_update(updates.message(question, sender=CITIZENS[1]))
                    await api.wait_for("sendMessage", len(api.calls_of("sendMessage")) + 1)
                    assert "31 March" in api.sent_texts(CITIZENS[1]["id"])[-1]
    if kind == "draft":
        drafted = (settings.faq_dir / "drafts" / "new-entries.yaml").read_text()
        assert '"can i get a job at ascs"' in drafted


# The lt: buttons write into faq/: only a current member of the staff group may press them,
# only for an entry the bot offered for that ticket; forged data is answered, not raised on.


def faq_files(settings: Settings) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(settings.faq_dir.rglob("*.yaml"))}


async def answered(api: FakeBotApi, count: int) -> None:
    await api.wait_for("answerCallbackQuery", count)


async def test_only_current_staff_members_can_add_a_ticket_question_to_the_faq(
    settings: Settings,
    log: QuestionLog,
    store: LearningStore,
    updates: UpdateFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.telegram_bot.handoff.test_handoff import (
        STAFF,
        STAFF_GROUP,
        STRANGER,
        handoff_settings,
        store_for,
    )
    from tests.telegram_bot.handoff.test_handoff import running_bot as handoff_bot

    caplog.set_level(logging.ERROR)
    async with FakeBotApiServer() as server:
        api = server.api
        api.members[STAFF_GROUP] = {STAFF["id"]: "member", STRANGER["id"]: "left"}
        api.forums.add(STAFF_GROUP)
        live = handoff_settings(settings, server)
        with store_for(live) as tickets:
            async with handoff_bot(live, tickets, question_log=log, learning=store):
                prompt = await ticket_answered_by_staff(
                    api, updates, "When do grants close?", CITIZENS[0]
                )
                offered = actions(prompt.params)
                assert "lt:v:1:deadline-projects" in offered
                assert "lt:v:1:doc-0" not in offered
                before = faq_files(settings)
                edits = len(api.calls_of("editMessageText"))
                presses = [
                    ("lt:v:1:deadline-projects", STRANGER),  # offered, but not a member
                    ("lt:d:1", STRANGER),
                    ("lt:v:1:doc-0", STAFF),  # a member, but never offered
                    ("lt:d:\u00b2", STAFF),  # a non-ASCII digit
                    ("lt:d:" + "9" * 59, STAFF),  # too large for SQLite
                    ("lt:v:1", STAFF),
                ]
                for count, (data, sender) in enumerate(presses, start=1):
                    api.add_update(updates.callback(data, on=prompt.result, sender=sender))
                    await answered(api, count)
                assert faq_files(settings) == before
                assert len(api.calls_of("editMessageText")) == edits
                # the offered entry, pressed by a member, still works
                api.add_update(
                    updates.callback("lt:v:1:deadline-projects", on=prompt.result, sender=STAFF)
                )
                await api.wait_for("editMessageText", edits + 1)
                assert faq_files(settings) != before
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_member_removed_a_moment_ago_cannot_add_a_ticket_question_to_the_faq(
    settings: Settings, log: QuestionLog, store: LearningStore, updates: UpdateFactory
) -> None:
    from tests.telegram_bot.handoff.test_handoff import (
        STAFF,
        STAFF_GROUP,
        handoff_settings,
        store_for,
    )
    from tests.telegram_bot.handoff.test_handoff import running_bot as handoff_bot

    async with FakeBotApiServer() as server:
        api = server.api
        api.members[STAFF_GROUP] = {STAFF["id"]: "member"}
        api.forums.add(STAFF_GROUP)
        live = handoff_settings(settings, server)
        with store_for(live) as tickets:
            async with handoff_bot(live, tickets, question_log=log, learning=store):
                # Staff answered the ticket a moment ago: the bot knows them as a member.
                prompt = await ticket_answered_by_staff(
                    api, updates, "When do grants close?", CITIZENS[0]
                )
                before = faq_files(settings)
                api.members[STAFF_GROUP][STAFF["id"]] = "left"  # removed from the group
                presses = len(api.calls_of("answerCallbackQuery"))
                api.add_update(
                    updates.callback("lt:v:1:deadline-projects", on=prompt.result, sender=STAFF)
                )
                await answered(api, presses + 1)
                assert faq_files(settings) == before
                # Back in the group, the same press works.
                api.members[STAFF_GROUP][STAFF["id"]] = "member"
                api.add_update(
                    updates.callback("lt:v:1:deadline-projects", on=prompt.result, sender=STAFF)
                )
                await answered(api, presses + 2)
                assert faq_files(settings) != before
