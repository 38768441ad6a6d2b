"""The FAQ for a website: one static page per language, and JSON for other systems.

`python -m bot export` writes them from the same YAML files and config.yaml the bot uses:
answers with the contacts filled in, the entry's links, "see also" links within the page,
and a link that opens the same answer in Telegram (the bot's deep link). Each page has a
table of contents by topic and one anchor per entry, named after its id, so a website can
link to faq-en.html#office-hours.

Answers are Telegram HTML; `web_html` turns them into web HTML (line breaks, spoilers,
web addresses, e-mail addresses and the agency's phone numbers as links).
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

from bot.config import Settings
from bot.core.knowledge import Category, Entry, KnowledgeBase
from bot.core.locales import Locales, load_locales
from bot.core.telegram_html import html_to_plain

ExportFormat = Literal["html", "json"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("html", "json")
JSON_FILE = "faq.json"
TOPIC_PREFIX = "topic-"
CONTENTS_ID, CONTACT_ID = "faq-contents", "faq-contact"
# A link in an answer opens only with these; anything else stays plain text.
SAFE_SCHEMES = ("http://", "https://", "mailto:", "tel:", "tg://")


class ExportError(ValueError):
    """The export cannot be written (for example, the folder is a file)."""


def deep_link(username: str, entry_id: str) -> str:
    """The address that opens the bot on this entry's answer (/start <entry-id>)."""
    return f"https://t.me/{username}?start={entry_id}"


def page_name(lang: str) -> str:
    return f"faq-{lang}.html"


# ----- Telegram HTML to web HTML ----------------------------------------------------------

# Telegram's tags that a browser knows as they are; the others are mapped below.
_KEPT = {"b", "strong", "i", "em", "u", "ins", "s", "del", "code", "pre", "blockquote"}
_RENAMED = {"strike": "s", "tg-emoji": "span"}
_URL = r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"


def phone_links(settings: Settings) -> dict[str, str]:
    """The agency's phone numbers as written in answers -> their tel: address."""
    international = "+" + re.sub(r"\D", "", settings.agency.phone_international)
    return {
        settings.agency.phone_international: "tel:" + international,
        settings.agency.phone: "tel:" + international,
    }


class _WebHtml(HTMLParser):
    def __init__(self, phones: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []  # web tags as opened, to close in order
        self.in_link = 0
        self.in_pre = 0
        alternatives = [_URL, _EMAIL, *(re.escape(p) for p in sorted(phones, key=len)[::-1])]
        self.pattern = re.compile("|".join(f"({a})" for a in alternatives))
        self.phones = phones

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            href = (values.get("href") or "").strip()
            if href.startswith(SAFE_SCHEMES):
                self.out.append(f'<a href="{html.escape(href)}">')
                self.open.append("a")
                self.in_link += 1
            else:
                self.open.append("")  # the text stays, without the link
            return
        if tag == "tg-spoiler" or (tag == "span" and values.get("class") == "tg-spoiler"):
            self.out.append('<span class="spoiler">')
            self.open.append("span")
            return
        web = tag if tag in _KEPT else _RENAMED.get(tag, "span")
        if web == "pre":
            self.in_pre += 1
        self.out.append(f"<{web}>")
        self.open.append(web)

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            return
        web = self.open.pop()
        if web == "a":
            self.in_link -= 1
        if web == "pre":
            self.in_pre -= 1
        if web:
            self.out.append(f"</{web}>")

    def handle_data(self, data: str) -> None:
        if self.in_link or self.in_pre:
            self.out.append(self._lines(html.escape(data, quote=False)))
            return
        position = 0
        for match in self.pattern.finditer(data):
            self.out.append(self._lines(html.escape(data[position : match.start()], quote=False)))
            found = match.group(0)
            if match.group(1):
                href = found
            elif match.group(2):
                href = "mailto:" + found
            else:
                href = self.phones[found]
            self.out.append(f'<a href="{html.escape(href)}">{html.escape(found, quote=False)}</a>')
            position = match.end()
        self.out.append(self._lines(html.escape(data[position:], quote=False)))

    def _lines(self, text: str) -> str:
        return text if self.in_pre else text.replace("\n", "<br>\n")


def web_html(telegram_html: str, phones: Mapping[str, str] | None = None) -> str:
    """An answer (Telegram HTML) as HTML for a web page."""
    parser = _WebHtml(phones or {})
    parser.feed(telegram_html)
    parser.close()
    closing = [f"</{tag}>" for tag in reversed(parser.open) if tag]
    return "".join(parser.out + closing)


# ----- the page ------------------------------------------------------------------------------

STYLE = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #555; --line: #d8d8d8;
  --band: #f4f6f8; --accent: #005a8c; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 17px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, nav, main, footer { max-width: 46rem; margin: 0 auto; padding: 0 1rem; }
a { color: var(--accent); }
a:focus-visible { outline: 3px solid #E69F00; outline-offset: 2px; }
.languages { text-align: right; margin: .75rem 0 0; }
h1 { font-size: 1.8rem; margin: .25rem 0; }
.agency { color: var(--muted); margin-top: 0; }
h2 { font-size: 1.4rem; margin: 2.5rem 0 .5rem; padding-top: .5rem;
  border-top: 2px solid var(--line); }
h3 { font-size: 1.1rem; margin: 1.75rem 0 .35rem; }
nav ol { padding-left: 1.25rem; }
nav ol ol { margin: .25rem 0 .75rem; }
article { scroll-margin-top: 1rem; }
article:target { background: #fff8e1; outline: 6px solid #fff8e1; }
.links, .related, .telegram, .top { margin: .35rem 0; }
.telegram a { font-weight: 600; }
.top { font-size: .9rem; }
.spoiler { background: var(--band); }
pre { overflow-x: auto; background: var(--band); padding: .5rem; }
blockquote { margin: .5rem 0; padding-left: .75rem; border-left: 4px solid var(--line); }
footer { margin-top: 3rem; padding-bottom: 2rem; }
address { font-style: normal; }
@media print {
  body { font-size: 11pt; }
  nav, .top, .languages { display: none; }
  article { break-inside: avoid; }
  a { color: inherit; }
  .links a::after, .telegram a::after { content: " (" attr(href) ")"; font-size: .85em; }
}
"""
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def topic_anchor(category: Category) -> str:
    return TOPIC_PREFIX + category.key


def _check_anchors(knowledge: KnowledgeBase) -> None:
    page_ids = {CONTENTS_ID, CONTACT_ID}
    for category in knowledge.categories:
        page_ids |= {topic_anchor(category), topic_anchor(category) + "-title"}
    clash = sorted(page_ids & {e.id for e in knowledge})
    if clash:
        raise ExportError(
            f"the entry id {clash[0]!r} is also the name of a part of the page (a topic, the"
            " contents or the contacts), so a link to it would be ambiguous; rename the entry"
        )


def _placeholders(settings: Settings, lang: str) -> dict[str, str]:
    return {k: html.escape(v) for k, v in settings.placeholders(lang).items()}


def published_answer(
    entry: Entry, settings: Settings, locales: Locales, lang: str
) -> tuple[str, str]:
    """The answer a web page publishes (Telegram HTML) and its language.

    An entry marked `unknown:` says in the bot that it does not know something; a web page
    never publishes that: it says to ask the agency, with the contacts, instead.
    """
    if entry.unknown:
        return locales.text(lang, "faq_ask_the_agency", **_placeholders(settings, lang)), lang
    # While a link has no address, the answer that says what its link really opens.
    return entry.answer(lang, settings.pending_links)


def faq_page(
    knowledge: KnowledgeBase,
    settings: Settings,
    locales: Locales,
    lang: str,
    username: str | None,
) -> str:
    """The FAQ page in `lang`, one HTML document."""
    _check_anchors(knowledge)
    phones = phone_links(settings)
    values = _placeholders(settings, lang)

    def text(key: str) -> str:
        # Locale texts are Telegram HTML with the agency's placeholders.
        return web_html(locales.text(lang, key, **values), phones)

    agency = settings.placeholders(lang)["agency_name"]
    title = locales.text(lang, "faq_page_title")
    others = "".join(
        f'<a href="{page_name(other)}" hreflang="{other}" lang="{other}">'
        f"{_esc(locales.text(other, 'language_name'))}</a>"
        for other in settings.languages
        if other != lang
    )
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{_esc(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        f"<title>{_esc(title)} – {_esc(agency)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f'<p class="languages">{others}</p>' if others else "",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="agency">{_esc(agency)}</p>',
        f"<p>{text('faq_page_intro')}</p>",
        "</header>",
        _contents(knowledge, locales, lang),
        "<main>",
    ]
    for category in knowledge.categories:
        out.append(_topic(knowledge, category, settings, locales, lang, username, phones))
    out += [
        "</main>",
        f'<footer aria-labelledby="{CONTACT_ID}">',
        f'<h2 id="{CONTACT_ID}">{_esc(locales.text(lang, "faq_contact_heading"))}</h2>',
        f"<address>{text('contact')}</address>",
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(line for line in out if line) + "\n"


def _contents(knowledge: KnowledgeBase, locales: Locales, lang: str) -> str:
    items = []
    for category in knowledge.categories:
        entries = "".join(
            f'<li><a href="#{entry.id}">{_esc(entry.title(lang))}</a></li>'
            for entry in _entries_of(knowledge, category)
        )
        items.append(
            f'<li><a href="#{_esc(topic_anchor(category))}">{_esc(category.title(lang))}</a>'
            f"<ol>{entries}</ol></li>"
        )
    heading = _esc(locales.text(lang, "html_contents"))
    return (
        f'<nav aria-labelledby="{CONTENTS_ID}"><h2 id="{CONTENTS_ID}">{heading}</h2>'
        f"<ol>{''.join(items)}</ol></nav>"
    )


def _entries_of(knowledge: KnowledgeBase, category: Category) -> list[Entry]:
    return [e for e in (knowledge.entry(i) for i in category.entry_ids) if e is not None]


def _topic(
    knowledge: KnowledgeBase,
    category: Category,
    settings: Settings,
    locales: Locales,
    lang: str,
    username: str | None,
    phones: Mapping[str, str],
) -> str:
    anchor = _esc(topic_anchor(category))
    parts = [
        f'<section id="{anchor}" aria-labelledby="{anchor}-title">',
        f'<h2 id="{anchor}-title">{_esc(category.title(lang))}</h2>',
    ]
    for entry in _entries_of(knowledge, category):
        parts.append(_article(knowledge, entry, settings, locales, lang, username, phones))
    parts.append("</section>")
    return "\n".join(parts)


def _article(
    knowledge: KnowledgeBase,
    entry: Entry,
    settings: Settings,
    locales: Locales,
    lang: str,
    username: str | None,
    phones: Mapping[str, str],
) -> str:
    answer, answer_lang = published_answer(entry, settings, locales, lang)
    marked = f' lang="{_esc(answer_lang)}"' if answer_lang != lang else ""
    parts = [
        f'<article id="{entry.id}">',
        f"<h3>{_esc(entry.title(lang))}</h3>",
        f'<div class="answer"{marked}>{web_html(answer, phones)}</div>',
    ]
    links = [settings.links[name] for name in entry.links if name in settings.links]
    if links:
        listed = " · ".join(
            f'<a href="{_esc(link.url)}">{_esc(link.label(lang))}</a>' for link in links
        )
        parts.append(f'<p class="links">{_esc(locales.text(lang, "faq_links"))} {listed}</p>')
    related = [e for e in (knowledge.entry(i) for i in entry.related) if e is not None]
    if related:
        listed = ", ".join(f'<a href="#{e.id}">{_esc(e.title(lang))}</a>' for e in related)
        parts.append(f'<p class="related">{_esc(locales.text(lang, "related"))} {listed}</p>')
    if username:
        parts.append(
            f'<p class="telegram"><a href="{_esc(deep_link(username, entry.id))}">'
            f"{_esc(locales.text(lang, 'faq_open_in_telegram'))}</a></p>"
        )
    back = _esc(locales.text(lang, "faq_back_to_contents"))
    parts.append(f'<p class="top"><a href="#{CONTENTS_ID}">{back}</a></p>')
    parts.append("</article>")
    return "\n".join(parts)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


# ----- JSON -----------------------------------------------------------------------------------


def faq_as_dict(
    knowledge: KnowledgeBase,
    settings: Settings,
    username: str | None,
    locales: Locales | None = None,
) -> dict[str, Any]:
    """The FAQ as plain data: topics, entries with their answers (web HTML and plain text),
    links and deep links, and the agency's contacts. An entry marked `unknown:` has the
    "ask the agency" text as its answer and `"ask_the_agency": true`."""
    phones = phone_links(settings)
    agency = settings.agency
    texts = locales or load_locales(settings.languages)

    def answers(entry: Entry) -> dict[str, str]:
        return {lang: published_answer(entry, settings, texts, lang)[0] for lang in entry.languages}

    return {
        "languages": list(settings.languages),
        "agency": {
            "name": dict(agency.names),
            "address": dict(agency.addresses),
            "phone": agency.phone,
            "phone_international": agency.phone_international,
            "email": agency.email,
        },
        "topics": [
            {
                "id": category.key,
                "anchor": topic_anchor(category),
                "titles": dict(category.titles),
                "entries": list(category.entry_ids),
            }
            for category in knowledge.categories
        ],
        "entries": [
            {
                "id": entry.id,
                "topic": entry.category,
                "questions": {lang: list(qs) for lang, qs in entry.questions.items()},
                "answers_html": {
                    lang: web_html(text, phones) for lang, text in answers(entry).items()
                },
                "answers_text": {
                    lang: html_to_plain(text) for lang, text in answers(entry).items()
                },
                "links": [
                    {"name": name, "url": settings.links[name].url, "labels": dict(link.labels)}
                    for name in entry.links
                    if (link := settings.links.get(name)) is not None
                ],
                "related": list(entry.related),
                "ask_the_agency": entry.unknown is not None,
                "telegram": deep_link(username, entry.id) if username else None,
                "pages": {lang: f"{page_name(lang)}#{entry.id}" for lang in settings.languages},
            }
            for entry in knowledge
        ],
    }


# ----- writing ---------------------------------------------------------------------------------


def export_files(
    knowledge: KnowledgeBase,
    settings: Settings,
    locales: Locales,
    fmt: ExportFormat,
    username: str | None,
) -> dict[str, str]:
    """File name -> contents of the export."""
    if fmt == "json":
        data = faq_as_dict(knowledge, settings, username, locales)
        return {JSON_FILE: json.dumps(data, ensure_ascii=False, indent=2) + "\n"}
    if fmt == "html":
        return {
            page_name(lang): faq_page(knowledge, settings, locales, lang, username)
            for lang in settings.languages
        }
    raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")


def write_export(
    knowledge: KnowledgeBase,
    settings: Settings,
    locales: Locales,
    out_dir: Path,
    fmt: ExportFormat,
    username: str | None,
) -> list[Path]:
    """Write the export into `out_dir` (created if needed). Each file is replaced whole: a
    reader or a crash mid-way sees the old file or the new one, never half of one."""
    files = export_files(knowledge, settings, locales, fmt, username)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file: --out must be a folder (it is created if needed)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create the folder {out_dir}: {error.strerror}") from None
    written = []
    for name, content in files.items():
        target = out_dir / name
        _write_atomically(target, content)
        written.append(target)
    return written


def _write_atomically(target: Path, content: str) -> None:
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as error:
        raise ExportError(f"cannot write to {target.parent}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ExportError(f"cannot write {target}: {error.strerror}") from None
