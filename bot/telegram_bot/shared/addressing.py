"""Which messages are for the bot: every private message; in a group, only commands for
this bot, messages that mention it and replies to its messages."""

from __future__ import annotations

import re
from functools import cache

from telegram import Message
from telegram.constants import ChatType
from telegram.ext import filters


class AddressedToBot(filters.MessageFilter):
    """Any private message; in a group, only commands for this bot, messages that mention
    it and replies to its messages - never the rest of the group's conversation."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        if message.via_bot is not None and message.via_bot.id == bot.id:
            return False  # an inline-mode answer shared back into the chat
        if message.chat.type == ChatType.PRIVATE:
            return True
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
            return True
        text = message.text or message.caption or ""
        if text.startswith("/"):
            _, _, addressee = text.split(maxsplit=1)[0].partition("@")
            return not addressee or addressee.lower() == (bot.username or "").lower()
        if not bot.username:
            return False
        return mention_pattern(bot.username).search(text) is not None


ADDRESSED = AddressedToBot(name="addressed_to_bot")


NEW_MESSAGE = filters.UpdateType.MESSAGE


@cache
def mention_pattern(bot_username: str) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)
