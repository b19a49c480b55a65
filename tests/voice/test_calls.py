"""Check-in calls end to end: ticks place calls at the fake Twilio, a caller answers them through
the real voice routes, and the same conversation engine as SMS runs behind."""

from __future__ import annotations

from datetime import timedelta

import pytest

from outreach.conversation import ConversationState
from storage.models import Answer, Consent, Escalation, Message, Patient, ProcessedWebhook
from tests.voice.conftest import ADDRESS, Phone

GENERAL_KEYS = ["3", "10", "0", "2", "2", "2", "2", "2"]
"""general: health good, pain 10 (1 0 #), 0 days missed, four times no, nothing else (2)."""
GENERAL_QUESTIONS = [
    "general_health",
    "pain",
    "adherence_days",
    "stopped_key_medicine",
    "fell",
    "unsteady",
    "worried_about_falling",
    "anything_else",
]


async def answers(phone: Phone) -> dict[str, tuple[float | None, str | None]]:
    return {a.question_id: (a.value_num, a.value_text) for a in await phone.rows(Answer)}


async def contact_log(phone: Phone) -> list[Message]:
    return await phone.rows(Message, Message.address == ADDRESS)


async def test_a_check_in_by_keypad(phone: Phone) -> None:
    await phone.enrol()
    await phone.tick()
    (call,) = phone.calls()
    caller = phone.caller()
    who = await caller.pick_up()
    assert who.text == (
        "Hello, this is Riverside Care calling for Ana. If this is Ana, press 1. If not, press 2."
    )
    opening = await caller.press("1")
    assert opening.says[0].startswith("Hi Ana, this is your monthly check-in from Riverside Care")
    assert "Press 9 at any time to stop these calls." in opening.says
    asked = [opening]
    for keys in GENERAL_KEYS:
        asked.append(await caller.press(keys))
    questions = [t.gather.get("action", "").split("q=")[1].split("&")[0] for t in asked[:-1]]
    assert questions == GENERAL_QUESTIONS
    closing = asked[-1]
    assert closing.hangs_up and closing.text.startswith("Thank you, Ana.")
    assert sum("Press 9 at any time" in s for t in caller.heard for s in t.says) == 1

    assert (await phone.checkin()).status == "completed"
    given = await answers(phone)
    assert given["general_health"] == (3.0, None)
    assert given["pain"] == (10.0, None), "1 0 # is ten, not one"
    assert given["stopped_key_medicine"] == (0.0, "no")
    assert given["anything_else"] == (None, "no")

    log = await contact_log(phone)
    inbound = [m for m in log if m.direction == "in"]
    assert [m.provider_id for m in inbound] == [f"{call.sid}:who"] + [
        f"{call.sid}:{n}" for n in range(1, 9)
    ]
    assert inbound[2].body == "pressed 10"
    assert inbound[4].body == "pressed 2 (no)"
    outbound = [m for m in log if m.direction == "out"]
    assert all(m.provider_id == call.sid for m in outbound)
    assert [m.status for m in outbound[1:]] == ["delivered"] * (len(outbound) - 1)
    logged = " ".join(m.body for m in outbound)
    said = [s for t in caller.heard for s in t.says]
    assert [s for s in said if s not in logged] == []
    await phone.tick()
    assert len(phone.calls()) == 1 and phone.twilio.sent == [], "the outbox sent nothing else"


async def test_a_check_in_by_speech_in_spanish(phone: Phone) -> None:
    await phone.enrol(name="Luis García", language="es")
    await phone.tick()
    caller = phone.caller()
    who = await caller.pick_up()
    assert who.text.startswith("Hola, le llama Riverside Care para Luis.")
    say = who.root.find("Gather/Say")
    assert say is not None and (say.get("voice"), say.get("language")) == ("Polly.Lupe", "es-US")
    opening = await caller.say("Sí.")
    assert opening.says[0].startswith("Hola Luis")
    for words in ["Buena.", "Siete.", "Cero.", "No.", "No.", "No.", "No.", "Nada más."]:
        last = await caller.say(words)
    assert last.hangs_up and last.text.startswith("Gracias, Luis.")
    assert (await phone.checkin()).status == "completed"
    given = await answers(phone)
    assert given["general_health"] == (3.0, None)
    assert given["pain"] == (7.0, None)
    assert given["anything_else"] == (None, "Nada más.")
    inbound = [m.body for m in await contact_log(phone) if m.direction == "in"]
    assert inbound[1:4] == ["Buena.", "Siete.", "Cero."]


async def test_an_emergency_said_mid_call_connects_the_care_team(phone: Phone) -> None:
    caller = await phone.answered()
    await caller.press("3")
    twiml = await caller.say("I have chest pain right now")
    assert twiml.says[0].startswith("This may be an emergency. Call 911 now")
    assert "Connecting you to your care team now." in twiml.says
    assert twiml.dial == "+12025550100"
    assert twiml.hangs_up and twiml.says[-1] == "If you need help now, hang up and call 911."
    await phone.drain()
    (escalation,) = await phone.rows(Escalation)
    assert escalation.severity == "emergency"
    checkin = await phone.checkin()
    assert checkin.status == "completed"
    assert ConversationState.from_json(checkin.state).ended_by == "emergency"
    emergency = [m for m in await contact_log(phone) if m.kind == "emergency"]
    assert len(emergency) == 1 and emergency[0].status == "delivered"
    assert "+12025550100" not in emergency[0].body and "care team now" in emergency[0].body


@pytest.mark.parametrize("phone", [{"CARE_TEAM_PHONE": ""}], indirect=True)
async def test_an_emergency_without_a_team_number_only_advises(phone: Phone) -> None:
    caller = await phone.answered()
    twiml = await caller.say("I can't breathe")
    assert twiml.dial is None and twiml.hangs_up
    assert twiml.says[0].startswith("This may be an emergency.")


async def test_no_answer_calls_again_at_the_reminders_then_the_check_in_is_missed(
    phone: Phone,
) -> None:
    await phone.enrol()
    await phone.tick()
    assert await phone.caller().finish("no-answer") == 200
    (row,) = [m for m in await contact_log(phone) if m.kind == "question"]
    assert (row.status, row.error_code) == ("undelivered", "no-answer")
    assert [h[0] for h in row.status_history if h[0].startswith("call")] == ["call no-answer"]

    await phone.later(timedelta(hours=3))
    assert len(phone.calls()) == 1
    await phone.later(timedelta(hours=1))
    assert len(phone.calls()) == 2, "the 4 h reminder is a new call"
    await phone.caller().finish("busy")
    await phone.later(timedelta(hours=20))
    assert len(phone.calls()) == 3, "the 24 h reminder is a new call"
    await phone.caller().finish("failed")
    await phone.later(timedelta(hours=48))
    assert (await phone.checkin()).status == "missed"
    await phone.later(timedelta(days=1))
    assert len(phone.calls()) == 3
    kinds = [m.kind for m in await contact_log(phone)]
    assert kinds == ["question", "reminder", "reminder"]


async def test_a_reminder_call_goes_on_where_the_patient_left_off(phone: Phone) -> None:
    caller = await phone.answered()
    await caller.press("3")
    await caller.press("4")
    await caller.finish("completed", duration=40)
    await phone.later(timedelta(hours=4))
    assert len(phone.calls()) == 2
    again = phone.caller()
    await again.pick_up()
    twiml = await again.press("1")
    assert "adherence_days" in (twiml.gather.get("action") or "")
    assert "In the last 30 days" in twiml.says[-1]


async def test_voicemail_gets_no_health_detail(phone: Phone) -> None:
    await phone.enrol()
    await phone.tick()
    caller = phone.caller()
    twiml = await caller.pick_up(answered_by="machine_start")
    assert twiml.hangs_up and twiml.gather is None
    assert twiml.text == (
        "Hello, this is Riverside Care. Please call us back at 2 0 2, 5 5 5, 0 1 0 0. "
        "Thank you. Goodbye."
    )
    program = phone.server.runtime.programs["general"]
    leaks = ["Ana", program.name.en, program.name.es, program.intro.en if program.intro else ""]
    leaks += [q.text.get("en") for q in program.questions]
    assert [leak for leak in leaks if leak and leak in twiml.text] == []
    assert (await phone.checkin()).status == "in_progress"
    log = await contact_log(phone)
    assert [m.body for m in log if m.kind == "call"] == [twiml.text]
    assert [h[0] for h in log[0].status_history if "by" in h[0]] == ["answered by machine_start"]


async def test_press_9_stops_the_calls(phone: Phone) -> None:
    patient = await phone.enrol()
    await phone.tick()
    caller = phone.caller()
    await caller.pick_up()
    await caller.press("1")
    twiml = await caller.press("9")
    assert (
        twiml.hangs_up and twiml.text == "You will not get more calls from Riverside Care. Goodbye."
    )
    consents = await phone.rows(Consent, Consent.channel == "voice")
    assert consents[-1].granted is False and consents[-1].address == ADDRESS
    assert (await phone.checkin()).status == "cancelled"
    (stopped,) = await phone.rows(Patient, Patient.id == patient.id)
    assert stopped.status == "opted_out"
    inbound = [m.body for m in await contact_log(phone) if m.direction == "in"]
    assert inbound[-1] == "pressed 9 (STOP)"
    for hours in (4, 24, 24 * 40):
        await phone.later(timedelta(hours=hours))
    assert len(phone.calls()) == 1
    await phone.drain()


async def test_a_retried_gather_answers_once(phone: Phone) -> None:
    caller = await phone.answered()
    first = await caller.press("3")
    again = await caller.replay()
    assert again.xml == first.xml
    assert list(await answers(phone)) == ["general_health"]
    inbound = [m for m in await contact_log(phone) if m.direction == "in"]
    assert len(inbound) == 2
    assert len(await phone.rows(ProcessedWebhook)) == 1


async def test_someone_else_answering_hears_nothing_about_health(phone: Phone) -> None:
    await phone.enrol()
    await phone.tick()
    caller = phone.caller()
    await caller.pick_up()
    twiml = await caller.press("2")
    assert twiml.hangs_up and twiml.text == "Thank you. We will call back another time. Goodbye."
    assert (await phone.checkin()).status == "in_progress"
    (inbound,) = [m for m in await contact_log(phone) if m.direction == "in"]
    assert inbound.flagged and inbound.body == "pressed 2"
    assert await answers(phone) == {}


async def test_silence_asks_again_then_ends_the_call(phone: Phone) -> None:
    caller = await phone.answered()
    first = await caller.stay_silent()
    assert first.says[0] == "Sorry, I did not hear an answer."
    assert "general_health" in (first.gather.get("action") or "")
    await caller.stay_silent()
    last = await caller.stay_silent()
    assert last.hangs_up and last.text.startswith("We did not hear an answer.")
    assert (await phone.checkin()).status == "in_progress"
    assert await answers(phone) == {}


async def test_an_answer_not_understood_is_asked_again_by_the_engine(phone: Phone) -> None:
    caller = await phone.answered()
    await caller.press("3")
    await caller.press("10")
    await caller.press("0")
    twiml = await caller.say("purple")
    assert twiml.says[0] == "Sorry, I didn't understand."
    assert "stopped_key_medicine" in (twiml.gather.get("action") or "")
    wrong_key = await caller.press("7")
    assert wrong_key.says[0] == "Sorry, I didn't understand."
    await caller.press("2")
    assert (await answers(phone))["stopped_key_medicine"] == (0.0, "no")


async def test_status_callbacks_update_the_call_row(phone: Phone) -> None:
    caller = await phone.answered()
    assert await caller.finish("ringing") == 200
    assert await caller.finish("completed", duration=42) == 200
    assert await caller.finish("in-progress") == 200, "late and out of order"
    (row,) = [m for m in await contact_log(phone) if m.kind == "question"]
    assert row.status == "delivered"
    notes = [h[0] for h in row.status_history]
    assert "call completed 42s" in notes and "call ringing" in notes


async def test_phq9_item_9_says_the_crisis_line_and_yes_connects_the_team(phone: Phone) -> None:
    caller = await phone.answered(program="depression")
    for keys in ["2", "2", "0", "0", "0", "0", "0", "0"]:
        await caller.press(keys)
    followup = await caller.press("1")
    gather = followup.gather
    assert gather is not None and "suicidal_thoughts_now" in (gather.get("action") or "")
    assert followup.says[-1].startswith("Please call or text 988")
    assert followup.says[-1].endswith("Press 1 for yes, or 2 for no.")
    crisis = await caller.press("1")
    assert "988" in crisis.says[0] and crisis.dial == "+12025550100"
    await phone.drain()
    severities = {e.severity for e in await phone.rows(Escalation)}
    assert "emergency" in severities
    assert ConversationState.from_json((await phone.checkin()).state).ended_by == "crisis"


async def test_help_is_said_for_the_phone_and_the_question_asked_again(phone: Phone) -> None:
    caller = await phone.answered()
    twiml = await caller.say("help")
    assert twiml.says[0] == (
        "Wellbeing check-in, from Riverside Care. We call about once a month. "
        "To stop these calls, say stop."
    )
    assert "general_health" in (twiml.gather.get("action") or "")
    (help_row,) = [m for m in await contact_log(phone) if m.kind == "help"]
    assert help_row.body.startswith("Wellbeing check-in, from Riverside Care.")
    assert "Msg & data rates" not in help_row.body and "Press 1 for Excellent" in help_row.body
