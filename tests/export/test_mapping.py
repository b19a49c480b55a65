"""The status and value mappings of the FHIR export, on rows built in memory (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.export.files import bundle_file_name
from bot.export.resources import communication, flag, questionnaire_response
from outreach.programs import builtin_programs
from storage.models import Answer, CheckIn, Escalation, FamilyContact, Message

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
GENERAL = builtin_programs()["general"]


def checkin(status: str, *, started: bool, answers: list[Answer] | None = None) -> CheckIn:
    row = CheckIn(
        id=7,
        patient_id=3,
        program_id="general",
        scheduled_for=AT,
        status=status,
        state={"ended_by": "timeout"} if status == "missed" else {},
        started_at=AT if started else None,
        completed_at=AT + timedelta(hours=1) if status != "in_progress" else None,
    )
    row.answers = answers or []
    return row


@pytest.mark.parametrize(
    ("status", "started", "expected"),
    [
        ("pending", False, "in-progress"),
        ("in_progress", True, "in-progress"),
        ("completed", True, "completed"),
        ("missed", True, "stopped"),
        ("cancelled", True, "stopped"),
        ("missed", False, "entered-in-error"),
        ("cancelled", False, "entered-in-error"),
    ],
)
def test_checkin_status(status: str, started: bool, expected: str) -> None:
    response = questionnaire_response(checkin(status, started=started), GENERAL)
    assert response.status == expected
    assert response.id == "cb-qr-7"
    tags = {(t.system, t.code) for t in response.meta.tag}
    assert ("urn:carebot:checkin-status", status) in tags


def answer(question_id: str, **values: Any) -> Answer:
    return Answer(id=len(question_id), question_id=question_id, answered_at=AT, **values)


def test_answer_values_and_order() -> None:
    answers = [
        answer("anything_else", raw_text="no", value_text="no"),
        answer("fell", raw_text="yes", value_num=1.0, value_text="yes"),
        answer("pain", raw_text="7", value_num=7.0),
        answer("weight", raw_text="82 kg", value_num=180.8, unit="lb"),
        answer("adherence_days", raw_text="two", value_num=2.0, unit="days"),
        answer("general_health", raw_text="meh?", needs_review=True),
    ]
    data = questionnaire_response(checkin("completed", started=True, answers=answers), GENERAL)
    items = {i.linkId: i for i in data.item}
    # The program's order first; a question it does not have (weight) comes last, without text.
    assert list(items) == [
        "general_health",
        "pain",
        "adherence_days",
        "fell",
        "anything_else",
        "weight",
    ]
    assert items["general_health"].answer[0].valueString == "meh?"
    assert items["pain"].answer[0].valueDecimal == 7
    assert items["adherence_days"].answer[0].valueDecimal == 2
    assert items["fell"].answer[0].valueBoolean is True
    # A free-text "no" stays text: only yes/no questions store a number beside it.
    assert items["anything_else"].answer[0].valueString == "no"
    quantity = items["weight"].answer[0].valueQuantity
    assert (quantity.code, quantity.system) == ("[lb_av]", "http://unitsofmeasure.org")
    assert items["weight"].text is None
    assert items["fell"].text == "Have you fallen since we last checked in?"
    assert data.authored == AT + timedelta(hours=1)


def message(**fields: Any) -> Message:
    base: dict[str, Any] = {
        "id": 11,
        "direction": "out",
        "channel": "sms",
        "address": "tel:+15555550101",
        "body": "How are you?",
        "kind": "question",
        "patient_id": 3,
        "status": "queued",
        "created_at": AT,
    }
    return Message(**{**base, **fields})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("queued", "in-progress"),
        ("sending", "in-progress"),
        ("sent", "completed"),
        ("delivered", "completed"),
        ("undelivered", "not-done"),
        ("failed", "not-done"),
        ("expired", "not-done"),
        ("cancelled", "not-done"),
    ],
)
def test_outbound_message_status(status: str, expected: str) -> None:
    sent = AT if status in ("sent", "delivered", "undelivered", "failed") else None
    delivered = AT + timedelta(seconds=5) if status == "delivered" else None
    code = "30006" if status == "undelivered" else None
    row = message(status=status, sent_at=sent, delivered_at=delivered, error_code=code)
    resource = communication(row, {})
    assert resource.status == expected
    assert resource.sent == sent and resource.received == delivered
    assert resource.recipient[0].reference == "Patient/cb-pat-3"
    assert resource.payload[0].contentString == "How are you?"
    if expected == "not-done":
        assert resource.statusReason.text == status
        assert bool(resource.statusReason.coding) == (code is not None)
    else:
        assert resource.statusReason is None


@pytest.mark.parametrize(
    ("channel", "mode"),
    [("sms", "WRITTEN"), ("telegram", "ONLINEWRIT"), ("voice", "PHONE"), ("sandbox", "ONLINEWRIT")],
)
def test_inbound_message_and_medium(channel: str, mode: str) -> None:
    row = message(direction="in", channel=channel, status="received", kind="reply", checkin_id=7)
    resource = communication(row, {})
    assert resource.status == "completed"
    assert resource.sender.reference == "Patient/cb-pat-3"
    assert resource.received == AT and resource.sent is None
    assert [c.code for c in resource.medium[0].coding] == [mode, channel]
    assert resource.about[0].reference == "QuestionnaireResponse/cb-qr-7"


def test_family_notice_names_the_family_member() -> None:
    contact = FamilyContact(id=5, patient_id=3, name="Maria Lopez", channel="sms", address="x")
    row = message(family_contact_id=5, kind="family", status="delivered", delivered_at=AT)
    resource = communication(row, {5: contact})
    (recipient,) = resource.recipient
    assert (recipient.type, recipient.display) == ("RelatedPerson", "Maria Lopez")
    assert recipient.identifier.value == "5" and recipient.reference is None


def escalation(**fields: Any) -> Escalation:
    base: dict[str, Any] = {
        "id": 4,
        "patient_id": 3,
        "checkin_id": 7,
        "rule_id": "pain.high_and_rising",
        "severity": "urgent",
        "status": "open",
        "reasons": [
            {"explanation": "Pain 8/10, up 3 points since last time (5/10).", "category": "pain"},
            {"explanation": "Pain reached the severe range: 8/10 (was 5/10).", "category": "pain"},
        ],
        "created_at": AT,
    }
    return Escalation(**{**base, **fields})


@pytest.mark.parametrize(
    ("status", "severity", "expected", "priority"),
    [
        ("open", "routine", "active", "PL"),
        ("acknowledged", "urgent", "active", "PM"),
        ("resolved", "emergency", "inactive", "PH"),
    ],
)
def test_escalation_flag(status: str, severity: str, expected: str, priority: str) -> None:
    resolved = AT + timedelta(hours=2) if status == "resolved" else None
    resource = flag(escalation(status=status, severity=severity, resolved_at=resolved))
    assert resource.id == "cb-flag-4" and resource.status == expected
    assert resource.code.text == (
        "Pain 8/10, up 3 points since last time (5/10). "
        "Pain reached the severe range: 8/10 (was 5/10)."
    )
    assert resource.period.start == AT and resource.period.end == resolved
    extensions = {e.url: e for e in resource.extension}
    flag_priority = extensions["http://hl7.org/fhir/StructureDefinition/flag-priority"]
    assert flag_priority.valueCodeableConcept.coding[0].code == priority
    detail = extensions["http://hl7.org/fhir/StructureDefinition/flag-detail"]
    assert detail.valueReference.reference == "QuestionnaireResponse/cb-qr-7"
    assert ("urn:carebot:severity", severity) in {(t.system, t.code) for t in resource.meta.tag}
    assert resource.category[0].coding[0].code == "clinical"


def test_reachability_flags_are_admin() -> None:
    resource = flag(escalation(rule_id="patient.unreachable", checkin_id=None, reasons=[]))
    assert resource.category[0].coding[0].code == "admin"
    assert resource.code.text == "patient.unreachable"
    assert len(resource.extension) == 1


@pytest.mark.parametrize(
    ("external_id", "name"),
    [("P1", "P1.json"), ("MRN 00/12", "MRN%2000%2F12.json"), ("..", "%2E..json")],
)
def test_bundle_file_names_stay_in_the_directory(external_id: str, name: str) -> None:
    assert bundle_file_name(external_id) == name
