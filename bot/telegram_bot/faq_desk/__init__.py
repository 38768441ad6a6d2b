"""The FAQ desk: admins keep faq/ from their private chat with the bot. /faq (the knowledge
base at a glance, a file per button), sending a file back (checked, summarised, applied
with undo), /edit and the "✏️ Edit" under answers, /reviewed, reminders of dated answers,
and the audit trail (/faq history)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.staff.faq_edit_desk import FaqEditDesk
from bot.storage.audit import AuditStore
from bot.telegram_bot.faq_desk import handlers
from bot.telegram_bot.faq_desk.reminders import start, stop
from bot.telegram_bot.faq_desk.state import FAQ_DESK_KEY, FaqDeskState, WaitingForAnswer, desk_state
from bot.telegram_bot.shared import handler_groups
from bot.telegram_bot.shared.addressing import NEW_MESSAGE
from bot.telegram_bot.shared.services import services_in

__all__ = ["install", "register", "start", "stop"]


def install(application: Any, audit: AuditStore | None, faq_dir: Path | None = None) -> None:
    """The desk, for the admins in config.yaml; without `audit` (no database) /faq and
    getting files work, and changes are refused with the reason."""
    svc = services_in(application.bot_data)
    admin_ids = frozenset(svc.dialog.settings.telegram.admin_ids)
    if not admin_ids:
        return
    folder = faq_dir or (svc.reloader.faq_dir if svc.reloader is not None else None)
    desk = FaqEditDesk(svc.dialog.settings, audit, faq_dir=folder)
    state = FaqDeskState(desk, admin_ids)
    application.bot_data[FAQ_DESK_KEY] = state
    svc.reply_decorators.append(handlers.edit_button_for_admins(state, svc))


def register(application: Any) -> None:
    """The admins' commands and the desk's buttons. Call before answering's: an admin's
    /faq is the desk, everyone else's /faq stays the topics."""
    state = desk_state(application.bot_data)
    if state is None:
        return
    admins = NEW_MESSAGE & filters.ChatType.PRIVATE & filters.User(user_id=state.admin_ids)
    application.add_handlers(
        [
            CommandHandler("faq", handlers.faq, filters=admins),
            CommandHandler("edit", handlers.edit, filters=admins),
            CommandHandler("reviewed", handlers.reviewed, filters=admins),
            MessageHandler(admins & filters.Document.ALL, handlers.upload),
            CallbackQueryHandler(handlers.button, pattern=r"^fq:"),
        ]
    )
    application.add_handler(
        MessageHandler(
            admins & filters.TEXT & ~filters.COMMAND & WaitingForAnswer(state),
            handlers.new_answer,
        ),
        group=handler_groups.PENDING_EDITS,
    )
