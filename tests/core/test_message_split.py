"""A reply over Telegram's 4,096 characters goes out in parts that each fit and each parse,
cut at the most natural place, losing nothing."""

from __future__ import annotations

import pytest

from bot.core.telegram_html import (
    MESSAGE_LIMIT,
    html_problems,
    html_to_plain,
    shorten,
    split_message,
    without_format_controls,
)


def words(text: str) -> list[str]:
    return html_to_plain(text).split()


def test_a_message_within_the_limit_is_left_alone() -> None:
    text = "<b>Hello</b> &amp; welcome\n\nSecond paragraph."
    assert split_message(text) == [text]


@pytest.mark.parametrize(
    "text",
    [
        "\n\n".join(f"<b>Paragraph {i}</b>: " + "word " * 150 for i in range(12)),
        "<i>" + " ".join(f"w{i}" for i in range(2000)) + "</i>",
        "x" * 9000,
        "<b>" + "ë" * 5000 + "</b> &amp; <a href='https://a.al/?a=1&amp;b=2'>link</a>",
        "😀 " * 3000,
        "<pre>" + "line of code\n" * 700 + "</pre>",
        "<blockquote><b>bold <i>and italic " + "text " * 1000 + "</i></b></blockquote> end",
    ],
)
def test_every_part_fits_parses_and_nothing_is_lost(text: str) -> None:
    parts = split_message(text)
    assert len(parts) >= 2
    for part in parts:
        assert html_problems(part) == []
        assert len(html_to_plain(part).encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
        assert html_to_plain(part).strip()
    assert "".join("".join(words(p)) for p in parts) == "".join(words(text))


def test_the_cut_falls_between_paragraphs_when_there_are_some() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 100 for i in range(12)]
    parts = split_message("\n\n".join(paragraphs))
    for part in parts:
        assert html_to_plain(part).startswith("Paragraph ")
        assert html_to_plain(part).rstrip().endswith("word")


def test_tags_open_at_a_cut_are_closed_and_opened_again() -> None:
    parts = split_message("<b>" + "bold " * 1000 + "</b>", limit=1000)
    assert all(part.startswith("<b>") and part.endswith("</b>") for part in parts)


def test_shorten_cuts_user_text_to_telegram_units_and_marks_the_cut() -> None:
    assert shorten("short", 10) == "short"
    cut = shorten("😀" * 10, 9)  # each emoji counts two units in Telegram's limit
    assert cut == "😀" * 4 + "…"
    assert len(cut.encode("utf-16-le")) // 2 <= 9


def test_bidi_overrides_and_zero_width_characters_are_removed_from_user_text() -> None:
    spoof = "Arben \u202e)nimda_ycnega@(\u202c\u200b\u2066x\u2069\ufeff"
    assert without_format_controls(spoof) == "Arben )nimda_ycnega@(x"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # an emoji sequence stays whole
    assert without_format_controls(family) == family
