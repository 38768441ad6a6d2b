"""ASCS FAQ bot: a bilingual (Albanian/English) FAQ bot for Albania's Agency for the Support of
Civil Society.

- `bot.core`: knowledge base, text, matcher, dialog (and `assembly`, which builds them from
  the settings); pure, knows nothing of Telegram.
- `bot.storage`: the question log and user preferences.
- `bot.staff`: lint, evaluation, report, hot reload.
- `bot.telegram_bot`: the Telegram adapter.
- `bot.config`: settings from `config.yaml` and the environment, as plain values.
- `bot.cli` (the composition root, behind `python -m bot`) and `bot.terminal` (the chat in a
  terminal): the command-line adapters.

The import rules between them are contracts (`[tool.importlinter]` in `pyproject.toml`),
checked by `./scripts/test`.
"""

__version__ = "0.1.0"
