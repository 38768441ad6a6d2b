"""The FAQ desk's state in the running bot: the editing desk, and what each admin has in
hand (an /edit waiting for its text, a checked change waiting for Apply, the files they got).

Kept in memory: a restart drops what was waiting (the admin sends it again), never a change
already applied, which the audit trail holds.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import filters

from bot.staff.faq_edit_desk import FaqEditDesk, PlannedEdit

FAQ_DESK_KEY = "faq_desk"
# Checked changes waiting for Apply, at most (each holds a file of up to 1 MB twice): the
# oldest goes first, and its Apply says it is no longer waiting.
PLANS_KEPT = 20


@dataclass(frozen=True)
class PendingAnswer:
    """An /edit waiting for the admin's new text."""

    entry_id: str
    lang: str
    started_from: bytes  # the file when the admin chose the language


@dataclass(frozen=True)
class WaitingPlan:
    owner: int  # only the admin who made it may apply it
    plan: PlannedEdit


@dataclass
class FaqDeskState:
    desk: FaqEditDesk
    admin_ids: frozenset[int]
    answering: dict[int, PendingAnswer] = field(default_factory=dict)
    plans: dict[str, WaitingPlan] = field(default_factory=dict)
    fetched: dict[tuple[int, str], bytes] = field(default_factory=dict)

    def keep_plan(self, owner: int, plan: PlannedEdit) -> str:
        while len(self.plans) >= PLANS_KEPT:
            self.plans.pop(next(iter(self.plans)))
        token = secrets.token_hex(4)
        self.plans[token] = WaitingPlan(owner, plan)
        return token


def desk_state(bot_data: Any) -> FaqDeskState | None:
    found = bot_data.get(FAQ_DESK_KEY)
    return found if isinstance(found, FaqDeskState) else None


class WaitingForAnswer(filters.UpdateFilter):
    """Messages of an admin whose /edit waits for the new answer."""

    def __init__(self, state: FaqDeskState) -> None:
        super().__init__(name="waiting_for_answer")
        self._state = state

    def filter(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self._state.answering
