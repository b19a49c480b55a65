"""Patient pages: the list with search and filters, the patient page (timeline and trend charts),
enrol/edit, pause/resume, family contacts, consent, check-in now and the Telegram invite."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from bot.addresses import channel_of, patient_address
from bot.dashboard import enrolment, outreach, records, trends
from bot.dashboard.charts import render_svg
from bot.dashboard.enrolment import InvalidInput, PatientInput
from bot.dashboard.queue import queue
from bot.dashboard.timeline import timeline
from bot.dashboard.web import Page, row_id
from bot.importing.patient_rows import CHANNELS, LANGUAGES
from outreach.errors import Conflict
from outreach.schedule import parse_cadence
from storage.models import CareManager, Patient
from storage.repositories.checkins import CheckInRepository
from storage.repositories.consents import ConsentRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.escalations import EscalationRepository
from storage.repositories.family import FamilyContactRepository

PAGE_SIZE = 50


def _programs(page: Page) -> dict[str, str]:
    return {pid: p.name.get("en") for pid, p in page.dashboard.server.runtime.programs.items()}


async def patient_list(page: Page) -> Response:
    manager = page.query("manager")
    offset = page.query("offset")
    query = records.PatientQuery(
        search=page.query("q")[:100],
        program=page.query("program"),
        manager_id=row_id(manager),
        status=page.query("status") if page.query("status") in records.STATUSES else "",
        contact=page.query("contact") if page.query("contact") in records.CONTACT_FILTERS else "",
        limit=PAGE_SIZE,
        offset=min(row_id(offset) or 0, 1_000_000),
    )
    rows, total = await records.find_patients(page.session, page.actor, query, page.now)
    await page.audit_reads("patient.listed", [row.patient.id for row in rows], view="patients")
    return page.render(
        "patients.html",
        rows=rows,
        total=total,
        query=query,
        programs=_programs(page),
        managers=await records.managers(page.session),
        statuses=records.STATUSES,
        contacts=records.CONTACT_FILTERS,
        page_size=PAGE_SIZE,
    )


async def patient_page(page: Page) -> Response:
    patient = await page.access.patient(page.request.path_params["external_id"])
    return await _show(page, patient)


async def _show(page: Page, patient: Patient, **extra: Any) -> Response:
    session, server = page.session, page.dashboard.server
    await page.audit_reads("patient.viewed", [patient.id], view="patient")
    enrollments = await EnrollmentRepository(session).for_patient(patient.id)
    checkins = await CheckInRepository(session).list_for_patient(patient.id, limit=100)
    escalations = await EscalationRepository(session).for_patient(patient.id)
    family = await FamilyContactRepository(session).for_patient(patient.id)
    managers = {m.id: m.name for m in await records.managers(session, active=False)}
    charts = await trends.patient_charts(
        session, patient, server.runtime.programs, enrollments, checkins
    )
    zone = ZoneInfo(page.actor.timezone)
    consent_now = await _current_consent(page, patient)
    return page.render(
        "patient.html",
        patient=patient,
        manager=managers.get(patient.care_manager_id, "?"),
        enrollments=[(e, _cadence_text(e.cadence_day, e.cadence_time)) for e in enrollments],
        programs=_programs(page),
        family=family,
        consents=await ConsentRepository(session).history(patient_id=patient.id),
        consent_now=consent_now,
        charts=[(chart, render_svg(chart, zone)) for chart in charts],
        entries=await timeline(session, patient, checkins, escalations, managers, family),
        open_items=await queue(session, page.actor, page.now, patient_id=patient.id),
        can_edit=page.access.can_edit_patient(patient),
        can_message=consent_now.startswith("granted"),
        invites=outreach.invites_available(server) and patient.channel == "telegram",
        channels=CHANNELS,
        languages=LANGUAGES,
        **extra,
    )


def _cadence_text(day: str, at: str) -> str:
    try:
        return parse_cadence(day, at).describe("en")
    except ValueError:
        return f"{day} at {at}"


async def _current_consent(page: Page, patient: Patient) -> str:
    address = patient_address(patient)
    if address is None:
        return "awaiting Telegram link"
    current = await ConsentRepository(page.session).current(
        channel_of(address), address, patient_id=patient.id
    )
    if current is None:
        return "no consent on file"
    return f"{'granted' if current.granted else 'revoked'} ({current.source})"


def _input(page: Page, external_id: str | None = None) -> PatientInput:
    return PatientInput(
        external_id=external_id or page.field("external_id"),
        name=page.field("name"),
        phone=page.field("phone"),
        timezone=page.field("timezone"),
        language=page.field("language"),
        channel=page.field("channel"),
        program=page.field("program"),
        care_manager=page.field("care_manager"),
        cadence_day=page.field("cadence_day"),
        cadence_time=page.field("cadence_time"),
        baseline_weight=page.field("baseline_weight"),
        window_start=page.field("window_start"),
        window_end=page.field("window_end"),
        consent=page.checked("consent"),
    )


async def _form(
    page: Page, values: dict[str, Any], patient: Patient | None, errors: list[str], status: int
) -> Response:
    managers = await records.managers(page.session)
    if not page.actor.sees_all:
        managers = [m for m in managers if m.id == page.actor.id]
    return page.render(
        "patient_form.html",
        status,
        values=values,
        patient=patient,
        errors=errors,
        programs=_programs(page),
        managers=managers,
        channels=CHANNELS,
        languages=LANGUAGES,
    )


async def new_patient(page: Page) -> Response:
    values = {
        "timezone": page.dashboard.server.settings.default_timezone,
        "language": "en",
        "channel": "sms",
        "care_manager": page.actor.email,
    }
    return await _form(page, values, None, [], 200)


async def create_patient(page: Page) -> Response:
    data = _input(page)
    try:
        saved = await _save(page, data, None)
    except (InvalidInput, Conflict) as exc:
        reasons = exc.reasons if isinstance(exc, InvalidInput) else [str(exc)]
        return await _form(page, _values(data), None, reasons, 422)
    notes = " ".join(saved.notes)
    return page.redirect(f"/patients/{saved.patient.external_id}", f"Patient enrolled. {notes}")


async def edit_patient(page: Page) -> Response:
    patient = await page.access.patient_to_edit(page.request.path_params["external_id"])
    enrollments = await EnrollmentRepository(page.session).for_patient(patient.id)
    first = enrollments[0] if enrollments else None
    manager = await page.session.get(CareManager, patient.care_manager_id)
    values = {
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
        "baseline_weight": str((patient.baseline or {}).get("weight", "")),
        "window_start": patient.window_start or "",
        "window_end": patient.window_end or "",
    }
    await page.audit_reads("patient.viewed", [patient.id], view="edit")
    return await _form(page, values, patient, [], 200)


async def update_patient(page: Page) -> Response:
    patient = await page.access.patient_to_edit(page.request.path_params["external_id"])
    data = _input(page, patient.external_id)
    try:
        saved = await _save(page, data, patient)
    except (InvalidInput, Conflict) as exc:
        reasons = exc.reasons if isinstance(exc, InvalidInput) else [str(exc)]
        return await _form(page, _values(data), patient, reasons, 422)
    return page.redirect(f"/patients/{patient.external_id}", " ".join(["Saved.", *saved.notes]))


async def _save(page: Page, data: PatientInput, patient: Patient | None) -> enrolment.Saved:
    server = page.dashboard.server
    return await enrolment.save_patient(
        page.session,
        page.actor,
        page.now,
        data,
        region=server.settings.default_region,
        programs=server.runtime.programs,
        existing=patient,
    )


def _values(data: PatientInput) -> dict[str, Any]:
    return {name: getattr(data, name) for name in PatientInput.__dataclass_fields__}


async def invite(page: Page) -> Response:
    patient = await page.access.patient_to_edit(page.request.path_params["external_id"])
    try:
        link = await outreach.invite_link(page.dashboard.server, page.session, patient, page.now)
    except Conflict as exc:
        return page.redirect(f"/patients/{patient.external_id}", str(exc))
    await page.audit_reads("invite.created", [patient.id])
    return await _show(page, patient, invite_link=link)
