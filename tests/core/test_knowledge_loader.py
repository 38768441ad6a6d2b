"""The loader turns faq/*.yaml into a knowledge base and reports every problem with file,
line and entry id, in words a staff member understands."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.knowledge import KnowledgeBaseError, Problem, load_knowledge_base
from bot.core.knowledge_state import build_knowledge
from tests.factories import CONTACT_FAQ, GRANTS_FAQ, make_settings, write_faq

VALID_ENTRY = """\
entries:
  - id: office-address
    questions:
      en:
        - office address
      sq:
        - adresa e zyres
    answer:
      en: "At {address}."
      sq: "Në {address}."
"""


def load_problems(tmp_path: Path, files: dict[str, str]) -> list[Problem]:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, files)
    with pytest.raises(KnowledgeBaseError) as caught:
        build_knowledge(settings)
    return [p for p in caught.value.problems if p.severity == "error"]


def only_problem(tmp_path: Path, text: str) -> Problem:
    problems = load_problems(tmp_path, {"topic.yaml": text})
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_files_load_with_categories_entries_and_filled_placeholders(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ})
    knowledge = build_knowledge(settings).knowledge
    assert [c.key for c in knowledge.categories] == ["contact", "grants"]
    assert knowledge.category("contact").title("sq") == "Kontakti"  # type: ignore[union-attr]
    entry = knowledge.entry("phone-number")
    assert entry is not None
    assert "04 22 355 69" in entry.answers["sq"]
    assert "+355 4 22 355 69" in entry.answers["en"]
    assert entry.file == "faq/contact.yaml"
    assert entry.line == 21  # the "- id:" line, counting the schema line
    assert knowledge.languages == ("en", "sq")
    assert knowledge.warnings == ()


def test_placeholder_values_are_html_escaped_in_answers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"contact.yaml": CONTACT_FAQ})
    entry = build_knowledge(settings).knowledge.entry("office-address")
    assert entry is not None
    assert "&quot;Frosina Plaku&quot;" in entry.answers["en"]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    broken = VALID_ENTRY.replace(
        "      en:\n        - office address",
        "      en:\n        - office address\n       - bad indent",
    )
    problem = only_problem(tmp_path, broken)
    assert problem.file == "faq/topic.yaml"
    assert problem.line == 7
    assert "YAML syntax error" in problem.message


def test_a_bracket_closed_by_the_wrong_one_is_pointed_out(tmp_path: Path) -> None:
    broken = VALID_ENTRY.replace(
        "    questions:\n      en:\n        - office address\n      sq:\n        - adresa e zyres",
        "    questions: {en: [office address}, sq: [adresa e zyres]}",
    )
    problem = only_problem(tmp_path, broken)
    assert problem.line == 4  # the schema line comes first
    assert "'[' or '{' on this line is not closed" in problem.message
    assert "quotes" not in problem.message


def test_question_mark_in_a_bracket_list_gets_a_quoting_hint(tmp_path: Path) -> None:
    broken = VALID_ENTRY.replace("        - office address", "        [Where is it?, office]")
    broken = broken.replace("      en:\n        [Where", "      en: [Where")
    problem = only_problem(tmp_path, broken)
    assert problem.line == 5
    assert "quotes" in problem.message


def test_tab_indentation_is_explained(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID_ENTRY.replace("        - adresa", "\t- adresa"))
    assert "YAML syntax error" in problem.message
    assert problem.line > 1


def test_missing_answer_is_reported_with_entry_id_and_line(tmp_path: Path) -> None:
    text = VALID_ENTRY.split("    answer:")[0]
    problem = only_problem(tmp_path, text)
    assert problem.entry_id == "office-address"
    assert problem.line == 3
    assert "missing key 'answer'" in problem.message


def test_misspelt_key_is_an_unknown_key_on_its_own_line(tmp_path: Path) -> None:
    problems = load_problems(
        tmp_path, {"t.yaml": VALID_ENTRY.replace("    answer:", "    anwser:")}
    )
    unknown = next(p for p in problems if "unknown key" in p.message)
    assert unknown.line == 9
    assert "unknown key 'anwser' (did you mean 'answer'?" in unknown.message
    missing = next(p for p in problems if "missing key" in p.message)
    assert (missing.line, missing.entry_id) == (3, "office-address")


def test_number_where_text_is_expected_suggests_quotes(tmp_path: Path) -> None:
    problem = only_problem(
        tmp_path, VALID_ENTRY.replace("        - office address", "        - 2019")
    )
    assert problem.line == 6
    assert "expected a text, found a number" in problem.message
    assert "quotes" in problem.message


def test_empty_question_list_is_an_error(tmp_path: Path) -> None:
    text = VALID_ENTRY.replace("      en:\n        - office address\n", "      en: []\n")
    problem = only_problem(tmp_path, text)
    assert problem.line == 5
    assert "empty" in problem.message
    assert problem.entry_id == "office-address"


def test_invalid_id_is_explained(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID_ENTRY.replace("office-address", "Office_Address"))
    assert problem.line == 3
    assert "a-z, 0-9 and '-', at most 32 characters" in problem.message


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, {"a.yaml": VALID_ENTRY, "b.yaml": VALID_ENTRY})
    assert len(problems) == 1
    assert problems[0].file == "faq/b.yaml"
    assert "already used at faq/a.yaml:3" in problems[0].message


def test_duplicate_key_in_a_mapping_is_an_error(tmp_path: Path) -> None:
    text = VALID_ENTRY.replace(
        '      sq: "Në {address}."', '      sq: "Në {address}."\n      en: "Again."'
    )
    problem = only_problem(tmp_path, text)
    assert problem.line == 12
    assert "appears twice" in problem.message


def test_unknown_placeholder_lists_the_known_ones(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID_ENTRY.replace("At {address}.", "Call {fone}."))
    assert problem.line == 10
    assert "unknown placeholder {fone}" in problem.message
    assert "{phone}" in problem.message
    assert problem.entry_id == "office-address"


def test_html_that_telegram_rejects_is_an_error(tmp_path: Path) -> None:
    problem = load_problems(
        tmp_path, {"t.yaml": VALID_ENTRY.replace('"At {address}."', '"<div>At</div> {address}"')}
    )[0]
    assert problem.line == 10
    assert "Telegram would reject" in problem.message
    assert "<div>" in problem.message


def test_unclosed_tag_and_bare_ampersand_are_errors(tmp_path: Path) -> None:
    problems = load_problems(
        tmp_path, {"t.yaml": VALID_ENTRY.replace('"At {address}."', '"<b>Grants & calls"')}
    )
    messages = " ".join(p.message for p in problems)
    assert "<b> is never closed" in messages
    assert "bare '&'" in messages


def test_answer_over_telegram_limit_is_an_error(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID_ENTRY.replace("At {address}.", "x" * 4100))
    assert "4100 characters; Telegram allows 4096" in problem.message


def test_unknown_link_and_related_id_are_errors(tmp_path: Path) -> None:
    text = VALID_ENTRY + "    links: [mapp]\n    related: [nowhere]\n"
    problems = load_problems(tmp_path, {"t.yaml": text})
    messages = [p.message for p in problems]
    assert any("unknown link 'mapp'" in m and "map" in m for m in messages)
    assert any("no entry has the id 'nowhere'" in m for m in messages)


def test_covers_must_name_other_existing_entries(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, {"t.yaml": VALID_ENTRY + "    covers: [nowhere]\n"})
    assert [p.message for p in problems] == ["covers: no entry has the id 'nowhere'"]
    itself = load_problems(tmp_path, {"t.yaml": VALID_ENTRY + "    covers: [office-address]\n"})
    assert [p.message for p in itself] == ["covers: an entry cannot name itself"]


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    problems = load_problems(
        tmp_path,
        {
            "a.yaml": VALID_ENTRY.replace("    answer:", "    anwser:"),
            "b.yaml": "entries: [\n",
            "c.yaml": VALID_ENTRY.replace("office-address", "BAD ID"),
        },
    )
    assert {p.file for p in problems} == {"faq/a.yaml", "faq/b.yaml", "faq/c.yaml"}


def test_missing_translation_is_a_warning_not_an_error(tmp_path: Path) -> None:
    english_only = (
        VALID_ENTRY.replace("      sq:\n        - adresa e zyres\n", "")
        .replace('      sq: "Në {address}."\n', "")
        .replace("office-address", "english-only")
    )
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"a.yaml": VALID_ENTRY, "b.yaml": english_only})
    knowledge = build_knowledge(settings).knowledge
    assert len(knowledge) == 2
    warnings = [str(w) for w in knowledge.warnings]
    assert any("english-only" in w and "no questions in 'sq'" in w for w in warnings)
    assert all(w.startswith("faq/b.yaml:3:") for w in warnings)


def test_single_language_knowledge_base_loads_without_warnings(tmp_path: Path) -> None:
    text = VALID_ENTRY.replace("      sq:\n        - adresa e zyres\n", "").replace(
        '      sq: "Në {address}."\n', ""
    )
    folder = write_faq(tmp_path / "kb", {"one.yaml": text})
    knowledge = load_knowledge_base(folder, placeholders={"en": {"address": "Tirana"}})
    assert knowledge.languages == ("en",)
    assert knowledge.warnings == ()


def test_missing_or_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no such folder"):
        load_knowledge_base(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeBaseError, match=r"no \.yaml files"):
        load_knowledge_base(tmp_path / "empty")


def test_empty_file_and_non_utf8_file_are_errors(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.faq_dir.mkdir(parents=True)
    (settings.faq_dir / "empty.yaml").write_text("# nothing yet\n", encoding="utf-8")
    (settings.faq_dir / "latin1.yaml").write_bytes("entries: [Përshëndetje]".encode("latin-1"))
    with pytest.raises(KnowledgeBaseError) as caught:
        build_knowledge(settings)
    messages = {p.file: p.message for p in caught.value.problems}
    assert "empty" in messages["faq/empty.yaml"]
    assert "UTF-8" in messages["faq/latin1.yaml"]


def test_problem_reads_as_file_line_entry_and_message(tmp_path: Path) -> None:
    problem = Problem("faq/contact.yaml", 12, "missing key 'answer'", "phone")
    assert str(problem) == "faq/contact.yaml:12: [phone] error: missing key 'answer'"


def test_an_unquoted_colon_in_a_question_gets_a_hint_to_quote_it(tmp_path: Path) -> None:
    # Valid YAML, but "ku ndodheni: ne Tirane?" becomes a mapping, not a question.
    problem = only_problem(
        tmp_path,
        VALID_ENTRY.replace("        - adresa e zyres", "        - ku ndodheni: ne Tirane?"),
    )
    assert problem.line == 8
    assert "found a mapping" in problem.message
    assert "quotes" in problem.message
    assert '"ku ndodheni: ne Tirane?"' in problem.message


# ---- the synonyms glossary (faq/synonyms.yaml) ---------------------------------------


def test_the_synonyms_glossary_is_loaded_beside_the_topics_not_as_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_faq(
        settings.faq_dir,
        {"topic.yaml": VALID_ENTRY, "synonyms.yaml": "synonyms:\n  - [adresa, address]\n"},
    )
    knowledge = build_knowledge(settings).knowledge
    assert [c.key for c in knowledge.categories] == ["topic"]
    group = knowledge.synonyms.group_of("Adresa")
    assert group is not None
    assert (group.words, group.file, group.line) == (("adresa", "address"), "faq/synonyms.yaml", 3)


def test_a_word_in_two_synonym_groups_is_an_error_with_both_lines(tmp_path: Path) -> None:
    glossary = "synonyms:\n  - [ojf, ngo]\n  - [shoqatë, NGO]\n"
    problems = load_problems(tmp_path, {"topic.yaml": VALID_ENTRY, "synonyms.yaml": glossary})
    assert [(p.file, p.line) for p in problems] == [("faq/synonyms.yaml", 4)]
    assert "'NGO' is also in the group on line 3" in problems[0].message


def test_a_synonym_group_of_one_word_is_a_warning(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_faq(
        settings.faq_dir,
        {"topic.yaml": VALID_ENTRY, "synonyms.yaml": "synonyms:\n  - [ojf]\n  - [a, b]\n"},
    )
    warnings = build_knowledge(settings).knowledge.warnings
    assert [(w.file, w.line, w.severity) for w in warnings] == [("faq/synonyms.yaml", 3, "warning")]
    assert "one word only" in warnings[0].message


def test_a_synonyms_file_that_breaks_the_schema_names_the_line(tmp_path: Path) -> None:
    glossary = "synonyms:\n  - [ojf, ngo]\n  - ojq\n"
    problems = load_problems(tmp_path, {"topic.yaml": VALID_ENTRY, "synonyms.yaml": glossary})
    assert [(p.file, p.line) for p in problems] == [("faq/synonyms.yaml", 4)]
    assert "expected a list" in problems[0].message
