"""``/api/v1/escalations``: the queue, one escalation, acknowledge and resolve with a note."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.responses import Response

from bot.api.schemas import EscalationOut, Finding, ResolveIn
from bot.api.web import MAX_ID, Call, ok
from bot.applied import Applied
from bot.dashboard import audit, queue, records
from storage.models import Escalation, Patient
from storage.repositories.escalations import ACTIVE

log = logging.getLogger(__name__)
STATUS_FILTERS = {
    "active": ACTIVE,
    "open": ("open",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved",),
}


def _out(escalation: Escalation, patient: Patient, emails: dict[int, str]) -> EscalationOut:
    return EscalationOut(
        id=escalation.id,
        patient=patient.external_id,
        severity=escalation.severity,
        status=escalation.status,  # type: ignore[arg-type]
        reasons=[
            Finding(
                rule_id=str(r.get("rule_id", "")),
                severity=str(r.get("severity", "")),
                explanation=str(r.get("explanation", "")),
                question_id=r.get("question_id") if isinstance(r.get("question_id"), str) else None,
            )
            for r in escalation.reasons
            if isinstance(r, dict)
        ],
        patient_words=escalation.patient_words,
        assignee=emails.get(escalation.assignee_id) if escalation.assignee_id else None,
        ladder_level=escalation.ladder_level,
        ack_deadline=escalation.ack_deadline,
        created_at=escalation.created_at,
        acked_at=escalation.acked_at,
        resolved_at=escalation.resolved_at,
        notes=[str(n.get("text", "")) for n in escalation.notes if isinstance(n, dict)],
    )


async def _emails(call: Call) -> dict[int, str]:
    return {m.id: m.email for m in await records.managers(call.session, active=False)}


async def list_escalations(call: Call) -> Response:
    status = call.query_choice("status", list(STATUS_FILTERS), "active")
    manager = call.query_int("manager_id", 0, 0, MAX_ID)
    items = await queue.queue(
        call.session,
        call.actor,
        call.now,
        manager_id=manager or None,
        statuses=STATUS_FILTERS[status],
        limit=call.query_int("limit", 200, 1, 500),
    )
    await audit.record_reads(
        call.session, call.actor, call.now, "patient.listed", [i.patient.id for i in items]
    )
    emails = await _emails(call)
    return ok([_out(i.escalation, i.patient, emails) for i in items])


async def get_escalation(call: Call) -> Response:
    escalation = await call.access.escalation(call.path_id("escalation_id"))
    return await _respond(call, escalation, "escalation.viewed")


async def _respond(call: Call, escalation: Escalation, action: str) -> Response:
    patient = await call.session.get(Patient, escalation.patient_id)
    assert patient is not None
    if action:
        await audit.record_reads(call.session, call.actor, call.now, action, [patient.id])
    return ok(_out(escalation, patient, await _emails(call)))


def _after(call: Call, applied: Applied) -> Callable[[], Awaitable[None]]:
    runtime = call.server.runtime

    async def run() -> None:
        try:
            await runtime.after_commit(applied)
        except Exception:  # the Telegram alerts only stay unedited
            log.warning("could not update the alerts of an escalation", exc_info=True)

    return run


async def acknowledge(call: Call) -> Response:
    applied = Applied()
    escalation = await queue.acknowledge(
        call.session, call.actor, call.now, call.path_id("escalation_id"), applied
    )
    call.later(_after(call, applied))
    return await _respond(call, escalation, "")


async def resolve(call: Call) -> Response:
    body = await call.body(ResolveIn, required=False)
    applied = Applied()
    escalation = await queue.resolve(
        call.session, call.actor, call.now, call.path_id("escalation_id"), body.note, applied
    )
    call.later(_after(call, applied))
    return await _respond(call, escalation, "")
