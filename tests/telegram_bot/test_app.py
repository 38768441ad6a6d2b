"""Starting the bot: the webhook's secret, the token kept out of logs, retries on delivery."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.config import Settings
from bot.telegram_bot.answering.handlers import question_text
from bot.telegram_bot.app import run_telegram_bot, webhook_arguments
from bot.telegram_bot.transport import delivery
from bot.telegram_bot.transport.delivery import DeliveryRateLimiter
from bot.telegram_bot.transport.log_privacy import TokenRedactingFilter
from tests.fake_bot_api import TOKEN


def webhook_settings(settings: Settings) -> Settings:
    webhook = replace(settings.telegram.webhook, url="https://bot.example.org/hooks/telegram")
    return replace(settings, telegram=replace(settings.telegram, mode="webhook", webhook=webhook))


@pytest.mark.parametrize(
    ("secret", "expected"),
    [(None, "TELEGRAM_WEBHOOK_SECRET is not set"), ("has spaces!", "may only hold")],
)
def test_webhook_mode_refuses_to_start_without_a_usable_secret(
    settings: Settings,
    secret: str | None,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environ = {} if secret is None else {"TELEGRAM_WEBHOOK_SECRET": secret}
    code = run_telegram_bot(webhook_settings(settings), TOKEN, environ=environ)
    assert code == 2
    assert expected in capsys.readouterr().err


def test_the_webhook_listens_locally_at_the_public_urls_path(settings: Settings) -> None:
    arguments = webhook_arguments(webhook_settings(settings), "s3cret")
    assert arguments["url_path"] == "hooks/telegram"
    assert arguments["webhook_url"] == "https://bot.example.org/hooks/telegram"
    assert (arguments["listen"], arguments["port"]) == ("127.0.0.1", 8443)
    assert arguments["secret_token"] == "s3cret"


def test_the_token_is_redacted_from_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TokenRedactingFilter(TOKEN))
    log = logging.getLogger("tests.token")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("POST https://example.org/bot%s/getMe", TOKEN)
        log.warning(f"inline {TOKEN}")
        try:
            raise RuntimeError(f"failed on /bot{TOKEN}/sendMessage")
        except RuntimeError:
            log.exception("request failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count("<token>") == 3
    assert "RuntimeError" in output


def test_bot_mentions_are_taken_out_of_the_question() -> None:
    assert question_text("@ASCS_faq_test_bot  where is the office?", "ascs_faq_test_bot") == (
        "where is the office?"
    )
    assert question_text("ask @someone_else", "ascs_faq_test_bot") == "ask @someone_else"
    assert question_text("  plain  text ", None) == "plain text"


class Flaky:
    """A Bot API call that fails with the given errors first, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return True


async def deliver(call: Flaky) -> Any:
    limiter = DeliveryRateLimiter(max_retries=3)
    return await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 1}, None)


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "NETWORK_RETRY_DELAY", 0.0)


async def test_a_network_error_or_5xx_is_retried() -> None:
    call = Flaky(NetworkError("Internal Server Error"), NetworkError("Bad Gateway"))
    assert await deliver(call) is True
    assert call.calls == 3


async def test_a_lasting_network_error_is_given_up_after_the_retries() -> None:
    call = Flaky(*(NetworkError("Internal Server Error") for _ in range(5)))
    with pytest.raises(NetworkError):
        await deliver(call)
    assert call.calls == delivery.NETWORK_RETRIES + 1


@pytest.mark.parametrize(
    "error", [BadRequest("Bad Request: chat not found"), TimedOut()], ids=["400", "timeout"]
)
async def test_a_bad_request_or_a_timeout_is_not_retried(error: Exception) -> None:
    call = Flaky(error)
    with pytest.raises(type(error)):
        await deliver(call)
    assert call.calls == 1


def test_each_handler_group_has_a_number_of_its_own() -> None:
    """Two features in one group shadow each other: the first handler that matches ends the
    group's turn even when it lets the update go on (an /edit waiting for its text behind
    the ticket replies was answered as a question)."""
    from bot.telegram_bot.shared import handler_groups

    numbers = {
        name: value
        for name, value in vars(handler_groups).items()
        if name.isupper() and isinstance(value, int)
    }
    assert len(set(numbers.values())) == len(numbers), numbers
