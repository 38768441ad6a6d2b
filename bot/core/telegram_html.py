"""Telegram's HTML subset: check that an answer would be accepted, and render it as plain text.

Pure text handling; it does not import the telegram library. Telegram rejects a message whose
HTML uses an unknown tag, leaves a tag open or has a bare '<' or '&', writes an attribute
without a value or an unquoted value that is not a plain word (href=https://... is refused),
has a <tg-emoji> without its emoji-id, or an <?xml?> declaration; and it limits a message to
4096 characters counted after the markup is removed.
"""

from __future__ import annotations

import html
import re
import unicodedata
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
# The only attribute Telegram takes without a value.
_VALUELESS = {("blockquote", "expandable")}
# Telegram's parser reads an unquoted value as a name token (letters, digits, '.', '-') that
# must end at a space or the tag's end: href=https://x is refused.
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.-]*")
_SPACES = " \t\n\r\f\v"
_LARGEST_ID = 2**63 - 1


def _attribute_problems(tag: str, raw: str) -> list[str]:
    """What Telegram refuses in the attributes of one start tag as written (`raw`, from '<'
    to '>'), read as Telegram's own parser reads them; HTMLParser forgives more."""
    problems: list[str] = []
    at = 1
    while at < len(raw) and raw[at] not in _SPACES and raw[at] != ">":
        at += 1
    while True:
        while at < len(raw) and raw[at] in _SPACES:
            at += 1
        if at >= len(raw) or raw[at] == ">":
            return problems
        start = at
        while at < len(raw) and raw[at] not in _SPACES and raw[at] not in "=>":
            at += 1
        name = raw[start:at].lower()
        while at < len(raw) and raw[at] in _SPACES:
            at += 1
        if at >= len(raw) or raw[at] != "=":
            if (tag, name) not in _VALUELESS:
                problems.append(f'<{tag}>: the attribute {name!r} needs a value ({name}="...")')
            continue
        at += 1
        while at < len(raw) and raw[at] in _SPACES:
            at += 1
        if at < len(raw) and raw[at] in "\"'":
            end = raw.find(raw[at], at + 1)
            at = len(raw) if end < 0 else end + 1
            continue
        token = _NAME_TOKEN.match(raw, at)
        assert token is not None  # the pattern matches the empty string
        at = token.end()
        if at < len(raw) and raw[at] not in _SPACES and raw[at] != ">":
            problems.append(f'<{tag}>: the value of {name!r} must be in quotes ({name}="...")')
            while at < len(raw) and raw[at] not in _SPACES and raw[at] != ">":
                at += 1


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
        self.problems.extend(_attribute_problems(tag, self.get_starttag_text() or ""))
        for name, value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                self.problems.append(f"<{tag}> cannot have the attribute {name!r}")
            elif tag == "a" and not (value or "").strip():
                self.problems.append("<a> needs an href address")
        values = dict(attrs)
        if tag == "span" and values.get("class") != "tg-spoiler":
            self.problems.append('<span> is only allowed as <span class="tg-spoiler">')
        if tag == "a" and "href" not in values:
            self.problems.append("<a> needs an href address")
        if tag == "tg-emoji" and not _is_emoji_id(values.get("emoji-id")):
            self.problems.append(
                "<tg-emoji> needs the custom emoji's number in emoji-id, e.g. "
                '<tg-emoji emoji-id="5368324170671202286">'
            )
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

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"<?{data.rstrip('?')}?> is not allowed (no XML declarations)")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"<!{decl}> is not allowed")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"<![{data}]> is not allowed")


def _is_emoji_id(value: str | None) -> bool:
    """A custom emoji's identifier, as Telegram takes it: a positive 64-bit number."""
    text = (value or "").strip()
    return text.isascii() and text.isdigit() and 0 < int(text) <= _LARGEST_ID


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


_ZERO_WIDTH_JOINER = "\u200d"  # joins emoji sequences; it cannot reorder or hide text


def without_format_controls(text: str) -> str:
    """User text for others to read (staff cards, topic names): without the invisible
    format characters (bidi overrides and isolates, zero-width spaces) that could make a
    name display as something else, e.g. a fake "(@agency_admin)"."""
    return "".join(c for c in text if c == _ZERO_WIDTH_JOINER or unicodedata.category(c) != "Cf")


def shorten(text: str, limit: int) -> str:
    """Plain `text` cut to at most `limit` of Telegram's length units, ending in "…" when
    cut (for user text inside a message that must stay under the limit)."""
    if _units_of_length(text) <= limit:
        return text
    kept, used = [], 1  # room for the "…"
    for char in text:
        used += _units_of_length(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


# A tag, an entity, or a run of text ending after its whitespace (a word and the spaces or
# newlines that follow it): the units a message is split between.
_UNIT = re.compile(r"<[^>]*>|&#?\w+;|[^<&\s]+\s*|\s+|[\s\S]")
_TAG_NAME = re.compile(r"</?([a-zA-Z][\w-]*)")


def _units_of_length(unit: str) -> int:
    """How much of Telegram's limit a piece of plain text uses (UTF-16 code units, which
    Telegram counts; never fewer than Python's characters)."""
    return len(unit.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` (valid Telegram HTML) as one message, or as several that each fit `limit`:
    cut between paragraphs where possible, else between lines, else between words; tags
    open at a cut are closed before it and opened again after it, so each part is valid."""
    if _units_of_length(html_to_plain(text)) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    length = 0
    open_tags: list[tuple[str, str]] = []  # (name, opening tag as written)
    # The best place to cut so far: (index in `current`, open tags there, priority).
    best: tuple[int, list[tuple[str, str]], int] | None = None

    def cut(at: int, tags_there: list[tuple[str, str]]) -> None:
        nonlocal current, length
        head, tail = current[:at], current[at:]
        closing = "".join(f"</{name}>" for name, _ in reversed(tags_there))
        part = ("".join(head) + closing).strip()
        if html_to_plain(part).strip():
            parts.append(part)
        current = [opening for _, opening in tags_there] + tail
        length = sum(_units_of_length(html_to_plain(u)) for u in tail if not u.startswith("<"))

    for unit in _pieces(text, limit):
        if unit.startswith("<"):
            name_match = _TAG_NAME.match(unit)
            name = name_match.group(1).lower() if name_match else ""
            if unit.startswith("</"):
                if open_tags and open_tags[-1][0] == name:
                    open_tags.pop()
            else:
                open_tags.append((name, unit))
            current.append(unit)
            continue
        size = _units_of_length(html_to_plain(unit))
        # Room for the closing tags is not counted: they add no visible text.
        if length + size > limit and current:
            if best is not None and best[0] > 0:
                at, tags_there, _ = best
            else:
                at, tags_there = len(current), list(open_tags)
            cut(at, tags_there)
            best = None
        current.append(unit)
        length += size
        priority = 3 if unit.endswith("\n\n") else 2 if unit.endswith("\n") else 1
        # Prefer a paragraph break, then a line break, over a later word break, as long as
        # the part keeps at least half the limit.
        if best is None or priority >= best[2] or length < limit // 2:
            best = (len(current), list(open_tags), priority)
    final = "".join(current).strip()
    if html_to_plain(final).strip():
        parts.append(final)
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    """The units of `text`, with any word longer than `limit` cut into pieces that fit."""
    pieces: list[str] = []
    for match in _UNIT.finditer(text):
        unit = match.group(0)
        if not unit.startswith(("<", "&")) and _units_of_length(unit) > limit:
            step = limit // 2  # halves: a character may take two UTF-16 units
            pieces.extend(unit[i : i + step] for i in range(0, len(unit), step))
        else:
            pieces.append(unit)
    return pieces
