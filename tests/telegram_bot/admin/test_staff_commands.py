"""Staff tools in Telegram: /stats, /unanswered and /reload for admins only, the admins'
notices when an edit of faq/ is loaded or refused, and answers that stay right while the
files change under a running bot.

The bot is the real python-telegram-bot Application with a real question log (SQLite in a
temporary folder); its Bot API calls go to the in-process fake.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.config import Settings, settings_from_mapping
from bot.core.assembly import build_dialog
from bot.core.locales import load_locales
from bot.core.telegram_html import html_to_plain
from bot.storage.question_log import QuestionLog
from bot.telegram_bot.admin.staff_notices import staff_command_descriptions
from bot.telegram_bot.app import TelegramApplication, build_application, post_init, post_stop
from bot.telegram_bot.shared.services import services_in
from tests.conftest import TEST_FAQ, Handle
from tests.factories import SCHEMA_LINE, settings_mapping, write_faq
from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiRequest, UpdateFactory, user

ADMIN = user(7001, "en", name="Staff")
SECOND_ADMIN = user(7002, "sq", name="Stafi")
CITIZEN = user(1001, "en")
STAFF_COMMANDS = ("/stats", "/unanswered", "/reload")

OLD_PHONE_ANSWER = "Call us on"
NEW_PHONE_ANSWER = "Ring the front desk on"
BROKEN_GRANTS = (
    "category: {en: Grants, sq: Grantet}\nentries:\n  - id: grant-types\n    questions: [oops\n"
)


@pytest.fixture
def staff_settings(tmp_path: Path) -> Settings:
    mapping: dict[str, Any] = settings_mapping(tmp_path / "faq")
    mapping["telegram"] = {"admin_ids": [ADMIN["id"], SECOND_ADMIN["id"]]}
    loaded = settings_from_mapping(mapping, base_dir=tmp_path)
    write_faq(loaded.faq_dir, TEST_FAQ)
    return loaded


@pytest.fixture
def log(tmp_path: Path) -> Iterator[QuestionLog]:
    with QuestionLog(tmp_path / "data" / "questions.sqlite3", key=b"k" * 32) as opened:
        yield opened


def make_app(
    settings: Settings, fake_api: FakeBotApi, log: QuestionLog | None, *, watch: bool = False
) -> TelegramApplication:
    dialog, holder = build_dialog(settings)
    return build_application(
        settings,
        TOKEN,
        dialog,
        holder,
        question_log=log,
        request=FakeBotApiRequest(fake_api),
        watch_faq=watch,
    )


@pytest.fixture
async def staff_app(
    staff_settings: Settings, fake_api: FakeBotApi, log: QuestionLog
) -> AsyncIterator[TelegramApplication]:
    application = make_app(staff_settings, fake_api, log)
    async with application:
        await post_init(application)
        yield application


@pytest.fixture
def handle_staff(staff_app: TelegramApplication) -> Handle:
    update_ids = itertools.count(1)

    async def process(update: dict[str, Any]) -> None:
        parsed = Update.de_json({"update_id": next(update_ids), **update}, staff_app.bot)
        await staff_app.update_processor.process_update(parsed, staff_app.process_update(parsed))

    return process


def texts_to(fake_api: FakeBotApi, chat_id: int) -> list[str]:
    return [html_to_plain(text) for text in fake_api.sent_texts(chat_id)]


def edit_phone_answer(settings: Settings) -> None:
    path = settings.faq_dir / "contact.yaml"
    path.write_text(path.read_text().replace(OLD_PHONE_ANSWER, NEW_PHONE_ANSWER))


async def ask(handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi, text: str) -> str:
    await handle(updates.message(text, sender=CITIZEN))
    return texts_to(fake_api, CITIZEN["id"])[-1]


# ----- who may use the staff commands -----------------------------------------------------


@pytest.mark.parametrize("command", STAFF_COMMANDS)
async def test_to_anyone_but_an_admin_a_staff_command_is_just_an_unknown_command(
    command: str,
    staff_settings: Settings,
    handle_staff: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
) -> None:
    await handle_staff(updates.command("/nosuchcommand", sender=CITIZEN))
    await handle_staff(updates.command(command, sender=CITIZEN))
    unknown, staff = fake_api.sent_texts(CITIZEN["id"])
    assert staff == unknown
    assert "stats" not in html_to_plain(staff)
    assert "reload" not in html_to_plain(staff)


async def test_a_citizens_reload_changes_nothing(
    staff_settings: Settings, handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    edit_phone_answer(staff_settings)
    await handle_staff(updates.command("/reload", sender=CITIZEN))
    assert OLD_PHONE_ANSWER in await ask(handle_staff, updates, fake_api, "phone number")


async def test_an_admins_staff_command_in_a_group_is_not_answered_there(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    group = {"id": -100123, "type": "supergroup", "title": "NGO forum"}
    await handle_staff(updates.command("/stats", sender=ADMIN, chat=group))
    assert fake_api.sent_texts(group["id"]) == []


async def test_only_admins_see_the_staff_commands_in_their_menu(
    staff_app: TelegramApplication, fake_api: FakeBotApi
) -> None:
    menus = fake_api.calls_of("setMyCommands")
    for_admins = [c for c in menus if (c.params.get("scope") or {}).get("type") == "chat"]
    for_everyone = [c for c in menus if c not in for_admins]
    assert {c.params["scope"]["chat_id"] for c in for_admins} == {ADMIN["id"], SECOND_ADMIN["id"]}
    for call in for_admins:
        assert {"stats", "unanswered", "reload"} <= {c["command"] for c in call.params["commands"]}
    for call in for_everyone:
        assert not {"stats", "unanswered", "reload"} & {
            c["command"] for c in call.params["commands"]
        }


async def test_an_admin_who_never_started_the_bot_does_not_stop_it_starting(
    staff_settings: Settings, fake_api: FakeBotApi, log: QuestionLog
) -> None:
    fake_api.unreachable_chats.add(ADMIN["id"])
    application = make_app(staff_settings, fake_api, log)
    async with application:
        await post_init(application)
    scoped = [
        c.params["scope"]["chat_id"]
        for c in fake_api.calls_of("setMyCommands")
        if "scope" in c.params
    ]
    assert SECOND_ADMIN["id"] in scoped
    assert ADMIN["id"] not in scoped


# ----- /stats and /unanswered -----------------------------------------------------------


async def test_stats_sums_up_the_questions_of_the_week(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi, log: QuestionLog
) -> None:
    for text in ("phone number", "Where is your office?", "how tall is the eiffel tower"):
        await ask(handle_staff, updates, fake_api, text)
    assert log.flush()
    await handle_staff(updates.command("/stats", sender=ADMIN))
    (summary,) = texts_to(fake_api, ADMIN["id"])
    assert "Questions: 3 from 1 people" in summary
    assert "last 7 days" in summary


async def test_stats_comes_in_the_admins_language(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi, log: QuestionLog
) -> None:
    await ask(handle_staff, updates, fake_api, "phone number")
    assert log.flush()
    await handle_staff(updates.command("/stats", sender=SECOND_ADMIN))
    (summary,) = texts_to(fake_api, SECOND_ADMIN["id"])
    assert "Pyetje" in summary


async def test_unanswered_shows_what_people_asked_that_the_bot_could_not_answer(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi, log: QuestionLog
) -> None:
    for text in ("can I park my bicycle at the office", "bicycle parking at the office?"):
        await ask(handle_staff, updates, fake_api, text)
    await ask(handle_staff, updates, fake_api, "phone number")
    assert log.flush()
    await handle_staff(updates.command("/unanswered", sender=ADMIN))
    (summary,) = texts_to(fake_api, ADMIN["id"])
    assert "bicycle" in summary
    assert "phone number" not in summary


async def test_without_a_question_log_stats_says_there_is_nothing_to_report(
    staff_settings: Settings, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    application = make_app(staff_settings, fake_api, None)
    async with application:
        await post_init(application)
        for command in ("/stats", "/unanswered"):
            parsed = Update.de_json(
                {"update_id": 1, **updates.command(command, sender=ADMIN)}, application.bot
            )
            await application.process_update(parsed)
    assert (
        texts_to(fake_api, ADMIN["id"])
        == ["The question log is switched off, so there is nothing to report."] * 2
    )


# ----- /reload and the admins' notices ----------------------------------------------------


async def test_reload_serves_a_valid_edit_at_once(
    staff_settings: Settings, handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    edit_phone_answer(staff_settings)
    await handle_staff(updates.command("/reload", sender=ADMIN))
    assert "reloaded" in texts_to(fake_api, ADMIN["id"])[-1]
    assert NEW_PHONE_ANSWER in await ask(handle_staff, updates, fake_api, "phone number")
    # The other admin hears that a new version is being served.
    assert "u ringarkua" in texts_to(fake_api, SECOND_ADMIN["id"])[-1]


async def test_a_broken_edit_is_refused_with_file_and_line_and_the_old_answers_stay(
    staff_settings: Settings, handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    (staff_settings.faq_dir / "grants.yaml").write_text(SCHEMA_LINE + BROKEN_GRANTS)
    await handle_staff(updates.command("/reload", sender=ADMIN))
    (reply,) = texts_to(fake_api, ADMIN["id"])  # told once: as the reply, not again as a notice
    assert "not loaded" in reply
    assert "grants.yaml:" in reply
    assert "nuk u ngarkua" in texts_to(fake_api, SECOND_ADMIN["id"])[-1]
    assert "Grants for projects" in await ask(handle_staff, updates, fake_api, "grant types")


async def test_a_second_reload_of_the_same_broken_edit_repeats_the_problems_to_the_asker_only(
    staff_settings: Settings, handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    (staff_settings.faq_dir / "grants.yaml").write_text(SCHEMA_LINE + BROKEN_GRANTS)
    await handle_staff(updates.command("/reload", sender=ADMIN))
    await handle_staff(updates.command("/reload", sender=SECOND_ADMIN))
    notices_to_first = texts_to(fake_api, ADMIN["id"])
    assert len(notices_to_first) == 1  # the repeat is not broadcast
    assert "grants.yaml:" in texts_to(fake_api, SECOND_ADMIN["id"])[-1]


async def test_reload_of_unchanged_files_says_so(
    handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    await handle_staff(updates.command("/reload", sender=ADMIN))
    await handle_staff(updates.command("/reload", sender=ADMIN))
    assert "have not changed" in texts_to(fake_api, ADMIN["id"])[-1]


async def test_problems_quoting_the_file_are_escaped_and_fit_one_message(
    staff_settings: Settings, handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    entries = "".join(f"  - id: <b>bad-{n}\n    questions: {{en: [x]}}\n" for n in range(200))
    (staff_settings.faq_dir / "grants.yaml").write_text(
        SCHEMA_LINE + "category: {en: Grants, sq: Grantet}\nentries:\n" + entries
    )
    await handle_staff(updates.command("/reload", sender=ADMIN))
    (call,) = [c for c in fake_api.calls_of("sendMessage") if c.params["chat_id"] == ADMIN["id"]]
    # The fake refuses malformed HTML and texts over 4096 characters, as Telegram does.
    assert "more" in html_to_plain(call.params["text"])


async def test_an_unreachable_admin_is_logged_and_the_others_still_hear(
    staff_app: TelegramApplication,
    staff_settings: Settings,
    fake_api: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_api.unreachable_chats.add(ADMIN["id"])
    (staff_settings.faq_dir / "grants.yaml").write_text(SCHEMA_LINE + BROKEN_GRANTS)
    reloader = services_in(staff_app.bot_data).reloader
    assert reloader is not None
    with caplog.at_level(logging.WARNING):
        result = await reloader.reload()
    assert result.status == "rejected"
    assert "nuk u ngarkua" in texts_to(fake_api, SECOND_ADMIN["id"])[-1]
    assert any("could not tell an admin" in r.getMessage() for r in caplog.records)


async def test_the_running_bot_notices_an_edit_and_tells_the_admins(
    staff_settings: Settings, fake_api: FakeBotApi, log: QuestionLog
) -> None:
    application = make_app(staff_settings, fake_api, log, watch=True)
    grants = staff_settings.faq_dir / "grants.yaml"
    good = grants.read_text()
    async with application:
        await post_init(application)
        try:
            await asyncio.sleep(0.5)  # the watcher starts watching
            grants.write_text(SCHEMA_LINE + BROKEN_GRANTS)
            await fake_api.wait_for("sendMessage", 2, within=20)
            assert "grants.yaml:" in texts_to(fake_api, ADMIN["id"])[-1]
            grants.write_text(good)
            await fake_api.wait_for("sendMessage", 4, within=20)
            # An admin who has not written to the bot yet hears in the default language.
            assert "FAQ u ringarkua" in texts_to(fake_api, ADMIN["id"])[-1]
        finally:
            await post_stop(application)


# ----- answers while the files change ---------------------------------------------------


async def test_questions_keep_being_answered_right_while_the_faq_changes_and_breaks(
    staff_settings: Settings, handle_staff: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    contact = staff_settings.faq_dir / "contact.yaml"
    grants = staff_settings.faq_dir / "grants.yaml"
    versions = [
        contact.read_text(),
        contact.read_text().replace(OLD_PHONE_ANSWER, NEW_PHONE_ANSWER),
    ]
    good_grants = grants.read_text()
    questions = ("phone number", "Where is your office?", "grant types") * 4
    people = (user(10_000 + n, "en") for n in itertools.count())
    for round_number in range(6):  # bounded: six edits, a dozen questions during each
        if round_number % 3 == 2:
            grants.write_text(SCHEMA_LINE + BROKEN_GRANTS)  # an invalid state...
        else:
            grants.write_text(good_grants)  # ...and back
            contact.write_text(versions[round_number % 2])
        # Many people at once (one person this fast would be throttled as a flood).
        asked = [handle_staff(updates.message(q, sender=next(people))) for q in questions]
        await asyncio.gather(handle_staff(updates.command("/reload", sender=ADMIN)), *asked)
    # Replies to concurrent questions may go out in any order: count them by kind.
    staff = {ADMIN["id"], SECOND_ADMIN["id"]}
    answers = [
        str(c.params["text"])
        for c in fake_api.calls_of("sendMessage")
        if c.params["chat_id"] not in staff
    ]
    kinds = Counter(kind_of(html_to_plain(answer)) for answer in answers)
    assert kinds == {"phone": 6 * 4, "office": 6 * 4, "grants": 6 * 4}


def kind_of(answer: str) -> str:
    if OLD_PHONE_ANSWER in answer or NEW_PHONE_ANSWER in answer:
        return "phone"
    if "Our office is at" in answer:
        return "office"
    if "Grants for projects" in answer:
        return "grants"
    return f"unexpected: {answer}"


def test_announce_is_in_the_staff_menu_only_where_there_are_topics() -> None:
    locales = load_locales(("sq", "en"))
    with_topics = staff_command_descriptions(locales, "sq", announcements=True)
    assert "announce" in [name for name, _ in with_topics]
    assert "announce" not in [name for name, _ in staff_command_descriptions(locales, "sq")]
