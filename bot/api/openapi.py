"""The OpenAPI 3.1 document of ``/api/v1``, built from the pydantic models (JSON Schema 2020-12,
which OpenAPI 3.1 uses as is)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bot.api import schemas
from bot.api.schemas import NO_CONTROL
from bot.api.web import MAX_ID
from bot.dashboard.records import STATUSES

REF = "#/components/schemas/{model}"
MODELS: tuple[type[BaseModel], ...] = (
    schemas.PatientIn,
    schemas.PatientPatch,
    schemas.PatientOut,
    schemas.PatientList,
    schemas.EnrollmentIn,
    schemas.EnrollmentOut,
    schemas.CheckInOut,
    schemas.CheckInNowIn,
    schemas.CheckInStarted,
    schemas.MessageOut,
    schemas.EscalationOut,
    schemas.ResolveIn,
    schemas.Error,
)
ERRORS = {
    "400": "The body is not JSON",
    "401": "No or bad bearer token",
    "403": "Not allowed for this user (e.g. a patient readable through the escalation ladder only)",
    "404": "Unknown, or outside the user's panel",
    "409": "Conflicts with the current state",
    "413": "The body is too large",
    "422": "Invalid fields",
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=name)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _operation(
    summary: str,
    ok: tuple[str, dict[str, Any]],
    *,
    body: str | None = None,
    body_required: bool = True,
    parameters: list[dict[str, Any]] | None = None,
    errors: tuple[str, ...] = ("401", "403", "404", "422"),
    tag: str = "patients",
) -> dict[str, Any]:
    status, schema = ok
    responses: dict[str, Any] = {status: {"description": "OK", **_json(schema)}}
    for code in (*errors, "400", "413") if body else errors:
        responses[code] = {"description": ERRORS[code], **_json(_ref("Error"))}
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": body_required, **_json(_ref(body))}
    return operation


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


TEXT_100 = {"type": "string", "maxLength": 100, "pattern": NO_CONTROL}
EXTERNAL_ID = _path_param(
    "external_id", {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_CONTROL}
)
ESCALATION_ID = _path_param("escalation_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID})
LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 200})
LIST = {"type": "array"}


def _array(name: str) -> dict[str, Any]:
    return {**LIST, "items": _ref(name)}


def build_openapi() -> dict[str, Any]:
    """The document (a dict, served as is at ``/openapi.json``)."""
    components: dict[str, Any] = {}
    for model in MODELS:
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    patient = "/api/v1/patients/{external_id}"
    escalation = "/api/v1/escalations/{escalation_id}"
    paths: dict[str, Any] = {
        "/api/v1/patients": {
            "get": _operation(
                "Patients the user may read, by name; search and filters",
                ("200", _ref("PatientList")),
                parameters=[
                    _query("q", TEXT_100, "Name, external id, phone"),
                    _query("program", {**TEXT_100, "maxLength": 64}),
                    _query("manager_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
                    _query("status", {"type": "string", "enum": list(STATUSES)}),
                    _query("contact", {"type": "string", "enum": ["7d", "30d", "quiet30"]}),
                    LIMIT,
                    _query("offset", {"type": "integer", "minimum": 0, "maximum": 1000000}),
                ],
                errors=("401", "422"),
            ),
            "post": _operation(
                "Enrol a patient",
                ("201", _ref("PatientOut")),
                body="PatientIn",
                errors=("401", "403", "409", "422"),
            ),
        },
        patient: {
            "parameters": [EXTERNAL_ID],
            "get": _operation("One patient", ("200", _ref("PatientOut")), errors=("401", "404")),
            "patch": _operation(
                "Change a patient",
                ("200", _ref("PatientOut")),
                body="PatientPatch",
                errors=("401", "403", "404", "409", "422"),
            ),
        },
        patient + "/enrollments": {
            "parameters": [EXTERNAL_ID],
            "get": _operation(
                "The patient's enrolments", ("200", _array("EnrollmentOut")), errors=("401", "404")
            ),
            "put": _operation(
                "Change program and cadence, pause or resume outreach",
                ("200", _array("EnrollmentOut")),
                body="EnrollmentIn",
                errors=("401", "403", "404", "409", "422"),
            ),
        },
        patient + "/checkins": {
            "parameters": [EXTERNAL_ID],
            "get": _operation(
                "The patient's check-ins with answers, newest first",
                ("200", _array("CheckInOut")),
                parameters=[LIMIT],
                errors=("401", "404", "422"),
            ),
            "post": _operation(
                "Send a check-in now (a manual occurrence)",
                ("202", _ref("CheckInStarted")),
                body="CheckInNowIn",
                body_required=False,
                errors=("401", "403", "404", "409", "422"),
            ),
        },
        patient + "/messages": {
            "parameters": [EXTERNAL_ID],
            "get": _operation(
                "The contact log: every message in and out, newest first",
                ("200", _array("MessageOut")),
                parameters=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 500})],
                errors=("401", "404", "422"),
            ),
        },
        "/api/v1/escalations": {
            "get": _operation(
                "The escalation queue: most severe first, then oldest",
                ("200", _array("EscalationOut")),
                parameters=[
                    _query(
                        "status",
                        {"type": "string", "enum": ["active", "open", "acknowledged", "resolved"]},
                    ),
                    _query("manager_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                ],
                errors=("401", "422"),
                tag="escalations",
            ),
        },
        escalation: {
            "parameters": [ESCALATION_ID],
            "get": _operation(
                "One escalation",
                ("200", _ref("EscalationOut")),
                errors=("401", "404"),
                tag="escalations",
            ),
        },
        escalation + "/ack": {
            "parameters": [ESCALATION_ID],
            "post": _operation(
                "Acknowledge an open escalation",
                ("200", _ref("EscalationOut")),
                errors=("401", "404", "409"),
                tag="escalations",
            ),
        },
        escalation + "/resolve": {
            "parameters": [ESCALATION_ID],
            "post": _operation(
                "Resolve an escalation, with a note",
                ("200", _ref("EscalationOut")),
                body="ResolveIn",
                body_required=False,
                errors=("401", "404", "409", "422"),
                tag="escalations",
            ),
        },
    }
    paths["/api/v1/export/fhir"] = {
        "get": _operation(
            "FHIR R4B Bundles (Patient, QuestionnaireResponse, Communication, Flag)",
            ("200", {"type": "array", "items": {"type": "object"}}),
            parameters=[
                _query("patient", {**TEXT_100, "maxLength": 64}, "External id"),
                _query("since", {"type": "string", "format": "date-time", "maxLength": 64}),
            ],
            errors=("401", "403", "404", "422"),
            tag="export",
        )
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "carebot care-team API",
            "version": "1",
            "description": "Bearer tokens are created by admins in the dashboard (API tokens). "
            "A token acts with its user's permissions (bot.access).",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
