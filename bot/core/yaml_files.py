"""Staff's YAML files read for checking: parsed with the safe loader's limits, every problem
with its file and line (a syntax error with a hint, a duplicate key, a date that does not
exist), and checked against a JSON Schema. Both the knowledge base (faq/*.yaml) and the
synonyms glossary (faq/synonyms.yaml) are read this way."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.core.safe_yaml import YamlLimitError, compose, compose_and_load
from bot.core.safe_yaml import error_line as yaml_error_line


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


@dataclass
class ParsedFile:
    name: str
    key: str
    data: Any
    root: yaml.Node | None
    problems: list[Problem]
    digest: str = ""  # of the file's text, when it was read


def parse_file(
    path: Path, name: str, parsed_texts: MutableMapping[str, tuple[Any, Any]] | None = None
) -> ParsedFile:
    """One YAML file read. `parsed_texts` (a digest of a file's text -> its node tree and
    data) spares reading again a file whose text did not change; what is read is added."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return ParsedFile(
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
        return ParsedFile(
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
        line, quote_hint = yaml_error_line(text, error)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        if isinstance(error, YamlLimitError):
            message, hint = str(problem), ""
        else:
            message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
            hint = quote_hint or _yaml_hint(text, line)
        return ParsedFile(
            name,
            path.stem,
            None,
            None,
            [Problem(name, line, message + (f". {hint}" if hint else ""))],
        )
    except ValueError as error:  # PyYAML builds dates itself: 2025-13-45 raises ValueError
        return ParsedFile(name, path.stem, None, None, [_bad_date(text, name, error)])
    problems = _duplicate_keys(root, name)
    return ParsedFile(name, path.stem, data, root, problems, digest)


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


def line_of(root: yaml.Node | None, path: Sequence[Any], *, key: bool = False) -> int:
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


def schema_problems(parsed: ParsedFile, schema: dict[str, Any]) -> list[Problem]:
    # Imported here: a command that reads faq/ from the knowledge cache never validates, and
    # importing jsonschema is a sixth of its start-up.
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
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
                line_of(parsed.root, path, key=key_line),
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


_TYPE_NAMES = {
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "string": "a text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "yes/no",
    "null": "nothing",
}
