"""`doctor --online`: what Telegram says about the token and the webhook (getMe,
getWebhookInfo). The only doctor checks that use the network, so they live in the adapter."""

from __future__ import annotations

import asyncio

from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot.config import TOKEN_ENV, Settings
from bot.staff.doctor import Check
from bot.telegram_bot.transport.start_failures import redact

_TIMEOUT_SECONDS = 10.0


def telegram_checks(settings: Settings, token: str) -> list[Check]:
    return asyncio.run(_ask_telegram(settings, token))


async def _ask_telegram(settings: Settings, token: str) -> list[Check]:
    request = HTTPXRequest(
        connect_timeout=_TIMEOUT_SECONDS, read_timeout=_TIMEOUT_SECONDS, connection_pool_size=1
    )
    bot = Bot(token, base_url=settings.telegram.base_url, request=request)
    try:
        async with bot:  # initialize() calls getMe
            me = bot.bot
            info = await bot.get_webhook_info()
    except InvalidToken:
        return [
            Check(
                "telegram",
                False,
                f"Telegram rejects the token in {TOKEN_ENV}",
                "copy the token again from @BotFather (/mybots, API Token)",
            )
        ]
    except TelegramError as error:
        return [
            Check(
                "telegram",
                False,
                f"cannot reach the Bot API at {settings.telegram.base_url} "
                f"({redact(str(error), token)})",
                "check the network (and a proxy) and telegram.base_url in config.yaml",
            )
        ]
    checks = [Check("telegram", True, f"the token belongs to @{me.username}")]
    configured = settings.telegram.webhook.url if settings.telegram.mode == "webhook" else ""
    pending = f"{info.pending_update_count} update(s) waiting"
    if settings.telegram.mode == "webhook" and info.url and info.url != configured:
        checks.append(
            Check(
                "webhook",
                False,
                f"Telegram sends updates to {info.url}, config.yaml says {configured}",
                "start the bot (it sets the webhook from config.yaml) or correct "
                "telegram.webhook.url",
            )
        )
    elif info.last_error_message:
        checks.append(
            Check(
                "webhook",
                False,
                f"Telegram's last delivery to {info.url or 'the webhook'} failed: "
                f"{info.last_error_message}; {pending}",
                "check the reverse proxy forwards the webhook address to the bot's port",
            )
        )
    else:
        where = info.url or "none set (polling)"
        checks.append(Check("webhook", True, f"{where}; {pending}"))
    return checks
