"""The hand-off's state, kept once in `application.bot_data`: the ticket store, questions
waiting for a confirming tap, and staff-group membership as Telegram last told it."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    ChatMember,
    User,
)
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (
    ContextTypes,
)

from bot.config import HandoffSettings
from bot.core.dialog import Dialog
from bot.core.telegram_html import escape
from bot.storage.tickets import TicketStore
from bot.telegram_bot.transport.outbox import Outbox

logger = logging.getLogger(__name__)

HANDOFF_KEY = "handoff"


# Questions waiting for a confirming tap, across all users (oldest forgotten first).
MAX_DRAFTS = 10_000


@dataclass(frozen=True)
class Draft:
    user_id: int
    question: str
    lang: str
    offered: dict[str, Any]


@dataclass
class Handoff:
    """The hand-off's state, kept once in `application.bot_data`."""

    store: TicketStore
    settings: HandoffSettings
    outbox: Outbox  # what goes to the staff group and back to users (staff_posts)
    drafts: OrderedDict[str, Draft] = field(default_factory=OrderedDict)
    latest: dict[int, str] = field(default_factory=dict)  # user id -> their latest draft
    # Staff-group membership as Telegram last told it: user id -> (member?, valid until).
    membership: dict[int, tuple[bool, float]] = field(default_factory=dict)

    @property
    def staff_chat_id(self) -> int:
        assert self.settings.staff_chat_id is not None
        return self.settings.staff_chat_id

    def keep_draft(self, draft_id: str, draft: Draft) -> None:
        self.drafts.pop(draft_id, None)
        self.drafts[draft_id] = draft
        self.latest[draft.user_id] = draft_id
        while len(self.drafts) > MAX_DRAFTS:
            _, dropped = self.drafts.popitem(last=False)
            if self.latest.get(dropped.user_id) not in self.drafts:
                self.latest.pop(dropped.user_id, None)

    def drop_draft(self, draft_id: str) -> None:
        """The draft was sent or cancelled: neither it nor the user's pointer to it stays."""
        draft = self.drafts.pop(draft_id, None)
        if draft is not None and self.latest.get(draft.user_id) == draft_id:
            del self.latest[draft.user_id]

    def forget_drafts(self, user_id: int) -> None:
        self.latest.pop(user_id, None)
        for draft_id in [k for k, d in self.drafts.items() if d.user_id == user_id]:
            del self.drafts[draft_id]


def handoff_in(bot_data: MutableMapping[Any, Any]) -> Handoff | None:
    found = bot_data.get(HANDOFF_KEY)
    return found if isinstance(found, Handoff) else None


def require_handoff(context: ContextTypes.DEFAULT_TYPE) -> Handoff:
    found = handoff_in(context.bot_data)
    if found is None:
        raise RuntimeError("hand-off handlers run without hand-off installed")
    return found


def user_text(dialog: Dialog, lang: str, key: str, **values: str) -> str:
    agency = escape(dialog.settings.placeholders(lang)["agency_name"])
    return dialog.locales.text(lang, key, agency_name=agency, **values)


# Membership is asked of Telegram once per person per few minutes, not on every message.
MEMBERSHIP_SECONDS = 300.0


MAX_MEMBERS_CACHED = 1000


MEMBER_STATUSES = {
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
}


async def is_current_member(
    bot: Any, handoff: Handoff, sender: User | None, *, live: bool = False
) -> bool:
    """`sender` is a person who is a member of the staff group now: cached for a while
    (the cache follows the group's chat_member updates), or asked of Telegram now (`live`:
    for what changes faq/, which a member removed a minute ago must not do)."""
    if sender is None or sender.is_bot:
        return False
    known = handoff.membership.get(sender.id)
    if not live and known is not None and known[1] > time.monotonic():
        return known[0]
    try:
        member = await bot.get_chat_member(handoff.settings.staff_chat_id, sender.id)
    except TelegramError as error:
        logger.warning("could not check a staff-group member: %s", error)
        return False
    return note_membership(handoff, sender.id, member)


def note_membership(handoff: Handoff, user_id: int, member: ChatMember) -> bool:
    """Remember whether `member` (of the staff group) counts as staff; that answer."""
    is_member = member.status in MEMBER_STATUSES or (
        member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
    )
    membership = handoff.membership
    if len(membership) >= MAX_MEMBERS_CACHED:
        membership.clear()
    membership[user_id] = (is_member, time.monotonic() + MEMBERSHIP_SECONDS)
    return is_member
