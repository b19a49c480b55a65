"""TwiML of each question type in English and Spanish (golden files), keypads and voices.

Golden files live in tests/data/twiml/; ``UPDATE_GOLDEN=1`` rewrites them, otherwise a missing
one fails the test.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.dom import minidom

import pytest

from handlers.twilio_voice import (
    STOP_WORD,
    CallScript,
    Keypad,
    dialable,
    keypad_for,
    speech_voice,
    spoken_phone,
    spoken_question,
)
from outreach.programs.loader import builtin_programs
from outreach.programs.model import Question

GOLDEN = Path(__file__).parents[1] / "data" / "twiml"
ACTION = "https://care.example.org/webhooks/twilio/voice/gather?outbox=7&q={q}&n=3&t=0"
PROGRAMS = builtin_programs()
QUESTIONS = {
    "scale": ("general", "pain"),
    "choice": ("general", "general_health"),
    "yesno": ("general", "fell"),
    "number": ("heart_failure", "weight"),
    "text": ("general", "anything_else"),
}


def question(kind: str) -> Question:
    program, question_id = QUESTIONS[kind]
    found = PROGRAMS[program].question(question_id)
    assert found.type == kind
    return found


def check_golden(name: str, xml: str) -> None:
    pretty = minidom.parseString(xml).toprettyxml(indent="  ")
    path = GOLDEN / f"{name}.xml"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pretty, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run the tests with UPDATE_GOLDEN=1 to write it"
    assert pretty == path.read_text(encoding="utf-8"), f"{name}: TwiML changed (UPDATE_GOLDEN=1)"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", list(QUESTIONS))
def test_question_twiml_matches_golden(kind: str, language: str) -> None:
    asked = question(kind)
    script = CallScript(speech_voice(language), language)
    xml = script.ask(
        [],
        spoken_question(asked, language),
        keypad_for(asked, language),
        ACTION.format(q=asked.id),
    )
    check_golden(f"{kind}_{language}", xml)


@pytest.mark.parametrize("language", ["en", "es"])
def test_voicemail_twiml_matches_golden(language: str) -> None:
    script = CallScript(speech_voice(language), language)
    said = script.words("voicemail", team="Riverside Care", phone=spoken_phone("+12025550100"))
    check_golden(f"voicemail_{language}", script.say_all([said]))


def test_a_scale_to_ten_waits_for_pound_so_ten_is_ten() -> None:
    keypad = keypad_for(question("scale"), "en")
    xml = CallScript(speech_voice("en"), "en").ask([], "q", keypad, "https://x/a")
    assert 'finishOnKey="#"' in xml and "numDigits" not in xml
    assert keypad.reply("10") == "10"
    assert keypad.reply("9") == "9", "9 is a pain score here, not STOP"
    assert not keypad.stops


def test_one_key_prompts() -> None:
    yesno = keypad_for(question("yesno"), "en")
    assert (yesno.reply("1"), yesno.reply("2"), yesno.reply("5")) == ("yes", "no", None)
    assert yesno.reply("9") == STOP_WORD
    choice = keypad_for(question("choice"), "en")
    assert choice.one_key and choice.reply("3") == "3" and choice.reply("9") == STOP_WORD
    assert choice.hint == (
        "Press 1 for Excellent, 2 for Very good, 3 for Good, 4 for Fair, or 5 for Poor."
    )
    text = keypad_for(question("text"), "en")
    assert (text.reply("2"), text.reply("4"), text.reply("9")) == ("no", None, STOP_WORD)


def test_phq_choices_are_numbered_from_zero() -> None:
    phq = PROGRAMS["depression"].question("phq_1")
    keypad = keypad_for(phq, "es")
    assert keypad.hint.startswith("Marque 0 para Ningún día, 1 para Varios días")
    assert keypad.reply("0") == "0" and keypad.reply("9") == STOP_WORD


def test_numbers_take_digits_and_a_star_for_the_decimal_point() -> None:
    keypad = keypad_for(question("number"), "en")
    assert not keypad.one_key and keypad.reply("1825") == "1825"
    assert keypad.reply("82*5") == "82.5"


def test_a_small_scale_is_one_key() -> None:
    small = Question.model_validate(
        {"id": "mood", "type": "scale", "min": 1, "max": 5, "text": {"en": "Mood?"}}
    )
    keypad = keypad_for(small, "en")
    assert keypad == Keypad(True, keypad.hint, keypad.keys, open_keys=True)
    assert keypad.hint == "Press a number from 1 to 5, or say your answer."
    assert keypad.reply("9") == STOP_WORD


def test_voices_per_locale() -> None:
    assert speech_voice("en") == speech_voice("en", "US")
    assert (speech_voice("en").language, speech_voice("en").voice) == ("en-US", "Polly.Joanna")
    assert (speech_voice("es").language, speech_voice("es").voice) == ("es-US", "Polly.Lupe")
    assert speech_voice("es", "MX").language == "es-MX"
    assert speech_voice("fr").language == "en-US"


def test_phone_numbers_for_speech_and_dialling() -> None:
    assert spoken_phone("+1 202 555 0100") == "2 0 2, 5 5 5, 0 1 0 0"
    assert dialable("+1 202 555 0100") == "+12025550100"
    assert dialable("(202) 555-0100") == "+12025550100"
    assert dialable("") is None and dialable("not a number") is None


def test_emergency_connects_the_care_team() -> None:
    script = CallScript(speech_voice("en"), "en")
    xml = script.connect(["Call 911 now."], "+12025550100", "If you need help now, call 911.")
    assert xml.index("Call 911 now.") < xml.index("<Dial>+12025550100</Dial>")
    assert xml.endswith("<Hangup /></Response>")
    assert "<Dial>" not in script.connect(["Call 911 now."], None, "Bye.")
