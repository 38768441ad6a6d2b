"""Telegram's HTML subset: check that an answer would be accepted, and render it as plain text.

Pure text handling; it does not import the telegram library. Telegram rejects a message whose
HTML uses an unknown tag, leaves a tag open or has a bare '<' or '&', and limits a message to
4096 characters counted after the markup is removed.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

MESSAGE_LIMIT = 4096
# https://core.telegram.org/bots/api#html-style
ALLOWED_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "tg-spoiler": set(),
    "span": {"class"},
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
    "tg-emoji": {"emoji-id"},
}
_KNOWN_ENTITIES = {"lt", "gt", "amp", "quot"}
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


class _TelegramHtmlChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.open_tags: list[str] = []
        self.plain: list[str] = []
        self.reported_tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(
                f"<{tag}> is not a tag Telegram allows (allowed: {', '.join(sorted(ALLOWED_TAGS))})"
            )
            self.reported_tags.add(tag)
            return
        for name, value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                self.problems.append(f"<{tag}> cannot have the attribute {name!r}")
            elif tag == "a" and not (value or "").strip():
                self.problems.append("<a> needs an href address")
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            self.problems.append('<span> is only allowed as <span class="tg-spoiler">')
        if tag == "a" and "href" not in dict(attrs):
            self.problems.append("<a> needs an href address")
        self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(
            f"<{tag}/> is not allowed: Telegram has no self-closing tags "
            "(for a line break, start a new line)"
        )

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            if tag not in self.reported_tags:
                self.problems.append(f"</{tag}> closes a tag Telegram does not allow")
            return
        if not self.open_tags or self.open_tags[-1] != tag:
            expected = f"</{self.open_tags[-1]}>" if self.open_tags else "no closing tag"
            self.problems.append(f"</{tag}> does not match the open tag (expected {expected})")
            if tag in self.open_tags:
                while self.open_tags and self.open_tags.pop() != tag:
                    pass
            return
        self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.problems.append("a bare '<' must be written &lt;")
        self.plain.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _KNOWN_ENTITIES:
            self.problems.append(
                f"&{name}; is not an entity Telegram knows (use &lt; &gt; &amp; &quot;)"
            )
        self.plain.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.plain.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        self.problems.append("HTML comments <!-- --> are not allowed")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"<!{decl}> is not allowed")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"<![{data}]> is not allowed")


def _check(text: str) -> _TelegramHtmlChecker:
    checker = _TelegramHtmlChecker()
    # A bare '&' not starting an entity is rejected by Telegram but passed by HTMLParser.
    for match in re.finditer(r"&", text):
        if not _ENTITY.match(text, match.start()):
            checker.problems.append("a bare '&' must be written &amp;")
            break
    checker.feed(text)
    checker.close()
    for tag in checker.open_tags:
        checker.problems.append(f"<{tag}> is never closed")
    return checker


def html_problems(text: str) -> list[str]:
    """What Telegram would reject in this HTML-formatted message (empty if it is fine)."""
    checker = _check(text)
    length = len("".join(checker.plain))
    problems = list(dict.fromkeys(checker.problems))
    if length > MESSAGE_LIMIT:
        problems.append(f"the text is {length} characters; Telegram allows {MESSAGE_LIMIT}")
    return problems


def html_to_plain(text: str) -> str:
    """The text a user reads: tags removed, entities decoded."""
    return "".join(_check(text).plain)


def plain_length(text: str) -> int:
    return len(html_to_plain(text))


def escape(text: str) -> str:
    """Escape user or config text for inclusion in an HTML message."""
    return html.escape(text, quote=True)
