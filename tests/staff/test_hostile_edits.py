"""A hostile or careless edit of faq/ (an alias bomb, nesting hundreds deep) is refused by
`lint` and by the running bot's reload, promptly: the last good version keeps answering."""

from __future__ import annotations

import io
from pathlib import Path

import yaml

from bot.cli import main
from bot.core.knowledge_state import KnowledgeHolder, build_knowledge
from bot.staff.reloader import KnowledgeReloader
from tests.core.test_hostile_faq import ALIAS_BOMB
from tests.factories import CONTACT_FAQ, make_settings, settings_mapping, write_faq

DEEP = "entries:\n  - id: deep\n    questions: " + "[" * 900 + "]" * 900 + "\n"


def test_lint_reports_an_alias_bomb_and_deep_nesting_with_file_and_line(tmp_path: Path) -> None:
    write_faq(tmp_path / "faq", {"bomb.yaml": ALIAS_BOMB, "deep.yaml": DEEP})
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings_mapping(tmp_path / "faq")), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), "lint"], stdout=out, stderr=err)
    assert code == 1
    report = err.getvalue()
    assert "faq/bomb.yaml:16: error: the aliases (*name) expand to more than" in report
    assert "faq/deep.yaml:4: error: the file nests more than" in report
    assert "Traceback" not in report + out.getvalue()


def test_the_reloader_rejects_an_alias_bomb_and_keeps_serving_the_last_good_version(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    write_faq(settings.faq_dir, {"contact.yaml": CONTACT_FAQ})
    holder = KnowledgeHolder(build_knowledge(settings))
    served = holder.current
    rejected = []
    reloader = KnowledgeReloader(
        settings,
        holder,
        on_reloaded=lambda loaded: None,
        on_rejected=rejected.append,
        sleep=lambda seconds: None,
    )
    write_faq(settings.faq_dir, {"contact.yaml": ALIAS_BOMB})
    result = reloader.reload_now()
    assert result.status == "rejected"
    assert holder.current is served
    assert any("expand to more than" in p.message and p.line == 16 for p in result.problems)
    # A good edit afterwards still goes live: the reloader is not stuck.
    write_faq(settings.faq_dir, {"contact.yaml": CONTACT_FAQ.replace("Call us", "Ring us")})
    assert reloader.reload_now().status == "reloaded"
    entry = holder.current.knowledge.entry("phone-number")
    assert entry is not None
    assert entry.answers["en"].startswith("Ring us")
