"""A fake Telegram Bot API for tests and the benchmark: nothing ever leaves 127.0.0.1.

`FakeBotApi` is Telegram as far as the bot uses it. It records every call, checks each one
as Telegram would (HTML that parses, the 4096-character limit, 64-byte callback data, the
inline keyboard's shape, button URLs Telegram opens, a chat to send to, known methods only)
and answers with Telegram's JSON, errors included. Tests inject updates for getUpdates and
failures for the next calls of a method (a 429 with retry_after, a 500, a 403).

Two transports serve the same fake: `FakeBotApiServer`, a real HTTP server (aiohttp) on
127.0.0.1 for end-to-end runs, and `FakeBotApiRequest`, a python-telegram-bot request class
that answers in-process and so cannot reach any network.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from telegram.request import BaseRequest, RequestData

from bot.core.telegram_html import MESSAGE_LIMIT, html_problems, html_to_plain, plain_length

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijkl"
BOT_ID = 123456789
BOT_USERNAME = "ascs_faq_test_bot"
# Long polls are cut short so that tests and shutdowns never wait long.
MAX_POLL_SECONDS = 1.0
CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_LIMIT = 200
CAPTION_LIMIT = 1024
UPLOAD_LIMIT = 50 * 1024 * 1024  # bots may send files up to 50 MB
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # and get (getFile) files up to 20 MB
BUTTON_URL = re.compile(r"^(https?|tg)://\S+$")
BOT_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
# Parameters that are not text: PTB sends them as JSON inside a form field (text parameters
# go as they are, so "5" may be a text - these names tell which is which).
JSON_PARAMS = {
    "reply_markup",
    "commands",
    "results",
    "scope",
    "reply_parameters",
    "link_preview_options",
    "allowed_updates",
    "chat_id",
    "message_id",
    "cache_time",
    "show_alert",
    "is_personal",
    "latitude",
    "longitude",
    "offset",
    "limit",
    "timeout",
    "max_connections",
    "drop_pending_updates",
    # hand-off to staff
    "from_chat_id",
    "message_thread_id",
    "user_id",
}

Json = dict[str, Any]


class TelegramRefusal(Exception):
    """A call Telegram would refuse, with the status and description it would give."""

    def __init__(self, status: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class Call:
    method: str
    params: Json
    status: int  # the HTTP status the fake answered with
    error: str | None = None  # the description, for a refused call
    result: Any = None  # what the fake answered, for a successful call
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class UploadedFile:
    """A file sent with a call (multipart/form-data), as Telegram receives it."""

    filename: str
    content: bytes
    mimetype: str


@dataclass
class _Failure:
    status: int
    description: str
    parameters: Json | None
    remaining: int


# ----- announcements: failures per chat, Telegram's flood limits, deliveries per chat ------


@dataclass
class _FloodLimits:
    """Token buckets as Telegram applies them: `per_second` messages a second in all (a
    burst of as many), and `per_chat` a second in one chat (short bursts allowed)."""

    per_second: float
    per_chat: float
    chat_burst: float
    group_per_minute: int | None = None  # messages into one group in any 60 s
    overall: float = 0.0
    overall_at: float = field(default_factory=time.monotonic)
    chats: dict[int, tuple[float, float]] = field(default_factory=dict)  # tokens, when
    groups: dict[int, list[float]] = field(default_factory=dict)  # accepted, when
    refused: int = 0

    def admit(self, chat_id: int) -> float:
        """0 if a message to `chat_id` may go now, else the seconds to wait."""
        now = time.monotonic()
        if self.group_per_minute is not None and chat_id < 0:
            posted = [t for t in self.groups.get(chat_id, []) if t > now - 60.0]
            self.groups[chat_id] = posted
            if len(posted) >= self.group_per_minute:
                self.refused += 1
                return posted[-self.group_per_minute] + 60.0 - now
            wait = self._admit_rate(chat_id, now)
            if wait == 0:
                posted.append(now)
            return wait
        return self._admit_rate(chat_id, now)

    def _admit_rate(self, chat_id: int, now: float) -> float:
        self.overall = min(
            self.per_second, self.overall + (now - self.overall_at) * self.per_second
        )
        self.overall_at = now
        tokens, at = self.chats.get(chat_id, (self.chat_burst, now))
        tokens = min(self.chat_burst, tokens + (now - at) * self.per_chat)
        if self.overall < 1:
            wait = (1 - self.overall) / self.per_second
        elif tokens < 1:
            wait = (1 - tokens) / self.per_chat
        else:
            self.overall -= 1
            self.chats[chat_id] = (tokens - 1, now)
            return 0.0
        self.chats[chat_id] = (tokens, now)
        self.refused += 1
        return wait


class _AnnouncementFake:
    """What the announcement tests and benchmark need of the fake (mixed into FakeBotApi)."""

    _chat_failures: dict[int, list[_Failure]]
    _limits: _FloodLimits | None
    calls: list[Call]

    def fail_chat(self, chat_id: int, *, status: int, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` messages to `chat_id` fail with `status` (403 blocked, 429,
        500...); a large `times` makes it permanent."""
        descriptions = {
            403: "Forbidden: bot was blocked by the user",
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        parameters = {"retry_after": retry_after} if status == 429 else None
        self._chat_failures.setdefault(chat_id, []).append(
            _Failure(status, descriptions.get(status, "Error"), parameters, times)
        )

    def stop_failing_chat(self, chat_id: int) -> None:
        """Messages to `chat_id` go through again (what fail_chat set up is dropped)."""
        self._chat_failures.pop(chat_id, None)

    def enforce_limits(
        self,
        per_second: float = 30,
        per_chat: float = 1,
        chat_burst: float = 5,
        group_per_minute: int | None = None,
    ) -> None:
        """Refuse messages (sendMessage; with `group_per_minute`, also copyMessage and
        createForumTopic) over Telegram's flood limits with 429 and retry_after."""
        self._limits = _FloodLimits(per_second, per_chat, chat_burst, group_per_minute)

    def _within_limits(self, chat_id: int) -> None:
        """Only the flood limits (not injected failures), for the hand-off's other posts."""
        if self._limits is not None and self._limits.group_per_minute is not None:
            wait = self._limits.admit(chat_id)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                raise TelegramRefusal(
                    429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
                )

    @property
    def refused_by_limits(self) -> int:
        return self._limits.refused if self._limits is not None else 0

    def deliveries(self) -> Counter[int]:
        """Messages delivered per chat."""
        return Counter(
            int(c.params["chat_id"]) for c in self.calls if c.method == "sendMessage" and c.ok
        )

    def _refuse_for_chat(self, chat_id: int) -> None:
        pending = self._chat_failures.get(chat_id)
        if pending:
            failure = pending[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                pending.pop(0)
            raise TelegramRefusal(failure.status, failure.description, failure.parameters)
        if self._limits is not None:
            wait = self._limits.admit(chat_id)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                raise TelegramRefusal(
                    429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
                )


class FakeBotApi(_AnnouncementFake):
    """Telegram's side of the conversation, in memory."""

    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.username = username
        self.calls: list[Call] = []
        self.webhook: Json | None = None
        self.polls = 0  # getUpdates calls (not kept in `calls`: they would drown the rest)
        # Updates with a lower update_id are confirmed: a poll has asked for what follows.
        self.confirmed_below = 0
        self._delivered: Counter[str] = Counter()  # successful calls by method
        self._updates: list[Json] = []
        self._next_update_id = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._failures: dict[str, list[_Failure]] = {}
        self._messages: dict[tuple[int, int], tuple[str, Any]] = {}
        # One event per waiter (a test or a long poll), set on every change: a shared event
        # that waiters clear would lose wake-ups between them.
        self._waiters: set[asyncio.Event] = set()
        self._closing = False
        # Users who never started the bot: Telegram will not open a chat with them.
        self.unreachable_chats: set[int] = set()
        # Hand-off to staff: groups with topics on, their topics, and who is in which group.
        self.forums: set[int] = set()
        self.topics: dict[tuple[int, int], Json] = {}
        self.deleted: set[tuple[int, int]] = set()  # (chat id, message id) deleteMessage removed
        self.members: dict[int, dict[int, str]] = {}  # chat id -> user id -> status
        self._thread_ids = itertools.count(500)
        self._chat_failures: dict[int, list[_Failure]] = {}
        self._limits: _FloodLimits | None = None
        self._refused_fragments: dict[str, str] = {}
        # Files users sent (by file_id), for getFile and the download that follows.
        self.files: dict[str, bytes] = {}
        self.downloads = 0
        self._file_ids = itertools.count(1)

    # ----- what tests do -------------------------------------------------------------

    def add_update(self, update: Json) -> Json:
        """Queue an update for getUpdates (given the next update_id); returns it."""
        update = {**update, "update_id": next(self._next_update_id)}
        self._updates.append(update)
        self._notify()
        return update

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next `times` calls of `method` fail with `status` (429 carries retry_after)."""
        parameters = None
        if status == 429:
            retry_after = retry_after or 1
            parameters = {"retry_after": retry_after}
            description = description or f"Too Many Requests: retry after {retry_after}"
        defaults = {403: "Forbidden: bot was blocked by the user", 500: "Internal Server Error"}
        self._failures.setdefault(method, []).append(
            _Failure(status, description or defaults.get(status, "Error"), parameters, times)
        )

    def end_long_polls(self) -> None:
        """Answer pending getUpdates at once (the server is stopping)."""
        self._closing = True
        self._notify()

    def recover(self) -> None:
        """Forget every failure still to inject."""
        self._failures.clear()

    def calls_of(self, method: str, *, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Texts of the messages delivered (to `chat_id`, if given), oldest first."""
        return [
            str(c.params["text"])
            for c in self.calls_of("sendMessage")
            if chat_id is None or c.params.get("chat_id") == chat_id
        ]

    async def wait_for(
        self, method: str, count: int = 1, *, within: float = 10.0, ok_only: bool = True
    ) -> list[Call]:
        """The calls of `method` once there are at least `count`; fails after `within` s."""

        def done() -> bool:
            if ok_only:  # a count, not a scan: the benchmark waits for thousands of calls
                return self._delivered[method] >= count
            return len(self.calls_of(method, ok_only=False)) >= count

        enough = await self._wait_until(done, within)
        calls = self.calls_of(method, ok_only=ok_only)
        if not enough:
            raise AssertionError(
                f"{len(calls)} {method} call(s) after {within} s, expected {count}; "
                f"calls: {[(c.method, c.status, c.error) for c in self.calls]}"
            )
        return calls

    async def wait_until(self, condition: Callable[[], bool], *, within: float = 10.0) -> None:
        """Return once `condition()` holds (checked after every call); fail after `within` s."""
        if not await self._wait_until(condition, within):
            raise AssertionError(
                f"not met after {within} s; calls: {[(c.method, c.status) for c in self.calls]}"
            )

    async def _wait_until(self, condition: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            changed = asyncio.Event()
            self._waiters.add(changed)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
            finally:
                self._waiters.discard(changed)
        return True

    def _notify(self) -> None:
        for changed in self._waiters:
            changed.set()

    # ----- what the bot does ---------------------------------------------------------

    async def handle(self, token: str, method: str, params: Mapping[str, Any]) -> tuple[int, Json]:
        """One Bot API call: (HTTP status, Telegram's JSON answer)."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        decoded = {key: _decode(key, value) for key, value in params.items()}
        try:
            self._inject_failure(method)
            if method == "getUpdates":
                result: Any = await self._get_updates(decoded)
            else:
                handler = getattr(self, f"_{method}", None)
                if handler is None:
                    raise TelegramRefusal(404, "Not Found")
                result = handler(decoded)
        except TelegramRefusal as refusal:
            self._record(Call(method, decoded, refusal.status, refusal.description))
            body: Json = {
                "ok": False,
                "error_code": refusal.status,
                "description": refusal.description,
            }
            if refusal.parameters:
                body["parameters"] = refusal.parameters
            return refusal.status, body
        self._record(Call(method, decoded, 200, result=result))
        return 200, {"ok": True, "result": result}

    def _record(self, call: Call) -> None:
        if call.method != "getUpdates":  # polls would drown everything else
            self.calls.append(call)
            if call.ok:
                self._delivered[call.method] += 1
            self._notify()

    def _inject_failure(self, method: str) -> None:
        pending = self._failures.get(method)
        if not pending:
            return
        failure = pending[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            pending.pop(0)
        raise TelegramRefusal(failure.status, failure.description, failure.parameters)

    async def _get_updates(self, params: Json) -> list[Json]:
        self.polls += 1
        offset = int(params.get("offset") or 0)
        self.confirmed_below = max(self.confirmed_below, offset)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        wait = min(float(params.get("timeout") or 0), MAX_POLL_SECONDS)
        await self._wait_until(lambda: bool(self._updates) or self._closing, wait)
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    # ----- the methods, checked as Telegram checks them ------------------------------

    def _getMe(self, params: Json) -> Json:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "ASCS FAQ (test)",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    def _deleteWebhook(self, params: Json) -> bool:
        self.webhook = None
        return True

    def _getWebhookInfo(self, params: Json) -> Json:
        hook = self.webhook or {}
        return {
            "url": str(hook.get("url") or ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _setWebhook(self, params: Json) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise TelegramRefusal(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise TelegramRefusal(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = params
        return True

    def _setMyCommands(self, params: Json) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise TelegramRefusal(400, "Bad Request: commands must be a list of at most 100")
        for command in commands:
            if not BOT_COMMAND.match(str(command.get("command", ""))):
                raise TelegramRefusal(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise TelegramRefusal(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        language = params.get("language_code")
        if language is not None and not re.fullmatch(r"[a-z]{2}", str(language)):
            raise TelegramRefusal(400, "Bad Request: invalid language code")
        scope = params.get("scope")
        if scope is not None:
            if scope.get("type") not in COMMAND_SCOPES:
                raise TelegramRefusal(400, "Bad Request: wrong bot command scope type specified")
            if scope["type"] in ("chat", "chat_administrators", "chat_member"):
                self._reachable(_chat_id(scope))
        return True

    def _reachable(self, chat_id: int) -> int:
        if chat_id in self.unreachable_chats:
            raise TelegramRefusal(400, "Bad Request: chat not found")
        return chat_id

    def refuse_texts_with(self, fragment: str, description: str) -> None:
        """Every sendMessage whose text holds `fragment` fails with 400 `description`: what
        Telegram refuses although the bot's own check let it through."""
        self._refused_fragments[fragment] = description

    def _sendMessage(self, params: Json) -> Json:
        chat_id = self._reachable(_chat_id(params))
        self._refuse_for_chat(chat_id)
        for fragment, description in self._refused_fragments.items():
            if fragment in str(params.get("text")):
                raise TelegramRefusal(400, description)
        _check_text(params, "text")
        markup = _check_markup(params.get("reply_markup"))
        message = self._message(chat_id, text=params["text"], **self._thread(chat_id, params))
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = (params["text"], markup)
        return message

    def _sendContact(self, params: Json) -> Json:
        chat_id = _chat_id(params)
        for name in ("phone_number", "first_name"):
            if not params.get(name):
                raise TelegramRefusal(400, f"Bad Request: {name} is empty")
        contact = {"phone_number": str(params["phone_number"]), "first_name": params["first_name"]}
        return self._message(chat_id, contact=contact)

    def _sendVenue(self, params: Json) -> Json:
        chat_id = _chat_id(params)
        for name in ("latitude", "longitude", "title", "address"):
            if params.get(name) in (None, ""):
                raise TelegramRefusal(400, f"Bad Request: {name} is empty")
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        venue = {"location": location, "title": params["title"], "address": params["address"]}
        return self._message(chat_id, venue=venue, location=location)

    # ----- files (sendDocument) -----------------------------------------------------

    def _sendDocument(self, params: Json) -> Json:
        chat_id = self._reachable(_chat_id(params))
        document = params.get("document")
        if not isinstance(document, UploadedFile):
            raise TelegramRefusal(400, "Bad Request: there is no document in the request")
        if not document.content:
            raise TelegramRefusal(400, "Bad Request: file must be non-empty")
        if len(document.content) > UPLOAD_LIMIT:
            raise TelegramRefusal(413, "Request Entity Too Large")
        content: Json = {
            "document": {
                "file_id": f"doc{len(self.calls)}",
                "file_unique_id": f"u{len(self.calls)}",
                "file_name": document.filename,
                "mime_type": document.mimetype,
                "file_size": len(document.content),
            }
        }
        if params.get("caption"):
            _check_caption(params)
            content["caption"] = params["caption"]
        return self._message(chat_id, **content)

    def add_document(
        self, content: bytes, file_name: str, mime_type: str = "application/x-yaml"
    ) -> Json:
        """A document as a user's message carries it (its content kept for getFile)."""
        number = next(self._file_ids)
        file_id = f"BQACAgIAAxkBAAI{number}"
        self.files[file_id] = content
        return {
            "file_id": file_id,
            "file_unique_id": f"AgAD{number}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }

    def _getFile(self, params: Json) -> Json:
        file_id = str(params.get("file_id") or "")
        content = self.files.get(file_id)
        if content is None:
            raise TelegramRefusal(400, "Bad Request: invalid file_id")
        if len(content) > DOWNLOAD_LIMIT:
            raise TelegramRefusal(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(content),
            "file_path": f"documents/{file_id}",
        }

    def download(self, token: str, file_path: str) -> tuple[int, bytes]:
        """A file's bytes at /file/bot<token>/<file_path>, as Telegram serves them."""
        file_id = file_path.removeprefix("documents/")
        if token != self.token or file_id not in self.files:
            return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
        self.downloads += 1
        return 200, self.files[file_id]

    def documents(self, chat_id: int | None = None) -> list[UploadedFile]:
        """The files delivered with sendDocument (to one chat), oldest first."""
        return [
            c.params["document"]
            for c in self.calls_of("sendDocument")
            if chat_id is None or _chat_id(c.params) == chat_id
        ]

    def _editMessageText(self, params: Json) -> Json | bool:
        _check_text(params, "text")
        markup = _check_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        chat_id, message_id = _chat_id(params), _message_id(params)
        if self._messages.get((chat_id, message_id)) == (params["text"], markup):
            raise TelegramRefusal(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        self._messages[(chat_id, message_id)] = (params["text"], markup)
        message = self._message(chat_id, text=params["text"], message_id=message_id)
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _editMessageReplyMarkup(self, params: Json) -> Json | bool:
        markup = _check_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        chat_id, message_id = _chat_id(params), _message_id(params)
        text, _ = self._messages.get((chat_id, message_id), ("", None))
        self._messages[(chat_id, message_id)] = (text, markup)
        message = self._message(chat_id, text=text or "…", message_id=message_id)
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _answerCallbackQuery(self, params: Json) -> bool:
        if not params.get("callback_query_id"):
            raise TelegramRefusal(400, "Bad Request: callback_query_id is empty")
        if len(str(params.get("text") or "")) > CALLBACK_ANSWER_LIMIT:
            raise TelegramRefusal(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _answerInlineQuery(self, params: Json) -> bool:
        if not params.get("inline_query_id"):
            raise TelegramRefusal(400, "Bad Request: inline_query_id is empty")
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise TelegramRefusal(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(result.get("id", "")) for result in results]
        if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
            raise TelegramRefusal(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            if result.get("type") != "article" or not result.get("title"):
                raise TelegramRefusal(400, "Bad Request: RESULT_TYPE_INVALID")
            _check_text(result.get("input_message_content") or {}, "message_text")
            _check_markup(result.get("reply_markup"))
        return True

    # ----- hand-off to staff: topics, copies, membership -----------------------------

    def _thread(self, chat_id: int, params: Json) -> Json:
        """A message's topic fields, checked: the topic must exist in that chat."""
        thread = params.get("message_thread_id")
        if thread in (None, ""):
            return {}
        topic = self.topics.get((chat_id, int(thread)))
        if topic is None:
            raise TelegramRefusal(400, "Bad Request: message thread not found")
        return {"message_thread_id": int(thread), "is_topic_message": True}

    def _createForumTopic(self, params: Json) -> Json:
        chat_id = _chat_id(params)
        if chat_id not in self.forums:
            raise TelegramRefusal(400, "Bad Request: the chat is not a forum")
        self._within_limits(chat_id)
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise TelegramRefusal(400, "Bad Request: TOPIC_TITLE_EMPTY or too long")
        thread = next(self._thread_ids)
        self.topics[(chat_id, thread)] = {"name": name, "closed": False}
        return {"message_thread_id": thread, "name": name, "icon_color": 7322096}

    def _closeForumTopic(self, params: Json) -> bool:
        return self._set_topic_closed(params, closed=True)

    def _reopenForumTopic(self, params: Json) -> bool:
        return self._set_topic_closed(params, closed=False)

    def _set_topic_closed(self, params: Json, *, closed: bool) -> bool:
        key = (_chat_id(params), int(params.get("message_thread_id") or 0))
        topic = self.topics.get(key)
        if topic is None:
            raise TelegramRefusal(400, "Bad Request: message thread not found")
        if topic["closed"] == closed:
            raise TelegramRefusal(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic["closed"] = closed
        return True

    # ----- tidying the staff group after /forget and retention -------------------------

    def _editForumTopic(self, params: Json) -> bool:
        topic = self.topics.get((_chat_id(params), int(params.get("message_thread_id") or 0)))
        if topic is None:
            raise TelegramRefusal(400, "Bad Request: message thread not found")
        name = params.get("name")
        if name is not None:
            if not 1 <= len(str(name)) <= 128:
                raise TelegramRefusal(400, "Bad Request: TOPIC_TITLE_EMPTY or too long")
            topic["name"] = str(name)
        return True

    def _deleteForumTopic(self, params: Json) -> bool:
        """Only an administrator may delete a topic (Telegram wants "Delete messages")."""
        chat_id = _chat_id(params)
        if self.members.get(chat_id, {}).get(BOT_ID) != "administrator":
            raise TelegramRefusal(400, "Bad Request: not enough rights to delete the topic")
        key = (chat_id, int(params.get("message_thread_id") or 0))
        if self.topics.pop(key, None) is None:
            raise TelegramRefusal(400, "Bad Request: message thread not found")
        return True

    def _deleteMessage(self, params: Json) -> bool:
        key = (_chat_id(params), _message_id(params))
        if key in self.deleted:
            raise TelegramRefusal(400, "Bad Request: message to delete not found")
        self.deleted.add(key)
        self._messages.pop(key, None)
        return True

    def _copyMessage(self, params: Json) -> Json:
        chat_id = self._reachable(_chat_id(params))
        if params.get("from_chat_id") in (None, ""):
            raise TelegramRefusal(400, "Bad Request: from_chat_id is empty")
        self._within_limits(chat_id)
        _message_id(params)
        _check_markup(params.get("reply_markup"))
        self._thread(chat_id, params)
        return {"message_id": next(self._message_ids)}

    def _getChatMember(self, params: Json) -> Json:
        chat_id = _chat_id(params)
        user_id = int(params.get("user_id") or 0)
        status = self.members.get(chat_id, {}).get(user_id, "left")
        member: Json = {
            "status": status,
            "user": {"id": user_id, "is_bot": False, "first_name": "?"},
        }
        if status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        elif status == "creator":
            member.update(is_anonymous=False)
        return member

    def _message(self, chat_id: int, *, message_id: int | None = None, **content: Any) -> Json:
        chat: Json = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "A group"
        return {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "ASCS FAQ (test)"},
            **content,
        }


def _decode(name: str, value: Any) -> Any:
    """Form fields arrive as text; objects and lists are JSON inside them, as for Telegram."""
    if name in JSON_PARAMS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _chat_id(params: Json) -> int:
    chat_id = params.get("chat_id")
    if chat_id in (None, ""):
        raise TelegramRefusal(400, "Bad Request: chat_id is empty")
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        raise TelegramRefusal(400, "Bad Request: chat not found") from None


def _message_id(params: Json) -> int:
    try:
        return int(params["message_id"])
    except (KeyError, TypeError, ValueError):
        raise TelegramRefusal(400, "Bad Request: message identifier is not specified") from None


def _check_text(params: Json, name: str) -> None:
    text = params.get(name)
    if not isinstance(text, str) or not text.strip():
        raise TelegramRefusal(400, "Bad Request: message text is empty")
    if params.get("parse_mode") == "HTML":
        problems = [p for p in html_problems(text) if "characters; Telegram allows" not in p]
        if problems:
            raise TelegramRefusal(400, f"Bad Request: can't parse entities: {problems[0]}")
        length = plain_length(text)
    else:
        length = len(text)
    if length > MESSAGE_LIMIT:
        raise TelegramRefusal(400, "Bad Request: message is too long")


def _check_caption(params: Json) -> None:
    caption = params["caption"]
    if params.get("parse_mode") == "HTML":
        problems = [p for p in html_problems(caption) if "characters; Telegram allows" not in p]
        if problems:
            raise TelegramRefusal(400, f"Bad Request: can't parse entities: {problems[0]}")
        caption = html_to_plain(caption)
    if len(caption) > CAPTION_LIMIT:
        raise TelegramRefusal(400, "Bad Request: message caption is too long")


def _check_markup(markup: Any) -> Any:
    """An inline keyboard as Telegram accepts it (returned as received), or None."""
    if markup is None:
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise TelegramRefusal(400, "Bad Request: inline keyboard must be an array of arrays")
    if sum(len(row) for row in rows) > 100:
        raise TelegramRefusal(400, "Bad Request: too many inline keyboard buttons")
    for row in rows:
        if not row:
            raise TelegramRefusal(400, "Bad Request: inline keyboard row is empty")
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise TelegramRefusal(400, "Bad Request: BUTTON_TEXT_EMPTY")
            kinds = {"url", "callback_data", "switch_inline_query"} & set(button)
            if len(kinds) != 1:
                raise TelegramRefusal(400, "Bad Request: BUTTON_TYPE_INVALID")
            if "url" in button and not BUTTON_URL.match(str(button["url"])):
                raise TelegramRefusal(400, "Bad Request: BUTTON_URL_INVALID")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise TelegramRefusal(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


# ----- the two transports ------------------------------------------------------------------


class FakeBotApiServer:
    """The fake served over HTTP on 127.0.0.1 (a free port), at /bot<token>/<method>."""

    def __init__(self, api: FakeBotApi | None = None) -> None:
        self.api = api or FakeBotApi()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """What the bot's `base_url` setting should be."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._serve)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._serve_file)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self.api.end_long_polls()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _serve_file(self, request: web.Request) -> web.Response:
        status, body = self.api.download(request.match_info["token"], request.match_info["path"])
        return web.Response(body=body, status=status)

    async def _serve(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, str):
                    params[key] = value
                elif isinstance(value, web.FileField):
                    params[key] = UploadedFile(
                        value.filename, value.file.read(), value.content_type
                    )
        status, body = await self.api.handle(
            request.match_info["token"], request.match_info["method"], params
        )
        return web.json_response(body, status=status)


class FakeBotApiRequest(BaseRequest):
    """A request class for python-telegram-bot that answers from the fake in-process: the
    full PTB stack runs, and no byte can reach a network."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        download = re.search(r"/file/bot([^/]+)/(.+)$", url)
        if download is not None:
            # PTB quotes the path (the token's ':' arrives as %3A), as a server would see it.
            return self.api.download(unquote(download.group(1)), unquote(download.group(2)))
        match = re.search(r"/bot([^/]+)/(\w+)$", url)
        if match is None:
            raise AssertionError(f"not a Bot API URL: {url}")
        params: dict[str, Any] = {}
        if request_data is not None:
            params.update(request_data.json_parameters)
            for name, (filename, content, mimetype) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                params[name] = UploadedFile(filename or name, data, mimetype)
        status, body = await self.api.handle(match.group(1), match.group(2), params)
        return status, json.dumps(body).encode()


# ----- updates as Telegram sends them ------------------------------------------------------


def keyboard(call_params: Json) -> list[list[Json]]:
    """The inline keyboard a recorded call sent, as rows of buttons (none: [])."""
    markup = call_params.get("reply_markup") or {"inline_keyboard": []}
    rows: list[list[Json]] = markup["inline_keyboard"]
    return rows


def actions(call_params: Json) -> list[str]:
    """The callback data of a recorded call's buttons."""
    return [
        b["callback_data"] for row in keyboard(call_params) for b in row if "callback_data" in b
    ]


def urls(call_params: Json) -> list[str]:
    """The addresses of a recorded call's URL buttons."""
    return [b["url"] for row in keyboard(call_params) for b in row if "url" in b]


def user(user_id: int = 1001, language_code: str | None = "en", name: str = "Arben") -> Json:
    found: Json = {"id": user_id, "is_bot": False, "first_name": name}
    if language_code:
        found["language_code"] = language_code
    return found


def private_chat(of: Json) -> Json:
    return {"id": of["id"], "type": "private", "first_name": of["first_name"]}


GROUP = {"id": -1001234567890, "type": "supergroup", "title": "NGO forum"}


def _utf16_length(text: str) -> int:
    """Telegram counts entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class UpdateFactory:
    """Builds update dicts (JSON as Telegram sends it) with fresh message ids."""

    def __init__(self) -> None:
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)

    def message(
        self,
        text: str | None = None,
        *,
        sender: Json | None = None,
        chat: Json | None = None,
        reply_to: Json | None = None,
        **content: Any,
    ) -> Json:
        sender = sender or user()
        message: Json = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat or private_chat(sender),
            "from": sender,
            **content,
        }
        if text is not None:
            message["text"] = text
            entities = _entities(text)
            if entities:
                message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"message": message}

    def command(
        self, command: str, *, sender: Json | None = None, chat: Json | None = None
    ) -> Json:
        """`command` as typed, e.g. '/start' or '/start grant-types' or '/help@bot'."""
        return self.message(command, sender=sender, chat=chat)

    def sticker(self, *, sender: Json | None = None, chat: Json | None = None) -> Json:
        sticker = {
            "file_id": "CAACAgIAAxkBAAEB",
            "file_unique_id": "AgADBAAD",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.message(sender=sender, chat=chat, sticker=sticker)

    def callback(self, data: str, *, on: Json, sender: Json | None = None) -> Json:
        """A press of the button with `data` on the bot's message `on` (a sendMessage result)."""
        return {
            "callback_query": {
                "id": str(next(self._query_ids)),
                "from": sender or user(),
                "chat_instance": "42",
                "message": on,
                "data": data,
            }
        }

    def inline_query(self, query: str, *, sender: Json | None = None) -> Json:
        return {
            "inline_query": {
                "id": str(next(self._query_ids)),
                "from": sender or user(),
                "query": query,
                "offset": "",
            }
        }


def _entities(text: str) -> list[Json]:
    """The bot_command and mention entities Telegram would attach to `text`."""
    entities = []
    for match in re.finditer(r"(?<!\S)(/[A-Za-z0-9_]+(?:@\w+)?|@\w{5,32})", text):
        kind = "bot_command" if match.group(1).startswith("/") else "mention"
        if kind == "bot_command" and match.start() != 0:
            continue
        entities.append(
            {
                "type": kind,
                "offset": _utf16_length(text[: match.start()]),
                "length": _utf16_length(match.group(1)),
            }
        )
    return entities
