"""``GET /api/v1/export/fhir``: FHIR R4B Bundles from ``bot.export`` — one patient the user may
read (``?patient=``), or every patient for supervisors and admins, at most MAX_BUNDLES per call
(``carebot export fhir`` writes the whole panel to files)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.responses import Response

from bot.access import Forbidden
from bot.api.web import BadRequest, Call, ok
from bot.dashboard import audit
from bot.export import fhir_bundles

MAX_BUNDLES = 500
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
PATIENT_PREFIX = "cb-pat-"


def _since(call: Call) -> datetime | None:
    """``since``: an RFC 3339 date-time with an offset (``2026-03-01T00:00:00Z``)."""
    if not call.has_query("since"):
        return None
    text = call.query("since", max_length=64)
    if not RFC3339.fullmatch(text):
        raise BadRequest(422, "since must be an RFC 3339 time such as 2026-03-01T00:00:00Z")
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(422, "since is not a valid time") from None


def _patient_pk(bundle: dict[str, Any]) -> int | None:
    entries = bundle.get("entry") or []
    resource = entries[0].get("resource", {}) if entries else {}
    ident = str(resource.get("id", ""))
    suffix = ident.removeprefix(PATIENT_PREFIX)
    return int(suffix) if ident.startswith(PATIENT_PREFIX) and suffix.isdigit() else None


async def export_fhir(call: Call) -> Response:
    external_id = call.query("patient", max_length=64)
    since = _since(call)
    if external_id:
        await call.access.patient(external_id)
    elif not call.actor.sees_all:
        raise Forbidden("care managers export one patient at a time: add ?patient=<external id>")
    server, actor, now = call.server, call.actor, call.now

    async def run() -> Response:
        bundles: list[dict[str, Any]] = []
        async for bundle in fhir_bundles(
            server.db,
            patient_external_id=external_id or None,
            since=since,
            programs=server.runtime.programs,
            base_url=server.settings.public_base_url + "/fhir",
            clock=server.runtime.clock,
        ):
            bundles.append(bundle)
            if len(bundles) >= MAX_BUNDLES:
                break
        exported = [pk for pk in map(_patient_pk, bundles) if pk is not None]
        async with server.db.transaction() as session:
            await audit.record_reads(session, actor, now, "patient.exported", exported)
        response = ok(bundles)
        if len(bundles) >= MAX_BUNDLES and not external_id:
            response.headers["X-Carebot-Truncated"] = "true"
        return response

    call.later(run)
    return ok([])
