"""The REST API under ``/api/v1`` (SPEC §10) and its OpenAPI document at ``/openapi.json``.

Bearer tokens (``ApiToken``, stored as SHA-256 hashes) act with their user's permissions: the
same :mod:`bot.access` policy and audit rows as the dashboard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from bot.api import escalations, patients
from bot.api.export import export_fhir
from bot.api.openapi import build_openapi
from bot.api.web import Api, error
from bot.server import Server

Endpoint = Callable[[Request], Awaitable[Response]]

V1 = "/api/v1"
ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


class _Methods:
    """An ASGI endpoint per path that answers every method itself: its handlers, or a JSON 405
    whose ``Allow`` lists them all (a Starlette function route only knows its own methods)."""

    def __init__(self, handlers: dict[str, Endpoint]) -> None:
        self.handlers = handlers
        self.allowed = ", ".join(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        handler = self.handlers.get(request.method)
        if handler is None:
            response: Response = error(405, f"use {self.allowed}")
            response.headers["Allow"] = self.allowed
        else:
            response = await handler(request)
        await response(scope, receive, send)


def resource(path: str, handlers: dict[str, Endpoint]) -> Route:
    return Route(path, _Methods(handlers))


async def _unknown(request: Request) -> Response:
    return error(404, "not found")


def api_routes(server: Server) -> list[BaseRoute]:
    api = Api(server)
    e = api.endpoint
    document = build_openapi()

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    patient = V1 + "/patients/{external_id}"
    escalation = V1 + "/escalations/{escalation_id}"
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        resource(
            V1 + "/patients",
            {"GET": e(patients.list_patients), "POST": e(patients.create_patient)},
        ),
        resource(patient, {"GET": e(patients.get_patient), "PATCH": e(patients.update_patient)}),
        resource(
            patient + "/enrollments",
            {"GET": e(patients.list_enrollments), "PUT": e(patients.update_enrollment)},
        ),
        resource(
            patient + "/checkins",
            {"GET": e(patients.list_checkins), "POST": e(patients.start_checkin)},
        ),
        resource(patient + "/messages", {"GET": e(patients.contact_log)}),
        resource(V1 + "/escalations", {"GET": e(escalations.list_escalations)}),
        resource(escalation, {"GET": e(escalations.get_escalation)}),
        resource(escalation + "/ack", {"POST": e(escalations.acknowledge)}),
        resource(escalation + "/resolve", {"POST": e(escalations.resolve)}),
        resource(V1 + "/export/fhir", {"GET": e(export_fhir)}),
        Route(V1 + "/{rest:path}", _Methods(dict.fromkeys(ANY_METHOD, _unknown))),
    ]


__all__ = ["api_routes"]
