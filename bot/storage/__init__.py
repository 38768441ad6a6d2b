"""Storage: what the bot keeps between messages and restarts, in one SQLite database
(`database`: the file, its writer thread and its health), shared by the question log
(`question_log`, with `masking` and `keys`) and user preferences (`user_prefs`);
`stores.open_stores` opens them together. Another store joins the same file by
implementing `database.Store` (its own tables, its own version table via
`database.migrate`) and calling `Database.attach`. Built on the core; knows nothing of
Telegram or the adapters."""
