"""Draft entries: questions no entry answers, kept where the bot never serves them.

They live in faq/drafts/new-entries.yaml. The loader reads only the topic files directly in
faq/, so a draft is never served; `lint` reports how many wait, until staff write an answer
and move each into a topic file.
"""

from __future__ import annotations

from pathlib import Path

import yaml

DRAFTS_FOLDER = "drafts"
DRAFTS_FILE = "new-entries.yaml"


def drafts_path(faq_dir: Path) -> Path:
    return faq_dir / DRAFTS_FOLDER / DRAFTS_FILE


def draft_count(faq_dir: Path) -> int:
    """How many draft entries wait (0 when the file is missing or unreadable)."""
    try:
        data = yaml.safe_load(drafts_path(faq_dir).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return 0
    drafts = data.get("drafts") if isinstance(data, dict) else None
    return len(drafts) if isinstance(drafts, list) else 0
