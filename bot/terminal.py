"""The terminal adapter: renders a Reply as plain text and runs the interactive chat."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.core.dialog import Button, Dialog, Reply
from bot.core.telegram_html import html_to_plain


def reply_as_plain_text(reply: Reply) -> str:
    """What a user reads: the text without markup, then the buttons' labels."""
    return html_to_plain(reply.text).strip()


def render_for_terminal(reply: Reply, choices: list[Button]) -> str:
    """The reply with its buttons numbered; action buttons are appended to `choices`."""
    lines = [reply_as_plain_text(reply)]
    if reply.contact_card is not None:
        lines.append(
            f"[contact card: {reply.contact_card.first_name}, {reply.contact_card.phone_number}]"
        )
    if reply.venue is not None:
        lines.append(f"[map pin: {reply.venue.latitude}, {reply.venue.longitude}]")
    for row in reply.buttons:
        for button in row:
            if button.url:
                lines.append(f"  [{button.label}] {button.url}")
            elif button.action:
                choices.append(button)
                lines.append(f"  {len(choices)}) {button.label}")
    return "\n".join(lines)


def run_chat(
    dialog: Dialog,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    lang: str | None = None,
) -> int:
    """A chat in the terminal on the same dialog as the Telegram bot. Ends on EOF or /quit."""
    chosen = dialog.supported(lang)
    current_lang = chosen or dialog.settings.default_language
    choices: list[Button] = []
    interactive = stdin.isatty()

    def show(reply: Reply) -> None:
        nonlocal current_lang, chosen
        if reply.chosen_language:
            chosen = reply.chosen_language
        current_lang = reply.lang
        choices.clear()
        print(render_for_terminal(reply, choices), file=stdout)
        print(file=stdout)

    print(
        "Type a question (or a button's number, /topics, /contact, /register, /language, "
        "/help; /quit to leave).\n",
        file=stdout,
    )
    show(dialog.welcome(current_lang))
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if text in ("/quit", "/exit"):
            return 0
        if text.isdigit() and 1 <= int(text) <= len(choices):
            action = choices[int(text) - 1].action or ""
            reply = dialog.handle_action(action, current_lang)
            if reply is not None:
                show(reply)
            continue
        if text.startswith("/"):
            command, _, argument = text[1:].partition(" ")
            commands = {
                "topics": dialog.topics,
                "faq": dialog.topics,
                "contact": dialog.contact,
                "register": dialog.register,
                "language": dialog.language_menu,
                "help": dialog.help,
            }
            if command == "start":
                show(dialog.welcome(current_lang, argument or None))
                continue
            if command in commands:
                show(commands[command](current_lang))
                continue
        show(dialog.reply_to_question(text, chosen_lang=chosen))
