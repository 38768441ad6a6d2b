"""The dialog turns a match, a command or a button into the Reply every adapter renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.dialog import CALLBACK_DATA_LIMIT, COMMANDS, Dialog, Reply, topic_token
from bot.core.telegram_html import html_problems, html_to_plain
from tests.factories import make_dialog


@pytest.fixture
def dialog(tmp_path: Path) -> Dialog:
    return make_dialog(tmp_path)[0]


def actions(reply: Reply) -> list[str]:
    return [b.action for row in reply.buttons for b in row if b.action]


def urls(reply: Reply) -> list[str]:
    return [b.url for row in reply.buttons for b in row if b.url]


def test_a_clear_question_gets_its_answer_with_link_and_related_buttons(dialog: Dialog) -> None:
    reply = dialog.reply_to_question("office address")
    assert reply.kind == "answer"
    assert reply.entry_id == "office-address"
    assert "Frosina Plaku" in html_to_plain(reply.text)
    assert any("google.com/maps" in url for url in urls(reply))
    assert "e:phone-number" in actions(reply)
    assert reply.ask_feedback


def test_reply_language_follows_an_albanian_question(dialog: Dialog) -> None:
    reply = dialog.reply_to_question("numri i telefonit")
    assert reply.entry_id == "phone-number"
    assert reply.lang == "sq"
    assert "Na telefononi" in reply.text


def test_a_clearly_albanian_question_is_answered_in_albanian_whatever_was_chosen(
    dialog: Dialog,
) -> None:
    reply = dialog.reply_to_question("numri i telefonit", chosen_lang="en")
    assert reply.lang == "sq"
    assert "Na telefononi" in reply.text


def test_a_clearly_english_question_is_answered_in_english_whatever_was_chosen(
    dialog: Dialog,
) -> None:
    reply = dialog.reply_to_question("what is your phone number", chosen_lang="sq")
    assert reply.lang == "en"
    assert reply.text.startswith("Call us")


@pytest.mark.parametrize("chosen", ["sq", "en"])
def test_the_chosen_language_decides_a_question_with_no_clear_language(
    dialog: Dialog, chosen: str
) -> None:
    # Digits, a chat abbreviation: nothing tells the language, so /language decides.
    reply = dialog.reply_to_question("tel 2019", chosen_lang=chosen)
    assert reply.lang == chosen


def test_the_command_lines_forced_language_beats_the_questions(dialog: Dialog) -> None:
    reply = dialog.reply_to_question("numri i telefonit", forced_lang="en")
    assert reply.lang == "en"
    assert reply.text.startswith("Call us")


def test_nonsense_gets_an_apology_with_contacts_and_no_answer(dialog: Dialog) -> None:
    reply = dialog.reply_to_question("zzzz qqqq xxxx")
    assert reply.kind in ("fallback", "suggest")
    assert reply.entry_id is None
    if reply.kind == "fallback":
        assert "04 22 355 69" in reply.text
        assert "info@amshc.gov.al" in reply.text
        assert "t" in actions(reply)


def test_empty_or_emoji_only_message_asks_for_words(dialog: Dialog) -> None:
    for text in ("", "   ", "🙂🙂", "?!..."):
        reply = dialog.reply_to_question(text, hint_lang="en")
        assert reply.kind == "prompt"
        assert reply.lang == "en"
        assert "question" in reply.text


def test_very_long_message_is_answered_from_its_beginning(dialog: Dialog) -> None:
    reply = dialog.reply_to_question("office address " + "blah " * 800, hint_lang="en")
    assert len(reply.text) < 4096
    assert "long message" in html_to_plain(reply.text)


def test_html_looking_question_is_never_echoed_raw(dialog: Dialog) -> None:
    reply = dialog.reply_to_question("<b>office</b> <script>alert(1)</script> address")
    assert "<script>" not in reply.text
    assert html_problems(reply.text) == []


def test_suggestions_offer_entries_as_buttons(dialog: Dialog) -> None:
    from bot.core.matcher import Candidate, Match

    snapshot = dialog.knowledge()
    match = Match(
        "suggest",
        (Candidate("office-address", 40), Candidate("phone-number", 38)),
        Candidate("office-address", 40),
        "en",
    )
    reply = dialog._reply_to_match(match, "en", snapshot.knowledge)
    assert reply.kind == "suggest"
    assert actions(reply)[:2] == ["e:office-address", "e:phone-number"]
    assert "Did you mean" in reply.text


def test_deep_link_payload_opens_that_entry(dialog: Dialog) -> None:
    reply = dialog.welcome("en", payload="grant-types")
    assert reply.entry_id == "grant-types"
    assert "Grants" in reply.text


def test_unknown_deep_link_payload_shows_the_welcome(dialog: Dialog) -> None:
    reply = dialog.welcome("sq", payload="no-such-entry")
    assert reply.kind == "welcome"
    assert set(actions(reply)) >= {"m:ask", "t", "m:contact", "m:register", "m:language"}


def test_browsing_goes_from_topics_to_entries_and_back(dialog: Dialog) -> None:
    topics = dialog.topics("en")
    contact, grants = topic_token("contact"), topic_token("grants")
    assert actions(topics)[:2] == [f"c:{contact}:0", f"c:{grants}:0"]
    category = dialog.handle_action(f"c:{contact}:0", "en")
    assert category is not None
    assert category.replace_previous
    assert actions(category) == ["e:office-address", "e:phone-number", "t"]
    entry = dialog.handle_action("e:phone-number", "en")
    assert entry is not None
    assert entry.entry_id == "phone-number"


def test_long_categories_are_paged(tmp_path: Path) -> None:
    entries = "\n".join(
        f"  - id: q{i}\n    questions:\n      en: [question number {i}]\n"
        f"    answer:\n      en: Answer {i}."
        for i in range(14)
    )
    dialog, _ = make_dialog(tmp_path, {"many.yaml": "entries:\n" + entries + "\n"})
    first = dialog.category("many", 0, "en")
    assert f"c:{topic_token('many')}:1" in actions(first)
    assert "(1/3)" in first.text
    last = dialog.category("many", 2, "en")
    assert f"c:{topic_token('many')}:1" in actions(last)
    assert [a for a in actions(last) if a.startswith("e:")] == ["e:q12", "e:q13"]


def test_contact_has_card_buttons_and_no_venue_without_coordinates(dialog: Dialog) -> None:
    reply = dialog.contact("en")
    assert reply.contact_card is not None
    assert reply.contact_card.phone_number == "+355 4 22 355 69"
    assert reply.venue is None
    assert "Frosina Plaku" in html_to_plain(reply.text)
    assert all(url.startswith("https://") for url in urls(reply))


def test_contact_includes_a_venue_when_coordinates_are_configured(tmp_path: Path) -> None:
    from tests.factories import settings_mapping

    agency = settings_mapping(tmp_path / "faq")["agency"]
    agency["coordinates"] = {"latitude": 41.3, "longitude": 19.8}
    dialog, _ = make_dialog(tmp_path, agency=agency)
    venue = dialog.contact("sq").venue
    assert venue is not None
    assert (venue.latitude, venue.longitude) == (41.3, 19.8)


def test_register_has_the_registration_link_as_a_button(dialog: Dialog) -> None:
    reply = dialog.register("sq")
    assert reply.kind == "register"
    assert urls(reply) == ["https://www.amshc.gov.al"]


def test_language_choice_is_an_effect_for_the_adapter(dialog: Dialog) -> None:
    menu = dialog.language_menu("sq")
    assert set(actions(menu)) == {"l:sq", "l:en"}
    chosen = dialog.handle_action("l:en", "sq")
    assert chosen is not None
    assert (chosen.chosen_language, chosen.lang) == ("en", "en")


def test_feedback_vote_is_an_effect_with_the_question_id(dialog: Dialog) -> None:
    yes, no = dialog.feedback_buttons("en", "abc123")
    assert (yes.action, no.action) == ("f:y:abc123", "f:n:abc123")
    reply = dialog.handle_action("f:n:abc123", "en")
    assert reply is not None
    assert reply.feedback_vote == ("abc123", False)


def test_help_lists_every_command(dialog: Dialog) -> None:
    text = dialog.help("en").text
    for command in COMMANDS:
        assert f"/{command}" in text
    assert [name for name, _ in dialog.command_descriptions("sq")] == list(COMMANDS)


def test_unknown_or_stale_action_is_none(dialog: Dialog) -> None:
    assert dialog.handle_action("zz:1", "en") is None
    stale = dialog.handle_action("e:deleted-entry", "en")
    assert stale is not None
    assert stale.kind == "topics"


def test_every_button_fits_telegrams_callback_data_limit(dialog: Dialog) -> None:
    replies = [
        dialog.welcome("en"),
        dialog.topics("en"),
        dialog.category("contact", 0, "en"),
        dialog.reply_to_question("office address"),
        dialog.language_menu("en"),
    ]
    replies.append(Reply("x", "en", "answer", (dialog.feedback_buttons("en", "x" * 16),)))
    for reply in replies:
        for action in actions(reply):
            assert len(action.encode()) <= CALLBACK_DATA_LIMIT


def test_every_reply_is_html_telegram_accepts(dialog: Dialog) -> None:
    for lang in ("en", "sq"):
        replies = [
            dialog.welcome(lang),
            dialog.help(lang),
            dialog.contact(lang),
            dialog.register(lang),
            dialog.topics(lang),
            dialog.language_menu(lang),
            dialog.unsupported_message(lang),
            dialog.flood_notice(lang),
            dialog.reply_to_question("zzzz qqqq", chosen_lang=lang),
        ]
        for reply in replies:
            assert html_problems(reply.text) == [], (reply.kind, reply.text)


def test_inline_search_lists_matching_entries(dialog: Dialog) -> None:
    results = dialog.search("phone number")
    assert results[0].entry_id == "phone-number"
    assert results[0].description
    assert dialog.search("")  # an empty inline query still offers something


def test_a_question_about_a_subject_not_in_the_base_gets_the_contacts_not_an_answer(
    tmp_path: Path,
) -> None:
    from tests.factories import CONTACT_FAQ, GRANTS_FAQ

    glossary = "synonyms:\n  - [telefon, phone]\nnot_in_base:\n  - drejtor\n  - director\n"
    dialog, _ = make_dialog(
        tmp_path,
        {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ, "synonyms.yaml": glossary},
    )
    for question, lang in (
        ("cili eshte numri i telefonit te drejtorit", "sq"),
        ("what is the director's phone number", "en"),
    ):
        reply = dialog.reply_to_question(question)
        assert (reply.kind, reply.lang) == ("fallback", lang), question
        text = html_to_plain(reply.text)
        assert "04 22 355 69" in text
        assert "info@amshc.gov.al" in text
        assert "m:contact" in actions(reply)
