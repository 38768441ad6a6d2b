"""The FAQ desk's handlers (admins, private chat): /faq, getting and sending files, /edit,
/reviewed, their buttons, and the "✏️ Edit" under answers.

Every button checks that it was pressed by an admin in a private chat: anyone else's press
(a forged callback included) is answered with nothing and changes nothing.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from dataclasses import replace

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.core.dated import dated_entries
from bot.core.dialog import Button, Reply
from bot.core.telegram_html import split_message
from bot.staff.faq_edit_desk import PlannedEdit
from bot.staff.faq_editing import (
    EditConflict,
    EditRefused,
    checked_upload,
    entries_by_file,
)
from bot.staff.faq_reminders import expiring_not_expired
from bot.telegram_bot.faq_desk import views
from bot.telegram_bot.faq_desk.state import FaqDeskState, PendingAnswer, desk_state
from bot.telegram_bot.shared.services import BotServices, note_outcome, services, user_language

logger = logging.getLogger(__name__)

HISTORY_SHOWN = 15


def _text(svc: BotServices, lang: str, key: str, **values: str) -> str:
    return svc.dialog.locales.text(lang, key, **values)


def _who(user: User) -> str:
    return f"{user.full_name} ({user.id})"


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([row for row in rows if row])


async def _reload(svc: BotServices) -> None:
    """Serve the change at once rather than wait for the watcher."""
    if svc.reloader is not None:
        await svc.reloader.reload()


async def _reply_refusal(
    svc: BotServices, lang: str, message: Message, refusal: EditRefused
) -> None:
    if isinstance(refusal, EditConflict):
        text = _text(
            svc,
            lang,
            "faqdesk_conflict",
            reason=html.escape(str(refusal)),
            diff=html.escape(views.cut(refusal.diff, views.DIFF_CHARS)),
        )
    else:
        reason = str(refusal)
        if refusal.problems:
            reason += "\n" + views.problem_lines(refusal.problems)
        text = _text(svc, lang, "faqdesk_refused", reason=html.escape(reason))
    for part in split_message(text):
        await message.reply_text(part)


def _can_edit(state: FaqDeskState) -> bool:
    return state.desk.audit is not None


# ----- /faq -------------------------------------------------------------------------------


async def faq(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/faq (admins): the files and their entries, answers waiting for a fact, dated
    answers to act on, a button per file; /faq history: the latest changes."""
    svc, state, message = services(context), desk_state(context.bot_data), update.effective_message
    if state is None or message is None:
        return
    lang = user_language(update, svc)
    if context.args and context.args[0].lower() == "history":
        note_outcome("staff_faq_history")
        records = await asyncio.to_thread(state.desk.history, HISTORY_SHOWN)
        for part in split_message(views.history(svc.dialog.locales, lang, records)):
            await message.reply_text(part)
        return
    note_outcome("staff_faq")
    loaded = svc.knowledge.current
    names = await asyncio.to_thread(state.desk.file_names)
    grouped = entries_by_file(loaded)
    now = state.desk.now()
    settings = svc.dialog.settings.dated_answers
    dated = dated_entries(
        loaded.knowledge, now, views.review_after(settings.review_after_days), settings.zone
    )
    expiring = expiring_not_expired(loaded.knowledge, now, state.desk.today())
    text = views.overview(
        svc.dialog.locales, lang, {name: grouped.get(name, []) for name in names}, expiring, dated
    )
    buttons = [InlineKeyboardButton(f"📄 {name}", callback_data=f"fq:g:{name}") for name in names]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    *leading, last = split_message(text)
    for part in leading:
        await message.reply_text(part)
    await message.reply_text(last, reply_markup=_markup(*rows) if rows else None)


# ----- sending a file ---------------------------------------------------------------------


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's document: a topic file to check, summarise and offer to apply."""
    svc, state = services(context), desk_state(context.bot_data)
    message, user = update.effective_message, update.effective_user
    if state is None or message is None or user is None or message.document is None:
        return
    note_outcome("staff_faq_upload")
    lang = user_language(update, svc)
    if not _can_edit(state):
        await message.reply_text(_text(svc, lang, "faqdesk_no_database"))
        return
    document = message.document
    try:
        name = checked_upload(document.file_name, document.file_size)
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        plan = await asyncio.to_thread(
            state.desk.plan_upload, name, data, lang, fetched=state.fetched.get((user.id, name))
        )
    except EditRefused as refusal:
        if isinstance(refusal, EditConflict):
            # The admin merges by hand and sends again: that upload starts from faq/ as it is.
            state.fetched.pop((user.id, document.file_name or ""), None)
        await _reply_refusal(svc, lang, message, refusal)
        return
    if plan.problems:
        text = _text(
            svc,
            lang,
            "faqdesk_errors",
            file=html.escape(name),
            problems=views.problem_lines(plan.problems),
        )
        await message.reply_text(text)
        return
    token = state.keep_plan(user.id, plan)
    await message.reply_text(
        views.change_summary(svc.dialog.locales, lang, name, plan.changes),
        reply_markup=_apply_or_cancel(svc, lang, token, "faqdesk_apply"),
    )


def _apply_or_cancel(
    svc: BotServices, lang: str, token: str, apply_key: str
) -> InlineKeyboardMarkup:
    return _markup(
        [
            InlineKeyboardButton(_text(svc, lang, apply_key), callback_data=f"fq:a:{token}"),
            InlineKeyboardButton(_text(svc, lang, "faqdesk_cancel"), callback_data=f"fq:c:{token}"),
        ]
    )


def _undo_button(svc: BotServices, lang: str, change_id: int) -> InlineKeyboardMarkup:
    return _markup(
        [InlineKeyboardButton(_text(svc, lang, "faqdesk_undo"), callback_data=f"fq:u:{change_id}")]
    )


# ----- /edit and the new text -------------------------------------------------------------


async def edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/edit <entry id>: the entry's answer in each language, a button per language."""
    svc, state, message = services(context), desk_state(context.bot_data), update.effective_message
    if state is None or message is None:
        return
    note_outcome("staff_faq_edit")
    lang = user_language(update, svc)
    if not context.args:
        await message.reply_text(_text(svc, lang, "faqdesk_edit_usage"))
        return
    await _edit_card(svc, state, lang, message, context.args[0])


async def _edit_card(
    svc: BotServices, state: FaqDeskState, lang: str, message: Message, entry_id: str
) -> None:
    try:
        name, answers = await asyncio.to_thread(state.desk.answers_of, entry_id)
    except EditRefused:
        await message.reply_text(_text(svc, lang, "faqdesk_no_entry", id=html.escape(entry_id)))
        return
    locales = svc.dialog.locales
    parts = [
        _text(svc, lang, "faqdesk_edit_card", id=html.escape(entry_id), file=html.escape(name))
    ]
    for code, answer in answers.items():
        parts.append(
            _text(
                svc,
                lang,
                "faqdesk_edit_language",
                language=html.escape(views.language_name(locales, lang, code)),
                answer=html.escape(views.cut(answer, 1500)),
            )
        )
    languages = [
        InlineKeyboardButton(
            _text(svc, lang, "faqdesk_edit_in", language=views.language_name(locales, lang, code)),
            callback_data=f"fq:l:{code}:{entry_id}",
        )
        for code in answers
    ]
    checked = InlineKeyboardButton(
        _text(svc, lang, "faqdesk_checked_today"), callback_data=f"fq:r:{entry_id}"
    )
    *leading, last = split_message("\n\n".join(parts))
    for part in leading:
        await message.reply_text(part)
    await message.reply_text(last, reply_markup=_markup(languages, [checked]))


async def new_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The text an admin sends while an /edit waits for it: checked as lint checks answers,
    shown as users will get it, then Save / Cancel. Never taken for a question."""
    svc, state = services(context), desk_state(context.bot_data)
    message, user = update.effective_message, update.effective_user
    if state is None or message is None or user is None or message.text is None:
        return
    pending = state.answering.get(user.id)
    if pending is None:
        return
    note_outcome("staff_faq_answer")
    lang = user_language(update, svc)
    try:
        plan = await asyncio.to_thread(
            state.desk.plan_answer,
            pending.entry_id,
            pending.lang,
            message.text,
            started_from=pending.started_from,
        )
    except EditRefused as refusal:
        state.answering.pop(user.id, None)
        await _reply_refusal(svc, lang, message, refusal)
        raise ApplicationHandlerStop from None
    if plan.problems:  # still waiting: the admin sends the corrected text
        await message.reply_text(
            _text(svc, lang, "faqdesk_answer_errors", problems=views.problem_lines(plan.problems))
        )
        raise ApplicationHandlerStop
    state.answering.pop(user.id, None)
    token = state.keep_plan(user.id, plan)
    await message.reply_text(plan.preview)  # exactly the text users will be sent
    await message.reply_text(
        _text(
            svc,
            lang,
            "faqdesk_preview",
            file=html.escape(plan.name),
            today=state.desk.today().isoformat(),
            diff=html.escape(views.cut(plan.diff, views.DIFF_CHARS)),
        ),
        reply_markup=_apply_or_cancel(svc, lang, token, "faqdesk_save"),
    )
    raise ApplicationHandlerStop


# ----- /reviewed --------------------------------------------------------------------------


async def reviewed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reviewed <entry id>: set the entry's `reviewed:` to today, with Undo."""
    svc, state = services(context), desk_state(context.bot_data)
    message, user = update.effective_message, update.effective_user
    if state is None or message is None or user is None:
        return
    note_outcome("staff_faq_reviewed")
    lang = user_language(update, svc)
    if not context.args:
        await message.reply_text(_text(svc, lang, "faqdesk_reviewed_usage"))
        return
    await _mark_reviewed(svc, state, lang, message, user, context.args[0])


async def _mark_reviewed(
    svc: BotServices, state: FaqDeskState, lang: str, message: Message, user: User, entry_id: str
) -> None:
    if not _can_edit(state):
        await message.reply_text(_text(svc, lang, "faqdesk_no_database"))
        return
    try:
        plan = await asyncio.to_thread(state.desk.plan_reviewed, entry_id)
        change_id = await asyncio.to_thread(state.desk.apply, plan, _who(user))
    except EditRefused as refusal:
        await _reply_refusal(svc, lang, message, refusal)
        return
    await _reload(svc)
    await message.reply_text(
        _text(
            svc,
            lang,
            "faqdesk_reviewed",
            id=html.escape(entry_id),
            today=state.desk.today().isoformat(),
            file=html.escape(plan.name),
        ),
        reply_markup=_undo_button(svc, lang, change_id),
    )


# ----- the buttons ------------------------------------------------------------------------


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every "fq:" button: get a file, apply / cancel / undo a change, edit an answer."""
    svc, state, query = services(context), desk_state(context.bot_data), update.callback_query
    if query is None:
        return
    user, message = query.from_user, query.message
    if (
        state is None
        or user.id not in state.admin_ids
        or not isinstance(message, Message)
        or message.chat.type != ChatType.PRIVATE
    ):
        await query.answer()  # a forged or stray press: nothing happens
        return
    action, _, rest = (query.data or "").removeprefix("fq:").partition(":")
    note_outcome(f"staff_faq_{action}")
    lang = user_language(update, svc)
    try:
        if action == "g":
            await _send_file(svc, state, lang, query, message, user, rest)
        elif action == "a":
            await _apply(svc, state, lang, query, user, rest)
        elif action == "c":
            state.plans.pop(rest, None)
            await query.answer()
            await query.edit_message_text(_text(svc, lang, "faqdesk_cancelled"))
        elif action == "u":
            await _undo(svc, state, lang, query, user, rest)
        elif action == "e":
            await query.answer()
            await _edit_card(svc, state, lang, message, rest)
        elif action == "l":
            await _wait_for_answer(svc, state, lang, query, message, user, rest)
        elif action == "r":
            await query.answer()
            await _mark_reviewed(svc, state, lang, message, user, rest)
        elif action == "x":
            state.answering.pop(user.id, None)
            await query.answer()
            await query.edit_message_text(_text(svc, lang, "faqdesk_cancelled"))
        else:
            await query.answer()
    except EditRefused as refusal:
        await query.answer()
        await _reply_refusal(svc, lang, message, refusal)


async def _send_file(
    svc: BotServices,
    state: FaqDeskState,
    lang: str,
    query: CallbackQuery,
    message: Message,
    user: User,
    name: str,
) -> None:
    data = await asyncio.to_thread(state.desk.read, name)
    # The bytes this admin starts from: a later upload of the same file is refused if
    # faq/ holds anything else by then.
    state.fetched[(user.id, name)] = data
    await query.answer()
    await message.reply_document(InputFile(data, filename=name))


async def _apply(
    svc: BotServices, state: FaqDeskState, lang: str, query: CallbackQuery, user: User, token: str
) -> None:
    waiting = state.plans.get(token)
    if waiting is None or waiting.owner != user.id:
        await query.answer(views.cut(_text(svc, lang, "faqdesk_gone"), 200), show_alert=True)
        return
    del state.plans[token]  # a second tap does not apply it twice
    plan: PlannedEdit = waiting.plan
    if not _can_edit(state):
        await query.answer()
        await query.edit_message_text(_text(svc, lang, "faqdesk_no_database"))
        return
    change_id = await asyncio.to_thread(state.desk.apply, plan, _who(user))
    state.fetched.pop((user.id, plan.name), None)
    await _reload(svc)
    await query.answer()
    if plan.action == "edit":
        text = _text(
            svc,
            lang,
            "faqdesk_saved",
            file=html.escape(plan.name),
            today=state.desk.today().isoformat(),
        )
    else:
        text = _text(svc, lang, "faqdesk_applied", file=html.escape(plan.name))
    await query.edit_message_text(text, reply_markup=_undo_button(svc, lang, change_id))


async def _undo(
    svc: BotServices, state: FaqDeskState, lang: str, query: CallbackQuery, user: User, rest: str
) -> None:
    if not rest.isdigit():
        await query.answer()
        return
    record = await asyncio.to_thread(state.desk.undo, int(rest), _who(user))
    await _reload(svc)
    await query.answer()
    await query.edit_message_text(
        _text(svc, lang, "faqdesk_undone", file=html.escape(record.path.name))
    )


async def _wait_for_answer(
    svc: BotServices,
    state: FaqDeskState,
    lang: str,
    query: CallbackQuery,
    message: Message,
    user: User,
    rest: str,
) -> None:
    code, _, entry_id = rest.partition(":")
    if not _can_edit(state):
        await query.answer()
        await message.reply_text(_text(svc, lang, "faqdesk_no_database"))
        return
    name = await asyncio.to_thread(state.desk.entry_file, entry_id)
    started_from = await asyncio.to_thread(state.desk.read, name)
    state.answering[user.id] = PendingAnswer(entry_id, code, started_from)
    await query.answer()
    language = views.language_name(svc.dialog.locales, lang, code)
    await message.reply_text(
        _text(svc, lang, "faqdesk_send_text", language=html.escape(language)),
        reply_markup=_markup(
            [InlineKeyboardButton(_text(svc, lang, "faqdesk_cancel"), callback_data="fq:x")]
        ),
    )


# ----- "✏️ Edit" under the answers admins get ----------------------------------------------


def edit_button_for_admins(
    state: FaqDeskState, svc: BotServices
) -> Callable[[Update, Reply], Reply]:
    """A reply decorator (BotServices.reply_decorators): an answer sent to an admin in a
    private chat gets an "✏️ Edit" button that opens /edit for its entry."""

    def decorate(update: Update, reply: Reply) -> Reply:
        user, chat = update.effective_user, update.effective_chat
        if (
            reply.kind != "answer"
            or reply.entry_id is None
            or user is None
            or user.id not in state.admin_ids
            or chat is None
            or chat.type != ChatType.PRIVATE
        ):
            return reply
        label = svc.dialog.locales.text(reply.lang, "faqdesk_edit_button")
        row = (Button(label, action=f"fq:e:{reply.entry_id}"),)
        return replace(reply, buttons=(*reply.buttons, row))

    return decorate
