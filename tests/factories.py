"""Small builders for tests: settings and knowledge bases written to a temporary folder."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from bot.config import Settings, settings_from_mapping
from bot.core.assembly import build_dialog
from bot.core.dialog import Dialog
from bot.core.knowledge_state import KnowledgeHolder

SCHEMA_LINE = "# yaml-language-server: $schema=../bot/core/schema/faq.schema.json\n"

CONTACT_FAQ = """\
category:
  en: Contact
  sq: Kontakti
entries:
  - id: office-address
    questions:
      en:
        - "Where is your office?"
        - office address
        - where are you located
      sq:
        - "Ku ndodhet zyra?"
        - adresa e zyrës
        - ku jeni
    answer:
      en: "Our office is at {address}."
      sq: "Zyra jonë ndodhet në {address}."
    links: [map]
    related: [phone-number]
  - id: phone-number
    questions:
      en:
        - "What is your phone number?"
        - phone number
        - telephone
      sq:
        - "Cili është numri i telefonit?"
        - numri i telefonit
        - telefon
    answer:
      en: "Call us on {phone} (from abroad {phone_international})."
      sq: "Na telefononi në {phone} (nga jashtë {phone_international})."
"""

GRANTS_FAQ = """\
category:
  en: Grants
  sq: Grantet
entries:
  - id: grant-types
    questions:
      en:
        - "What kinds of grants do you give?"
        - grant types
        - project funding
      sq:
        - "Çfarë grantesh jepni?"
        - llojet e granteve
        - financim projektesh
    answer:
      en: "<b>Grants</b> for projects and for institutional support."
      sq: "<b>Grante</b> për projekte dhe për mbështetje institucionale."
"""


def settings_mapping(faq_dir: Path, log_path: Path | None = None) -> dict[str, Any]:
    return {
        "agency": {
            "name": {
                "en": "Agency for the Support of Civil Society (ASCS)",
                "sq": "Agjencia për Mbështetjen e Shoqërisë Civile (AMSHC)",
            },
            "address": {
                "en": 'Rruga "Frosina Plaku" Nr. 58, Tirana',
                "sq": 'Rruga "Frosina Plaku" Nr. 58, Tiranë',
            },
            "phone": "04 22 355 69",
            "phone_international": "+355 4 22 355 69",
            "email": "info@amshc.gov.al",
        },
        "links": {
            "website": {
                "url": "https://www.amshc.gov.al",
                "label": {"en": "Website", "sq": "Faqja"},
            },
            "map": {
                "url": "https://www.google.com/maps/search/?api=1&query=Frosina+Plaku",
                "label": {"en": "Map", "sq": "Harta"},
            },
            "ngo_registration": {
                "url": "https://www.amshc.gov.al",
                "label": {"en": "Register", "sq": "Regjistrohu"},
            },
        },
        "languages": ["sq", "en"],
        "paths": {
            "faq": str(faq_dir),
            "question_log": str(log_path or faq_dir.parent / "questions.sqlite3"),
        },
    }


def make_settings(tmp_path: Path, **sections: Any) -> Settings:
    faq_dir = tmp_path / "faq"
    raw = settings_mapping(faq_dir)
    raw.update(sections)
    return settings_from_mapping(raw, base_dir=tmp_path)


def write_faq(folder: Path, files: dict[str, str]) -> Path:
    """Write FAQ files (name -> YAML text) into `folder`, each with the schema line."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(SCHEMA_LINE + textwrap.dedent(text), encoding="utf-8")
    return folder


def make_dialog(
    tmp_path: Path, files: dict[str, str] | None = None, **sections: Any
) -> tuple[Dialog, KnowledgeHolder]:
    settings = make_settings(tmp_path, **sections)
    write_faq(
        settings.faq_dir,
        files if files is not None else {"contact.yaml": CONTACT_FAQ, "grants.yaml": GRANTS_FAQ},
    )
    return build_dialog(settings)
