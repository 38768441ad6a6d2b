"""The dialog: turns a question's match, a command or a button press into a `Reply`.

Pure and synchronous: it knows nothing of Telegram or the terminal. Every adapter renders the
same `Reply` (text in Telegram's HTML subset, rows of buttons, the reply's language), so what
staff test offline with `ask` and `chat` is what users get.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.config import Settings
from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.knowledge_state import LoadedKnowledge
from bot.core.locales import Locales
from bot.core.matcher import Match, utc_now
from bot.core.telegram_html import escape, html_to_plain
from bot.core.text import normalise

# Telegram limits callback data to 64 bytes. Entry ids are at most 32 characters; a topic is
# named by a fixed-size digest of its file name (any length), so every action below fits.
CALLBACK_DATA_LIMIT = 64
# Page numbers in callback data: a few ASCII digits (forged data must not reach int()).
_PAGE = re.compile(r"[0-9]{1,4}")
ENTRIES_PER_PAGE = 6
# Questions longer than this are matched on their beginning only (and the reply says so).
LONG_QUESTION_CHARS = 500
# Commands the bot offers, in menu order; /help lists them and Telegram's menu shows them.
COMMANDS = ("start", "topics", "contact", "register", "language", "help", "privacy", "forget")
# Offered only when questions can be handed to staff (config.yaml `handoff:`).
HANDOFF_COMMANDS = ("ask",)
# Offered only when config.yaml `subscriptions:` names topics to follow.
SUBSCRIPTION_COMMANDS = ("subscribe", "unsubscribe")
# The "Ask the agency" button: "h:" hands over the user's latest question, "h:<question id>"
# that question (bot.telegram_bot.handoff).
HANDOFF_ACTION = "h:"

ReplyKind = Literal[
    "answer",
    "suggest",
    "fallback",
    "smalltalk",
    "welcome",
    "help",
    "privacy",
    "contact",
    "register",
    "topics",
    "category",
    "language",
    "prompt",
    "feedback",
    "unsupported",
    "notice",
]


@dataclass(frozen=True)
class Button:
    """A URL button (opens a link) or an action button (its `action` comes back when pressed)."""

    label: str
    url: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class ContactCard:
    phone_number: str
    first_name: str


@dataclass(frozen=True)
class Venue:
    latitude: float
    longitude: float
    title: str
    address: str


@dataclass(frozen=True)
class Reply:
    text: str  # Telegram's HTML subset
    lang: str
    kind: ReplyKind
    buttons: tuple[tuple[Button, ...], ...] = ()
    entry_id: str | None = None  # the entry answered or shown
    match: Match | None = None  # how the question matched, for logs and `ask --json`
    ask_feedback: bool = False  # adapters add the "helpful?" pair (they own the question id)
    contact_card: ContactCard | None = None
    venue: Venue | None = None
    # Effects the adapter applies: the language the user chose, a feedback vote.
    chosen_language: str | None = None
    feedback_vote: tuple[str, bool] | None = None  # (question id, helpful)
    replace_previous: bool = False  # browsing: edit the message with the buttons in place


@dataclass(frozen=True)
class InlineResult:
    entry_id: str
    title: str
    description: str
    reply: Reply


@dataclass(frozen=True)
class Dialog:
    settings: Settings
    locales: Locales
    knowledge: Callable[[], LoadedKnowledge]  # the snapshot served now (changes on reload)
    bot_username: str = field(default="")
    clock: Callable[[], datetime] = field(default=utc_now)  # when dated entries expire

    # ----- languages -------------------------------------------------------------------
    def supported(self, lang: str | None) -> str | None:
        """`lang` if the bot speaks it (Telegram's codes may carry a region: 'en-GB')."""
        if not lang:
            return None
        code = lang.split("-")[0].split("_")[0].lower()
        return code if code in self.settings.languages else None

    def reply_language(
        self, *, chosen: str | None = None, detected: str | None = None, hint: str | None = None
    ) -> str:
        """The language of menus and commands: the user's choice (/language) beats the
        language they last wrote in, which beats Telegram's. Replies to a question follow
        the question's own language first (see `reply_to_question`)."""
        for lang in (chosen, detected, hint):
            supported = self.supported(lang)
            if supported:
                return supported
        return self.settings.default_language

    def _t(self, lang: str, key: str, **values: str) -> str:
        return self.locales.text(lang, key, **self._placeholders(lang), **values)

    def _placeholders(self, lang: str) -> dict[str, str]:
        return {name: escape(value) for name, value in self.settings.placeholders(lang).items()}

    # ----- questions -------------------------------------------------------------------
    def reply_to_question(
        self,
        text: str,
        *,
        chosen_lang: str | None = None,
        hint_lang: str | None = None,
        forced_lang: str | None = None,
    ) -> Reply:
        """The reply to a free-text question (answer, suggestions or fallback).

        A question clearly in one language is answered in it (someone who chose English and
        asks "ku osht zyra" reads Albanian); the language chosen with /language decides a
        question with no clear language ("tel", "2019"), then Telegram's language.
        `forced_lang` (the command line's --lang) beats even the question's language."""
        snapshot = self.knowledge()
        if not normalise(text):
            lang = self.reply_language(chosen=chosen_lang, hint=hint_lang)
            return Reply(
                self._t(lang, "empty_question"), lang, "prompt", buttons=self._menu_buttons(lang)
            )
        question = text[:LONG_QUESTION_CHARS]
        match = snapshot.matcher.match(question)
        lang = (
            self.supported(forced_lang)
            or self.supported(match.lang)
            or self.reply_language(chosen=chosen_lang, hint=hint_lang)
        )
        reply = self._reply_to_match(match, lang, snapshot.knowledge)
        if len(text) > LONG_QUESTION_CHARS:
            reply = replace(reply, text=f"{self._t(lang, 'long_question')}\n\n{reply.text}")
        return reply

    def _reply_to_match(self, match: Match, lang: str, knowledge: KnowledgeBase) -> Reply:
        if match.smalltalk is not None:
            buttons = self._menu_buttons(lang) if match.smalltalk == "greeting" else ()
            return Reply(self._t(lang, match.smalltalk), lang, "smalltalk", buttons, match=match)
        if match.status == "answer" and match.entry_id:
            entry = self._served(knowledge, match.entry_id)
            if entry is not None:
                return replace(
                    self.entry_reply(entry, lang, knowledge), match=match, ask_feedback=True
                )
        if match.status in ("answer", "suggest") and match.candidates:
            choices = [self._served(knowledge, c.entry_id) for c in match.candidates]
            rows = tuple(
                (Button(entry.title(lang), action=f"e:{entry.id}"),)
                for entry in choices
                if entry is not None
            )
            if rows:
                return Reply(
                    self._t(lang, "did_you_mean"),
                    lang,
                    "suggest",
                    (*rows, self._fallback_row(lang), *self._handoff_rows(lang)),
                    match=match,
                )
        return Reply(
            self._t(lang, "fallback"),
            lang,
            "fallback",
            (self._fallback_row(lang), self._contact_link_row(lang), *self._handoff_rows(lang)),
            match=match,
        )

    def entry_reply(self, entry: Entry, lang: str, knowledge: KnowledgeBase) -> Reply:
        """One entry's answer with its link buttons and 'see also' buttons."""
        text, answer_lang = entry.answer(lang, self.settings.pending_links)
        rows: list[tuple[Button, ...]] = []
        link_buttons = [self._link_button(name, lang) for name in entry.links]
        rows.extend(_pairs([b for b in link_buttons if b is not None]))
        for related_id in entry.related:
            related = self._served(knowledge, related_id)
            if related is not None:
                rows.append((Button(f"➡️ {related.title(lang)}", action=f"e:{related.id}"),))
        return Reply(text, answer_lang, "answer", tuple(rows), entry_id=entry.id)

    def show_entry(self, entry_id: str, lang: str) -> Reply:
        """An entry by id (a button press or a deep link); the topics if it no longer exists."""
        knowledge = self.knowledge().knowledge
        entry = self._served(knowledge, entry_id)
        if entry is None:
            topics = self.topics(lang)
            return replace(topics, text=f"{self._t(lang, 'entry_missing')}\n\n{topics.text}")
        return self.entry_reply(entry, lang, knowledge)

    def search(self, text: str, lang: str | None = None, limit: int = 5) -> list[InlineResult]:
        """Entries matching `text`, best first, for inline mode (no thresholds: a list)."""
        snapshot = self.knowledge()
        question = text[:LONG_QUESTION_CHARS]
        if normalise(question):
            match = snapshot.matcher.match(question)
            # As for a question sent as a message: its own language first.
            reply_lang = self.supported(match.lang) or self.reply_language(chosen=lang)
            if match.status == "fallback":
                return []
            ids = [c.entry_id for c in snapshot.matcher.rank(question, limit)]
        else:  # an empty inline query: offer the first entries of each topic
            reply_lang = self.reply_language(chosen=lang)
            ids = [c.entry_ids[0] for c in snapshot.knowledge.categories][:limit]
        results = []
        for entry_id in ids:
            entry = self._served(snapshot.knowledge, entry_id)
            if entry is None:
                continue
            reply = self.entry_reply(entry, reply_lang, snapshot.knowledge)
            answer_text, _ = entry.answer(reply_lang, self.settings.pending_links)
            description = " ".join(html_to_plain(answer_text).split())[:120]
            results.append(InlineResult(entry.id, entry.title(reply_lang), description, reply))
        return results

    # ----- commands and menus ----------------------------------------------------------
    def welcome(self, lang: str, payload: str | None = None) -> Reply:
        """/start, or /start <entry-id> from a deep link."""
        if payload:
            entry = self._served(self.knowledge().knowledge, payload.strip().lower())
            if entry is not None:
                return self.show_entry(entry.id, lang)
        return Reply(self._t(lang, "welcome"), lang, "welcome", self._menu_buttons(lang))

    def _commands(self) -> tuple[str, ...]:
        handoff = HANDOFF_COMMANDS if self.settings.handoff.enabled else ()
        follow = SUBSCRIPTION_COMMANDS if self.settings.subscriptions.enabled else ()
        return (*COMMANDS[:-1], *handoff, *follow, COMMANDS[-1])

    def help(
        self, lang: str, commands: Sequence[str] | None = None, template: str = "help"
    ) -> Reply:
        """What the bot can do and its commands; another front end (the terminal chat) gives
        the commands that work there and its own `template` of the text."""
        listed = "\n".join(
            f"/{name} – {self._t(lang, 'command_' + name)}"
            for name in (self._commands() if commands is None else commands)
        )
        text = self._t(lang, template, commands=listed, bot_username=self.bot_username or "bot")
        return Reply(text, lang, "help", self._menu_buttons(lang))

    def privacy(self, lang: str) -> Reply:
        """/privacy: what is kept about a user and for how long, with config.yaml's figures;
        the hand-off and subscription paragraphs only when those features are on."""
        settings = self.settings
        parts = [self._t(lang, "privacy", retention_days=str(settings.question_log.retention_days))]
        if settings.handoff.enabled:
            days = str(settings.handoff.retention_days)
            parts.append(self._t(lang, "privacy_handoff", handoff_retention_days=days))
        if settings.subscriptions.enabled:
            parts.append(self._t(lang, "privacy_subscriptions"))
        parts.append(self._t(lang, "privacy_forget"))
        return Reply("\n".join(parts), lang, "privacy", self._menu_buttons(lang))

    def command_descriptions(self, lang: str) -> list[tuple[str, str]]:
        """(command, description) pairs for Telegram's command menu."""
        return [(name, self.locales.text(lang, "command_" + name)) for name in self._commands()]

    def contact(self, lang: str) -> Reply:
        agency = self.settings.agency
        venue = None
        if agency.coordinates is not None:
            venue = Venue(
                agency.coordinates.latitude,
                agency.coordinates.longitude,
                self._t(lang, "venue_title"),
                self.settings.placeholders(lang)["address"],
            )
        rows = _pairs([b for b in (self._link_button(n, lang) for n in ("map", "website")) if b])
        return Reply(
            self._t(lang, "contact"),
            lang,
            "contact",
            tuple(rows),
            contact_card=ContactCard(
                agency.phone_international, self._t(lang, "contact_card_name")
            ),
            venue=venue,
        )

    def register(self, lang: str) -> Reply:
        button = self._link_button("ngo_registration", lang)
        rows = ((button,),) if button else ()
        # Until staff set the form's address, the button opens the website: say so.
        pending = "ngo_registration" in self.settings.pending_links
        text = self._t(lang, "register_until_form_set" if pending else "register")
        return Reply(text, lang, "register", rows)

    def ask_prompt(self, lang: str) -> Reply:
        return Reply(self._t(lang, "ask_prompt"), lang, "prompt")

    def language_menu(self, lang: str) -> Reply:
        row = tuple(
            Button(self.locales.text(code, "language_name"), action=f"l:{code}")
            for code in self.settings.languages
        )
        return Reply(self._t(lang, "language_prompt"), lang, "language", (row,))

    def choose_language(self, code: str) -> Reply:
        lang = self.supported(code) or self.settings.default_language
        return Reply(
            self._t(lang, "language_set"),
            lang,
            "language",
            self._menu_buttons(lang),
            chosen_language=lang,
        )

    def topics(self, lang: str) -> Reply:
        knowledge = self.knowledge().knowledge
        rows = tuple(
            (Button(c.title(lang), action=f"c:{topic_token(c.key)}:0"),)
            for c in knowledge.categories
        )
        return Reply(
            self._t(lang, "topics_title"),
            lang,
            "topics",
            (*rows, (Button(self._t(lang, "main_menu"), action="m:start"),)),
            replace_previous=True,
        )

    def category(self, key: str, page: int, lang: str) -> Reply:
        knowledge = self.knowledge().knowledge
        category = knowledge.category(key)
        if category is None:
            return self.topics(lang)
        served = [i for i in category.entry_ids if self._served(knowledge, i) is not None]
        pages = max(1, -(-len(served) // ENTRIES_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        shown = served[page * ENTRIES_PER_PAGE : (page + 1) * ENTRIES_PER_PAGE]
        rows: list[tuple[Button, ...]] = []
        for entry_id in shown:
            entry = self._served(knowledge, entry_id)
            if entry is not None:
                rows.append((Button(entry.title(lang), action=f"e:{entry.id}"),))
        paging = []
        token = topic_token(key)
        if page > 0:
            paging.append(Button(self._t(lang, "previous_page"), action=f"c:{token}:{page - 1}"))
        if page < pages - 1:
            paging.append(Button(self._t(lang, "next_page"), action=f"c:{token}:{page + 1}"))
        if paging:
            rows.append(tuple(paging))
        rows.append((Button(self._t(lang, "back"), action="t"),))
        title = self._t(lang, "category_title", category=escape(category.title(lang)))
        if pages > 1:
            title += f" ({page + 1}/{pages})"
        return Reply(title, lang, "category", tuple(rows), replace_previous=True)

    def unsupported_message(self, lang: str) -> Reply:
        return Reply(self._t(lang, "unsupported_message"), lang, "unsupported")

    def flood_notice(self, lang: str) -> Reply:
        return Reply(self._t(lang, "flood_notice"), lang, "notice")

    def feedback_buttons(self, lang: str, question_id: str) -> tuple[Button, ...]:
        """The 'helpful? yes / no' pair for an answer logged as `question_id`."""
        return (
            Button(self._t(lang, "feedback_yes"), action=f"f:y:{question_id}"),
            Button(self._t(lang, "feedback_no"), action=f"f:n:{question_id}"),
        )

    def feedback_question(self, lang: str) -> str:
        return self._t(lang, "feedback_question")

    def handle_action(self, action: str, lang: str) -> Reply | None:
        """The reply to a pressed button's action; None for an action it does not know."""
        kind, _, rest = action.partition(":")
        if kind == "e" and rest:
            return self.show_entry(rest, lang)
        if kind == "t":
            return self.topics(lang)
        if kind == "c":
            token, _, page = rest.rpartition(":")
            key = self._topic_key(token)
            if key is None:
                return None
            return self.category(key, int(page) if _PAGE.fullmatch(page) else 0, lang)
        if kind == "l":
            return self.choose_language(rest)
        if kind == "f" and rest[:2] in ("y:", "n:") and len(rest) > 2:
            helpful = rest[0] == "y"
            key = "feedback_thanks_yes" if helpful else "feedback_thanks_no"
            # After a 👎 the user may hand that very question to staff.
            rows = () if helpful else self._handoff_rows(lang, rest[2:])
            return Reply(
                self._t(lang, key), lang, "feedback", rows, feedback_vote=(rest[2:], helpful)
            )
        if kind == "m":
            menus: dict[str, Callable[[str], Reply]] = {
                "start": self.welcome,
                "topics": self.topics,
                "contact": self.contact,
                "register": self.register,
                "language": self.language_menu,
                "help": self.help,
                "ask": self.ask_prompt,
            }
            handler = menus.get(rest)
            return handler(lang) if handler else None
        return None

    def _served(self, knowledge: KnowledgeBase, entry_id: str) -> Entry | None:
        """The entry if it exists and has not expired (an expired entry counts as absent)."""
        entry = knowledge.entry(entry_id)
        if entry is None or (entry.expires_at is not None and entry.is_expired(self.clock())):
            return None
        return entry

    def _topic_key(self, token: str) -> str | None:
        """The topic a button names: by its digest, or by its file name (the form of
        buttons sent by earlier versions, still in users' chats)."""
        categories = self.knowledge().knowledge.categories
        for category in categories:
            if topic_token(category.key) == token:
                return category.key
        return next((c.key for c in categories if c.key == token), None)

    # ----- buttons ---------------------------------------------------------------------
    def _menu_buttons(self, lang: str) -> tuple[tuple[Button, ...], ...]:
        return (
            (
                Button(self._t(lang, "menu_ask"), action="m:ask"),
                Button(self._t(lang, "menu_topics"), action="t"),
            ),
            (
                Button(self._t(lang, "menu_contact"), action="m:contact"),
                Button(self._t(lang, "menu_register"), action="m:register"),
            ),
            (Button(self._t(lang, "menu_language"), action="m:language"),),
        )

    def _fallback_row(self, lang: str) -> tuple[Button, ...]:
        return (
            Button(self._t(lang, "menu_topics"), action="t"),
            Button(self._t(lang, "menu_contact"), action="m:contact"),
        )

    def _handoff_rows(self, lang: str, question_id: str = "") -> tuple[tuple[Button, ...], ...]:
        if not self.settings.handoff.enabled:
            return ()
        return ((Button(self._t(lang, "handoff_button"), action=HANDOFF_ACTION + question_id),),)

    def _contact_link_row(self, lang: str) -> tuple[Button, ...]:
        return tuple(
            b
            for b in (self._link_button("website", lang), self._link_button("agency_faq", lang))
            if b
        )

    def _link_button(self, name: str, lang: str) -> Button | None:
        link = self.settings.links.get(name)
        return Button(link.label(lang), url=link.url) if link else None


def topic_token(key: str) -> str:
    """A topic's name in callback data: ten characters whatever the file name's length."""
    return hashlib.blake2s(key.encode("utf-8"), digest_size=5).hexdigest()


def _pairs(buttons: Sequence[Button]) -> list[tuple[Button, ...]]:
    """Buttons two to a row, as phones show them comfortably."""
    return [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]
