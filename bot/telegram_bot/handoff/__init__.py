"""Hand-off: "Ask the agency" sends a question to the staff group, staff replies come back
to the user, and a staff reply can teach the bot the question (ticket learning buttons)."""

from bot.telegram_bot.handoff.user_side import install, register, start, stop

__all__ = ["install", "register", "start", "stop"]
