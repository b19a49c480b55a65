"""Red-flag detection: categories, context policy, misspellings, slang, numbers and spans."""

from __future__ import annotations

import pytest

from outreach.findings import Finding, Severity
from outreach.triage.redflags import screen, severity_of


def worst(text: str, language: str = "auto") -> Severity:
    return severity_of(screen(text, language))


def codes(text: str) -> set[str]:
    return {f.extra["code"] for f in screen(text) if not f.negated}


def only(text: str, code: str) -> Finding:
    found = [f for f in screen(text) if f.extra["code"] == code]
    assert len(found) == 1, (text, [f.rule_id for f in screen(text)])
    return found[0]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("crushing chest pain", "heart.chest_pain"),
        ("pain going down my left arm", "heart.radiating_pain"),
        ("I think it's a heart attack", "heart.heart_attack"),
        ("cold sweats all of a sudden", "heart.cold_sweat"),
        ("I can not breathe", "breathing.cant_breathe"),
        ("my lips look blue", "breathing.blue_lips"),
        ("he is choking", "breathing.choking"),
        ("her face is drooping", "stroke.face_droop"),
        ("right side is numb", "stroke.one_side_weak"),
        ("slurred speech", "stroke.speech"),
        ("lost vision in one eye", "stroke.vision_loss"),
        ("worst headache ever", "stroke.worst_headache"),
        ("I want to end it all", "suicide.intent"),
        ("took all my pills to end my life", "suicide.in_progress"),
        ("passed out", "collapse.fainted"),
        ("having a seizure", "collapse.seizure"),
        ("fell and can't get up", "fall.cant_get_up"),
        ("banged my head", "fall.head_injury"),
        ("vomiting blood", "bleeding.vomiting_blood"),
        ("coughed up blood", "bleeding.coughing_blood"),
        ("black stool", "bleeding.stool"),
        ("took too many pills", "overdose.too_many_pills"),
        ("my tongue is swelling", "allergy.throat_swelling"),
        ("no puedo respirar", "breathing.cant_breathe"),
        ("dolor de pecho", "heart.chest_pain"),
        ("me desmayé", "collapse.fainted"),
        ("quiero morir", "suicide.intent"),
        ("tomé demasiadas pastillas", "overdose.too_many_pills"),
        ("azúcar muy baja", "sugar.very_low"),
        ("cara caída", "stroke.face_droop"),
        ("me caí y no me puedo levantar", "fall.cant_get_up"),
        ("vomitando sangre", "bleeding.vomiting_blood"),
    ],
)
def test_every_emergency_category(text: str, code: str) -> None:
    assert code in codes(text)
    assert worst(text) == Severity.EMERGENCY


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ankles swollen", "heart_failure.swelling"),
        ("need extra pillows to breathe at night", "heart_failure.orthopnea"),
        ("inhaler not working", "copd.rescue_inhaler"),
        ("fever and cough", "infection.fever"),
        ("wound is oozing pus", "infection.wound"),
        ("can't keep anything down", "fluids.cant_keep_down"),
        ("sugar 320", "sugar.high"),
        ("blood in my pee", "bleeding.minor"),
        ("lightheaded", "dizziness.dizzy"),
        ("I feel worthless", "mood.hopeless"),
        ("ran out of insulin", "medicines.critical_stopped"),
        ("unbearable pain in my hip", "pain.severe"),
        ("tobillos hinchados", "heart_failure.swelling"),
        ("uso el inhalador mucho más", "copd.rescue_inhaler"),
        ("herida infectada", "infection.wound"),
        ("vómitos sin parar", "fluids.cant_keep_down"),
        ("orina con sangre", "bleeding.minor"),
        ("mareos", "dizziness.dizzy"),
        ("deprimido", "mood.depressed"),
        ("se me acabaron las pastillas", "medicines.ran_out"),
        ("dolor muy fuerte", "pain.severe"),
    ],
)
def test_every_urgent_category(text: str, code: str) -> None:
    assert code in codes(text)
    assert worst(text) == Severity.URGENT


def test_rule_ids_are_stable_and_findings_complete() -> None:
    finding = only("I have chest pain", "heart.chest_pain")
    assert finding.rule_id == "redflag.heart.chest_pain"
    assert finding.category == "heart"
    assert finding.severity == Severity.EMERGENCY
    assert finding.response == "emergency"
    assert finding.span == (7, 17)
    assert finding.text == "chest pain"
    assert finding.explanation


def test_context_policy_order() -> None:
    denied = only("no chest pain", "heart.chest_pain")
    assert denied.negated and denied.severity == Severity.NONE and denied.response == ""
    asked = only("what if I get chest pain", "heart.chest_pain")
    assert asked.severity == Severity.NONE and asked.response == "guidance"
    past = only("had chest pain last week", "heart.chest_pain")
    assert past.severity == Severity.ROUTINE and past.historical
    other = only("my husband has chest pain", "heart.chest_pain")
    assert other.severity == Severity.URGENT and other.response == "emergency_other"
    past_other = only("my mom had a heart attack years ago", "heart.heart_attack")
    assert past_other.severity == Severity.ROUTINE


def test_denied_findings_are_reported_but_do_not_count() -> None:
    findings = screen("no chest pain no shortness of breath")
    assert findings and all(f.negated for f in findings)
    assert severity_of(findings) == Severity.NONE


def test_responses_and_advice() -> None:
    stroke = only("my face is drooping", "stroke.face_droop")
    assert stroke.response == "emergency" and stroke.extra["advice"] == "note_time"
    overdose = only("took too many pills", "overdose.too_many_pills")
    assert overdose.extra["advice"] == "poison_control"
    crisis = only("I want to kill myself", "suicide.intent")
    assert crisis.response == "crisis" and crisis.severity == Severity.EMERGENCY
    assert crisis.sensitive
    attempt = only("took pills on purpose", "suicide.in_progress")
    assert attempt.severity == Severity.EMERGENCY and attempt.response == "crisis"
    passive = only("better off dead", "suicide.passive")
    assert passive.severity == Severity.URGENT and passive.response == "crisis"


def test_a_conditional_suicide_statement_still_counts() -> None:
    assert worst("if this keeps up I will kill myself") == Severity.EMERGENCY


@pytest.mark.parametrize(
    "text",
    ["I feel hopeless", "so depressed", "drinking too much again", "me siento deprimida"],
)
def test_mental_health_and_substance_use_are_sensitive(text: str) -> None:
    assert all(f.sensitive for f in screen(text))
    assert screen(text)


@pytest.mark.parametrize(
    "text",
    [
        "chesst pain",
        "chest pian",
        "cant brethe",
        "i cant breath",
        "i can't breathe",
        "i cannot breathe",
        "i can not breathe",
        "siezure",
        "CHEST PAIN!!!",
        "chest pain 😭😭",
        "no puedo respirar",
        "me desmaye",
        "no puedo resprar",
    ],
)
def test_misspellings_case_and_emoji(text: str) -> None:
    assert worst(text) == Severity.EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "I painted the kitchen",
        "my feet are smelling",
        "we are on strike",
        "sleeping on the couch tonight",
        "I was blending a smoothie",
    ],
)
def test_real_words_are_not_corrected_into_red_flags(text: str) -> None:
    assert worst(text) <= Severity.ROUTINE


@pytest.mark.parametrize(
    "text",
    [
        "the grandkids are killing me today haha",
        "this heat is killing me",
        "I'm dying to see you",
        "dead tired",
        "my phone died",
        "you almost gave me a heart attack lol",
        "can't stand this weather",
        "cant talk now at work",
        "el calor me está matando",
        "me muero de hambre",
        "passed out on the couch watching tv",
        "choked up at the wedding",
        "stroke of luck",
    ],
)
def test_slang_does_not_alarm(text: str) -> None:
    assert worst(text) <= Severity.ROUTINE


def test_stopping_pills_is_routine_not_an_emergency() -> None:
    assert worst("I stopped my pills") == Severity.ROUTINE
    assert worst("I stopped my insulin") == Severity.URGENT
    assert worst("bleeding that won't stop") == Severity.EMERGENCY


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("sugar 45 and shaky", Severity.EMERGENCY),
        ("sugar 45", Severity.URGENT),
        ("sugar 65", Severity.ROUTINE),
        ("sugar 65 and confused", Severity.EMERGENCY),
        ("sugar 120", Severity.NONE),
        ("sugar 350", Severity.URGENT),
        ("sugar 500 and vomiting", Severity.EMERGENCY),
        ("sugar 650", Severity.EMERGENCY),
        ("glucose 2.5 mmol", Severity.URGENT),
        ("sugar went from 45 to 350", Severity.URGENT),
        ("fever 101.5 and cough", Severity.URGENT),
        ("101.5 with a cough", Severity.URGENT),
        ("temp 100.9", Severity.ROUTINE),
        ("temp 99.1", Severity.NONE),
        ("fiebre de 39 y tos", Severity.URGENT),
        ("temp 103.5", Severity.URGENT),
        ("pain 8/10", Severity.URGENT),
        ("pain is a 3", Severity.ROUTINE),
        ("gained 4 lbs overnight", Severity.URGENT),
        ("gained 2 lbs", Severity.ROUTINE),
        ("gained 4 lbs this week", Severity.ROUTINE),
        ("gained 6 pounds this week", Severity.URGENT),
        ("subí 2 kilos", Severity.URGENT),
        ("bp 190/100", Severity.URGENT),
        ("blood pressure 130/80", Severity.NONE),
    ],
)
def test_numbers(text: str, severity: Severity) -> None:
    assert worst(text) == severity


def test_reading_value_is_kept() -> None:
    finding = only("sugar 45", "sugar.low")
    assert finding.value == 45.0


def test_spans_point_at_the_words() -> None:
    text = "ok so   my CHEST hurts and i cant breathe 😢"
    for finding in screen(text):
        assert finding.span is not None
        start, end = finding.span
        assert text[start:end] == finding.text
    assert {f.text for f in screen(text)} == {"CHEST hurts", "cant breathe"}


def test_more_specific_match_wins() -> None:
    assert codes("short of breath when I walk") == {"heart_failure.exertional_breathless"}
    assert "pain.mild" not in codes("chest pain")
    assert {"heart.chest_pain", "pain.severe"} <= codes("severe chest pain")


def test_both_languages_are_searched() -> None:
    assert worst("tengo chest pain", "es") == Severity.EMERGENCY
    assert worst("help me duele el pecho", "en") == Severity.EMERGENCY


def test_empty_and_odd_input() -> None:
    assert screen("") == []
    assert screen("   \t ") == []
    assert screen("🙂🙂🙂") == []
    assert screen("???!!!...") == []
    assert worst("x" * 5000) == Severity.NONE


def test_someone_else_in_spanish() -> None:
    finding = only("mi esposo no puede respirar", "breathing.cant_breathe")
    assert finding.experiencer == "other" and not finding.negated
    assert finding.severity == Severity.URGENT and finding.response == "emergency_other"


def test_events_told_in_the_past_are_now() -> None:
    assert worst("I passed out this morning") == Severity.EMERGENCY
    assert worst("had a seizure an hour ago") == Severity.EMERGENCY
    assert worst("history of seizures") == Severity.ROUTINE
    assert worst("had chest pain this morning") == Severity.ROUTINE


def test_a_joke_is_not_a_report_except_about_suicide() -> None:
    assert worst("this humidity, I can't breathe lol jk") == Severity.NONE
    assert worst("me ahogo de risa, es broma") <= Severity.ROUTINE
    assert worst("I want to kill myself jk") == Severity.EMERGENCY


def test_a_simile_is_not_someone_else() -> None:
    assert worst("feels like somebody is standing on my chest") == Severity.EMERGENCY


def test_a_new_clause_is_not_a_resolution() -> None:
    assert worst("me quiero morir ya no aguanto") == Severity.EMERGENCY
    assert worst("nothing matters anymore") == Severity.URGENT
    assert worst("the bleeding stopped after I pressed on it") == Severity.ROUTINE


def test_extra_insulin_with_low_signs_is_an_emergency() -> None:
    assert worst("took my insulin twice") == Severity.URGENT
    assert worst("tomé el doble de insulina y estoy temblando") == Severity.EMERGENCY


def test_a_long_message_is_still_read() -> None:
    text = "all fine today. " * 300 + "but now I cant breathe"
    assert worst(text) == Severity.EMERGENCY
