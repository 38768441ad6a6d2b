"""A bot that cannot start says why in one or two plain lines, and exits non-zero.

An operator (or systemd's journal) reads what is wrong and what to do, not python-telegram-
bot's tracebacks; those come with `run --debug`. Exit code 2 means only a person can fix it
(the token, config.yaml, a port taken), so `RestartPreventExitStatus=2` stops systemd from
restarting in vain; 1 means it may pass (network, timeout), so restarting is right.

The token is in Bot API URLs and in some of the library's messages ("The token `...` was
rejected"): every line written here goes through `redact`.
"""

from __future__ import annotations

import errno
import logging
import traceback
from dataclasses import dataclass
from urllib.parse import quote, urlparse

from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, TimedOut

from bot.config import TOKEN_ENV, Settings

REDACTED = "<token>"
EXIT_MAY_PASS, EXIT_NEEDS_FIX = 1, 2


@dataclass(frozen=True)
class StartFailure:
    lines: tuple[str, ...]  # what is wrong, then what to do
    exit_code: int


def redact(text: str, token: str) -> str:
    """`text` without the token, whole, URL-encoded or just its secret part."""
    secret = token.split(":", 1)[-1]
    for form in sorted({token, quote(token, safe=""), secret}, key=len, reverse=True):
        if len(form) >= 8:  # a very short "secret" would blank out ordinary words
            text = text.replace(form, REDACTED)
    return text


def describe(error: BaseException, settings: Settings, token: str) -> StartFailure:
    """What to tell an operator about `error`, raised while starting or running the bot."""
    telegram = settings.telegram
    host = urlparse(telegram.base_url).netloc or telegram.base_url
    config = f"config.yaml ({settings.source})" if settings.source else "config.yaml"
    reason = redact(_reason(error), token)
    if isinstance(error, InvalidToken):
        return StartFailure(
            (
                f"Telegram ({host}) rejected the bot token in {TOKEN_ENV} ({reason}).",
                f"Check the token with @BotFather (/mybots, API Token) and set {TOKEN_ENV} "
                f"again; if it is right, check telegram.base_url in {config}.",
            ),
            EXIT_NEEDS_FIX,
        )
    if isinstance(error, TimedOut):
        return StartFailure(
            (
                f"Telegram ({host}) did not answer in time.",
                "Check this machine's network connection, firewall or proxy; the bot starts "
                "again when restarted.",
            ),
            EXIT_MAY_PASS,
        )
    if isinstance(error, BadRequest) and "webhook" in str(error).lower():
        return StartFailure(
            (
                f"Telegram refused the webhook address {telegram.webhook.url} ({reason}).",
                f"Set telegram.webhook.url in {config} to a public https:// address that "
                "reaches this server (through its reverse proxy).",
            ),
            EXIT_NEEDS_FIX,
        )
    if isinstance(error, Conflict):
        return StartFailure(
            (
                f"Telegram reports a conflict ({reason}).",
                "Another copy of this bot is running with the same token: stop it first.",
            ),
            EXIT_NEEDS_FIX,
        )
    if isinstance(error, NetworkError):
        return StartFailure(
            (
                f"Cannot reach Telegram at {host} ({reason}).",
                f"Check this machine's network connection and telegram.base_url in {config}; "
                "the bot starts again when restarted.",
            ),
            EXIT_MAY_PASS,
        )
    if isinstance(error, OSError) and error.errno in (errno.EADDRINUSE, errno.EACCES):
        where = f"{telegram.webhook.listen}:{telegram.webhook.port}"
        problem = (
            "the port is in use by another program"
            if error.errno == errno.EADDRINUSE
            else "this user may not open that port"
        )
        return StartFailure(
            (
                f"Cannot listen for Telegram's webhook on {where}: {problem}.",
                f"Stop the other program, or set another telegram.webhook.port in {config} "
                "(and in the reverse proxy).",
            ),
            EXIT_NEEDS_FIX,
        )
    return StartFailure(
        (
            f"The bot stopped: {type(error).__name__}: {reason}.",
            "Run it again with --debug (python -m bot run --debug) to see the details.",
        ),
        EXIT_MAY_PASS,
    )


def _reason(error: BaseException) -> str:
    """The error's own words: for a token rejected by PTB, the server's (Unauthorized, Not
    Found) rather than PTB's sentence quoting the token."""
    cause = error.__cause__
    if isinstance(error, InvalidToken) and isinstance(cause, InvalidToken):
        error = cause
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(text).split()).rstrip(".")


def formatted_traceback(error: BaseException, token: str) -> str:
    """The traceback, for --debug, with the token redacted."""
    return redact("".join(traceback.format_exception(error)), token)


class QuietStart(logging.Filter):
    """Drops python-telegram-bot's "Network Retry Loop (...): ... Aborting" record and its
    traceback: the library gives up only while starting (at run time it retries for ever),
    and the failure is then told once, in plain lines, by `describe`."""

    LOGGER = "telegram.ext"

    def filter(self, record: logging.LogRecord) -> bool:
        giving_up = record.levelno >= logging.ERROR and record.getMessage().startswith(
            "Network Retry Loop"
        )
        return not giving_up
