"""The admins' desk, in their private chats: /stats, /unanswered, /report, /reload, /learn,
the command menu they see, and notices (reloads, the question log's health)."""

from __future__ import annotations

from typing import Any

from telegram.ext import CommandHandler, filters

from bot.telegram_bot.admin import commands, learn_desk
from bot.telegram_bot.shared.addressing import NEW_MESSAGE
from bot.telegram_bot.shared.services import services_in


def register(application: Any) -> None:
    """The admins' commands, for their private chats only: everyone else's /stats is
    answered by answering's catch-all like any unknown command."""
    admin_ids = services_in(application.bot_data).dialog.settings.telegram.admin_ids
    if not admin_ids:
        return
    staff_only = NEW_MESSAGE & filters.ChatType.PRIVATE & filters.User(user_id=admin_ids)
    application.add_handlers(
        [
            CommandHandler("stats", commands.stats, filters=staff_only),
            CommandHandler("unanswered", commands.unanswered, filters=staff_only),
            CommandHandler("report", commands.report, filters=staff_only),
            CommandHandler("reload", commands.reload_faq, filters=staff_only),
        ]
    )
    learn_desk.register(application)
