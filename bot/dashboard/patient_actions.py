"""Actions on a patient's page: pause and resume outreach, send a check-in now, message the
patient, family contacts and consent. Each redirects back to the patient page with a message."""

from __future__ import annotations

from starlette.responses import Response

from bot.dashboard import contacts, enrolment, outreach
from bot.dashboard.contacts import FamilyInput
from bot.dashboard.enrolment import InvalidInput
from bot.dashboard.web import Page
from outreach.errors import CarebotError, Conflict


async def pause(page: Page) -> Response:
    return await _set_paused(page, True)


async def resume(page: Page) -> Response:
    return await _set_paused(page, False)


async def _set_paused(page: Page, paused: bool) -> Response:
    patient = await page.access.patient_to_edit(page.request.path_params["external_id"])
    try:
        await enrolment.set_paused(page.session, page.actor, page.now, patient, paused)
    except Conflict as exc:
        return page.redirect(f"/patients/{patient.external_id}", str(exc))
    message = "Outreach paused." if paused else "Outreach resumed."
    return page.redirect(f"/patients/{patient.external_id}", message)


async def checkin_now(page: Page) -> Response:
    patient = await page.access.patient_to_edit(page.request.path_params["external_id"])
    external_id, server = patient.external_id, page.dashboard.server
    restart, force = page.checked("restart"), page.checked("force")
    await page.audit_reads("checkin.started", [patient.id], restart=restart, force=force)

    async def start() -> str:
        try:
            await outreach.start_checkin(server, external_id, restart=restart, force=force)
        except CarebotError as exc:
            return f"Check-in not started: {exc}"
        return "Check-in started: the first question is on its way."

    page.later(start)
    return page.redirect(f"/patients/{external_id}")


async def reply(page: Page) -> Response:
    """A message from the care team to the patient; whoever may read the record (their panel,
    or the escalation ladder that brought them here) may write to the patient."""
    patient = await page.access.patient(page.request.path_params["external_id"])
    try:
        outbox_id = await outreach.queue_reply(
            page.session, patient, page.actor.id, page.field("message"), page.now
        )
    except Conflict as exc:
        return page.redirect(f"/patients/{patient.external_id}", f"Not sent: {exc}")
    await page.audit_reads("patient.replied", [patient.id])
    server = page.dashboard.server

    async def send() -> str:
        await outreach.deliver(server, [outbox_id])
        return "Message sent to the patient."

    page.later(send)
    return page.redirect(f"/patients/{patient.external_id}")


async def add_family(page: Page) -> Response:
    patient = await page.access.patient_to_edit(page.request.path_params["external_id"])
    data = FamilyInput(
        name=page.field("family_name"),
        relationship=page.field("relationship"),
        phone=page.field("family_phone"),
        channel=page.field("family_channel"),
        language=page.field("family_language"),
        notify=";".join(
            scope
            for scope in ("escalation", "unreachable", "summary")
            if page.checked(f"notify_{scope}")
        ),
        consent=page.checked("family_consent"),
    )
    try:
        await contacts.add_family(
            page.session,
            page.actor,
            page.now,
            patient,
            data,
            region=page.dashboard.server.settings.default_region,
        )
    except (InvalidInput, Conflict) as exc:
        return page.redirect(f"/patients/{patient.external_id}", f"Family contact not added: {exc}")
    return page.redirect(f"/patients/{patient.external_id}", "Family contact added.")


async def remove_family(page: Page) -> Response:
    patient = await page.access.patient_to_edit(page.request.path_params["external_id"])
    contact = page.path_id("contact_id")
    await contacts.remove_family(page.session, page.actor, page.now, patient, contact)
    return page.redirect(f"/patients/{patient.external_id}", "Family contact removed.")


async def revoke_consent(page: Page) -> Response:
    patient = await page.access.patient_to_edit(page.request.path_params["external_id"])
    await contacts.revoke_consent(
        page.session, page.actor, page.now, patient, page.field("channel"), page.field("address")
    )
    return page.redirect(f"/patients/{patient.external_id}", "Consent revoked.")
