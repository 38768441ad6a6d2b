"""The matcher as users meet it: which entry a question finds, and whether the bot answers,
offers choices or says it does not know. Tiny knowledge bases, built inline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

import bot.core.search_index
from bot.config import MatchingSettings, load_settings
from bot.core.knowledge import Entry, KnowledgeBase, load_knowledge_base
from bot.core.knowledge_state import build_knowledge
from bot.core.matcher import Matcher
from bot.core.synonyms import Glossary, SynonymGroup

SETTINGS = MatchingSettings(
    answer_threshold=32, suggest_threshold=20, ambiguity_margin=3, max_suggestions=3
)


def entry(entry_id: str, questions: Mapping[str, Sequence[str]]) -> Entry:
    return Entry(
        id=entry_id,
        questions={lang: tuple(variants) for lang, variants in questions.items()},
        answers=dict.fromkeys(questions, f"answer to {entry_id}"),
        category="test",
    )


def knowledge(*entries: Entry) -> KnowledgeBase:
    languages = tuple(dict.fromkeys(lang for e in entries for lang in e.questions))
    return KnowledgeBase(entries=entries, categories=(), languages=languages)


ADDRESS = entry(
    "office-address",
    {
        "sq": [
            "Ku ndodhet zyra juaj?",
            "Cila është adresa e agjencisë?",
            "adresa e zyrës",
            "Si mund të vij në zyrë?",
        ],
        "en": ["Where is your office?", "What is your address?", "office address"],
    },
)
PHONE = entry(
    "phone",
    {
        "sq": ["Cili është numri i telefonit?", "Si mund t'ju telefonoj?", "numri i telefonit"],
        "en": ["What is your phone number?", "How can I call you?", "phone number"],
    },
)
REGISTRATION = entry(
    "ngo-registration",
    {
        "sq": ["Si mund të regjistrohet një OJF?", "regjistrimi i organizatës", "regjistrim OJF"],
        "en": ["How do I register an NGO?", "NGO registration", "register my organisation"],
    },
)
GRANTS = entry(
    "grants",
    {
        "sq": [
            "Çfarë grantesh ofroni?",
            "A jepni grante për shoqatat?",
            "financim për OJF",
            "Si mund të aplikoj për financim?",
        ],
        "en": ["What grants do you offer?", "Do you fund associations?", "funding for NGOs"],
    },
)
OPENING_HOURS = entry(
    "opening-hours",
    {
        "sq": ["Cili është orari i punës?", "Kur jeni të hapur?", "orari"],
        "en": ["What are your opening hours?", "When are you open?", "opening hours"],
    },
)
ASCS = knowledge(ADDRESS, PHONE, REGISTRATION, GRANTS, OPENING_HOURS)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(ASCS, SETTINGS)


# ---- finding the right entry -------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("Ku ndodhet zyra juaj?", "office-address"),
        ("What is your phone number?", "phone"),
        ("How do I register an NGO?", "ngo-registration"),
    ],
)
def test_a_question_written_as_in_the_faq_is_answered(
    matcher: Matcher, question: str, entry_id: str
) -> None:
    match = matcher.match(question)
    assert match.status == "answer"
    assert match.entry_id == entry_id
    assert match.candidates[0] == match.best


def test_missing_diacritics_and_punctuation_do_not_matter(matcher: Matcher) -> None:
    assert matcher.match("cila eshte adresa e agjencise").entry_id == "office-address"
    assert matcher.match("CFARE GRANTESH OFRONI!!!").entry_id == "grants"


def test_typo_in_albanian_question_still_finds_the_address(matcher: Matcher) -> None:
    match = matcher.match("ku eshte adrsa e zyres")
    assert match.entry_id == "office-address"


def test_typo_in_albanian_registration_question_still_finds_it(matcher: Matcher) -> None:
    assert matcher.match("si behet regjstrimi i ojf").entry_id == "ngo-registration"


def test_typo_in_english_question_still_finds_the_address(matcher: Matcher) -> None:
    assert matcher.match("whats ur adress").entry_id == "office-address"


def test_another_inflection_of_an_albanian_word_finds_the_entry(matcher: Matcher) -> None:
    # The variants say "telefonit"; the user writes "telefoni" and "telefonin".
    assert matcher.match("me jepni telefonin").entry_id == "phone"
    assert matcher.rank("telefoni")[0].entry_id == "phone"


def test_stop_words_do_not_drive_the_match(matcher: Matcher) -> None:
    # "what is your" is in the address, phone and hours variants alike: "hours" decides.
    assert matcher.match("what is your hours").entry_id == "opening-hours"
    # "si mund te" is in three entries; "grant" in one.
    best = matcher.match("si mund te marr grant").best
    assert best is not None
    assert best.entry_id == "grants"


def test_rank_orders_entries_best_first_within_the_limit(matcher: Matcher) -> None:
    ranked = matcher.rank("numri i telefonit te zyres", limit=2)
    assert ranked[0].entry_id == "phone"
    assert len(ranked) == 2
    assert ranked[0].score >= ranked[1].score


# ---- answer, suggest or fall back --------------------------------------------------


@pytest.mark.parametrize(
    "question",
    ["qwerty", "tell me a joke", "sa kushton pasaporta", "what time is it in new york"],
)
def test_question_of_unknown_words_falls_back(matcher: Matcher, question: str) -> None:
    match = matcher.match(question)
    assert match.status != "answer"
    assert match.entry_id is None
    assert match.score < SETTINGS.answer_threshold


def test_nothing_relevant_gives_no_choices(matcher: Matcher) -> None:
    match = matcher.match("qwerty asdf zxcv")
    assert match.status == "fallback"
    assert match.candidates == ()


@pytest.mark.parametrize("question", ["what is the", "si mund te", "cfare eshte", "how do i"])
def test_stop_words_alone_do_not_answer(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).status != "answer"


def test_two_equally_good_entries_are_offered_as_suggestions() -> None:
    projects = entry("deadline-projects", {"en": ["When is the deadline for project grants?"]})
    institutional = entry(
        "deadline-institutional", {"en": ["When is the deadline for institutional grants?"]}
    )
    matcher = Matcher(knowledge(projects, institutional, ADDRESS), SETTINGS)
    match = matcher.match("when is the grant deadline")
    assert match.status == "suggest"
    assert {c.entry_id for c in match.candidates} == {"deadline-projects", "deadline-institutional"}
    assert match.entry_id is None
    assert match.best is not None


def test_an_entry_is_never_offered_twice() -> None:
    roadmap = entry("roadmap", {"sq": ["Udhërrëfyesi", "udherrefyesi"], "en": ["roadmap"]})
    matcher = Matcher(knowledge(roadmap, ADDRESS), SETTINGS)
    match = matcher.match("udherrefyesi")
    assert match.status == "answer"
    assert match.entry_id == "roadmap"


def test_suggestions_never_exceed_the_configured_number() -> None:
    settings = MatchingSettings(
        answer_threshold=100, suggest_threshold=1, ambiguity_margin=3, max_suggestions=2
    )
    match = Matcher(ASCS, settings).match("what is your number or address")
    assert match.status == "suggest"
    assert 1 <= len(match.candidates) <= 2
    assert all(c.score >= settings.suggest_threshold for c in match.candidates)


def test_thresholds_come_from_the_settings() -> None:
    question = "where is your office"
    assert Matcher(ASCS, SETTINGS).match(question).status == "answer"
    stricter = MatchingSettings(
        answer_threshold=100, suggest_threshold=20, ambiguity_margin=3, max_suggestions=3
    )
    strict_match = Matcher(ASCS, stricter).match(question)
    # An exact variant scores 100, so even this strict bar is met...
    assert strict_match.status == "answer"
    # ...but a paraphrase is only offered.
    assert Matcher(ASCS, stricter).match("the address of your office").status == "suggest"


def test_scores_run_from_0_to_100(matcher: Matcher) -> None:
    for question in ["Where is your office?", "office", "grants for youth", "zzz"]:
        for candidate in matcher.rank(question):
            assert 0 <= candidate.score <= 100
    assert matcher.match("Where is your office?").score == 100


def test_fallback_still_tells_the_best_candidate(matcher: Matcher) -> None:
    match = matcher.match("passport price in new york office")
    assert match.status != "answer"
    assert match.best is not None
    assert match.best.entry_id == "office-address"


# ---- small talk ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind", "lang"),
    [
        ("hi", "greeting", "en"),
        ("Hello!", "greeting", "en"),
        ("Përshëndetje", "greeting", "sq"),
        ("pershendetje!!", "greeting", "sq"),
        ("tung", "greeting", "sq"),
        ("Mirëdita", "greeting", "sq"),
        ("mirdita", "greeting", "sq"),
        ("faleminderit", "thanks", "sq"),
        ("flm shume", "thanks", "sq"),
        ("Faleminderit shumë për ndihmën!", "thanks", "sq"),
        ("thanks", "thanks", "en"),
        ("thank you so much :)", "thanks", "en"),
        ("bye", "goodbye", "en"),
        ("Mirupafshim", "goodbye", "sq"),
    ],
)
def test_greeting_is_small_talk_not_a_fallback(
    matcher: Matcher, message: str, kind: str, lang: str
) -> None:
    match = matcher.match(message)
    assert match.smalltalk == kind
    assert match.status == "answer"
    assert match.candidates == ()
    assert match.best is None
    assert match.lang == lang


def test_misspelt_greeting_is_still_small_talk(matcher: Matcher) -> None:
    assert matcher.match("pershendtje").smalltalk == "greeting"
    assert matcher.match("falemnderit").smalltalk == "thanks"


@pytest.mark.parametrize(
    "message",
    [
        "Mirëdita, desha me pyt: ku ndodhet zyra juaj?",
        "pershendetje kam nje pyetje ku ndodhet zyra juaj",
        "doja te pyesja ku ndodhet zyra juaj",
    ],
)
def test_words_announcing_a_question_do_not_lower_its_score(matcher: Matcher, message: str) -> None:
    plain = matcher.match("ku ndodhet zyra juaj")
    match = matcher.match(message)
    assert (match.status, match.entry_id) == ("answer", "office-address")
    assert match.score == plain.score


def test_a_message_that_only_announces_a_question_is_kept_as_it_is() -> None:
    from bot.core.smalltalk import read_small_talk

    assert read_small_talk(["kam", "nje", "pyetje"]).question == ["kam", "nje", "pyetje"]
    assert read_small_talk(["a", "mund", "te", "pyes", "a", "jeni"]).question == ["a", "jeni"]


def test_greeting_followed_by_a_question_is_matched_as_the_question(matcher: Matcher) -> None:
    match = matcher.match("Përshëndetje, ku ndodhet zyra juaj?")
    assert match.smalltalk is None
    assert match.entry_id == "office-address"
    match = matcher.match("hi! what is your phone number? thanks")
    assert match.smalltalk is None
    assert match.entry_id == "phone"


def test_a_question_about_greetings_is_not_small_talk(matcher: Matcher) -> None:
    assert matcher.match("how do i write a greeting").smalltalk is None


# ---- language ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question", ["si mund te regjistrohem", "ku eshte zyra", "a keni grante per ne", "ku?"]
)
def test_reply_language_follows_albanian_words(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).lang == "sq"


@pytest.mark.parametrize("question", ["how do i register", "where is the office", "where?"])
def test_reply_language_follows_english_words(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).lang == "en"


# "grant" is written by the variants of both languages, mostly English ("një grant" in
# Albanian); "grante", "grantet" and "granteve" only by the Albanian ones.
SHARED_WORD = KnowledgeBase(
    entries=(
        entry(
            "grant-types",
            {
                "sq": [
                    "Çfarë grante jepni?",
                    "llojet e granteve",
                    "grantet",
                    "një grant",
                    "grant për projekte",
                ],
                "en": [
                    "What grant types are there?",
                    "grant",
                    "project grant",
                    "grant kinds",
                    "which grant",
                    "grant list",
                ],
            },
        ),
        PHONE,
    ),
    categories=(),
    languages=("sq", "en"),
    # As in faq/synonyms.yaml: "number" is read as "numri", a word of both languages.
    synonyms=Glossary((SynonymGroup(("numri", "number")),), (), ()),
)


@pytest.mark.parametrize("question", ["grante", "grantet", "granteve", "grantesh"])
def test_an_albanian_form_of_a_word_both_languages_share_tells_albanian(question: str) -> None:
    assert Matcher(SHARED_WORD, SETTINGS).match(question).lang == "sq"


def test_a_word_both_languages_write_leaves_the_language_to_the_users_choice() -> None:
    match = Matcher(SHARED_WORD, SETTINGS).match("grant")
    assert (match.status, match.lang) == ("answer", None)


def test_a_typo_of_an_english_word_tells_english_though_a_synonym_reads_it() -> None:
    assert Matcher(SHARED_WORD, SETTINGS).match("numbr").lang == "en"
    assert Matcher(SHARED_WORD, SETTINGS).match("phone numbr").lang == "en"


def test_albanian_letters_tell_the_language_of_an_unknown_word(matcher: Matcher) -> None:
    assert matcher.match("çmimi").lang == "sq"


def test_a_word_of_the_albanian_variants_tells_the_language(matcher: Matcher) -> None:
    assert matcher.match("orari").lang == "sq"
    assert matcher.match("opening hours").lang == "en"


def test_language_is_unknown_without_a_clue(matcher: Matcher) -> None:
    assert matcher.match("12345").lang is None
    assert matcher.match("qwerty").lang is None


# ---- shapes of knowledge base and input ----------------------------------------------


def test_single_language_knowledge_base_answers_and_tells_its_language() -> None:
    only_albanian = knowledge(
        entry("office-address", {"sq": ["Ku ndodhet zyra?", "adresa e zyrës"]}),
        entry("phone", {"sq": ["Cili është numri i telefonit?"]}),
    )
    match = Matcher(only_albanian, SETTINGS).match("adresa e zyres")
    assert match.entry_id == "office-address"
    assert match.lang == "sq"


def test_knowledge_base_loaded_from_yaml_is_matched(tmp_path: Path) -> None:
    (tmp_path / "contact.yaml").write_text(
        "entries:\n"
        "  - id: office-address\n"
        "    questions:\n"
        '      sq: ["Ku ndodhet zyra?", "adresa e zyrës"]\n'
        '      en: ["Where is the office?"]\n'
        "    answer:\n"
        "      sq: Rruga Frosina Plaku\n"
        "      en: Frosina Plaku street\n",
        encoding="utf-8",
    )
    matcher = Matcher(load_knowledge_base(tmp_path), SETTINGS)
    assert matcher.match("ku eshte adresa e zyres").entry_id == "office-address"


def test_empty_knowledge_base_falls_back() -> None:
    match = Matcher(knowledge(), SETTINGS).match("where is the office")
    assert match.status == "fallback"
    assert match.best is None


@pytest.mark.parametrize(
    "message", ["", "   ", "?!?!", "🙂🙂🙂", "...", "a" * 4000, "ku ndodhet zyra " * 300]
)
def test_odd_input_never_raises(matcher: Matcher, message: str) -> None:
    match = matcher.match(message)
    assert match.status in ("answer", "suggest", "fallback")
    assert matcher.rank(message) is not None


def test_a_long_message_is_matched_on_its_start(matcher: Matcher) -> None:
    assert matcher.match("ku ndodhet zyra juaj " + "bla " * 1000).entry_id == "office-address"


def test_questions_do_not_normalise_the_variants_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher = Matcher(ASCS, SETTINGS)

    def refuse(text: str) -> str:
        raise AssertionError(f"variant normalised again: {text!r}")

    monkeypatch.setattr(bot.core.search_index, "normalise", refuse)
    assert matcher.match("ku ndodhet zyra").entry_id == "office-address"


# Albanian variants full of "a", "me" and "i" (words English writes too), and "tel" for
# the phone: an English question of such words must still read as English.
ALBANIAN_HEAVY = knowledge(
    entry(
        "phone",
        {
            "sq": ["nr tel", "a keni tel", "me jepni numrin e tel", "a mund te me jepni tel"],
            "en": ["phone number"],
        },
    ),
    entry(
        "grants",
        {
            "sq": ["a jepni grante", "a me jepni nje grant", "si te aplikoj per grant"],
            "en": ["do you give grants"],
        },
    ),
)


def test_a_function_word_is_not_read_as_a_typo_of_a_subject_word() -> None:
    # "tell" is one letter from "tel" (phone), but it is a function word, not a typo.
    match = Matcher(ALBANIAN_HEAVY, SETTINGS).match("tell me a joke")
    assert match.status == "fallback"
    assert match.lang == "en"


def test_words_of_both_languages_do_not_tell_the_language() -> None:
    # "me" and "a" fill the Albanian variants, yet here only "give" tells the language.
    assert Matcher(ALBANIAN_HEAVY, SETTINGS).match("give me a hand").lang == "en"
    assert Matcher(ALBANIAN_HEAVY, SETTINGS).match("me jep nje dore").lang == "sq"


# ---- Albanian as people type it, the glossary, honest misses (issue 9) -------------


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("ku osht zyra juej", "office-address"),  # Kosovo and Gheg forms
        ("qka osht numri i telefonit", "phone"),
        ("si me aplikue per financim", "grants"),  # the Gheg infinitive
        ("cili osht orari", "opening-hours"),
    ],
)
def test_gheg_and_kosovo_questions_find_their_entry(
    matcher: Matcher, question: str, entry_id: str
) -> None:
    match = matcher.match(question)
    assert (match.status, match.entry_id) == ("answer", entry_id)
    assert match.lang == "sq"


def test_a_question_of_function_words_with_one_standout_entry_is_offered_not_dropped() -> None:
    address = entry("office-address", {"sq": ["Ku ndodhet zyra juaj?", "ku jeni"]})
    matcher = Matcher(knowledge(address, PHONE, GRANTS, OPENING_HOURS), SETTINGS)
    match = matcher.match("ku jeni ju")
    assert match.status == "suggest"
    assert match.candidates[0].entry_id == "office-address"


def glossary_knowledge(
    *groups: Sequence[str],
    not_in_base: Sequence[str] = (),
    other_institutions: Sequence[str] = (),
) -> KnowledgeBase:
    return KnowledgeBase(
        entries=ASCS.entries,
        categories=(),
        languages=ASCS.languages,
        synonyms=Glossary(
            tuple(SynonymGroup(tuple(g)) for g in groups),
            tuple(not_in_base),
            tuple(other_institutions),
        ),
    )


def test_a_synonym_finds_the_entry_written_with_another_word_of_its_group() -> None:
    plain = Matcher(ASCS, SETTINGS)
    assert plain.match("ku e keni selinë").entry_id != "office-address"
    with_glossary = Matcher(glossary_knowledge(["zyra", "selia", "selinë", "office"]), SETTINGS)
    match = with_glossary.match("ku e keni selinë")
    assert (match.status, match.entry_id) == ("answer", "office-address")


def test_a_synonym_group_works_across_languages_and_for_phrases() -> None:
    matcher = Matcher(
        glossary_knowledge(["ojf", "ngo", "organizatë jofitimprurëse", "shoqatat"]), SETTINGS
    )
    assert matcher.match("regjistrimi i organizatës jofitimprurëse").entry_id == (
        "ngo-registration"
    )
    assert matcher.match("A jepni grante për NGO?").entry_id == "grants"


def test_an_unlisted_form_or_typo_of_a_synonym_is_read_as_its_group() -> None:
    matcher = Matcher(glossary_knowledge(["financim", "fonde", "funding"]), SETTINGS)
    # "fondeve" is not listed, "financimm" is a typo; neither is in the index any more.
    assert matcher.match("a ka fondeve per ojf").entry_id == "grants"
    assert matcher.match("financimm per ojf").entry_id == "grants"


def test_synonyms_and_abbreviations_do_not_tell_the_language() -> None:
    matcher = Matcher(glossary_knowledge(["email", "imell", "e-mail"]), SETTINGS)
    assert matcher.match("tel").lang is None
    assert matcher.match("imell").lang is None
    assert matcher.match("whats ur tel nr").lang == "en"


NOT_IN_BASE = ("drejtor", "director", "gjykatë", "court", "degë", "branch", "shkodër", "durrës")


@pytest.mark.parametrize(
    "question",
    [
        # About the agency, but about things this knowledge base does not hold: its
        # director, an office in another city, registration of an NGO at court.
        "kush eshte drejtori i agjencise",
        "who is the director of the agency",
        "a keni zyre ne shkoder",
        "do you have an office in durres",
        "a keni ndonje dege",
        "si regjistrohet nje ojf ne gjykate",
        "how do I register an NGO at court",
    ],
)
def test_agency_questions_the_base_does_not_hold_get_the_honest_fallback(question: str) -> None:
    matcher = Matcher(glossary_knowledge(not_in_base=NOT_IN_BASE), SETTINGS)
    match = matcher.match(question)
    assert match.status == "fallback", match
    assert match.unknown  # the bot knows what it does not know


def test_without_the_list_the_nearest_entry_would_answer_with_confidence() -> None:
    # Why `not_in_base` exists: the question's other words fit the registration entry.
    question = "si regjistrohet nje ojf ne gjykate"
    assert Matcher(ASCS, SETTINGS).match(question).status == "answer"


def test_a_subject_stops_being_not_in_base_once_an_entry_uses_it() -> None:
    director = entry("director", {"sq": ["Kush është drejtori?"], "en": ["Who is the director?"]})
    base = glossary_knowledge(not_in_base=NOT_IN_BASE)
    matcher = Matcher(replace(base, entries=(*base.entries, director)), SETTINGS)
    match = matcher.match("kush eshte drejtori i agjencise")
    assert (match.status, match.entry_id) == ("answer", "director")


def test_ordinary_unknown_words_do_not_make_a_question_a_miss() -> None:
    matcher = Matcher(glossary_knowledge(not_in_base=NOT_IN_BASE), SETTINGS)
    match = matcher.match("adresa e zyres ju lutem shpejt")
    assert (match.status, match.entry_id) == ("answer", "office-address")


def test_chat_thanks_is_small_talk(matcher: Matcher) -> None:
    assert matcher.match("flm shumeee").smalltalk == "thanks"


def test_a_greeting_before_a_gheg_question_still_finds_it(matcher: Matcher) -> None:
    match = matcher.match("pershendetje, ku osht zyra juej")
    assert (match.status, match.entry_id, match.lang) == ("answer", "office-address", "sq")


OTHER_INSTITUTIONS = ("gjykatë", "court", "tatime", "tax", "ministria", "ministry")
COURT_REGISTRATION = entry(
    "ngo-legal-registration",
    {
        "sq": ["Si regjistrohet një OJF në gjykatë?"],
        "en": ["How do I register an NGO at court?"],
    },
)


@pytest.mark.parametrize(
    "question",
    [
        "numri i telefonit te gjykates",
        "what is the phone number of the tax office",
        "adresa e gjykatës",
        "adresa e ministrise",
    ],
)
def test_another_institutions_contacts_are_not_answered_with_the_agencys(question: str) -> None:
    base = glossary_knowledge(other_institutions=OTHER_INSTITUTIONS)
    matcher = Matcher(replace(base, entries=(*base.entries, COURT_REGISTRATION)), SETTINGS)
    assert Matcher(ASCS, SETTINGS).match(question).status != "fallback"  # without the list
    match = matcher.match(question)
    assert match.status == "fallback", match


def test_an_entry_that_names_the_institution_still_answers_about_it() -> None:
    base = glossary_knowledge(other_institutions=OTHER_INSTITUTIONS)
    matcher = Matcher(replace(base, entries=(*base.entries, COURT_REGISTRATION)), SETTINGS)
    match = matcher.match("si regjistrohet ojf ne gjykate")
    assert (match.status, match.entry_id) == ("answer", "ngo-legal-registration")
    assert matcher.match("numri i telefonit").entry_id == "phone"


# ----- evidence beyond function words; entries that give the same answer (issue 25) -----

REAL_FAQ = Path(__file__).resolve().parents[2] / "faq"


@pytest.fixture(scope="module")
def real_matcher() -> Matcher:
    settings = load_settings(REAL_FAQ.parent / "config.yaml", environ={})
    return build_knowledge(settings).matcher


def test_words_like_how_do_i_shared_with_every_entry_offer_no_choice() -> None:
    cooking = Matcher(ASCS, SETTINGS).match("how do i cook pasta")
    assert (cooking.status, cooking.candidates) == ("fallback", ())


@pytest.mark.parametrize(
    "question",
    [
        "how do i register my car",
        "how do i apply for a student loan",
        "can you help me write my cv",
    ],
)
def test_one_common_subject_word_among_unknown_ones_is_not_an_answer(
    real_matcher: Matcher, question: str
) -> None:
    assert real_matcher.match(question).status != "answer"


def test_one_rare_subject_word_among_unknown_ones_still_answers(real_matcher: Matcher) -> None:
    # "floor" is a word of the address entry only: the unknown "go" does not stop it.
    match = real_matcher.match("which floor do i go to")
    assert (match.status, match.entry_id) == ("answer", "office-address")


def test_every_choice_shares_a_subject_word_with_the_question(real_matcher: Matcher) -> None:
    match = real_matcher.match("si ta regjistroj femijen ne shkolle")
    assert match.status == "fallback"
    assert match.best is not None  # the nearest entry is still reported, for the logs


def entry_covering(entry_id: str, covers: Sequence[str], questions: Sequence[str]) -> Entry:
    return replace(entry(entry_id, {"en": questions}), covers=tuple(covers))


CONTACTS = entry_covering(
    "contact-all", ["office-address"], ["how to reach the office", "office contacts"]
)
ADDRESS_ONLY = entry("office-address", {"en": ["office address", "how to reach the office"]})


def test_two_close_entries_that_give_the_same_answer_answer_the_better_one() -> None:
    close = [ADDRESS_ONLY, entry("contact-all", {"en": ["how to reach the office", "contacts"]})]
    undeclared = Matcher(knowledge(*close, PHONE, GRANTS), SETTINGS).match(
        "how to reach the office"
    )
    assert undeclared.status == "suggest"
    declared = Matcher(knowledge(ADDRESS_ONLY, CONTACTS, PHONE, GRANTS), SETTINGS)
    match = declared.match("how to reach the office")
    assert match.status == "answer"
    assert match.entry_id in ("office-address", "contact-all")


def test_a_choice_is_never_offered_twice_for_the_same_answer() -> None:
    matcher = Matcher(knowledge(ADDRESS_ONLY, CONTACTS, PHONE, GRANTS), SETTINGS)
    for question in ("reach office", "the office please"):
        offered = [c.entry_id for c in matcher.match(question).candidates]
        assert not {"office-address", "contact-all"} <= set(offered), (question, offered)
