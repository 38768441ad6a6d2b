"""ASCS FAQ bot: a bilingual (Albanian/English) FAQ bot for Albania's Agency for the Support of
Civil Society. The core (knowledge base, text, matcher, dialog) knows nothing of Telegram."""

__version__ = "0.1.0"
