"""The knowledge base: faq/*.yaml loaded, validated and turned into immutable entries.

Loading reports every problem at once, each with its file, line and entry id, so a staff
member can fix a broken edit in one go. The same JSON Schema that editors use to validate
while typing (bot/core/schema/faq.schema.json) checks the structure here.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.core.safe_yaml import YamlLimitError, compose, compose_and_load
from bot.core.synonyms import SYNONYMS_FILE, Glossary, load_glossary
from bot.core.telegram_html import escape, html_problems, html_to_plain

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "faq.schema.json"
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or worth a warning) in a knowledge-base file."""

    file: str
    line: int
    message: str
    entry_id: str | None = None
    severity: str = "error"  # "error" stops the knowledge base from loading; "warning" does not

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        entry = f" [{self.entry_id}]" if self.entry_id else ""
        return f"{where}:{entry} {self.severity}: {self.message}"


class KnowledgeBaseError(Exception):
    """The knowledge base cannot be loaded; `problems` lists every error found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        summary = "\n".join(str(p) for p in errors)
        super().__init__(f"{len(errors)} error(s) in the knowledge base:\n{summary}")


@dataclass(frozen=True)
class Entry:
    id: str
    questions: Mapping[str, tuple[str, ...]]  # language -> question variants
    answers: Mapping[str, str]  # language -> Telegram HTML, placeholders filled in
    category: str  # the key of the category (the file's name without .yaml)
    links: tuple[str, ...] = ()  # link names from config.yaml, shown as buttons
    related: tuple[str, ...] = ()  # ids of entries offered as "see also"
    # ids of entries whose answer this one gives too: no "did you mean" between them
    covers: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    # Given instead of `answers` while one of `links` has no address yet in config.yaml.
    answers_until_link_set: Mapping[str, str] = field(default_factory=dict)
    reviewed: date | None = None  # the day staff last checked the answer
    expires: date | None = None  # the last day the answer may be given
    expires_at: datetime | None = None  # the instant it stops being served (end of `expires`)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.answers)

    def answer(self, lang: str, pending_links: frozenset[str] = frozenset()) -> tuple[str, str]:
        """The answer in `lang`, or in the entry's first language: (text, its language).

        `pending_links` names the links of config.yaml that have no address yet: if this
        entry shows one of them, the answer that says what its button really opens is given.
        """
        answers = self.answers
        if self.answers_until_link_set and pending_links.intersection(self.links):
            answers = self.answers_until_link_set
        if lang in answers:
            return answers[lang], lang
        first = next(iter(answers))
        return answers[first], first

    def is_expired(self, now: datetime) -> bool:
        """True from the end of the `expires:` day on: the bot no longer gives this answer."""
        return self.expires_at is not None and now >= self.expires_at

    def title(self, lang: str) -> str:
        """A short label for buttons: the entry's first question in that language."""
        variants = self.questions.get(lang) or next(iter(self.questions.values()))
        return variants[0]


@dataclass(frozen=True)
class Category:
    key: str
    titles: Mapping[str, str]
    entry_ids: tuple[str, ...]

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or next(iter(self.titles.values()), self.key)


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    categories: tuple[Category, ...]
    languages: tuple[str, ...]
    warnings: tuple[Problem, ...] = ()
    source: str = ""
    synonyms: Glossary = field(default_factory=Glossary)  # faq/synonyms.yaml
    _by_id: Mapping[str, Entry] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {entry.id: entry for entry in self.entries})

    def entry(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)


@cache
def faq_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


PlaceholderValues = Mapping[str, Mapping[str, str]]  # language -> name -> value


def load_knowledge_base(
    directory: Path | str,
    *,
    placeholders: PlaceholderValues | None = None,
    link_names: frozenset[str] | None = None,
    time_zone: tzinfo = UTC,
    languages: Sequence[str] | None = None,
    parsed_texts: MutableMapping[str, tuple[Any, Any]] | None = None,
) -> KnowledgeBase:
    """Load every faq/*.yaml file in `directory`.

    `parsed_texts` (a digest of a file's text -> its YAML node tree and data) spares reading
    again the files that did not change (bot.storage.knowledge_cache keeps it between runs);
    the files read are added to it.

    `placeholders` gives, per language, the values answers may name as {name}; `link_names`
    the links in config.yaml; `time_zone` the agency's, in which an `expires:` day ends;
    `languages` the languages of config.yaml (any other language key is an error).
    Raises KnowledgeBaseError listing every error found.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise KnowledgeBaseError([Problem(str(folder), 0, "no such folder of FAQ files")])
    try:
        files = sorted(
            p
            for p in folder.iterdir()
            if p.suffix in (".yaml", ".yml") and p.is_file() and p.name != SYNONYMS_FILE
        )
    except OSError as error:
        raise KnowledgeBaseError(
            [Problem(str(folder), 0, f"cannot read the folder: {error.strerror}")]
        ) from None
    if not files:
        raise KnowledgeBaseError([Problem(str(folder), 0, "the folder has no .yaml files")])
    parsed = [_parse_file(path, display_name(path, folder), parsed_texts) for path in files]
    glossary_path = folder / SYNONYMS_FILE
    glossary, glossary_problems = load_glossary(glossary_path, display_name(glossary_path, folder))
    try:
        knowledge = _assemble(
            parsed, str(folder), placeholders or {}, link_names, time_zone, languages
        )
    except KnowledgeBaseError as error:
        raise KnowledgeBaseError(sorted([*error.problems, *glossary_problems])) from None
    problems = sorted([*knowledge.warnings, *glossary_problems])
    if any(p.severity == "error" for p in problems):
        raise KnowledgeBaseError(problems)
    return replace(knowledge, synonyms=glossary, warnings=tuple(problems))


def display_name(path: Path, folder: Path) -> str:
    """How a file is named in messages: relative to the folder's parent (faq/contact.yaml)."""
    try:
        return str(path.relative_to(folder.parent))
    except ValueError:
        return str(path)


@dataclass
class _ParsedFile:
    name: str
    key: str
    data: Any
    root: yaml.Node | None
    problems: list[Problem]


def _parse_file(
    path: Path, name: str, parsed_texts: MutableMapping[str, tuple[Any, Any]] | None = None
) -> _ParsedFile:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return _ParsedFile(
            name,
            path.stem,
            None,
            None,
            [
                Problem(
                    name, 0, f"the file is not UTF-8 text (byte {error.start}); save it as UTF-8"
                )
            ],
        )
    except OSError as error:
        return _ParsedFile(
            name,
            path.stem,
            None,
            None,
            [Problem(name, 0, f"cannot read the file: {error.strerror}")],
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        if parsed_texts is not None and digest in parsed_texts:
            root, data = parsed_texts[digest]
        else:
            root, data = compose_and_load(text)
            if parsed_texts is not None:
                parsed_texts[digest] = (root, data)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        if isinstance(error, YamlLimitError):
            message, hint = str(problem), ""
        else:
            message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
            hint = _yaml_hint(text, line)
        return _ParsedFile(
            name,
            path.stem,
            None,
            None,
            [Problem(name, line, message + (f". {hint}" if hint else ""))],
        )
    except ValueError as error:  # PyYAML builds dates itself: 2025-13-45 raises ValueError
        return _ParsedFile(name, path.stem, None, None, [_bad_date(text, name, error)])
    problems = _duplicate_keys(root, name)
    return _ParsedFile(name, path.stem, data, root, problems)


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _bad_date(text: str, name: str, error: ValueError) -> Problem:
    """The date that does not exist, with its line, key and entry (the loader's error has
    none of them): the first date-like value that Python cannot make a date of."""
    message = f"a date that does not exist ({error}); write it as YYYY-MM-DD"
    try:
        root = compose(text)
    except yaml.YAMLError:
        return Problem(name, 0, message)
    entries = _mapping_value(root, "entries")
    for entry in entries.value if isinstance(entries, yaml.SequenceNode) else []:
        for key_node, value_node in entry.value if isinstance(entry, yaml.MappingNode) else []:
            if value_node.tag == _TIMESTAMP_TAG and _not_a_date(value_node.value):
                id_node = _mapping_value(entry, "id")
                return Problem(
                    name,
                    value_node.start_mark.line + 1,
                    f"{key_node.value}: {value_node.value} is {message}",
                    id_node.value if isinstance(id_node, yaml.ScalarNode) else None,
                )
    return Problem(name, 0, message)


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == key:
                found: yaml.Node = value_node
                return found
    return None


def _not_a_date(value: str) -> bool:
    try:
        yaml.SafeLoader.construct_yaml_timestamp(
            yaml.SafeLoader(""), yaml.ScalarNode(_TIMESTAMP_TAG, value)
        )
    except ValueError:
        return True
    return False


def _yaml_hint(text: str, line: int) -> str:
    lines = text.splitlines()
    if 0 < line <= len(lines):
        content = lines[line - 1]
        if "\t" in content[: len(content) - len(content.lstrip())]:
            return "Indent with spaces, not tabs"
        if _brackets_unbalanced(_outside_quotes(content)):
            return "A '[' or '{' on this line is not closed by its matching ']' or '}'"
        if "[" in content and re.search(r"[?:]", content.split("[", 1)[1]):
            return (
                "Inside [ ], a text with '?' or ':' must be put in quotes "
                "(\"Where is the office?\"), or write one '- question' per line"
            )
        if re.search(r":\s*[^\"'\s][^\"']*: ", content):
            return "A text containing ': ' must be put in quotes"
    return "Check the indentation and quotes on this line and the one above"


def _outside_quotes(line: str) -> str:
    return re.sub(r"\"[^\"]*\"|'[^']*'", "", line)


def _brackets_unbalanced(line: str) -> bool:
    closing = {"]": "[", "}": "{"}
    opened: list[str] = []
    for char in line:
        if char in "[{":
            opened.append(char)
        elif char in closing and (not opened or opened.pop() != closing[char]):
            return True
    return bool(opened)


def _duplicate_keys(node: yaml.Node | None, name: str) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = getattr(key_node, "value", None)
            if isinstance(key, str):
                if key in seen:
                    problems.append(
                        Problem(
                            name,
                            key_node.start_mark.line + 1,
                            f"the key {key!r} appears twice (first on line {seen[key]}); "
                            "only one is kept",
                        )
                    )
                seen.setdefault(key, key_node.start_mark.line + 1)
            problems.extend(_duplicate_keys(value_node, name))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            problems.extend(_duplicate_keys(item, name))
    return problems


def _node_at(root: yaml.Node | None, path: Sequence[Any], *, key: bool = False) -> yaml.Node | None:
    """The YAML node at a JSON path (keys and indexes); with key=True, the last key's node."""
    node = root
    for position, step in enumerate(path):
        last = position == len(path) - 1
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == step:
                    node = key_node if (key and last) else value_node
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(node.value):
                return node
            node = node.value[step]
        else:
            return node
    return node


def _line_of(root: yaml.Node | None, path: Sequence[Any], *, key: bool = False) -> int:
    node = _node_at(root, path, key=key)
    return node.start_mark.line + 1 if node is not None else 1


def _entry_id_at(data: Any, path: Sequence[Any]) -> str | None:
    if len(path) >= 2 and path[0] == "entries" and isinstance(path[1], int):
        entries = data.get("entries") if isinstance(data, dict) else None
        if isinstance(entries, list) and path[1] < len(entries):
            entry = entries[path[1]]
            entry_id = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(entry_id, str):
                return entry_id
    return None


def _describe_path(path: Sequence[Any]) -> str:
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step + 1}]" if parts else f"item {step + 1}")
        else:
            parts.append(f".{step}" if parts else str(step))
    return "".join(parts)


_TYPE_NAMES = {
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "string": "a text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "yes/no",
    "null": "nothing",
}


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "yes/no (write it in quotes to make it a text)"
    if isinstance(value, int | float):
        return "a number (write it in quotes to make it a text)"
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a text"


def _schema_problems(parsed: _ParsedFile, schema: dict[str, Any] | None = None) -> list[Problem]:
    # Imported here: a command that reads faq/ from the knowledge cache never validates, and
    # importing jsonschema is a sixth of its start-up.
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema or faq_schema())
    problems = []
    for error in validator.iter_errors(_dates_as_text(parsed.data)):
        path = list(error.absolute_path)
        where = _describe_path(path)
        prefix = f"{where}: " if where else ""
        kind = error.validator
        key_line = False
        if kind == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            message = f"{prefix}missing key '{missing[0] if missing else error.message}'"
        elif kind == "additionalProperties":
            extra = re.findall(r"'([^']+)'", error.message)
            allowed = sorted(error.schema.get("properties", {}))
            unknown = extra[0] if extra else "?"
            guess = difflib.get_close_matches(unknown, allowed, n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            message = (
                f"{prefix}unknown key '{unknown}' ({hint}expected one of: {', '.join(allowed)})"
            )
            path = [*path, unknown]
            key_line = True
        elif kind == "type":
            expected = error.validator_value
            expected_name = (
                _TYPE_NAMES.get(expected, str(expected))
                if isinstance(expected, str)
                else " or ".join(_TYPE_NAMES.get(t, t) for t in expected)
            )
            message = f"{prefix}expected {expected_name}, found {_value_kind(error.instance)}"
            if expected == "string" and isinstance(error.instance, dict):
                # "- ku ndodheni: ne Tirane?" is valid YAML: a mapping, not a question.
                message += (
                    "; a text containing ': ' is read as 'key: value': put the whole "
                    'text in quotes ("ku ndodheni: ne Tirane?")'
                )
        elif kind == "minItems":
            message = f"{prefix}the list is empty; give at least one item"
        elif kind == "minProperties":
            message = f"{prefix}is empty; give at least one language (for example sq: or en:)"
        elif kind == "minLength":
            message = f"{prefix}is empty text"
        elif kind == "pattern" and error.validator_value == r"\S":
            if error.instance == "":  # minLength says it
                continue
            message = f"{prefix}is only spaces; write the text or remove it"
        elif kind == "pattern" and path and path[-1] == "id":
            message = (
                f"{prefix}{error.instance!r} is not a valid id: use a-z, 0-9 and '-', "
                "at most 32 characters"
            )
        elif kind == "pattern" and len(path) >= 2 and path[-2] in ("related", "covers"):
            message = f"{prefix}{error.instance!r} is not a valid entry id"
        elif kind == "pattern" and len(path) >= 2 and path[-2] == "links":
            message = f"{prefix}{error.instance!r} is not a link name: use a-z, 0-9 and _"
        elif kind == "pattern" and str(error.validator_value).startswith("^[a-z]{2}"):
            message = (
                f"{prefix}{error.instance!r} is not a language code: language keys are "
                "two-letter codes such as sq, en"
            )
        elif kind == "propertyNames" or (kind == "pattern" and not path):
            message = f"{prefix}{error.message}: language keys are two-letter codes such as sq, en"
        elif kind == "uniqueItems":
            message = f"{prefix}lists the same item twice"
        else:
            message = f"{prefix}{error.message}"
        problems.append(
            Problem(
                parsed.name,
                _line_of(parsed.root, path, key=key_line),
                message,
                _entry_id_at(parsed.data, list(error.absolute_path)),
            )
        )
    return problems


def _dates_as_text(data: Any) -> Any:
    """The data with YAML dates (reviewed: 2025-06-13) as text, as the JSON Schema sees them."""
    if isinstance(data, dict):
        return {key: _dates_as_text(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_dates_as_text(item) for item in data]
    if isinstance(data, date):
        return data.isoformat()[:10]
    return data


def _as_date(value: Any) -> date | None:
    """A schema-checked date (a YAML date or "YYYY-MM-DD" text), or None when absent."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _fill_placeholders(text: str, values: Mapping[str, str], on_unknown: list[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            on_unknown.append(name)
            return match.group(0)
        return escape(values[name])

    return PLACEHOLDER.sub(substitute, text)


def _assemble(
    parsed_files: list[_ParsedFile],
    source: str,
    placeholders: PlaceholderValues,
    link_names: frozenset[str] | None,
    time_zone: tzinfo,
    languages: Sequence[str] | None = None,
) -> KnowledgeBase:
    problems: list[Problem] = []
    for parsed in parsed_files:
        problems.extend(parsed.problems)
        if parsed.problems:
            continue
        if parsed.data is None:
            problems.append(Problem(parsed.name, 1, "the file is empty; it needs 'entries:'"))
        else:
            problems.extend(_schema_problems(parsed))
    if any(p.severity == "error" for p in problems):
        raise KnowledgeBaseError(sorted(problems))

    entries: list[Entry] = []
    categories: list[Category] = []
    first_seen: dict[str, tuple[str, int]] = {}
    all_languages: list[str] = []
    known_names = {name for values in placeholders.values() for name in values}
    for parsed in parsed_files:
        file_entries = parsed.data["entries"]
        category_titles = parsed.data.get("category") or {"en": parsed.key.replace("-", " ")}
        ids = []
        for index, raw in enumerate(file_entries):
            line = _line_of(parsed.root, ["entries", index])
            entry_id = raw["id"]
            if entry_id in first_seen:
                other_file, other_line = first_seen[entry_id]
                problems.append(
                    Problem(
                        parsed.name,
                        line,
                        f"the id {entry_id!r} is already used at "
                        f"{other_file}:{other_line}; ids must be unique",
                        entry_id,
                    )
                )
                continue
            first_seen[entry_id] = (parsed.name, line)
            problems.extend(_unknown_languages(parsed, index, raw, languages))
            for lang in [*raw["questions"], *raw["answer"]]:
                # A mistyped key is one error above, not a warning on every other entry.
                if lang not in all_languages and (languages is None or lang in languages):
                    all_languages.append(lang)
            answers: dict[str, dict[str, str]] = {}
            for key in ("answer", "answer_until_link_set"):
                answers[key] = {}
                for lang, text in raw.get(key, {}).items():
                    answer_line = _line_of(parsed.root, ["entries", index, key, lang])
                    unknown: list[str] = []
                    values = placeholders.get(lang) or next(iter(placeholders.values()), {})
                    filled = _fill_placeholders(text.strip(), values, unknown)
                    for name in dict.fromkeys(unknown):
                        known = ", ".join("{" + n + "}" for n in sorted(known_names)) or "none"
                        problems.append(
                            Problem(
                                parsed.name,
                                answer_line,
                                f"{key}.{lang}: unknown placeholder {{{name}}} (known: {known})",
                                entry_id,
                            )
                        )
                    for html_problem in html_problems(filled):
                        problems.append(
                            Problem(
                                parsed.name,
                                answer_line,
                                f"{key}.{lang}: Telegram would reject this answer: {html_problem}",
                                entry_id,
                            )
                        )
                    if not html_to_plain(filled).strip():
                        problems.append(
                            Problem(
                                parsed.name,
                                answer_line,
                                f"{key}.{lang}: has no visible text (only spaces or tags); "
                                "write the answer, or remove this language",
                                entry_id,
                            )
                        )
                    answers[key][lang] = filled
            expires = _as_date(raw.get("expires"))
            for link in raw.get("links", []):
                if link_names is not None and link not in link_names:
                    known = ", ".join(sorted(link_names)) or "none"
                    problems.append(
                        Problem(
                            parsed.name,
                            _line_of(parsed.root, ["entries", index, "links"]),
                            f"links: unknown link {link!r} (config.yaml has: {known})",
                            entry_id,
                        )
                    )
            entries.append(
                Entry(
                    id=entry_id,
                    questions={
                        lang: tuple(q.strip() for q in qs) for lang, qs in raw["questions"].items()
                    },
                    answers=answers["answer"],
                    category=parsed.key,
                    links=tuple(raw.get("links", [])),
                    related=tuple(raw.get("related", [])),
                    covers=tuple(raw.get("covers", [])),
                    file=parsed.name,
                    line=line,
                    answers_until_link_set=answers["answer_until_link_set"],
                    reviewed=_as_date(raw.get("reviewed")),
                    expires=expires,
                    expires_at=_end_of_day(expires, time_zone),
                )
            )
            ids.append(entry_id)
        categories.append(Category(parsed.key, dict(category_titles), tuple(ids)))

    for entry in entries:
        for key, named in (("related", entry.related), ("covers", entry.covers)):
            for other in named:
                if other not in first_seen:
                    problems.append(
                        Problem(
                            entry.file,
                            entry.line,
                            f"{key}: no entry has the id {other!r}",
                            entry.id,
                        )
                    )
                elif other == entry.id:
                    problems.append(
                        Problem(
                            entry.file,
                            entry.line,
                            f"{key}: an entry cannot name itself",
                            entry.id,
                        )
                    )
        for lang in all_languages:
            if lang not in entry.questions:
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f"no questions in '{lang}' (other entries have them)",
                        entry.id,
                        "warning",
                    )
                )
            if lang not in entry.answers:
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f"no answer in '{lang}' (other entries have one)",
                        entry.id,
                        "warning",
                    )
                )
    if any(p.severity == "error" for p in problems):
        raise KnowledgeBaseError(sorted(problems))
    return KnowledgeBase(
        entries=tuple(entries),
        categories=tuple(c for c in categories if c.entry_ids),
        languages=tuple(all_languages),
        warnings=tuple(sorted(problems)),
        source=source,
    )


def _unknown_languages(
    parsed: _ParsedFile, index: int, raw: Mapping[str, Any], languages: Sequence[str] | None
) -> list[Problem]:
    """A language key that config.yaml does not list: a typo (eb: for en:) would otherwise
    leave the entry without that language, and its users with the other one's answer."""
    if languages is None:
        return []
    known = ", ".join(languages)
    return [
        Problem(
            parsed.name,
            _line_of(parsed.root, ["entries", index, key, lang], key=True),
            f"{key}: {lang!r} is not one of the languages in config.yaml ({known}); "
            "check the spelling of the key",
            raw["id"],
        )
        for key in ("questions", "answer", "answer_until_link_set")
        for lang in raw.get(key) or {}
        if lang not in languages
    ]


def _end_of_day(day: date | None, time_zone: tzinfo) -> datetime | None:
    """Midnight after `day` in `time_zone`: the instant an entry expiring that day stops."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=time_zone)
