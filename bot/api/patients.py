"""``/api/v1/patients``: list and search, get, create, update, enrolment, check-ins (list and
start now) and the contact log — the same operations and scope as the dashboard."""

from __future__ import annotations

from starlette.responses import Response

from bot.api.schemas import (
    AnswerOut,
    CheckInNowIn,
    CheckInOut,
    CheckInStarted,
    EnrollmentIn,
    EnrollmentOut,
    MessageOut,
    PatientIn,
    PatientList,
    PatientOut,
    PatientPatch,
)
from bot.api.web import MAX_ID, Call, ok
from bot.dashboard import audit, enrolment, outreach, records
from bot.dashboard.enrolment import PatientInput
from storage.models import CareManager, CheckIn, Message, Patient
from storage.repositories.checkins import CheckInRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.messages import MessageRepository


def _out(summary: records.PatientSummary, emails: dict[int, str]) -> PatientOut:
    p = summary.patient
    return PatientOut(
        external_id=p.external_id,
        name=p.name,
        phone=p.phone,
        timezone=p.timezone,
        language=p.language,
        channel=p.channel,
        status=p.status,
        care_manager=emails.get(p.care_manager_id, ""),
        baseline=dict(p.baseline or {}),
        window_start=p.window_start,
        window_end=p.window_end,
        programs=list(summary.programs),
        last_contact=summary.last_contact,
        open_escalations=summary.open_escalations,
    )


async def _emails(call: Call) -> dict[int, str]:
    return {m.id: m.email for m in await records.managers(call.session, active=False)}


async def _one(call: Call, patient: Patient) -> PatientOut:
    summary = (await records.summarize(call.session, [patient]))[0]
    return _out(summary, await _emails(call))


async def list_patients(call: Call) -> Response:
    manager = call.query_int("manager_id", 0, 0, MAX_ID)
    query = records.PatientQuery(
        search=call.query("q"),
        program=call.query("program", max_length=64),
        manager_id=manager or None,
        status=call.query_choice("status", records.STATUSES),
        contact=call.query_choice("contact", list(records.CONTACT_FILTERS)),
        limit=call.query_int("limit", 50, 1, records.MAX_LIMIT),
        offset=call.query_int("offset", 0, 0, 1_000_000),
    )
    rows, total = await records.find_patients(call.session, call.actor, query, call.now)
    await audit.record_reads(
        call.session, call.actor, call.now, "patient.listed", [r.patient.id for r in rows]
    )
    emails = await _emails(call)
    return ok(PatientList(items=[_out(r, emails) for r in rows], total=total))


async def get_patient(call: Call) -> Response:
    patient = await call.access.patient(call.path("external_id"))
    await audit.record_reads(call.session, call.actor, call.now, "patient.viewed", [patient.id])
    return ok(await _one(call, patient))


async def create_patient(call: Call) -> Response:
    body = await call.body(PatientIn)
    data = PatientInput(**body.model_dump())
    saved = await _save(call, data, None)
    return ok(await _one(call, saved.patient), 201)


async def update_patient(call: Call) -> Response:
    patient = await call.access.patient_to_edit(call.path("external_id"))
    body = await call.body(PatientPatch)
    current = await _current(call, patient)
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    saved = await _save(call, PatientInput(**{**current, **changes}), patient)
    return ok(await _one(call, saved.patient))


async def _current(call: Call, patient: Patient) -> dict[str, object]:
    enrollments = await EnrollmentRepository(call.session).for_patient(patient.id)
    first = enrollments[0] if enrollments else None
    manager = await call.session.get(CareManager, patient.care_manager_id)
    weight = (patient.baseline or {}).get("weight")
    return {
        "external_id": patient.external_id,
        "name": patient.name,
        "phone": patient.phone or "",
        "timezone": patient.timezone,
        "language": patient.language,
        "channel": patient.channel,
        "program": first.program_id if first else "",
        "care_manager": manager.email if manager else "",
        "cadence_day": first.cadence_day if first else "",
        "cadence_time": first.cadence_time if first else "",
        "baseline_weight": "" if weight is None else str(weight),
        "window_start": patient.window_start or "",
        "window_end": patient.window_end or "",
    }


async def _save(call: Call, data: PatientInput, patient: Patient | None) -> enrolment.Saved:
    return await enrolment.save_patient(
        call.session,
        call.actor,
        call.now,
        data,
        region=call.server.settings.default_region,
        programs=call.server.runtime.programs,
        existing=patient,
    )


async def list_enrollments(call: Call) -> Response:
    patient = await call.access.patient(call.path("external_id"))
    await audit.record_reads(call.session, call.actor, call.now, "patient.viewed", [patient.id])
    return ok(await _enrollments(call, patient))


async def _enrollments(call: Call, patient: Patient) -> list[EnrollmentOut]:
    return [
        EnrollmentOut(
            program=e.program_id,
            cadence_day=e.cadence_day,
            cadence_time=e.cadence_time,
            paused=e.paused,
            next_due_at=e.next_due_at,
        )
        for e in await EnrollmentRepository(call.session).for_patient(patient.id)
    ]


async def update_enrollment(call: Call) -> Response:
    patient = await call.access.patient_to_edit(call.path("external_id"))
    body = await call.body(EnrollmentIn)
    current = await _current(call, patient)
    changes = body.model_dump(exclude={"paused"}, exclude_none=True)
    if changes:
        await _save(call, PatientInput(**{**current, **changes}), patient)
    if body.paused is not None and body.paused != (patient.status == "paused"):
        await enrolment.set_paused(call.session, call.actor, call.now, patient, body.paused)
    return ok(await _enrollments(call, patient))


async def list_checkins(call: Call) -> Response:
    patient = await call.access.patient(call.path("external_id"))
    limit = call.query_int("limit", 50, 1, 200)
    checkins = await CheckInRepository(call.session).list_for_patient(patient.id, limit=limit)
    await audit.record_reads(call.session, call.actor, call.now, "patient.viewed", [patient.id])
    return ok([_checkin_out(c) for c in checkins])


def _checkin_out(checkin: CheckIn) -> CheckInOut:
    totals = (checkin.state or {}).get("totals") or {}
    return CheckInOut(
        id=checkin.id,
        program=checkin.program_id,
        status=checkin.status,
        manual=checkin.manual,
        scheduled_for=checkin.scheduled_for,
        started_at=checkin.started_at,
        completed_at=checkin.completed_at,
        severity=checkin.severity,
        totals={str(k): float(v) for k, v in totals.items() if isinstance(v, int | float)},
        answers=[
            AnswerOut(
                question_id=a.question_id,
                raw_text=a.raw_text,
                value=a.value_num if a.value_num is not None else a.value_text,
                unit=a.unit,
                needs_review=a.needs_review,
                answered_at=a.answered_at,
            )
            for a in checkin.answers
        ],
    )


async def start_checkin(call: Call) -> Response:
    patient = await call.access.patient_to_edit(call.path("external_id"))
    body = await call.body(CheckInNowIn, required=False)
    await audit.record_reads(
        call.session,
        call.actor,
        call.now,
        "checkin.started",
        [patient.id],
        detail={"restart": body.restart, "force": body.force},
    )
    # In its own transaction, after this one commits (SQLite has one writer at a time).
    external_id, server = patient.external_id, call.server
    started = CheckInStarted(status="started", patient=external_id)

    async def start() -> Response:
        await outreach.start_checkin(server, external_id, restart=body.restart, force=body.force)
        return ok(started, 202)

    call.later(start)
    return ok(started, 202)


async def contact_log(call: Call) -> Response:
    patient = await call.access.patient(call.path("external_id"))
    limit = call.query_int("limit", 100, 1, 500)
    messages = await MessageRepository(call.session).timeline(patient.id, limit=limit)
    await audit.record_reads(call.session, call.actor, call.now, "patient.viewed", [patient.id])
    return ok([_message_out(m) for m in messages])


def _message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        direction="in" if message.direction == "in" else "out",
        channel=message.channel,
        kind=message.kind,
        body=message.body,
        status=message.status,
        error_code=message.error_code,
        created_at=message.created_at,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        flagged=message.flagged,
    )
