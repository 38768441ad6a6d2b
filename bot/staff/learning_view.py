"""Suggestions as the command line shows them: a table for staff, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.core.knowledge_state import LoadedKnowledge
from bot.staff.learning import Suggestion

_TEXT_WIDTH = 48


def suggestion_record(suggestion: Suggestion, loaded: LoadedKnowledge) -> dict[str, object]:
    entry = loaded.knowledge.entry(suggestion.entry_id) if suggestion.entry_id else None
    return {
        "id": suggestion.id,
        "kind": suggestion.kind,
        "entry": suggestion.entry_id,
        "entry_title": entry.title(suggestion.lang) if entry else None,
        "lang": suggestion.lang,
        "text": suggestion.text,
        "users": suggestion.users,
        "asked": suggestion.asked,
        "against": suggestion.against,
        "samples": list(suggestion.samples),
        "signals": dict(suggestion.signals or {}),
    }


def suggestions_json(suggestions: Sequence[Suggestion], loaded: LoadedKnowledge) -> str:
    return json.dumps(
        [suggestion_record(s, loaded) for s in suggestions], ensure_ascii=False, indent=2
    )


def _short(text: str, width: int = _TEXT_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def suggestions_table(suggestions: Sequence[Suggestion], loaded: LoadedKnowledge) -> str:
    if not suggestions:
        return (
            "No suggestions yet: they come from questions that enough different people tied "
            "to an entry (learning.min_users in config.yaml)."
        )
    lines = [
        f"{'ID':<8}  {'KIND':<7}  {'ENTRY':<24}  LANG  USERS  ASKED  👎  TEXT",
    ]
    for s in suggestions:
        entry = s.entry_id or "(new entry)"
        lines.append(
            f"{s.id:<8}  {s.kind:<7}  {_short(entry, 24):<24}  {s.lang:<4}  {s.users:>5}  "
            f"{s.asked:>5}  {s.against:>2}  {_short(s.text)}"
        )
    lines.append("")
    lines.append("Accept: python -m bot learn --accept ID   Reject: --reject ID   Undo: --undo")
    return "\n".join(lines)
