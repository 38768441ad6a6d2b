"""Staff tools: lint, evaluation, the report and the safe hot reload of `faq/`.

Built on the core and storage; knows nothing of Telegram, so every tool runs offline from the
command line exactly as it runs inside the bot."""
