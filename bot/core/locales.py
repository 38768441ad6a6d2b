"""Interface texts per language, from bot/core/locales/<lang>.yaml (not from code)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

LOCALES_DIR = Path(__file__).resolve().parent / "locales"


class LocaleError(ValueError):
    """A locale file is missing a text or cannot be read."""


@dataclass(frozen=True)
class Locales:
    texts: Mapping[str, Mapping[str, str]]  # language -> key -> text
    fallback_language: str

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.texts)

    def text(self, lang: str, key: str, **values: str) -> str:
        table = self.texts.get(lang) or self.texts[self.fallback_language]
        template = table.get(key)
        if template is None:
            template = self.texts[self.fallback_language].get(key)
        if template is None:
            raise LocaleError(f"no interface text {key!r} in {lang!r}")
        return template.format_map(_KeepUnknown(values)) if values else template


class _KeepUnknown(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def _read_locale(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise LocaleError(f"{path}: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise LocaleError(f"{path}: expected 'key: text' lines")
    return {str(key): value.strip() for key, value in data.items()}


def load_locales(languages: tuple[str, ...], directory: Path = LOCALES_DIR) -> Locales:
    """Texts for each configured language; every file must have every key of the first."""
    texts: dict[str, dict[str, str]] = {}
    for lang in languages:
        path = directory / f"{lang}.yaml"
        if not path.exists():
            raise LocaleError(f"{path}: no interface texts for the configured language {lang!r}")
        texts[lang] = _read_locale(path)
    reference = texts[languages[0]]
    for lang, table in texts.items():
        missing = sorted(set(reference) - set(table))
        if missing:
            raise LocaleError(
                f"{directory / (lang + '.yaml')}: missing texts: {', '.join(missing)}"
            )
    return Locales(texts, languages[0])
