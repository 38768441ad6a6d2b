"""The core: knowledge base, text normalisation, language, small talk, search index, matcher,
dialog, interface texts and Telegram's HTML subset.

Pure and synchronous; it reads files but knows nothing of Telegram, storage or staff tools.
It may import `bot.config` (settings as plain values) and nothing else of the project.
"""
