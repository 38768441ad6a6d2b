"""The Telegram adapter: application builder, user and admin handlers, keyboards, flood guard
and staff notices. The only part of the project that imports python-telegram-bot."""
