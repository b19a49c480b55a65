"""carebot rows → validated FHIR R4B resources (Patient, QuestionnaireResponse, Communication,
Flag). Pure functions: no I/O; every resource is built with its ``fhir.resources`` model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from bot.export import vocabulary as v
from outreach.programs import Program
from storage.models import Answer, CheckIn, Escalation, FamilyContact, Message, Patient

Json = dict[str, Any]


def patient_id(patient_pk: int) -> str:
    return f"cb-pat-{patient_pk}"


def questionnaire_response_id(checkin_pk: int) -> str:
    return f"cb-qr-{checkin_pk}"


def communication_id(message_pk: int) -> str:
    return f"cb-msg-{message_pk}"


def flag_id(escalation_pk: int) -> str:
    return f"cb-flag-{escalation_pk}"


def _ref(resource_type: str, resource_id: str) -> Json:
    return {"reference": f"{resource_type}/{resource_id}"}


def _tag(system: str, code: str) -> Json:
    return {"system": system, "code": code}


def _identifier(system: str, value: object) -> Json:
    return {"system": system, "value": str(value)}


def patient_resource(patient: Patient) -> FhirPatient:
    """The patient: external id, name, phone / Telegram, language, time zone, care manager and
    family contacts. ``active`` is false only once discharged (an opted-out patient is still
    on the panel); carebot's status is kept as a tag."""
    telecom: list[Json] = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone, "use": "mobile"})
    if patient.telegram_chat_id:
        telecom.append({"system": "other", "value": f"telegram:{patient.telegram_chat_id}"})
    manager = patient.care_manager
    return FhirPatient.model_validate(
        dict(
            id=patient_id(patient.id),
            meta={"tag": [_tag(v.PATIENT_STATUS_SYSTEM, patient.status)]},
            extension=[{"url": v.TIMEZONE_EXTENSION, "valueCode": patient.timezone}],
            identifier=[_identifier(v.PATIENT_SYSTEM, patient.external_id)],
            active=patient.status != "discharged",
            name=[{"text": patient.name}],
            telecom=telecom or None,
            communication=[
                {
                    "language": {"coding": [_tag(v.LANGUAGE_SYSTEM, patient.language)]},
                    "preferred": True,
                }
            ],
            generalPractitioner=[
                {
                    "type": "Practitioner",
                    "identifier": _identifier(v.CARE_MANAGER_SYSTEM, manager.email),
                    "display": manager.name,
                }
            ],
            contact=[_family_contact(c) for c in patient.family_contacts] or None,
        )
    )


def _family_contact(contact: FamilyContact) -> Json:
    entry: Json = {"name": {"text": contact.name}}
    if contact.relationship_:
        entry["relationship"] = [{"text": contact.relationship_}]
    if contact.phone:
        entry["telecom"] = [{"system": "phone", "value": contact.phone}]
    elif contact.address:
        entry["telecom"] = [{"system": "other", "value": contact.address}]
    return entry


def questionnaire_response(checkin: CheckIn, program: Program | None) -> QuestionnaireResponse:
    """One check-in: its answers as items (linkId = question id, text = the English question),
    in the program's question order. The status mapping is in ``vocabulary``."""
    status = v.questionnaire_status(checkin.status, started=checkin.started_at is not None)
    tags = [_tag(v.CHECKIN_STATUS_SYSTEM, checkin.status)]
    ended_by = (checkin.state or {}).get("ended_by")
    if ended_by:
        tags.append(_tag(v.CHECKIN_ENDED_BY_SYSTEM, str(ended_by)))
    answers = [a for a in checkin.answers if _answer_value(a)]
    authored = checkin.completed_at or max(
        (a.answered_at for a in answers), default=checkin.started_at or checkin.scheduled_for
    )
    subject = _ref("Patient", patient_id(checkin.patient_id))
    return QuestionnaireResponse.model_validate(
        dict(
            id=questionnaire_response_id(checkin.id),
            meta={"tag": tags},
            identifier=_identifier(v.CHECKIN_SYSTEM, checkin.id),
            questionnaire=f"{v.PROGRAM_CANONICAL}{checkin.program_id}",
            status=status,
            subject=subject,
            source=subject,
            authored=authored,
            item=[_item(a, program) for a in _in_program_order(answers, program)] or None,
        )
    )


def _in_program_order(answers: list[Answer], program: Program | None) -> list[Answer]:
    if program is None:
        return answers
    order = {q.id: index for index, q in enumerate(program.questions)}
    return sorted(answers, key=lambda a: (order.get(a.question_id, len(order)), a.id))


def _item(answer: Answer, program: Program | None) -> Json:
    item: Json = {"linkId": answer.question_id, "answer": [_answer_value(answer)]}
    text = question_text(program, answer.question_id)
    if text:
        item["text"] = text
    return item


def question_text(program: Program | None, question_id: str) -> str | None:
    """The English text of a question, or None when the program or question is unknown (a
    custom program removed since, or a question id it no longer has)."""
    if program is None:
        return None
    try:
        return program.question(question_id).text.get("en")
    except KeyError:
        return None


def _answer_value(answer: Answer) -> Json:
    """yes/no → valueBoolean; a number → valueDecimal (valueQuantity in lb or mg/dL); text
    → valueString; an answer carebot could not read → its raw text as valueString."""
    if answer.value_num is not None and answer.value_text in ("yes", "no"):
        # How carebot stores yes/no (bot.effects.stored_value); a text answer "no" has no number.
        return {"valueBoolean": answer.value_text == "yes"}
    if answer.value_num is not None:
        ucum = v.UCUM_UNITS.get(answer.unit or "")
        if ucum is None:
            return {"valueDecimal": answer.value_num}
        code, unit = ucum
        quantity = {"value": answer.value_num, "unit": unit, "system": v.UCUM_SYSTEM, "code": code}
        return {"valueQuantity": quantity}
    text = answer.value_text if answer.value_text is not None else answer.raw_text
    return {"valueString": text} if text else {}


def communication(message: Message, family: Mapping[int, FamilyContact]) -> Communication:
    """One message of the contact log, to or from the patient (or a family member about them).
    Outbound: ``sent`` / ``received`` are the provider's sent and delivered times; inbound:
    ``received`` is when carebot received it. The status mapping is in ``vocabulary``."""
    status = v.communication_status(message.status)
    identifiers = [_identifier(v.MESSAGE_SYSTEM, message.id)]
    if message.provider_id:
        identifiers.append(_identifier(v.PROVIDER_MESSAGE_SYSTEM, message.provider_id))
    data: Json = {
        "id": communication_id(message.id),
        "meta": {"tag": [_tag(v.MESSAGE_STATUS_SYSTEM, message.status)]},
        "identifier": identifiers,
        "status": status,
        "subject": _ref("Patient", patient_id(message.patient_id or 0)),
        "medium": [_medium(message.channel)],
        "payload": [{"contentString": message.body}],
    }
    if message.kind:
        data["category"] = [{"coding": [_tag(v.MESSAGE_KIND_SYSTEM, message.kind)]}]
    if message.checkin_id is not None:
        qr = questionnaire_response_id(message.checkin_id)
        data["about"] = [_ref("QuestionnaireResponse", qr)]
    if status == "not-done":
        data["statusReason"] = _failure(message)
    if message.direction == "out":
        data["recipient"] = [_person(message, family)]
        _set_times(data, sent=message.sent_at, received=message.delivered_at)
    else:
        data["sender"] = _person(message, family)
        _set_times(data, sent=None, received=message.created_at)
    return Communication.model_validate(data)


def _set_times(data: Json, *, sent: datetime | None, received: datetime | None) -> None:
    if sent is not None:
        data["sent"] = sent
    if received is not None:
        data["received"] = received


def _person(message: Message, family: Mapping[int, FamilyContact]) -> Json:
    if message.family_contact_id is None:
        return _ref("Patient", patient_id(message.patient_id or 0))
    contact = family.get(message.family_contact_id)
    reference: Json = {
        "type": "RelatedPerson",
        "identifier": _identifier(v.FAMILY_CONTACT_SYSTEM, message.family_contact_id),
    }
    if contact is not None:
        reference["display"] = contact.name
    return reference


def _medium(channel: str) -> Json:
    codings = [_tag(v.CHANNEL_SYSTEM, channel)]
    mode = v.CHANNEL_MODE.get(channel)
    if mode is not None:
        code, display = mode
        codings.insert(0, {"system": v.PARTICIPATION_MODE_SYSTEM, "code": code, "display": display})
    return {"coding": codings, "text": channel}


def _failure(message: Message) -> Json:
    reason: Json = {"text": message.status}
    if message.error_code:
        reason["coding"] = [_tag(v.PROVIDER_ERROR_SYSTEM, message.error_code)]
    return reason


def reason_text(reasons: list[Any]) -> str:
    """The findings' one-line explanations, in order, as one text."""
    return " ".join(
        str(r["explanation"]) for r in reasons if isinstance(r, dict) and r.get("explanation")
    )


def flag(escalation: Escalation) -> Flag:
    """One escalation: active until resolved; code text = the reasons (one line each, joined),
    severity as the HL7 flag-priority extension and a tag; the check-in as flag-detail."""
    reasons = [r for r in escalation.reasons or [] if isinstance(r, dict)]
    explanation = reason_text(reasons)
    category = "admin" if escalation.rule_id in v.ADMIN_RULES else "clinical"
    categories: list[Json] = [{"coding": [_tag(v.FLAG_CATEGORY_SYSTEM, category)]}]
    finding_categories = sorted({str(r["category"]) for r in reasons if r.get("category")})
    if finding_categories:
        categories.append(
            {"coding": [_tag(v.FINDING_CATEGORY_SYSTEM, c) for c in finding_categories]}
        )
    priority, display = v.SEVERITY_PRIORITY.get(escalation.severity, ("PN", "No alarm"))
    extensions: list[Json] = [
        {
            "url": v.FLAG_PRIORITY_EXTENSION,
            "valueCodeableConcept": {
                "coding": [{"system": v.FLAG_PRIORITY_SYSTEM, "code": priority, "display": display}]
            },
        }
    ]
    if escalation.checkin_id is not None:
        detail = _ref("QuestionnaireResponse", questionnaire_response_id(escalation.checkin_id))
        extensions.append({"url": v.FLAG_DETAIL_EXTENSION, "valueReference": detail})
    period: Json = {"start": escalation.created_at}
    if escalation.resolved_at is not None:
        period["end"] = escalation.resolved_at
    return Flag.model_validate(
        dict(
            id=flag_id(escalation.id),
            meta={
                "tag": [
                    _tag(v.SEVERITY_SYSTEM, escalation.severity),
                    _tag(v.ESCALATION_STATUS_SYSTEM, escalation.status),
                ]
            },
            extension=extensions,
            identifier=[_identifier(v.ESCALATION_SYSTEM, escalation.id)],
            status=v.flag_status(escalation.status),
            category=categories,
            code={
                "coding": [_tag(v.RULE_SYSTEM, escalation.rule_id)],
                "text": explanation or escalation.rule_id,
            },
            subject=_ref("Patient", patient_id(escalation.patient_id)),
            period=period,
        )
    )
