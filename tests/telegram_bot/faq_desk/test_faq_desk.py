"""The FAQ desk end to end: admins keep faq/ from Telegram (the real python-telegram-bot stack
and a real SQLite audit trail, against the fake Bot API: over HTTP on 127.0.0.1 for the
whole round trip, in-process for the rest)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram import Update

from bot.config import HandoffSettings, Settings, load_settings, settings_from_mapping
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder
from bot.core.telegram_html import html_to_plain
from bot.storage.audit import AuditStore
from bot.storage.tickets import TicketStore
from bot.telegram_bot.app import TelegramApplication, build_application, post_init
from bot.telegram_bot.faq_desk.reminders import send_reminders
from tests.conftest import TEST_FAQ, Handle
from tests.factories import settings_mapping, write_faq
from tests.fake_bot_api import (
    TOKEN,
    FakeBotApi,
    FakeBotApiRequest,
    FakeBotApiServer,
    UpdateFactory,
    actions,
    user,
)
from tests.telegram_bot.test_end_to_end import running_bot

REPO = Path(__file__).resolve().parents[3]
SHIPPED_FILES = sorted(path.name for path in (REPO / "faq").glob("*.yaml"))
ADMIN = user(7001, "en", name="Drita")
OTHER_ADMIN = user(7002, "en", name="Gent")
CITIZEN = user(1001, "en", name="Arben")
TIRANE = ZoneInfo("Europe/Tirane")
OLD_ANSWER_EN = '      en: "Our office is at {address}."\n'
NEW_ANSWER_EN = '      en: "Our office moved: we are at {address}, second floor."\n'
OPENING_HOURS = """\
  - id: opening-hours
    questions:
      en: ["When are you open?", "opening hours"]
      sq: ["Kur jeni të hapur?", "orari i punës"]
    answer:
      en: "Monday to Friday, 08:00 to 16:00."
      sq: "E hënë deri të premte, 08:00 deri 16:00."
"""


def today() -> str:
    return datetime.now(TIRANE).date().isoformat()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Overrides conftest's: the same small FAQ, with two admins."""
    mapping: dict[str, Any] = settings_mapping(tmp_path / "faq")
    mapping["telegram"] = {"admin_ids": [ADMIN["id"], OTHER_ADMIN["id"]]}
    loaded = settings_from_mapping(mapping, base_dir=tmp_path)
    write_faq(loaded.faq_dir, TEST_FAQ)
    return loaded


@pytest.fixture
def audit(settings: Settings) -> Iterator[AuditStore]:
    with AuditStore(settings.question_log_path) as opened:
        yield opened


@pytest.fixture
async def desk_app(
    settings: Settings, fake_api: FakeBotApi, audit: AuditStore
) -> AsyncIterator[TelegramApplication]:
    dialog, holder = build_dialog(settings)
    application = build_application(
        settings, TOKEN, dialog, holder, faq_audit=audit, request=FakeBotApiRequest(fake_api)
    )
    async with application:
        await post_init(application)
        yield application


@pytest.fixture
def handle_desk(desk_app: TelegramApplication) -> Handle:
    update_ids = itertools.count(1)

    async def process(update: dict[str, Any]) -> None:
        parsed = Update.de_json({"update_id": next(update_ids), **update}, desk_app.bot)
        await desk_app.update_processor.process_update(parsed, desk_app.process_update(parsed))

    return process


def contact_file(settings: Settings) -> Path:
    return settings.faq_dir / "contact.yaml"


def sent_to(api: FakeBotApi, chat: dict[str, Any]) -> list[Any]:
    return [c for c in api.calls_of("sendMessage") if c.params.get("chat_id") == chat["id"]]


def last_to(api: FakeBotApi, chat: dict[str, Any]) -> Any:
    return sent_to(api, chat)[-1]


def action_starting(params: dict[str, Any], prefix: str) -> str:
    (found,) = [a for a in actions(params) if a.startswith(prefix)]
    return found


def send_document(
    api: FakeBotApi, updates: UpdateFactory, content: bytes, name: str, sender: dict[str, Any]
) -> dict[str, Any]:
    return updates.message(sender=sender, document=api.add_document(content, name))


# ----- the whole round trip, over HTTP --------------------------------------------------------


async def test_get_edit_send_back_apply_then_users_get_the_new_answer_and_undo_restores_it(
    settings: Settings,
    knowledge: tuple[Dialog, KnowledgeHolder],
    audit: AuditStore,
    updates: UpdateFactory,
) -> None:
    path = contact_file(settings)
    original = path.read_bytes()
    async with (
        FakeBotApiServer() as server,
        running_bot(settings, knowledge, server, faq_audit=audit),
    ):
        api = server.api
        api.add_update(updates.command("/faq", sender=ADMIN))
        await api.wait_until(lambda: bool(sent_to(api, ADMIN)))
        overview = last_to(api, ADMIN)
        overview_text = html_to_plain(str(overview.params["text"]))
        assert "contact.yaml (2): office-address, phone-number" in overview_text
        get_contact = action_starting(overview.params, "fq:g:contact.yaml")

        api.add_update(updates.callback(get_contact, on=overview.result, sender=ADMIN))
        (got,) = await api.wait_for("sendDocument")
        assert got.params["document"].filename == "contact.yaml"
        assert got.params["document"].content == original

        edited = (original.decode().replace(OLD_ANSWER_EN, NEW_ANSWER_EN) + OPENING_HOURS).encode()
        api.add_update(send_document(api, updates, edited, "contact.yaml", ADMIN))
        await api.wait_until(lambda: len(sent_to(api, ADMIN)) >= 2)
        summary = last_to(api, ADMIN)
        summary_text = html_to_plain(str(summary.params["text"]))
        assert "1 added, 0 removed, 1 changed" in summary_text
        assert "opening-hours “When are you open?”: Monday to Friday" in summary_text
        assert "office-address “Where is your office?” (answer)" in summary_text
        assert path.read_bytes() == original  # nothing written before Apply

        apply = action_starting(summary.params, "fq:a:")
        api.add_update(updates.callback(apply, on=summary.result, sender=ADMIN))
        (saved,) = await api.wait_for("editMessageText")
        assert "contact.yaml saved and served now" in html_to_plain(str(saved.params["text"]))
        assert path.read_bytes() == edited

        asked = len(sent_to(api, CITIZEN))
        api.add_update(updates.message("Where is your office?", sender=CITIZEN))
        await api.wait_until(lambda: len(sent_to(api, CITIZEN)) > asked)
        assert "second floor" in html_to_plain(str(last_to(api, CITIZEN).params["text"]))
        assert not any(a.startswith("fq:") for a in actions(last_to(api, CITIZEN).params))

        undo = action_starting(saved.params, "fq:u:")
        api.add_update(updates.callback(undo, on=summary.result, sender=ADMIN))
        await api.wait_for("editMessageText", 2)
        assert path.read_bytes() == original  # byte for byte

        asked = len(sent_to(api, CITIZEN))
        api.add_update(updates.message("Where is your office?", sender=CITIZEN))
        await api.wait_until(lambda: len(sent_to(api, CITIZEN)) > asked)
        reply = html_to_plain(str(last_to(api, CITIZEN).params["text"]))
        assert "Our office is at" in reply
        assert "second floor" not in reply
    history = audit.history()
    assert [(r.action, r.state) for r in history] == [("undo", "applied"), ("upload", "undone")]
    assert history[1].changed_by == "Drita (7001)"
    assert "+  - id: opening-hours" in history[1].diff


async def test_faq_lists_answers_waiting_for_a_fact_and_dated_ones(
    settings: Settings, fake_api: FakeBotApi, audit: AuditStore, updates: UpdateFactory
) -> None:
    soon = (datetime.now(TIRANE).date() + timedelta(days=5)).isoformat()
    long_ago = (datetime.now(TIRANE).date() - timedelta(days=400)).isoformat()
    path = contact_file(settings)
    path.write_text(
        path.read_text()
        .replace(
            "  - id: phone-number\n",
            f'  - id: phone-number\n    unknown: "the mobile number of the help desk"\n'
            f"    expires: {soon}\n",
        )
        .replace("  - id: office-address\n", f"  - id: office-address\n    reviewed: {long_ago}\n")
    )
    dialog, holder = build_dialog(settings)
    application = build_application(
        settings, TOKEN, dialog, holder, faq_audit=audit, request=FakeBotApiRequest(fake_api)
    )
    async with application:
        parsed = Update.de_json(
            {"update_id": 1, **updates.command("/faq", sender=ADMIN)}, application.bot
        )
        await application.process_update(parsed)

    text = html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    waiting = text.split("Answers waiting for a fact")[1]
    assert "• phone-number: the mobile number of the help desk" in waiting
    dated = text.split("Expired, expiring or due for review")[1]
    assert f"• phone-number: expires on {soon}" in dated
    assert f"• office-address: last reviewed on {long_ago}" in dated


# ----- sending a file ------------------------------------------------------------------------


async def test_a_file_with_an_error_gets_file_and_line_as_lint_prints_them_and_changes_nothing(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory, settings: Settings
) -> None:
    path = contact_file(settings)
    original = path.read_bytes()
    broken = original.replace(
        b'    answer:\n      en: "Call us', b'    anwser:\n      en: "Call us'
    )
    assert broken != original

    await handle_desk(send_document(fake_api, updates, broken, "contact.yaml", ADMIN))

    reply = last_to(fake_api, ADMIN)
    text = html_to_plain(str(reply.params["text"]))
    assert "contact.yaml was not saved" in text
    line = broken.decode().splitlines().index("    anwser:") + 1
    assert f"faq/contact.yaml:{line}: [phone-number] error:" in text
    assert "'anwser'" in text
    assert not actions(reply.params)  # nothing to apply
    assert path.read_bytes() == original


async def test_a_lint_error_across_files_is_refused_too(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory, settings: Settings
) -> None:
    """A new file whose question takes over another entry's: an error only the whole base
    shows (lint's, not the loader's)."""
    path = settings.faq_dir / "extra.yaml"
    thief = (
        "category: {en: Extra, sq: Shtesë}\nentries:\n"
        '  - id: thief\n    questions:\n      en: ["What is your phone number?"]\n'
        '    answer:\n      en: "Something else."\n'
    ).encode()

    await handle_desk(send_document(fake_api, updates, thief, "extra.yaml", ADMIN))

    text = html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    assert "extra.yaml was not saved" in text
    assert "faq/extra.yaml:" in text
    assert "takes over" in text
    assert not path.exists()


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"x: 1\n" * 220_000, "contact.yaml", "at most 1 MB"),
        ("category: Kontakti\n".encode("cp1250") + b"\xeb\xe7\n", "contact.yaml", "not UTF-8"),
        (b"entries: [\n", "contact.yaml", "contact.yaml:2: not valid YAML"),
        (b"entries: []\n", "contact.txt", "send a .yaml file"),
        (b"entries: []\n", "../config.yaml", "send a .yaml file"),
    ],
)
async def test_a_document_too_big_or_not_utf8_yaml_is_refused_clearly(
    handle_desk: Handle,
    fake_api: FakeBotApi,
    updates: UpdateFactory,
    settings: Settings,
    content: bytes,
    name: str,
    expected: str,
) -> None:
    files = {p.name: p.read_bytes() for p in settings.faq_dir.iterdir()}

    await handle_desk(send_document(fake_api, updates, content, name, ADMIN))

    text = html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    assert text.startswith("❌ Not saved:")
    assert expected in text
    assert {p.name: p.read_bytes() for p in settings.faq_dir.iterdir()} == files


async def test_a_big_document_is_refused_before_it_is_downloaded(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    await handle_desk(send_document(fake_api, updates, b"#" * 1_048_577, "contact.yaml", ADMIN))

    assert "at most 1 MB" in html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    assert fake_api.calls_of("getFile") == []
    assert fake_api.downloads == 0


async def test_a_file_changed_on_the_server_since_the_admin_got_it_is_refused_with_the_diff(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory, settings: Settings
) -> None:
    path = contact_file(settings)
    await handle_desk(updates.command("/faq", sender=ADMIN))
    overview = last_to(fake_api, ADMIN)
    await handle_desk(updates.callback("fq:g:contact.yaml", on=overview.result, sender=ADMIN))
    got = fake_api.documents(ADMIN["id"])[-1].content
    on_server = path.read_text().replace("office address", "office address please")
    path.write_text(on_server)  # a colleague's edit over SSH

    mine = got.replace(OLD_ANSWER_EN.encode(), NEW_ANSWER_EN.encode())
    await handle_desk(send_document(fake_api, updates, mine, "contact.yaml", ADMIN))

    text = html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    assert "changed since you started this edit" in text
    assert "+        - office address please" in text  # what to merge by hand
    assert path.read_text() == on_server

    merged = on_server.replace(OLD_ANSWER_EN, NEW_ANSWER_EN).encode()
    await handle_desk(send_document(fake_api, updates, merged, "contact.yaml", ADMIN))
    summary = last_to(fake_api, ADMIN)
    assert "0 added, 0 removed, 1 changed" in html_to_plain(str(summary.params["text"]))
    await handle_desk(
        updates.callback(action_starting(summary.params, "fq:a:"), on=summary.result, sender=ADMIN)
    )
    assert path.read_bytes() == merged


async def test_apply_is_refused_when_the_file_changed_while_the_change_waited(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory, settings: Settings
) -> None:
    path = contact_file(settings)
    mine = path.read_bytes().replace(OLD_ANSWER_EN.encode(), NEW_ANSWER_EN.encode())
    await handle_desk(send_document(fake_api, updates, mine, "contact.yaml", ADMIN))
    summary = last_to(fake_api, ADMIN)
    theirs = path.read_bytes().replace(b"telephone", b"telephone number")
    await handle_desk(send_document(fake_api, updates, theirs, "contact.yaml", OTHER_ADMIN))
    other_summary = last_to(fake_api, OTHER_ADMIN)
    await handle_desk(
        updates.callback(
            action_starting(other_summary.params, "fq:a:"),
            on=other_summary.result,
            sender=OTHER_ADMIN,
        )
    )
    assert path.read_bytes() == theirs

    await handle_desk(
        updates.callback(action_starting(summary.params, "fq:a:"), on=summary.result, sender=ADMIN)
    )

    text = html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    assert "changed since you started this edit" in text
    assert "+        - telephone number" in text
    assert path.read_bytes() == theirs


async def test_only_the_admin_who_sent_a_file_can_apply_it(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory, settings: Settings
) -> None:
    path = contact_file(settings)
    original = path.read_bytes()
    mine = original.replace(OLD_ANSWER_EN.encode(), NEW_ANSWER_EN.encode())
    await handle_desk(send_document(fake_api, updates, mine, "contact.yaml", ADMIN))
    summary = last_to(fake_api, ADMIN)

    await handle_desk(
        updates.callback(
            action_starting(summary.params, "fq:a:"), on=summary.result, sender=OTHER_ADMIN
        )
    )

    assert path.read_bytes() == original
    (alert,) = fake_api.calls_of("answerCallbackQuery")
    assert "no longer waiting" in alert.params["text"]


# ----- /edit ------------------------------------------------------------------------------


async def test_edit_of_an_albanian_answer_keeps_every_other_byte_of_the_file(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory, settings: Settings
) -> None:
    path = contact_file(settings)
    original = path.read_text()
    new_answer = "Zyra jonë është në {address}, në katin e dytë; <b>hyrja</b> nga oborri."

    await handle_desk(updates.command("/edit office-address", sender=ADMIN))
    card = last_to(fake_api, ADMIN)
    card_text = html_to_plain(str(card.params["text"]))
    assert "Zyra jonë ndodhet në {address}." in card_text
    assert "Our office is at {address}." in card_text
    await handle_desk(updates.callback("fq:l:sq:office-address", on=card.result, sender=ADMIN))
    assert "in Albanian" in html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    await handle_desk(updates.message(new_answer, sender=ADMIN))

    preview, confirm = sent_to(fake_api, ADMIN)[-2:]
    assert preview.params["text"] == (  # the address filled in, escaped as users get it
        "Zyra jonë është në Rruga &quot;Frosina Plaku&quot; Nr. 58, Tiranë, në katin e dytë; "
        "<b>hyrja</b> nga oborri."
    )
    assert f"reviewed: becomes {today()}" in html_to_plain(str(confirm.params["text"]))
    assert path.read_text() == original  # nothing written before Save
    await handle_desk(
        updates.callback(action_starting(confirm.params, "fq:a:"), on=confirm.result, sender=ADMIN)
    )

    expected = original.replace(
        '      sq: "Zyra jonë ndodhet në {address}."\n', f'      sq: "{new_answer}"\n'
    ).replace("  - id: office-address\n", f"  - id: office-address\n    reviewed: {today()}\n")
    assert path.read_text() == expected
    saved = fake_api.calls_of("editMessageText")[-1]
    assert f"reviewed: {today()}" in html_to_plain(str(saved.params["text"]))
    await handle_desk(updates.message("Ku ndodhet zyra?", sender=CITIZEN))
    assert "katin e dytë" in str(last_to(fake_api, CITIZEN).params["text"])

    await handle_desk(
        updates.callback(action_starting(saved.params, "fq:u:"), on=confirm.result, sender=ADMIN)
    )
    assert path.read_text() == original


async def test_an_answer_with_broken_html_or_an_unknown_placeholder_is_not_saved(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory, settings: Settings
) -> None:
    path = contact_file(settings)
    original = path.read_bytes()
    await handle_desk(updates.command("/edit phone-number", sender=ADMIN))
    card = last_to(fake_api, ADMIN)
    await handle_desk(updates.callback("fq:l:en:phone-number", on=card.result, sender=ADMIN))

    await handle_desk(updates.message("Call <b>us on {fone}", sender=ADMIN))
    text = html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    assert "this answer has errors" in text
    assert "unknown placeholder {fone}" in text
    assert path.read_bytes() == original

    # Still waiting for the answer: the corrected text goes through.
    await handle_desk(updates.message("Call us on {phone}.", sender=ADMIN))
    preview, confirm = sent_to(fake_api, ADMIN)[-2:]
    assert preview.params["text"] == "Call us on 04 22 355 69."
    assert any(a.startswith("fq:a:") for a in actions(confirm.params))


async def test_a_second_admin_saving_the_same_file_is_refused_with_the_first_ones_change(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory, settings: Settings
) -> None:
    path = contact_file(settings)
    for admin in (ADMIN, OTHER_ADMIN):
        await handle_desk(updates.command("/edit phone-number", sender=admin))
        card = last_to(fake_api, admin)
        await handle_desk(updates.callback("fq:l:en:phone-number", on=card.result, sender=admin))
    await handle_desk(updates.message("Call us on {phone}, weekdays.", sender=ADMIN))
    confirm = last_to(fake_api, ADMIN)
    await handle_desk(
        updates.callback(action_starting(confirm.params, "fq:a:"), on=confirm.result, sender=ADMIN)
    )
    first = path.read_bytes()

    await handle_desk(updates.message("Ring us on {phone}.", sender=OTHER_ADMIN))

    text = html_to_plain(str(last_to(fake_api, OTHER_ADMIN).params["text"]))
    assert "changed since you started this edit" in text
    assert '+      en: "Call us on {phone}, weekdays."' in text
    assert path.read_bytes() == first


async def test_answers_an_admin_gets_carry_an_edit_button_and_a_users_do_not(
    handle_desk: Handle, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    await handle_desk(updates.message("Where is your office?", sender=ADMIN))
    admin_answer = last_to(fake_api, ADMIN)
    assert "fq:e:office-address" in actions(admin_answer.params)
    await handle_desk(updates.message("Where is your office?", sender=CITIZEN))
    assert not any(a.startswith("fq:") for a in actions(last_to(fake_api, CITIZEN).params))

    await handle_desk(updates.callback("fq:e:office-address", on=admin_answer.result, sender=ADMIN))
    card = last_to(fake_api, ADMIN)
    assert "fq:l:sq:office-address" in actions(card.params)
    assert "fq:l:en:office-address" in actions(card.params)


# ----- /reviewed and the history ---------------------------------------------------------------


async def test_reviewed_marks_the_answer_checked_today_and_the_history_shows_it(
    handle_desk: Handle,
    fake_api: FakeBotApi,
    updates: UpdateFactory,
    settings: Settings,
    audit: AuditStore,
) -> None:
    path = contact_file(settings)
    original = path.read_text()

    await handle_desk(updates.command("/reviewed phone-number", sender=ADMIN))

    assert path.read_text() == original.replace(
        "  - id: phone-number\n", f"  - id: phone-number\n    reviewed: {today()}\n"
    )
    reply = last_to(fake_api, ADMIN)
    assert "phone-number marked as checked today" in html_to_plain(str(reply.params["text"]))
    await handle_desk(updates.command("/faq history", sender=ADMIN))
    history = html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
    assert "marked as checked contact.yaml [phone-number], by Drita (7001): in place" in history


# ----- reminders ------------------------------------------------------------------------------


async def test_the_expiry_reminder_is_sent_once_even_after_a_restart(
    settings: Settings, fake_api: FakeBotApi, audit: AuditStore
) -> None:
    soon = (datetime.now(TIRANE).date() + timedelta(days=3)).isoformat()
    path = contact_file(settings)
    path.write_text(
        path.read_text().replace(
            "  - id: phone-number\n", f"  - id: phone-number\n    expires: {soon}\n"
        )
    )
    for _restart in range(2):
        with AuditStore(settings.question_log_path) as store:
            dialog, holder = build_dialog(settings)
            application = build_application(
                settings,
                TOKEN,
                dialog,
                holder,
                faq_audit=store,
                request=FakeBotApiRequest(fake_api),
            )
            async with application:
                await send_reminders(application)
                await send_reminders(application)

    # Admins who never chose a language are told in the default one, Albanian.
    reminders = [t for t in fake_api.sent_texts() if "skadon më" in t]
    assert sorted(c.params["chat_id"] for c in fake_api.calls_of("sendMessage")) == [
        ADMIN["id"],
        OTHER_ADMIN["id"],
    ]
    assert len(reminders) == 2
    assert f"phone-number</b> (contact.yaml) skadon më {soon}" in reminders[0]


async def test_each_admin_is_reminded_weekly_of_stale_answers_in_their_own_language(
    settings: Settings, fake_api: FakeBotApi, audit: AuditStore
) -> None:
    long_ago = (datetime.now(TIRANE).date() - timedelta(days=800)).isoformat()
    path = contact_file(settings)
    path.write_text(
        path.read_text().replace(
            "  - id: phone-number\n", f"  - id: phone-number\n    reviewed: {long_ago}\n"
        )
    )
    dialog, holder = build_dialog(settings)
    application = build_application(
        settings, TOKEN, dialog, holder, faq_audit=audit, request=FakeBotApiRequest(fake_api)
    )
    application.bot_data["services"].prefs.choose_language(ADMIN["id"], "en")
    async with application:
        assert await send_reminders(application) == 2  # one for each admin
        assert await send_reminders(application) == 0  # the rest of the week: nothing

    (english,) = [str(c.params["text"]) for c in sent_to(fake_api, ADMIN)]
    (albanian,) = [str(c.params["text"]) for c in sent_to(fake_api, OTHER_ADMIN)]
    assert "Answers not reviewed for more than 365 days" in english
    assert f"phone-number</code>: last reviewed on {long_ago}" in english
    assert "Përgjigje të parishikuara prej më shumë se 365 ditësh" in albanian
    assert f"phone-number</code>: rishikuar për herë të fundit më {long_ago}" in albanian


async def test_admins_have_the_desk_in_their_command_menu_and_nobody_else_does(
    desk_app: TelegramApplication, fake_api: FakeBotApi
) -> None:
    menus = fake_api.calls_of("setMyCommands")
    for_admins = [c for c in menus if (c.params.get("scope") or {}).get("type") == "chat"]
    assert for_admins
    for call in menus:
        names = {c["command"] for c in call.params["commands"]}
        if call in for_admins:
            assert {"faq", "edit", "reviewed"} <= names
        else:
            assert not {"faq", "edit", "reviewed"} & names


# ----- everyone else ------------------------------------------------------------------------


async def test_a_non_admin_gets_nothing_of_the_desk_forged_callbacks_included(
    handle_desk: Handle,
    fake_api: FakeBotApi,
    updates: UpdateFactory,
    settings: Settings,
    audit: AuditStore,
) -> None:
    files = {p.name: p.read_bytes() for p in settings.faq_dir.iterdir()}
    # An admin's pending change, which a forged Apply must not reach.
    mine = contact_file(settings).read_bytes().replace(b"telephone", b"telephone line")
    await handle_desk(send_document(fake_api, updates, mine, "contact.yaml", ADMIN))
    token = action_starting(last_to(fake_api, ADMIN).params, "fq:a:").removeprefix("fq:a:")
    downloads = fake_api.downloads

    await handle_desk(updates.command("/faq", sender=CITIZEN))
    topics = html_to_plain(str(last_to(fake_api, CITIZEN).params["text"]))
    assert "contact.yaml" not in topics  # the users' /faq: the topics
    assert not any(a.startswith("fq:") for a in actions(last_to(fake_api, CITIZEN).params))
    for command in ("/edit office-address", "/reviewed office-address", "/faq history"):
        await handle_desk(updates.command(command, sender=CITIZEN))
        assert "office-address" not in str(last_to(fake_api, CITIZEN).params["text"])
    await handle_desk(send_document(fake_api, updates, mine, "contact.yaml", CITIZEN))
    assert "contact.yaml" not in str(last_to(fake_api, CITIZEN).params["text"])
    on = last_to(fake_api, CITIZEN).result
    before_calls = len(fake_api.calls)
    for forged in (
        "fq:g:contact.yaml",
        f"fq:a:{token}",
        "fq:u:1",
        "fq:r:office-address",
        "fq:l:en:office-address",
        "fq:e:office-address",
    ):
        await handle_desk(updates.callback(forged, on=on, sender=CITIZEN))
    await handle_desk(updates.message("My new answer for everyone", sender=CITIZEN))

    later = fake_api.calls[before_calls:]
    answers = [c for c in later if c.method == "answerCallbackQuery"]
    assert len(answers) == 6
    assert all("text" not in c.params for c in answers)
    assert not [c for c in later if c.method in ("sendDocument", "editMessageText")]
    assert all("fq:" not in str(c.params) for c in later if c.method == "sendMessage")
    assert {p.name: p.read_bytes() for p in settings.faq_dir.iterdir()} == files
    assert audit.history() == []
    assert fake_api.downloads == downloads  # the citizen's document was never fetched


async def test_the_overview_of_the_shipped_faq_is_valid_telegram_html_with_every_file(
    tmp_path: Path, fake_api: FakeBotApi, updates: UpdateFactory
) -> None:
    """The fake refuses HTML Telegram would not parse and texts over 4,096 characters."""
    shipped = load_settings(REPO / "config.yaml", environ={"BOT_ADMIN_IDS": str(ADMIN["id"])})
    settings = replace(shipped, question_log_path=tmp_path / "questions.sqlite3")
    dialog, holder = build_dialog(settings)
    application = build_application(
        settings, TOKEN, dialog, holder, request=FakeBotApiRequest(fake_api)
    )
    async with application:
        parsed = Update.de_json(
            {"update_id": 1, **updates.command("/faq", sender=ADMIN)}, application.bot
        )
        await application.process_update(parsed)

    sent = sent_to(fake_api, ADMIN)
    assert sent
    assert all(c.ok for c in fake_api.calls)
    buttons = actions(sent[-1].params)
    for name in SHIPPED_FILES:
        assert f"fq:g:{name}" in buttons


async def test_an_admin_replying_to_the_edit_prompt_with_hand_off_on_gets_the_new_answer_checked(
    settings: Settings, fake_api: FakeBotApi, updates: UpdateFactory, audit: AuditStore
) -> None:
    """With hand-off on, a Telegram reply is first offered to the ticket replies; a reply to
    the desk's own prompt is no ticket's, and must still reach the waiting /edit rather than
    be answered as a question."""
    live = replace(settings, handoff=HandoffSettings(staff_chat_id=-1009876543210))
    dialog, holder = build_dialog(live)
    with TicketStore(live.question_log_path, key=b"t" * 32) as tickets:
        application = build_application(
            live,
            TOKEN,
            dialog,
            holder,
            faq_audit=audit,
            tickets=tickets,
            request=FakeBotApiRequest(fake_api),
        )
        async with application:
            await post_init(application)
            update_ids = itertools.count(1)

            async def handle(update: dict[str, Any]) -> None:
                parsed = Update.de_json({"update_id": next(update_ids), **update}, application.bot)
                await application.update_processor.process_update(
                    parsed, application.process_update(parsed)
                )

            await handle(updates.command("/edit office-address", sender=ADMIN))
            card = last_to(fake_api, ADMIN)
            await handle(updates.callback("fq:l:en:office-address", on=card.result, sender=ADMIN))
            prompt = last_to(fake_api, ADMIN)
            await handle(
                updates.message(
                    "We moved: {address}, second floor.", sender=ADMIN, reply_to=prompt.result
                )
            )

    preview = sent_to(fake_api, ADMIN)[-2]
    assert html_to_plain(str(preview.params["text"])).endswith(", second floor.")
    assert "reviewed: becomes" in html_to_plain(str(last_to(fake_api, ADMIN).params["text"]))
