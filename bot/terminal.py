"""The terminal adapter: renders a Reply as plain text and runs the interactive chat."""

from __future__ import annotations

import re
import sys
from typing import TextIO

from bot.core.dialog import Button, Dialog, Reply
from bot.core.locales import Locales
from bot.core.telegram_html import html_to_plain

# The commands the terminal chat understands (Telegram's /forget, /ask... do not work here).
TERMINAL_COMMANDS = ("start", "topics", "contact", "register", "language", "help", "quit")
_COMMAND_WORD = re.compile(r"[A-Za-z_]{1,32}")

EXIT_INTERRUPTED = 130  # what a shell reports for a program ended by Ctrl-C (128 + SIGINT)

# A button's number: ASCII digits only (str.isdigit() also takes '²', which int() refuses).
_BUTTON_NUMBER = re.compile(r"[0-9]{1,6}")


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


def not_a_button(locales: Locales, lang: str, text: str, buttons: int) -> str:
    """What to say when the number typed is not one of the buttons shown."""
    if buttons == 0:
        return locales.text(lang, "not_a_button_none", number=text)
    if buttons == 1:
        return locales.text(lang, "not_a_button_one", number=text)
    return locales.text(lang, "not_a_button_many", number=text, last=str(buttons))


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

    def menu_language() -> str:
        """The /language choice; without one, the language of the last reply (as the
        Telegram bot does). An answer in Albanian to a question asked in Albanian does not
        undo an explicit choice of English for the menus and commands."""
        return chosen or current_lang

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
        "/help; /quit to leave).\n"
        "This chat writes nothing to the question log: only the Telegram bot logs what "
        "users ask.\n",
        file=stdout,
    )
    show(dialog.welcome(menu_language()))
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            # Ctrl-C: leave as a chat would, not with a traceback.
            print(file=stdout)
            print(dialog.locales.text(menu_language(), "chat_goodbye"), file=stdout)
            return EXIT_INTERRUPTED
        if not line:
            if interactive:  # Ctrl-D: the shell's prompt starts on a line of its own
                print(file=stdout)
            return 0
        text = line.strip()
        if text in ("/quit", "/exit"):
            return 0
        if _BUTTON_NUMBER.fullmatch(text):
            if 1 <= int(text) <= len(choices):
                action = choices[int(text) - 1].action or ""
                reply = dialog.handle_action(action, menu_language())
                if reply is not None:
                    show(reply)
            else:
                print(
                    not_a_button(dialog.locales, menu_language(), text, len(choices)), file=stdout
                )
                print(file=stdout)
            continue
        if text.startswith("/"):
            command, _, argument = text[1:].partition(" ")
            commands = {
                "topics": dialog.topics,
                "faq": dialog.topics,
                "contact": dialog.contact,
                "register": dialog.register,
                "language": dialog.language_menu,
            }
            if command == "start":
                show(dialog.welcome(menu_language(), argument or None))
                continue
            if command == "help":
                show(dialog.help(menu_language(), TERMINAL_COMMANDS, template="help_terminal"))
                continue
            if command in commands:
                show(commands[command](menu_language()))
                continue
            if _COMMAND_WORD.fullmatch(command):  # "/forget" works in Telegram only
                text = "/" + command
                print(
                    dialog.locales.text(menu_language(), "unknown_command", command=text),
                    file=stdout,
                )
                print(file=stdout)
                continue
        show(dialog.reply_to_question(text, chosen_lang=chosen))
