"""The command line: ask, chat, lint, eval, links and run without a token."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TextIO, cast

import pytest
import yaml

from bot.cli import main
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, settings_mapping, write_faq

ASK_KEYS = {"question", "status", "id", "score", "lang", "text", "suggestions", "best"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config.yaml pointing at a small knowledge base."""
    write_faq(tmp_path / "faq", {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings_mapping(tmp_path / "faq")), encoding="utf-8")
    return path


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_ask_json_prints_exactly_the_documented_keys(config: Path) -> None:
    code, out, _ = run("--config", str(config), "ask", "--json", "office address", "telephone")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert set(first) == ASK_KEYS
    assert first["question"] == "office address"
    assert first["status"] == "answer"
    assert first["id"] == "office-address"
    assert 0 <= first["score"] <= 100
    assert "Frosina Plaku" in first["text"]
    assert "<" not in first["text"]  # plain text, no HTML
    assert first["best"] == {"id": "office-address", "score": first["score"]}


def test_ask_json_tells_small_talk_from_an_answer(config: Path) -> None:
    code, out, _ = run("--config", str(config), "ask", "--json", "faleminderit", "hello")
    assert code == 0
    for line in out.splitlines():
        result = json.loads(line)
        assert (result["status"], result["id"]) == ("smalltalk", None)
        assert result["text"]


def test_ask_reads_one_question_per_line_from_stdin(config: Path) -> None:
    code, out, _ = run(
        "--config", str(config), "ask", "--json", stdin="office address\n\nzzzz qqqq xxxx\n"
    )
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["question"] for r in results] == ["office address", "zzzz qqqq xxxx"]
    assert results[1]["status"] in ("fallback", "suggest")
    assert results[1]["id"] is None


def test_ask_with_lang_forces_the_reply_language(config: Path) -> None:
    _, out, _ = run("--config", str(config), "ask", "--json", "--lang", "sq", "office address")
    assert json.loads(out)["lang"] == "sq"
    code, _, err = run("--config", str(config), "ask", "--lang", "de", "office address")
    assert code == 2
    assert "sq, en" in err


def test_ask_accepts_another_faq_folder(config: Path, tmp_path: Path) -> None:
    other = write_faq(tmp_path / "other", {"g.yaml": GRANTS_FAQ})
    _, out, _ = run("--config", str(config), "ask", "--json", "--faq", str(other), "grant types")
    assert json.loads(out)["id"] == "grant-types"


def test_lint_passes_a_clean_knowledge_base(config: Path) -> None:
    code, out, _ = run("--config", str(config), "lint", "--strict")
    assert code == 0, out
    assert "OK: 3 entries" in out


def test_lint_explains_a_broken_file_and_fails(config: Path, tmp_path: Path) -> None:
    broken = tmp_path / "faq" / "contact.yaml"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("    answer:", "    anwser:", 1),
        encoding="utf-8",
    )
    code, _, err = run("--config", str(config), "lint")
    assert code == 1
    assert "faq/contact.yaml:" in err
    assert "unknown key 'anwser'" in err
    assert "[office-address]" in err


def test_lint_refuses_a_language_key_that_config_does_not_have(
    config: Path, tmp_path: Path
) -> None:
    path = tmp_path / "faq" / "contact.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    # The first entry's English answer, with its key mistyped.
    start = lines.index("    answer:")
    typo = next(n for n in range(start, len(lines)) if lines[n].startswith("      en:"))
    lines[typo] = lines[typo].replace("en:", "eb:", 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    code, out, err = run("--config", str(config), "lint")
    assert code == 1, out
    problem = next(line for line in err.splitlines() if "'eb'" in line)
    assert f"faq/contact.yaml:{typo + 1}:" in problem
    assert "error" in problem
    assert "[office-address]" in problem
    assert "(sq, en)" in problem
    # Not buried under warnings about every other entry lacking 'eb'.
    assert "'eb'" not in err.replace(problem, "")


def test_lint_warns_about_confusable_and_lost_variants(config: Path, tmp_path: Path) -> None:
    write_faq(
        tmp_path / "faq",
        {
            "extra.yaml": """\
        entries:
          - id: office-hours
            questions:
              en:
                - office address
              sq:
                - orari
            answer:
              en: Ask us.
              sq: Na pyesni.
        """
        },
    )
    # The same question in two entries takes one's answer away: an error, even without
    # --strict, that names where both are, reported once (issue 24).
    code, out, _ = run("--config", str(config), "lint")
    assert code == 1
    assert "takes over 'office address' of entry 'office-" in out
    assert "at faq/" in out
    assert sum("'office address'" in line for line in out.splitlines()) == 1


def test_lint_warns_about_a_missing_schema_line(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "faq" / "grants.yaml"
    path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    code, out, _ = run("--config", str(config), "lint")
    assert "faq/grants.yaml:1" in out
    assert "yaml-language-server" in out
    assert code == 0  # warnings alone do not fail without --strict


def test_eval_scores_a_case_file_and_fails_below_the_bars(config: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        yaml.safe_dump(
            {
                "cases": [
                    {
                        "topic": "address",
                        "lang": "en",
                        "q": "office address",
                        "expect": [["frosina plaku"]],
                    },
                    {
                        "topic": "phone",
                        "lang": "sq",
                        "q": "numri i telefonit",
                        "expect": [["#2235569"]],
                    },
                    {"topic": "oos", "lang": "sq", "q": "zzzz qqqq xxxx", "expect": "none"},
                ]
            }
        ),
        encoding="utf-8",
    )
    code, out, _ = run("--config", str(config), "eval", str(cases), "-v")
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("PASS: in-scope 2/2")
    cases.write_text(
        yaml.safe_dump(
            {
                "cases": [
                    {
                        "topic": "address",
                        "lang": "en",
                        "q": "office address",
                        "expect": [["not there"]],
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    code, out, _ = run("--config", str(config), "eval", str(cases), "-v")
    assert code == 1
    assert "missing [['not there']]" in out
    assert out.strip().splitlines()[-1].startswith("FAIL")


def test_eval_reports_a_malformed_case_file(config: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases: 3\n", encoding="utf-8")
    code, _, err = run("--config", str(config), "eval", str(cases))
    assert code == 2
    assert "cases" in err


def test_eval_on_broken_yaml_names_the_file_and_line_like_lint(
    config: Path, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text('cases:\n- {q: "office address", expect: [[plaku]]\n', encoding="utf-8")
    code, _, err = run("--config", str(config), "eval", str(cases))
    assert code == 2
    assert f"{cases}:3: error: YAML syntax error" in err
    assert "<unicode string>" not in err


def test_chat_answers_questions_and_buttons_typed_as_numbers(config: Path) -> None:
    code, out, _ = run("--config", str(config), "chat", stdin="office address\n/topics\n1\n2\n")
    assert code == 0
    assert "Frosina Plaku" in out
    assert "Contact" in out or "Kontakti" in out
    assert out.count("1)") >= 2


def test_run_without_token_explains_and_starts_the_terminal_chat(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    code, out, err = run("--config", str(config), "run", stdin="telephone\n")
    assert code == 0
    assert "@BotFather" in err
    assert "04 22 355 69" in out


def test_links_lists_a_deep_link_per_entry(config: Path) -> None:
    _, out, _ = run("--config", str(config), "links", "--bot", "@ascs_faq_bot")
    assert "https://t.me/ascs_faq_bot?start=office-address" in out
    assert len(out.splitlines()) == 3


def test_bad_config_value_is_a_clear_error(tmp_path: Path) -> None:
    raw = settings_mapping(tmp_path / "faq")
    raw["matching"] = {"answer_threshold": "high"}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, _, err = run("--config", str(path), "ask", "hello")
    assert code == 2
    assert "matching.answer_threshold" in err


def test_every_command_is_documented_in_the_readme() -> None:
    from bot.cli import build_parser

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in subcommands:
        assert f"python -m bot {name}" in readme, name


def test_report_shows_unanswered_questions_from_the_log(config: Path, tmp_path: Path) -> None:
    from bot.config import load_settings
    from bot.storage.question_log import QuestionLog

    settings = load_settings(config, environ={})
    with QuestionLog.from_settings(settings, environ={}) as log:
        for user in (1, 2, 3):
            log.record_question("sa kushton pasaporta", user_id=user, lang="sq", outcome="fallback")
        log.record_question(
            "office address",
            user_id=4,
            lang="en",
            outcome="answer",
            entry_id="office-address",
            score=90,
        )
    code, out, _ = run("--config", str(config), "report", "--since", "7d", "--format", "csv")
    assert code == 0, out
    assert "sa kushton pasaporta" in out
    assert "office-address" in out
    code, out, _ = run("--config", str(config), "report", "--since", "7d")
    assert code == 0
    assert "sa kushton pasaporta" in out
    code, _, err = run("--config", str(config), "report", "--since", "forever")
    assert code == 2
    assert "--since" in err


def test_report_without_a_log_says_so(config: Path) -> None:
    code, _, err = run("--config", str(config), "report")
    assert code == 1
    assert "No question log yet" in err


def test_an_html_report_without_a_log_writes_nothing_and_says_so(config: Path) -> None:
    code, out, err = run("--config", str(config), "report", "--format", "html")
    assert (code, out) == (1, "")
    assert "No question log yet" in err
    assert "no report was written" in err  # why `> report.html` left an empty file


def test_chat_says_which_numbers_are_buttons_instead_of_asking_them(config: Path) -> None:
    # The welcome shows 5 buttons; 7 and 0 are not among them. '²' is not an ASCII number:
    # it is taken as a question (and must not crash int()).
    code, out, _ = run("--config", str(config), "chat", "--lang", "en", stdin="7\n0\n²\n")
    assert code == 0
    assert "(7 is not a button: the buttons are 1 to 5. Ask a question in words.)" in out
    assert "(0 is not a button: the buttons are 1 to 5." in out
    assert out.rstrip().endswith("[Website] https://www.amshc.gov.al")  # the fallback reply


def test_chat_says_which_numbers_are_buttons_in_the_users_language(config: Path) -> None:
    code, out, _ = run("--config", str(config), "chat", "--lang", "sq", stdin="7\n")
    assert code == 0
    assert "(7 nuk është buton: butonat janë nga 1 deri në 5. Bëni një pyetje me fjalë.)" in out


def test_chat_says_it_writes_no_question_log(config: Path) -> None:
    _, out, _ = run("--config", str(config), "chat", stdin="")
    assert "writes nothing to the question log" in out


@pytest.mark.parametrize(
    "username", ["ab_bot", "@ascs_faq_bot", "ASCS_FAQ_BOT", "x" * 29 + "bot", "abbot"]
)
def test_links_accepts_a_bots_username(config: Path, username: str) -> None:
    code, out, _ = run("--config", str(config), "links", "--bot", username)
    assert code == 0
    assert f"https://t.me/{username.lstrip('@')}?start=office-address" in out


@pytest.mark.parametrize(
    "username",
    ["bot", "ab", "my_assistant", "1st_bot", "x" * 30 + "bot", "ascs-faq-bot", "@", "a b_bot", ""],
)
def test_links_refuses_what_is_not_a_bots_username(config: Path, username: str) -> None:
    code, out, err = run("--config", str(config), "links", "--bot", username)
    assert code == 2
    assert out == ""
    assert "is not a bot's Telegram username" in err


class KeyboardStdin:
    """A terminal: the user types `typed`, then presses Ctrl-C (or Ctrl-D, the end)."""

    def __init__(self, typed: str = "", *, interrupt: bool = True) -> None:
        self.lines = io.StringIO(typed)
        self.interrupt = interrupt

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        line = self.lines.readline()
        if not line and self.interrupt:
            raise KeyboardInterrupt
        return line

    def __iter__(self) -> KeyboardStdin:
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def run_on_keyboard(stdin: KeyboardStdin, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(list(argv), stdin=cast(TextIO, stdin), stdout=out, stderr=err)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped: the user sees a Python traceback")
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", ["chat", "run"])
def test_ctrl_c_in_the_chat_says_goodbye_and_exits_130(
    config: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    stdin = KeyboardStdin("/language\n2\nwhere is your office\n")
    code, out, _ = run_on_keyboard(stdin, "--config", str(config), command)
    assert code == 130
    assert "Our office is at" in out
    assert out.endswith("> \nGoodbye!\n")


def test_ctrl_c_while_ask_waits_for_questions_exits_130_quietly(config: Path) -> None:
    stdin = KeyboardStdin("office address\n")
    code, out, err = run_on_keyboard(stdin, "--config", str(config), "ask")
    assert code == 130
    assert "Our office is at" in out
    assert "Traceback" not in err


def test_ctrl_d_in_the_chat_ends_the_line_so_the_shell_prompt_starts_on_its_own(
    config: Path,
) -> None:
    stdin = KeyboardStdin("office address\n", interrupt=False)
    code, out, _ = run_on_keyboard(stdin, "--config", str(config), "chat")
    assert code == 0
    assert out.endswith("> \n")


# ----- staff mistakes get a clear line, not a traceback -----------------------------------------


@pytest.mark.parametrize("period", ["99999999d", "999999999999999999999w", "5000000h"])
def test_report_since_a_period_too_long_is_a_clear_error(config: Path, period: str) -> None:
    (config.parent / "questions.sqlite3").write_bytes(b"")  # a log exists
    code, _, err = run("--config", str(config), "report", "--since", period)
    assert code == 2
    assert err.startswith(f"--since: {period!r} is too long")
    assert "Traceback" not in err


def test_learn_on_a_file_that_is_not_a_database_says_so_in_one_line(config: Path) -> None:
    log = config.parent / "questions.sqlite3"
    log.write_text("these are my notes, not a database\n" * 200, encoding="utf-8")
    code, out, err = run("--config", str(config), "learn")
    assert code == 1, out
    assert err.count("\n") == 1
    assert str(log) in err
    assert "not a database" in err
    assert log.read_text(encoding="utf-8").startswith("these are my notes")  # nothing lost


def test_a_copied_config_whose_faq_folder_is_missing_says_the_path_is_relative_to_it(
    tmp_path: Path,
) -> None:
    project = Path(__file__).resolve().parents[1]
    copy = tmp_path / "elsewhere" / "config.yaml"
    copy.parent.mkdir()
    copy.write_text((project / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = run("--config", str(copy), "ask", "x")
    assert code == 1
    assert f"{tmp_path / 'elsewhere' / 'faq'}: error: no such folder of FAQ files" in err
    assert f"paths.faq in {copy} is relative to the folder {copy.parent}" in err


# ----- the terminal chat's commands ---------------------------------------------------------------


def test_the_chat_help_lists_only_the_commands_that_work_in_the_terminal(config: Path) -> None:
    code, out, _ = run("--config", str(config), "chat", "--lang", "en", stdin="/help\n")
    assert code == 0
    help_text = out[out.index("I answer questions") :]
    for works in ("/topics", "/contact", "/register", "/language", "/privacy", "/help", "/quit"):
        assert works in help_text
    for telegram_only in ("/forget", "/ask", "/subscribe", "@"):
        assert telegram_only not in help_text


def test_the_welcome_points_to_privacy_and_the_chat_shows_the_notice(config: Path) -> None:
    code, out, _ = run("--config", str(config), "chat", "--lang", "en", stdin="/privacy\n")
    assert code == 0
    assert "/privacy" in out  # the welcome's pointer
    assert "Your privacy" in out
    assert "is not a command here" not in out


def test_an_unknown_command_in_the_chat_says_so_and_points_to_help(config: Path) -> None:
    code, out, _ = run("--config", str(config), "chat", "--lang", "en", stdin="/forget\n/foo\n")
    assert code == 0
    assert "/forget is not a command here; type /help" in out
    assert "/foo is not a command here; type /help" in out
    assert "don't have an answer" not in out


def test_ask_without_a_question_on_a_terminal_says_what_to_type(config: Path) -> None:
    stdin = KeyboardStdin("office address\n", interrupt=False)
    code, out, err = run_on_keyboard(stdin, "--config", str(config), "ask")
    assert code == 0
    assert "one question per line" in err
    assert "Ctrl-D" in err
    assert "Our office is at" in out


def test_ask_reading_a_pipe_prints_no_hint(config: Path) -> None:
    code, _, err = run("--config", str(config), "ask", stdin="office address\n")
    assert code == 0
    assert err == ""


def test_links_without_a_bot_username_says_how_to_add_it(config: Path) -> None:
    code, out, err = run("--config", str(config), "links")
    assert code == 0
    assert "<bot_username>" in out
    assert "--bot" in err
    code, _, err = run("--config", str(config), "links", "--bot", "@ascs_faq_bot")
    assert (code, err) == (0, "")


def test_a_date_that_does_not_exist_is_named_with_file_line_and_entry(
    config: Path, tmp_path: Path
) -> None:
    path = tmp_path / "faq" / "contact.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    answer = lines.index("    answer:")
    lines.insert(answer, "    reviewed: 2025-13-45")
    path.write_text("\n".join(lines), encoding="utf-8")
    code, _, err = run("--config", str(config), "lint")
    assert code == 1
    problem = next(line for line in err.splitlines() if "does not exist" in line)
    assert f"faq/contact.yaml:{answer + 1}: [office-address] error: reviewed:" in problem
    assert "2025-13-45" in problem
    assert "YYYY-MM-DD" in problem
