"""The HTML check refuses what Telegram's own parser refuses (each case below is a 400
"can't parse entities" in Telegram) and passes what it accepts."""

from __future__ import annotations

import pytest

from bot.core.telegram_html import html_problems, html_to_plain

REFUSED = {
    "unquoted href": ("<a href=https://amshc.gov.al>the agency</a>", "must be in quotes"),
    "unquoted value with a slash": ("<a href=amshc.gov.al/calls>calls</a>", "must be in quotes"),
    "tg-emoji without emoji-id": ("<tg-emoji>👍</tg-emoji>", "emoji-id"),
    "tg-emoji with a word for its id": ('<tg-emoji emoji-id="thumbs">👍</tg-emoji>', "emoji-id"),
    "tg-emoji with id 0": ('<tg-emoji emoji-id="0">👍</tg-emoji>', "emoji-id"),
    "xml declaration": ('<?xml version="1.0"?><b>New call</b>', "<?xml"),
    "attribute without a value": ("<a href>the agency</a>", "needs a value"),
    "unknown attribute": ('<b style="color:red">New</b>', "cannot have the attribute"),
    "unknown tag": ("<p>New call</p>", "not a tag Telegram allows"),
    "span without the spoiler class": ('<span class="note">x</span>', "tg-spoiler"),
    "tag left open": ("<b>New call", "never closed"),
    "tags crossed": ("<b><i>New</b></i>", "does not match"),
    "self-closing tag": ("New<br/>call", "self-closing"),
    "bare ampersand": ("Calls & news", "&amp;"),
    "unknown entity": ("Calls &nbsp; news", "&nbsp;"),
    "comment": ("<!-- draft -->New call", "comments"),
}

ACCEPTED = [
    '<a href="https://amshc.gov.al/thirrje">the calls</a>',
    "<a href='https://amshc.gov.al'>the agency</a>",
    "<a href=amshc.gov.al>the agency</a>",  # a plain word needs no quotes
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    "<tg-emoji emoji-id=5368324170671202286>👍</tg-emoji>",
    "<blockquote expandable>Long text</blockquote>",
    '<pre><code class="language-python">print(1)</code></pre>',
    '<span class="tg-spoiler">secret</span> and <tg-spoiler>another</tg-spoiler>',
    "<B>Bold</B> &lt;tag&gt; &amp; &quot;quoted&quot; &#39;",
]


@pytest.mark.parametrize(("text", "named"), REFUSED.values(), ids=REFUSED.keys())
def test_what_telegram_refuses_is_refused_with_a_reason(text: str, named: str) -> None:
    problems = html_problems(text)
    assert problems
    assert any(named in problem for problem in problems), problems


@pytest.mark.parametrize("text", ACCEPTED)
def test_what_telegram_accepts_is_accepted(text: str) -> None:
    assert html_problems(text) == []


def test_the_plain_text_is_what_the_reader_sees() -> None:
    assert html_to_plain('<a href="https://x.org">the <b>agency</b></a> &amp; us') == (
        "the agency & us"
    )
