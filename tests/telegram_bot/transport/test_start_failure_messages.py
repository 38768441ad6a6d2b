"""The lines a failed start prints never hold the token, in whatever form an error quotes it."""

from __future__ import annotations

from pathlib import Path

from telegram.error import InvalidToken

from bot.telegram_bot.transport.start_failures import (
    EXIT_MAY_PASS,
    EXIT_NEEDS_FIX,
    describe,
    redact,
)
from tests.factories import make_settings
from tests.fake_bot_api import TOKEN


def test_every_form_of_the_token_is_redacted() -> None:
    secret = TOKEN.split(":", 1)[1]
    text = f"url /bot{TOKEN}/getMe, encoded {TOKEN.replace(':', '%3A')}, bare {secret}"
    redacted = redact(text, TOKEN)
    assert secret not in redacted
    assert redacted.count("<token>") == 3


def test_a_rejected_token_is_described_by_the_servers_words_not_ptbs(tmp_path: Path) -> None:
    error = InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    error.__cause__ = InvalidToken("Unauthorized")
    failure = describe(error, make_settings(tmp_path), TOKEN)
    assert failure.exit_code == EXIT_NEEDS_FIX
    assert "(Unauthorized)" in failure.lines[0]
    assert all(TOKEN not in line for line in failure.lines)


def test_an_unexpected_error_quoting_the_token_is_redacted(tmp_path: Path) -> None:
    failure = describe(RuntimeError(f"boom at /bot{TOKEN}/x"), make_settings(tmp_path), TOKEN)
    assert failure.exit_code == EXIT_MAY_PASS
    assert "RuntimeError: boom at /bot<token>/x" in failure.lines[0]
    assert "--debug" in failure.lines[1]
