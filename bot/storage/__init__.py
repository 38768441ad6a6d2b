"""Storage: what the bot keeps between messages and restarts (the question log, user
preferences). Built on the core; knows nothing of Telegram or the adapters."""
