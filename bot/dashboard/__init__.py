"""The care-team dashboard (SPEC §10, §11): server-rendered pages under ``/dashboard``.

``dashboard_routes(server)`` returns the routes to mount in ``bot/app.py``. The pages use the
policy of :mod:`bot.access`, write an audit row for every patient shown, and need no JavaScript.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.dashboard import admin, escalations, patient_actions, patients
from bot.dashboard.login import Login
from bot.dashboard.web import PREFIX, Dashboard, Page
from bot.server import Server

STATIC = Path(__file__).parent / "static"
POST = ["POST"]


def idle_timeout(server: Server) -> timedelta:
    """``DASHBOARD_IDLE_MINUTES`` (default 30)."""
    return timedelta(minutes=server.settings.dashboard_idle_minutes)


async def _to_dashboard(request: Request) -> Response:
    return RedirectResponse(PREFIX + "/escalations", status_code=303)


async def _home(page: Page) -> Response:
    return page.redirect("/escalations")


def dashboard_routes(server: Server, *, idle: timedelta | None = None) -> list[BaseRoute]:
    """Every dashboard route; ``idle`` overrides the idle timeout (tests)."""
    dashboard = Dashboard(server, idle or idle_timeout(server))
    login = Login(dashboard)
    page = dashboard.page
    p = PREFIX
    patient = p + "/patients/{external_id}"
    return [
        Route("/", _to_dashboard, methods=["GET"]),
        Route(p, _to_dashboard, methods=["GET"]),
        Route(p + "/", page(_home), methods=["GET"]),
        Route(p + "/login", login.form, methods=["GET"]),
        Route(p + "/login", login.submit, methods=POST),
        Route(p + "/logout", login.logout, methods=POST),
        Route(p + "/escalations", page(escalations.queue_page), methods=["GET"]),
        Route(
            p + "/escalations/{escalation_id:int}/ack", page(escalations.acknowledge), methods=POST
        ),
        Route(
            p + "/escalations/{escalation_id:int}/resolve", page(escalations.resolve), methods=POST
        ),
        Route(p + "/patients", page(patients.patient_list), methods=["GET"]),
        Route(p + "/patients/new", page(patients.new_patient), methods=["GET"]),
        Route(p + "/patients/new", page(patients.create_patient), methods=POST),
        Route(patient, page(patients.patient_page), methods=["GET"]),
        Route(patient + "/edit", page(patients.edit_patient), methods=["GET"]),
        Route(patient + "/edit", page(patients.update_patient), methods=POST),
        Route(patient + "/checkin", page(patient_actions.checkin_now), methods=POST),
        Route(patient + "/pause", page(patient_actions.pause), methods=POST),
        Route(patient + "/resume", page(patient_actions.resume), methods=POST),
        Route(patient + "/reply", page(patient_actions.reply), methods=POST),
        Route(patient + "/family", page(patient_actions.add_family), methods=POST),
        Route(
            patient + "/family/{contact_id:int}/remove",
            page(patient_actions.remove_family),
            methods=POST,
        ),
        Route(patient + "/consent/revoke", page(patient_actions.revoke_consent), methods=POST),
        Route(patient + "/invite", page(patients.invite), methods=POST),
        Route(p + "/users", page(admin.users), methods=["GET"]),
        Route(p + "/users", page(admin.create_user), methods=POST),
        Route(p + "/users/{manager_id:int}/password", page(admin.reset_password), methods=POST),
        Route(p + "/users/{manager_id:int}/active", page(admin.set_active), methods=POST),
        Route(p + "/tokens", page(admin.tokens), methods=["GET"]),
        Route(p + "/tokens", page(admin.create_token), methods=POST),
        Route(p + "/tokens/{token_id:int}/revoke", page(admin.revoke_token), methods=POST),
        Route(p + "/rota", page(admin.rota), methods=["GET"]),
        Route(p + "/rota", page(admin.save_rota), methods=POST),
        Route(p + "/report", page(admin.report), methods=["GET"]),
        Mount(p + "/static", StaticFiles(directory=STATIC), name="dashboard_static"),
    ]


__all__ = ["dashboard_routes"]
