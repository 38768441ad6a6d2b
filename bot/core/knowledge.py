"""The knowledge base: faq/*.yaml loaded, validated and turned into immutable entries.

Loading reports every problem at once, each with its file, line and entry id, so a staff
member can fix a broken edit in one go. The same JSON Schema that editors use to validate
while typing (bot/core/schema/faq.schema.json) checks the structure here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from bot.core.synonyms import SYNONYMS_FILE, Glossary, load_glossary
from bot.core.telegram_html import escape, html_problems, html_to_plain
from bot.core.yaml_files import ParsedFile, line_of, parse_file, schema_problems
from bot.core.yaml_files import Problem as Problem  # re-exported: the knowledge base's problems

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "faq.schema.json"
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


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
    # The fact staff still owe (`unknown:` in faq/): the answer says "ask the agency" until
    # they supply it. lint lists these entries, the report counts them, the web export
    # shows them as "ask the agency" with the contacts.
    unknown: str | None = None

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
    parsed = [parse_file(path, display_name(path, folder), parsed_texts) for path in files]
    glossary_path = folder / SYNONYMS_FILE
    glossary, glossary_problems = load_glossary(glossary_path, display_name(glossary_path, folder))
    try:
        knowledge = _assemble(
            parsed, str(folder), placeholders or {}, link_names, time_zone, languages, parsed_texts
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


def _as_date(value: Any) -> date | None:
    """A schema-checked date (a YAML date or "YYYY-MM-DD" text), or None when absent."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _unknown_fact(value: Any) -> str | None:
    """The schema-checked `unknown:` text, on one line, or None when absent."""
    return " ".join(str(value).split()) if value is not None else None


def _fill_placeholders(text: str, values: Mapping[str, str], on_unknown: list[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            on_unknown.append(name)
            return match.group(0)
        return escape(values[name])

    return PLACEHOLDER.sub(substitute, text)


def _assemble(
    parsed_files: list[ParsedFile],
    source: str,
    placeholders: PlaceholderValues,
    link_names: frozenset[str] | None,
    time_zone: tzinfo,
    languages: Sequence[str] | None = None,
    parsed_texts: MutableMapping[str, tuple[Any, Any]] | None = None,
) -> KnowledgeBase:
    problems: list[Problem] = []
    for parsed in parsed_files:
        problems.extend(parsed.problems)
        if parsed.problems:
            continue
        if parsed.data is None:
            problems.append(Problem(parsed.name, 1, "the file is empty; it needs 'entries:'"))
            continue
        # The schema's verdict on a file read before is kept with it (load_knowledge_base).
        checked = f"schema {parsed.name} {parsed.digest}"
        if parsed_texts is not None and parsed.digest and checked in parsed_texts:
            problems.extend(parsed_texts[checked][0])
            continue
        found = schema_problems(parsed, faq_schema())
        if parsed_texts is not None and parsed.digest:
            parsed_texts[checked] = (tuple(found), None)
        problems.extend(found)
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
            line = line_of(parsed.root, ["entries", index])
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
                    answer_line = line_of(parsed.root, ["entries", index, key, lang])
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
                            line_of(parsed.root, ["entries", index, "links"]),
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
                    unknown=_unknown_fact(raw.get("unknown")),
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
    parsed: ParsedFile, index: int, raw: Mapping[str, Any], languages: Sequence[str] | None
) -> list[Problem]:
    """A language key that config.yaml does not list: a typo (eb: for en:) would otherwise
    leave the entry without that language, and its users with the other one's answer."""
    if languages is None:
        return []
    known = ", ".join(languages)
    return [
        Problem(
            parsed.name,
            line_of(parsed.root, ["entries", index, key, lang], key=True),
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
