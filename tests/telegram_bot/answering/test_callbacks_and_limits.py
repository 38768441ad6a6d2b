"""What a client may send the bot and what Telegram accepts from it: every button press is
answered (forged data included), topic buttons fit Telegram's 64 bytes whatever the topic's
file name, and every reply fits Telegram's 4,096 characters whatever is prepended to it.

Through the real python-telegram-bot Application and the in-process fake Bot API, which
refuses what Telegram would refuse (long callback data, long messages).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, settings_from_mapping
from bot.core.dialog import LONG_QUESTION_CHARS
from bot.core.telegram_html import MESSAGE_LIMIT, html_to_plain
from tests.conftest import COORDINATES, TEST_FAQ, FakeClock, Handle
from tests.factories import settings_mapping, write_faq
from tests.fake_bot_api import FakeBotApi, UpdateFactory, actions, user

ENGLISH = user(1001, "en")
LONG_TOPIC_FILE = "udhëzime-të-hollësishme-për-regjistrimin-e-organizatave-jofitimprurëse.yaml"
LONG_TOPIC_FAQ = """\
category:
  en: Detailed registration guide
  sq: Udhëzime të hollësishme
entries:
  - id: registration-guide
    questions:
      en: ["What is the detailed registration guide?"]
      sq: ["Cili është udhëzuesi i hollësishëm i regjistrimit?"]
    answer:
      en: "Read the guide on the website."
      sq: "Lexoni udhëzuesin në faqe."
"""
# An answer of 4,090 characters as users read it: paragraphs with bold words and entities.
PARAGRAPH = "<b>Step</b> one &amp; two: " + "bring the statute and the court decision. " * 9
LONG_ANSWER_CHARS = 4090


def _long_answer() -> str:
    paragraphs = [PARAGRAPH]
    while len(html_to_plain("\n\n".join([*paragraphs, PARAGRAPH]))) < LONG_ANSWER_CHARS:
        paragraphs.append(PARAGRAPH)
    text = "\n\n".join(paragraphs) + "\n\nEnd"
    return text + "." * (LONG_ANSWER_CHARS - len(html_to_plain(text)))


LONG_ANSWER = _long_answer()
LONG_ANSWER_YAML = LONG_ANSWER.replace("\n", "\\n")
LONG_ANSWER_FAQ = f"""\
category:
  en: Procedure
  sq: Procedura
entries:
  - id: full-procedure
    questions:
      en: ["What is the full registration procedure step by step?"]
      sq: ["Cila është procedura e plotë e regjistrimit hap pas hapi?"]
    answer:
      en: "{LONG_ANSWER_YAML}"
      sq: "Procedura e plotë."
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    mapping: dict[str, Any] = settings_mapping(tmp_path / "faq")
    mapping["agency"]["coordinates"] = COORDINATES
    loaded = settings_from_mapping(mapping, base_dir=tmp_path)
    write_faq(
        loaded.faq_dir,
        {**TEST_FAQ, LONG_TOPIC_FILE: LONG_TOPIC_FAQ, "procedure.yaml": LONG_ANSWER_FAQ},
    )
    return loaded


def test_the_long_answer_is_as_long_as_intended() -> None:
    assert len(html_to_plain(LONG_ANSWER)) == LONG_ANSWER_CHARS <= MESSAGE_LIMIT


async def test_a_topic_with_a_long_file_name_can_be_listed_and_opened(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    assert len(LONG_TOPIC_FILE.encode()) > 64
    await handle(updates.command("/topics", sender=ENGLISH))
    [menu] = fake_api.calls_of("sendMessage")
    labels = [b["text"] for row in menu.params["reply_markup"]["inline_keyboard"] for b in row]
    assert "Detailed registration guide" in labels
    topic = next(
        b["callback_data"]
        for row in menu.params["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == "Detailed registration guide"
    )
    await handle(updates.callback(topic, on=menu.result, sender=ENGLISH))
    [opened] = fake_api.calls_of("editMessageText")
    assert "e:registration-guide" in actions(opened.params)


FORGED = [
    "c:about:²",
    "c:contact:١٢",
    "c:contact:99999999999999999999999",
    "c:",
    "c::",
    "c:" + "x" * 62,
    "e:",
    "e:" + "ë" * 31,
    "l:²",
    "f:y:",
    "f:",
    "m:nothing",
    "",
    "\x00\x01",
    ":::::",
]


async def test_every_forged_button_is_answered_and_nothing_breaks(
    handle: Handle,
    updates: UpdateFactory,
    fake_api: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
    clock: FakeClock,
) -> None:
    await handle(updates.command("/topics", sender=ENGLISH))
    menu = fake_api.calls_of("sendMessage")[-1]
    for data in FORGED:
        clock.advance(60)  # stay under the flood limit
        await handle(updates.callback(data, on=menu.result, sender=ENGLISH))
    assert len(fake_api.calls_of("answerCallbackQuery")) == len(FORGED)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_button_presses_over_the_flood_limit_are_still_answered(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi, settings: Settings
) -> None:
    await handle(updates.command("/topics", sender=ENGLISH))
    menu = fake_api.calls_of("sendMessage")[-1]
    presses = settings.telegram.flood_limit_per_minute + 5
    for _ in range(presses):
        await handle(updates.callback("t", on=menu.result, sender=ENGLISH))
    assert len(fake_api.calls_of("answerCallbackQuery")) == presses


async def test_a_long_question_about_a_long_answer_fits_telegrams_limit(
    handle: Handle, updates: UpdateFactory, fake_api: FakeBotApi
) -> None:
    question = "What is the full registration procedure step by step? " + "please " * 80
    assert len(question) > LONG_QUESTION_CHARS
    await handle(updates.message(question, sender=ENGLISH))
    refused = [c for c in fake_api.calls if not c.ok]
    assert not refused, [(c.method, c.error) for c in refused]
    sent = fake_api.calls_of("sendMessage")
    assert len(sent) >= 2
    read = "\n".join(html_to_plain(str(c.params["text"])) for c in sent)
    # Nothing of the answer is lost, and the notice about the long question is there.
    assert " ".join(html_to_plain(LONG_ANSWER).split()) in " ".join(read.split())
    assert "long" in html_to_plain(str(sent[0].params["text"])).lower()
    # The buttons (helpful? yes / no) come with the last part.
    assert any(a.startswith("f:y:") for a in actions(sent[-1].params))
    assert all("reply_markup" not in c.params for c in sent[:-1])
