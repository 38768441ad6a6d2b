"""The knowledge base kept between runs (bot.storage.knowledge_cache): used while faq/ is
unchanged, rebuilt when any file changes, and a damaged cache is never trusted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import bot.core.yaml_files as knowledge_module
import bot.storage.knowledge_cache as knowledge_cache
from bot.config import Settings
from bot.core.knowledge import KnowledgeBaseError
from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.storage.knowledge_cache import cache_path, load_knowledge


def answer_to(loaded: LoadedKnowledge, question: str) -> str | None:
    return loaded.matcher.match(question).entry_id


def refuse_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> LoadedKnowledge:
        raise AssertionError("faq/ was loaded again instead of read from the cache")

    monkeypatch.setattr(knowledge_cache, "build_knowledge", fail)


def test_an_unchanged_faq_folder_is_read_from_the_cache(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_knowledge(settings)
    assert cache_path(settings).is_file()
    assert cache_path(settings).parent == settings.question_log_path.parent
    refuse_to_build(monkeypatch)
    again = load_knowledge(settings)
    assert [e.id for e in again.knowledge] == [e.id for e in first.knowledge]
    assert answer_to(again, "where is your office") == answer_to(first, "where is your office")


def test_an_edited_faq_file_is_loaded_anew(settings: Settings) -> None:
    load_knowledge(settings)
    path = next(settings.faq_dir.glob("*.yaml"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("entries:", "entries:\n" + NEW_ENTRY, 1), encoding="utf-8")
    loaded = load_knowledge(settings)
    assert answer_to(loaded, "can i bring my bicycle inside") == "bicycles"


NEW_ENTRY = """\
  - id: bicycles
    questions:
      en: ["Can I bring my bicycle inside?", "bicycle parking"]
      sq: ["A mund ta fus biçikletën brenda?", "parkim biçikletash"]
    answer:
      en: "Bicycles stay outside."
      sq: "Biçikletat qëndrojnë jashtë."
"""


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # a write cut short
        lambda data: data[:-1] + bytes([data[-1] ^ 0xFF]),  # one byte changed
        lambda data: b"",
        lambda data: b"not a cache at all",
    ],
)
def test_a_damaged_cache_is_ignored_and_written_again(settings: Settings, damage: object) -> None:
    expected = answer_to(build_knowledge(settings), "where is your office")
    load_knowledge(settings)
    path = cache_path(settings)
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    loaded = load_knowledge(settings)
    assert answer_to(loaded, "where is your office") == expected
    assert load_knowledge(settings).knowledge.entry(expected or "") is not None
    assert path.read_bytes().startswith(b"ascs-faq-knowledge-cache")


def test_a_cache_written_for_other_code_is_not_read(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_knowledge(settings)
    monkeypatch.setattr(knowledge_cache, "_code", b"another version of the bot")
    built = []
    real_build = knowledge_cache.build_knowledge

    def counting_build(*args: object, **kwargs: object) -> LoadedKnowledge:
        built.append(True)
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(knowledge_cache, "build_knowledge", counting_build)
    load_knowledge(settings)
    assert built == [True]


def test_a_state_folder_that_cannot_be_written_only_means_no_cache(
    settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be", encoding="utf-8")
    unwritable = dataclasses.replace(settings, question_log_path=blocker / "questions.sqlite3")
    loaded = load_knowledge(unwritable)
    assert answer_to(loaded, "where is your office") is not None
    assert blocker.read_text(encoding="utf-8") == "a file where the state folder should be"


def test_a_broken_faq_file_is_an_error_whatever_the_cache(settings: Settings) -> None:
    load_knowledge(settings)
    path = next(settings.faq_dir.glob("*.yaml"))
    path.write_text("entries: [unclosed\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError):
        load_knowledge(settings)


def test_no_leftover_temporary_files(settings: Settings) -> None:
    load_knowledge(settings)
    load_knowledge(settings)
    leftovers = [p.name for p in cache_path(settings).parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert isinstance(cache_path(settings), Path)


def test_after_an_edit_only_the_edited_file_is_read_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_knowledge(settings)
    files = sorted(settings.faq_dir.glob("*.yaml"))
    assert len(files) > 1
    edited = files[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    read: list[str] = []
    real_read = knowledge_module.compose_and_load

    def counting_read(text: str) -> object:
        read.append(text)
        return real_read(text)

    monkeypatch.setattr(knowledge_module, "compose_and_load", counting_read)
    load_knowledge(settings)
    assert read == [edited.read_text(encoding="utf-8")]


def test_a_schema_error_is_reported_every_time_not_only_the_first(settings: Settings) -> None:
    load_knowledge(settings)
    path = next(settings.faq_dir.glob("*.yaml"))
    path.write_text(
        path.read_text(encoding="utf-8").replace("    answer:", "    anwser:", 1), encoding="utf-8"
    )
    messages = []
    for _ in range(2):
        with pytest.raises(KnowledgeBaseError) as caught:
            load_knowledge(settings)
        messages.append(sorted(str(p) for p in caught.value.problems))
    assert messages[0] == messages[1]
    assert any("anwser" in m for m in messages[0])


def test_a_cache_others_may_write_is_never_unpickled(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unpickling runs code: a cache file that the group or anyone may write (a shared or
    world-writable state folder) could have been planted, so it is rebuilt, not read."""
    load_knowledge(settings)
    path = cache_path(settings)
    path.chmod(0o666)
    built = []
    real_build = knowledge_cache.build_knowledge

    def counting_build(*args: object, **kwargs: object) -> LoadedKnowledge:
        built.append(True)
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(knowledge_cache, "build_knowledge", counting_build)
    loaded = load_knowledge(settings)
    assert built == [True]
    assert answer_to(loaded, "where is your office") is not None
    assert path.stat().st_mode & 0o077 == 0  # written anew, for this user only
