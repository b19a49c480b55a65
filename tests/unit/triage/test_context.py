"""The ConText matcher: four flags, each trigger class forward and backward, scope rules."""

from __future__ import annotations

import pytest

from outreach.triage.context import ContextFlags, assess_context, context_of, find_term


def flags(text: str, term: str, language: str = "auto") -> ContextFlags:
    span = find_term(text, term)
    assert span is not None, f"{term!r} not in {text!r}"
    return assess_context(text, span, language)


def kind(text: str, term: str, language: str = "auto") -> str:
    """A one-word summary: negated, historical, hypothetical, other or plain."""
    f = flags(text, term, language)
    names = [
        n
        for n, on in (
            ("negated", f.negated),
            ("historical", f.historical),
            ("hypothetical", f.hypothetical),
            ("other", f.experiencer == "other"),
        )
        if on
    ]
    return "+".join(names) or "plain"


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        # negation, forward and backward
        ("no chest pain", "chest pain", "negated"),
        ("I deny any chest pain", "chest pain", "negated"),
        ("I dont have chest pain", "chest pain", "negated"),
        ("i do not have a fever", "fever", "negated"),
        ("without any fever", "fever", "negated"),
        ("nope no chest pain", "chest pain", "negated"),
        ("Chest pain was ruled out.", "Chest pain", "negated"),
        ("pneumonia is unlikely", "pneumonia", "negated"),
        ("influenza test was negative", "influenza", "negated"),
        # resolution (historical, not negated), forward and backward
        ("the swelling went away", "swelling", "historical"),
        ("the chest pain is gone", "chest pain", "historical"),
        ("chest pain not anymore", "chest pain", "historical"),
        ("my dizziness is better now", "dizziness", "historical"),
        ("no more chest pain", "chest pain", "historical"),
        ("I don't have chest pain anymore", "chest pain", "historical"),
        ("the nitro fixed it, the chest pain", "chest pain", "plain"),
        # historical, forward and backward
        ("had chest pain last week", "chest pain", "historical"),
        ("history of heart attack", "heart attack", "historical"),
        ("I used to get migraines", "migraines", "historical"),
        ("chest pain 3 weeks ago", "chest pain", "historical"),
        ("chest pain yesterday", "chest pain", "historical"),
        # hypothetical, forward
        ("what if I get chest pain", "chest pain", "hypothetical"),
        ("in case I get short of breath", "short of breath", "hypothetical"),
        ("should I worry about a fever", "fever", "hypothetical"),
        ("what should I do if I feel dizzy", "dizzy", "hypothetical"),
        ("return if chest pain develops", "chest pain", "hypothetical"),
        ("rule out pneumonia", "pneumonia", "hypothetical"),
        # someone else, forward and backward
        ("my husband has chest pain", "chest pain", "other"),
        ("my mom cant breathe", "cant breathe", "other"),
        ("Mother has diabetes.", "diabetes", "other"),
        ("family history of stroke", "stroke", "historical+other"),
        ("chest pain, asking for my dad", "chest pain", "other"),
        ("I'm scared, she can't breathe", "can't breathe", "other"),
    ],
)
def test_each_trigger_class(text: str, term: str, expected: str) -> None:
    assert kind(text, term) == expected


def test_four_flags_are_distinct_facts() -> None:
    assert flags("no chest pain", "chest pain") == ContextFlags(negated=True)
    assert flags("the chest pain went away", "chest pain") == ContextFlags(historical=True)
    assert flags("what if I get chest pain", "chest pain") == ContextFlags(hypothetical=True)
    assert flags("my wife has chest pain", "chest pain") == ContextFlags(experiencer="other")


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("no fever but chest pain", "chest pain"),
        ("no fever however chest pain", "chest pain"),
        ("denies fever, though chest pain is bad", "chest pain"),
        ("no complaints except chest pain", "chest pain"),
        ("sin fiebre pero dolor de pecho", "dolor de pecho"),
        ("no fever. chest pain since noon", "chest pain"),
        ("no fever and chest pain", "chest pain"),
        ("no fever and I have chest pain", "chest pain"),
        ("no fever now chest pain", "chest pain"),
        ("no chest pain yesterday, today chest pain bad", "chest pain bad"),
        ("ni fiebre ayer, hoy dolor de pecho", "dolor de pecho"),
    ],
)
def test_termination_ends_the_scope(text: str, term: str) -> None:
    assert kind(text, term) == "plain"


def test_clinical_denial_covers_a_list() -> None:
    assert kind("denies fever and chest pain", "chest pain") == "negated"
    text = "She denies fever, chills, night sweats, weight loss, nausea, or abdominal pain."
    assert kind(text, "abdominal pain") == "negated"
    assert kind("No fever, chills and cough.", "cough") == "negated"


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("no increase in swelling", "swelling"),
        ("not only pain but also swelling", "swelling"),
        ("breathing without difficulty", "difficulty"),
        ("no doubt it is pneumonia", "pneumonia"),
        ("not sure if its chest pain or heartburn", "chest pain"),
        ("I don't know why my chest hurts", "chest hurts"),
        ("the chest pain won't go away", "chest pain"),
        ("the chest pain is not gone", "chest pain"),
        ("no one is home and i cant breathe", "cant breathe"),
        ("no se me quita el dolor de pecho", "dolor de pecho"),
    ],
)
def test_pseudo_triggers_do_nothing(text: str, term: str) -> None:
    assert kind(text, term) == "plain"


def test_scope_has_a_window() -> None:
    near = "no chest pain"
    far = "no problem with the car or the house this week at all chest pain"
    assert kind(near, "chest pain") == "negated"
    assert kind(far, "chest pain") == "plain"
    assert kind("should I worry about a fever", "fever") == "hypothetical"
    assert kind("should I go to the urgent care clinic or the ER for fever", "fever") == "plain"


def test_several_sentences_keep_their_own_context() -> None:
    text = "No fever today. My husband is sick. I have chest pain. The swelling went away."
    assert kind(text, "fever") == "negated"
    assert kind(text, "chest pain") == "plain"
    assert kind(text, "swelling") == "historical"


def test_no_punctuation_texting() -> None:
    text = "no fever today my chest hurts and the swelling went away"
    assert kind(text, "fever") == "negated"
    assert kind(text, "chest hurts") == "plain"
    assert kind("should i go to the er my chest hurts", "chest hurts") == "plain"
    assert kind("if i walk up stairs i get chest pain", "chest pain") == "plain"


def test_missing_apostrophes_and_case() -> None:
    assert kind("I DONT HAVE CHEST PAIN", "chest pain") == "negated"
    assert kind("i didnt have a fever", "fever") == "negated"
    assert kind("chest pain isnt gone", "chest pain") == "plain"


def test_a_bare_no_answers_a_question() -> None:
    assert kind("no, I have chest pain", "chest pain") == "plain"
    assert kind("nope my chest hurts", "chest hurts") == "plain"
    assert kind("no chest pain", "chest pain") == "negated"


def test_recurrence_and_novelty_mean_now() -> None:
    assert kind("the chest pain went away but came back", "chest pain") == "plain"
    assert kind("had chest pain last week and its back again", "chest pain") == "plain"
    assert kind("I never had chest pain like this before", "chest pain") == "plain"
    assert kind("I never had chest pain", "chest pain") == "negated"
    assert kind("still have chest pain from yesterday", "chest pain") == "plain"


def test_red_flag_words_are_not_negated_by_themselves() -> None:
    assert kind("mi esposo no puede respirar", "no puede respirar") == "other"
    assert kind("mi esposo no puede respirar", "respirar") == "other"
    assert kind("no puedo respirar", "no puedo respirar") == "plain"
    assert kind("no puedo respirar y me duele el pecho", "me duele el pecho") == "plain"
    assert kind("I can't breathe", "breathe") == "plain"


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("no tengo dolor de pecho", "dolor de pecho", "negated"),
        ("sin fiebre", "fiebre", "negated"),
        ("niega dolor de pecho", "dolor de pecho", "negated"),
        ("nunca he tenido convulsiones", "convulsiones", "negated"),
        ("el dolor de pecho fue descartado", "dolor de pecho", "negated"),
        ("ya no me duele el pecho", "duele el pecho", "historical"),
        ("se me quitó el dolor de cabeza", "dolor de cabeza", "historical"),
        ("el dolor de pecho ya no", "dolor de pecho", "historical"),
        ("tuve fiebre la semana pasada", "fiebre", "historical"),
        ("¿qué pasa si me da dolor de pecho?", "dolor de pecho", "hypothetical"),
        ("en caso de que me falte el aire", "falte el aire", "hypothetical"),
        ("si me da dolor de pecho, ¿qué hago?", "dolor de pecho", "hypothetical"),
        ("si me da dolor de pecho ¿voy?", "dolor de pecho", "hypothetical"),
        ("si me sube el azúcar?", "azúcar", "hypothetical"),
        ("mi mamá tiene dolor de pecho", "dolor de pecho", "other"),
        ("a mi papá le duele el pecho", "duele el pecho", "other"),
        ("no tengo fiebre pero me duele el pecho", "duele el pecho", "plain"),
        ("si me duele el pecho", "duele el pecho", "plain"),  # "sí" without its accent
        ("sí, me duele el pecho", "duele el pecho", "plain"),
    ],
)
def test_spanish(text: str, term: str, expected: str) -> None:
    assert kind(text, term) == expected


@pytest.mark.parametrize(
    ("text", "term", "negated"),
    [
        ("Patient denies chest pain.", "chest pain", True),
        ("No evidence of pneumonia.", "pneumonia", True),
        ("History of MI.", "MI", False),
        ("Chest pain was ruled out.", "chest pain", True),
        ("Mother has diabetes.", "diabetes", False),
        ("No pericardial effusion is seen.", "pericardial effusion", True),
        ("Denies any shortness of breath or diaphoresis.", "diaphoresis", True),
        ("ALLERGIES:  NO KNOWN DRUG ALLERGIES.", "drug allergies", True),
        ("General - alert and oriented, in no acute distress.", "acute distress", True),
        ("There was no evidence of ulceration, mass or diverticula.", "diverticula", True),
        ("He was admitted to rule out MI.", "MI", False),
        ("The patient reports fever but denies cough.", "fever", False),
        ("The patient reports fever but denies cough.", "cough", True),
        ("There is trace mitral regurgitation.", "mitral regurgitation", False),
        ("Negative for malignancy.", "malignancy", True),
        ("No change in the rash.", "rash", False),
        ("She will return if she experiences any worsening pain.", "worsening pain", False),
    ],
)
def test_negex_style_clinical_sentences(text: str, term: str, negated: bool) -> None:
    assert flags(text, term).negated is negated


def test_clinical_sentences_other_flags() -> None:
    assert kind("History of MI.", "MI") == "historical"
    assert kind("Mother has diabetes.", "diabetes") == "other"
    assert kind("He has no known allergies.", "allergies") == "negated"
    assert kind("She denies headache.", "headache") == "negated"


def test_find_term_is_tolerant() -> None:
    assert find_term("Patient denies CHEST   PAIN.", "chest pain") == (15, 27)
    assert find_term("a\nchest\tpain", "chest pain") == (2, 12)
    assert find_term("I can't breathe", "cant breathe") == (2, 15)
    assert find_term("falta de respiración", "respiracion") == (9, 20)
    assert find_term("painful pain", "pain") == (8, 12)
    assert find_term("no such words", "chest pain") is None
    assert find_term("anything", "   ") is None


def test_context_of_gives_the_cli_object() -> None:
    assert context_of("Patient denies chest pain.", "chest pain") == {
        "term": "chest pain",
        "found": True,
        "negated": True,
        "historical": False,
        "hypothetical": False,
        "experiencer": "patient",
    }
    missing = context_of("nothing here", "fever")
    assert missing["found"] is False and missing["negated"] is False


def test_first_occurrence_decides() -> None:
    text = "no fever this week but fever today"
    assert flags(text, "fever").negated


def test_explicit_language_is_used() -> None:
    assert kind("sin fiebre", "fiebre", "es") == "negated"
    assert kind("no chest pain", "chest pain", "en") == "negated"
