"""Announcements: users subscribe to topics (calls for proposals...), admins announce from
Telegram (/announce) or the command line, and one background runner delivers them."""

from bot.telegram_bot.announcements.subscriptions import install, register, start, stop

__all__ = ["install", "register", "start", "stop"]
