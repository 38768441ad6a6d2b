"""Suggestions from a question log of known contents: the expected ones, none excluded."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from bot.config import LearningSettings, Settings
from bot.core.knowledge_state import LoadedKnowledge, build_knowledge
from bot.staff.learning import Suggestion, collect_signals, suggest, suggestion_id
from bot.storage.question_log import LoggedQuestion, clean_question_text

_ids = itertools.count(1)
RULES = LearningSettings(min_users=3, period_days=90, confident_score=60.0)


def asked(
    text: str,
    user: str,
    outcome: str = "suggest",
    *,
    entry_id: str | None = None,
    score: float = 55.0,
    helpful: bool | None = None,
    lang: str = "en",
) -> LoggedQuestion:
    return LoggedQuestion(
        id=f"q{next(_ids)}",
        asked_at=datetime(2026, 11, 1, tzinfo=UTC),
        text=clean_question_text(text),  # as the log stores it
        lang=lang,
        outcome=outcome,
        entry_id=entry_id,
        score=score,
        user_hash=user,
        channel="telegram",
        helpful=helpful,
    )


@pytest.fixture
def loaded(settings: Settings) -> LoadedKnowledge:
    return build_knowledge(settings)


def suggestions_for(
    log: list[tuple[LoggedQuestion, str | None]], loaded: LoadedKnowledge, **kwargs: object
) -> list[Suggestion]:
    """`log`: each question with the "did you mean" entry its user picked (or None)."""
    choices = {question.id: entry for question, entry in log if entry is not None}
    signals = collect_signals([q for q, _ in log], choices, RULES)
    return suggest(signals, loaded, RULES, **kwargs)  # type: ignore[arg-type]


def test_a_choice_made_by_enough_people_becomes_a_variant_of_that_entry(
    loaded: LoadedKnowledge,
) -> None:
    log = [
        (asked("Deadline for grants?", "u1"), "deadline-projects"),
        (asked("deadline for grants", "u2"), "deadline-projects"),
        (asked("deadline for grants!!", "u3"), "deadline-projects"),
        # A similar wording joins the group and counts its person.
        (asked("deadline for the grants", "u4"), "deadline-projects"),
    ]

    (found,) = suggestions_for(log, loaded)

    assert (found.kind, found.entry_id, found.lang) == ("variant", "deadline-projects", "en")
    assert found.text == "deadline for grants"
    assert (found.users, found.asked) == (4, 4)
    assert found.samples == ("deadline for grants", "deadline for the grants")
    assert found.id == suggestion_id("variant", "deadline-projects", "en", "deadline for grants")


def test_one_person_repeating_counts_once(loaded: LoadedKnowledge) -> None:
    log = [(asked("deadline for grants", "u1"), "deadline-projects") for _ in range(5)]
    log.append((asked("deadline for grants", "u2"), "deadline-projects"))

    assert suggestions_for(log, loaded) == []


def test_a_thumbs_up_on_an_unsure_answer_is_a_signal_and_a_sure_one_is_not(
    loaded: LoadedKnowledge,
) -> None:
    unsure = [
        (
            asked(
                "where is the office of ascs",
                f"u{n}",
                "answer",
                entry_id="office-address",
                score=36.7,
                helpful=True,
            ),
            None,
        )
        for n in range(3)
    ]
    sure = [
        (
            asked(
                "where is the ascs office now",
                f"v{n}",
                "answer",
                entry_id="office-address",
                score=75.0,
                helpful=True,
            ),
            None,
        )
        for n in range(3)
    ]

    found = suggestions_for([*unsure, *sure], loaded)

    assert [(s.entry_id, s.text, dict(s.signals or {})) for s in found] == [
        ("office-address", "where is the office of ascs", {"thumbs_up": 3})
    ]


def test_excluded_kinds_are_never_suggested(loaded: LoadedKnowledge) -> None:
    log = [
        # masked personal data
        *[
            (asked(f"grant deadline call me on 069 123 4567 {n}", f"a{n}"), "deadline-projects")
            for n in range(3)
        ],
        # already a variant after normalisation (of this entry)
        *[(asked("Project grant deadline!", f"b{n}"), "deadline-projects") for n in range(3)],
        # another entry's question, nearly word for word: it would take it over
        *[(asked("institutional grants deadline", f"c{n}"), "deadline-projects") for n in range(3)],
        # picked, then voted 👎: the choice did not help
        *[
            (asked("grant deadline dates", f"d{n}", helpful=False), "deadline-projects")
            for n in range(3)
        ],
    ]

    assert suggestions_for(log, loaded) == []


def test_answers_voted_down_count_against_their_entry_and_are_not_suggested_for_it(
    loaded: LoadedKnowledge,
) -> None:
    down = [
        (
            asked(
                "deadline for grants",
                f"u{n}",
                "answer",
                entry_id="deadline-projects",
                score=40,
                helpful=False,
            ),
            None,
        )
        for n in range(2)
    ]
    picked = [(asked("deadline for grants", f"v{n}"), "deadline-projects") for n in range(3)]
    also = [(asked("when do grants close", f"w{n}"), "deadline-projects") for n in range(3)]

    found = suggestions_for([*down, *picked, *also], loaded)

    assert [(s.text, s.against) for s in found] == [("when do grants close", 2)]


def test_unanswered_questions_from_enough_people_become_a_new_entry(
    loaded: LoadedKnowledge,
) -> None:
    log = [
        (asked("Can I get a job at the agency?", "u1", "fallback", score=8), None),
        (asked("can i get a job at the agency", "u2", "fallback", score=8), None),
        (asked("can i get a job at your agency", "u3", "fallback", score=8), None),
        # two people only
        (asked("i want to visit you", "u1", "fallback", score=9), None),
        (asked("i want to visit you", "u2", "fallback", score=9), None),
    ]

    (found,) = suggestions_for(log, loaded)

    assert (found.kind, found.entry_id, found.text, found.users) == (
        "entry",
        None,
        "can i get a job at the agency",
        3,
    )


def test_decided_suggestions_are_not_offered_again(loaded: LoadedKnowledge) -> None:
    log = [(asked("deadline for grants", f"u{n}"), "deadline-projects") for n in range(3)]
    (found,) = suggestions_for(log, loaded)

    assert suggestions_for(log, loaded, closed=[found.id]) == []
