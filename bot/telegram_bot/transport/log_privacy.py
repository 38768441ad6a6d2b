"""What never reaches a log line: the bot token (Bot API URLs carry it) and the content of
users' updates (python-telegram-bot logs unreadable webhook bodies whole)."""

from __future__ import annotations

import json
import logging
import re

REDACTED = "<token>"


class TokenRedactingFilter(logging.Filter):
    """Removes the bot token from a log record (message, arguments and traceback): Bot API
    URLs contain it, and so may the errors of the HTTP library."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, REDACTED), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, REDACTED)
        return True


def keep_token_out_of_logs(token: str) -> None:
    """Quieten the HTTP libraries (their request lines carry the token) and, as a second
    line of defence, redact the token in every handler the root logger has now."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        if not any(
            isinstance(existing, TokenRedactingFilter) and existing.token == token
            for existing in handler.filters
        ):
            handler.addFilter(TokenRedactingFilter(token))


class UpdateContentFilter(logging.Filter):
    """python-telegram-bot logs the whole body of a webhook update it cannot parse (at
    CRITICAL, with a traceback) and of every update (at DEBUG); it holds users' messages
    and ids. These records keep the body's size and the update's kind only."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Something went wrong processing the data received"):
            data = _first_argument(record)
            error = record.exc_info[1] if record.exc_info else None
            record.msg = (
                "an update from the webhook could not be read (%d bytes, kind %s, %s); "
                "it was not processed"
            )
            record.args = (_size_of(data), _kind_of(data), type(error).__name__)
            record.exc_info, record.exc_text = None, None
        elif message.startswith("Webhook received data"):
            body = _first_argument(record)
            record.msg, record.args = "webhook received %d bytes", (len(str(body).encode()),)
        return True


def _first_argument(record: logging.LogRecord) -> object:
    # logging keeps a lone mapping argument as `args` itself, not in a tuple.
    if isinstance(record.args, tuple):
        return record.args[0] if record.args else None
    return record.args


def _size_of(data: object) -> int:
    try:
        return len(json.dumps(data, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return -1


def _kind_of(data: object) -> str:
    """The update's kind ("message", "callback_query", ...), if it looks like one."""
    if not isinstance(data, dict):
        return type(data).__name__
    kinds = [key for key in data if key != "update_id"]
    if len(kinds) == 1 and isinstance(kinds[0], str) and re.fullmatch(r"[a-z_]{1,40}", kinds[0]):
        return kinds[0]
    return "unknown"


def keep_update_content_out_of_logs() -> None:
    updater_logger = logging.getLogger("telegram.ext.Updater")
    if not any(isinstance(existing, UpdateContentFilter) for existing in updater_logger.filters):
        updater_logger.addFilter(UpdateContentFilter())
