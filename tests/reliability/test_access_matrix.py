"""The authorization matrix (SPEC §10, §11; the policy in ``bot/access.py``): every role ×
resource × action through the REST API on PostgreSQL, and the dashboard-only permissions through
``bot.access`` itself. Outcomes: allowed (any answer past the access check: 2xx, 409, 422),
hidden (404: outside the actor's scope, ids do not leak), forbidden (403: readable, not
changeable), unauthenticated (401).

The team: nurse A (panel: patient PA), nurse B (panel: PB), nurse C (no panel, alerted as B's
backup for PB's open escalation: a ladder grant), a supervisor, an admin; and tokens that are
revoked or belong to a deactivated manager.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from bot.access import Access, Actor, Forbidden
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import CareManager, Escalation, Notification, Patient
from storage.repositories.api_tokens import ApiTokenRepository
from tests.conftest import FIXED_NOW
from tests.fakes import FakeTelegram, FakeTwilio
from tests.reliability.figures import record
from tests.reliability.inproc import InProcess, in_process

pytestmark = pytest.mark.postgres

ROLES = ("nurse_a", "nurse_b", "ladder_c", "supervisor", "admin", "revoked", "inactive", "none")
ALLOWED, HIDDEN, FORBIDDEN, UNAUTHENTICATED = "allowed", "hidden", "forbidden", "401"
A, H, F, U = ALLOWED, HIDDEN, FORBIDDEN, UNAUTHENTICATED

# action → expected outcome per role, in ROLES order:
#                                 nurse_a nurse_b ladder_c supervisor admin revoked inactive none
MATRIX: dict[tuple[str, str], tuple[str, ...]] = {
    ("read", "patient PA"): (A, H, H, A, A, U, U, U),
    ("read", "patient PB"): (H, A, A, A, A, U, U, U),
    ("read messages", "patient PA"): (A, H, H, A, A, U, U, U),
    ("read messages", "patient PB"): (H, A, A, A, A, U, U, U),
    ("read check-ins", "patient PB"): (H, A, A, A, A, U, U, U),
    ("read enrollments", "patient PB"): (H, A, A, A, A, U, U, U),
    ("edit", "patient PA"): (A, H, H, A, A, U, U, U),
    ("edit", "patient PB"): (H, A, F, A, A, U, U, U),
    ("change enrollment", "patient PB"): (H, A, F, A, A, U, U, U),
    ("start check-in", "patient PB"): (H, A, F, A, A, U, U, U),
    ("read", "escalation EA"): (A, H, H, A, A, U, U, U),
    ("read", "escalation EB"): (H, A, A, A, A, U, U, U),
    ("acknowledge", "escalation EA"): (A, H, H, A, A, U, U, U),
    ("acknowledge", "escalation EB"): (H, A, A, A, A, U, U, U),
    ("read", "unknown patient"): (H, H, H, H, H, U, U, U),
    # bot/api/export.py: care managers export one patient at a time.
    ("export FHIR", "everyone"): (F, F, F, A, A, U, U, U),
    ("export FHIR", "patient PB"): (H, A, A, A, A, U, U, U),
}
LISTS = {
    # role → patients listed, escalations listed (external ids of their patients)
    "nurse_a": ({"PA"}, {"PA"}),
    "nurse_b": ({"PB"}, {"PB"}),
    "ladder_c": ({"PB"}, {"PB"}),
    "supervisor": ({"PA", "PB"}, {"PA", "PB"}),
    "admin": ({"PA", "PB"}, {"PA", "PB"}),
}
# bot.access rules the dashboard applies (no API route): admin pages, the rota, panel moves.
POLICY: dict[str, tuple[bool, ...]] = {
    #                          nurse_a nurse_b ladder_c supervisor admin
    "manage users and tokens": (False, False, False, False, True),
    "edit the on-call rota": (False, False, False, True, True),
    "assign a patient to nurse B": (False, True, False, True, True),
}


@dataclass
class Team:
    tokens: dict[str, str]
    actors: dict[str, Actor]
    escalations: dict[str, int]
    manager_ids: dict[str, int]


async def seed_team(db: Database) -> Team:
    now = FIXED_NOW
    async with db.transaction() as session:
        people = {
            "nurse_a": CareManager(email="a@example.org", name="Nurse A", role="care_manager"),
            "nurse_b": CareManager(email="b@example.org", name="Nurse B", role="care_manager"),
            "ladder_c": CareManager(email="c@example.org", name="Nurse C", role="care_manager"),
            "supervisor": CareManager(email="s@example.org", name="Sue", role="supervisor"),
            "admin": CareManager(email="adm@example.org", name="Ada", role="admin"),
            "inactive": CareManager(email="x@example.org", name="Gone", role="admin", active=False),
        }
        for manager in people.values():
            manager.created_at = now
            manager.timezone = "America/New_York"
            session.add(manager)
        await session.flush()
        patients: dict[str, Patient] = {}
        for ext, nurse in (("PA", "nurse_a"), ("PB", "nurse_b")):
            patients[ext] = Patient(
                external_id=ext,
                name=f"Patient {ext}",
                phone=f"+1202555{1000 + len(patients):04d}",
                timezone="America/New_York",
                language="en",
                channel="sms",
                care_manager_id=people[nurse].id,
                baseline={},
                status="active",
                created_at=now,
            )
            session.add(patients[ext])
        await session.flush()
        escalations = {}
        for ext, nurse in (("PA", "nurse_a"), ("PB", "nurse_b")):
            escalation = Escalation(
                patient_id=patients[ext].id,
                rule_id="general.worse",
                dedupe_key=f"{patients[ext].id}:general.worse",
                severity="urgent",
                status="open",
                reasons=[],
                assignee_id=people[nurse].id,
                ack_deadline=now,
                created_at=now,
            )
            session.add(escalation)
            await session.flush()
            escalations[f"E{ext[1]}"] = escalation.id
        session.add(
            Notification(
                kind="ladder",
                escalation_id=escalations["EB"],
                patient_id=patients["PB"].id,
                care_manager_id=people["ladder_c"].id,
                rung=1,
                created_at=now,
            )
        )
        repo = ApiTokenRepository(session)
        tokens = {}
        for role, manager in people.items():
            tokens[role], _ = await repo.create(manager.id, f"{role} token", at=now)
        tokens["revoked"], row = await repo.create(people["nurse_a"].id, "old", at=now)
        await repo.revoke(row.id, now)
        tokens["none"] = ""
        actors = {role: Actor.of(m, "dashboard") for role, m in people.items()}
        ids = {role: m.id for role, m in people.items()}
    return Team(tokens, actors, escalations, ids)


@pytest.fixture
async def api(pg: Database, pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[InProcess, Team]]:
    from bot.api import api_routes

    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        team = await seed_team(pg)
        async with in_process(pg_url, tmp_path, ManualClock(FIXED_NOW), twilio, telegram) as bot:
            transport = httpx.ASGITransport(app=Starlette(routes=api_routes(bot.server)))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                bot.client = client
                yield bot, team


def request_for(action: str, resource: str, team: Team) -> tuple[str, str, dict[str, Any]]:
    if resource.startswith("escalation"):
        path = f"/api/v1/escalations/{team.escalations[resource.split()[1]]}"
    elif resource == "everyone":
        path = "/api/v1/export/fhir"
    else:
        ext = "NOPE" if resource == "unknown patient" else resource.split()[1]
        path = f"/api/v1/patients/{ext}"
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "read": ("GET", path, {}),
        "read messages": ("GET", path + "/messages", {}),
        "read check-ins": ("GET", path + "/checkins", {}),
        "read enrollments": ("GET", path + "/enrollments", {}),
        "edit": ("PATCH", path, {"json": {"language": "es"}}),
        "change enrollment": ("PUT", path + "/enrollments", {"json": {}}),
        "start check-in": ("POST", path + "/checkins", {}),
        "acknowledge": ("POST", path + "/ack", {}),
        "export FHIR": (
            "GET",
            "/api/v1/export/fhir",
            {"params": {"patient": resource.split()[1]}} if resource != "everyone" else {},
        ),
    }
    return requests[action]


def outcome(status: int) -> str:
    return {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: HIDDEN}.get(status, ALLOWED)


async def test_the_api_authorization_matrix(api: tuple[InProcess, Team]) -> None:
    bot, team = api
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    errors: list[str] = []
    # Denials first: an acknowledgement by an allowed role changes the escalation's state.
    order = sorted(ROLES, key=lambda r: r in ("nurse_a", "nurse_b", "supervisor", "admin"))
    for (action, resource), expected in MATRIX.items():
        got = dict.fromkeys(ROLES, "")
        for role in order:
            method, path, extra = request_for(action, resource, team)
            token = team.tokens[role]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await bot.client.request(method, path, headers=headers, **extra)
            assert response.status_code != 500, (role, action, resource, response.text[:200])
            got[role] = outcome(response.status_code)
        found[(action, resource)] = tuple(got[r] for r in ROLES)
        if found[(action, resource)] != expected:
            errors.append(
                f"{action} {resource}: expected {expected}, got {found[(action, resource)]}"
            )
    assert not errors, "\n".join(errors)
    record("access_matrix", cells=len(MATRIX) * len(ROLES), roles=len(ROLES), actions=len(MATRIX))


async def test_lists_only_show_the_actors_scope(api: tuple[InProcess, Team]) -> None:
    bot, team = api
    for role, (patients, escalations) in LISTS.items():
        headers = {"Authorization": f"Bearer {team.tokens[role]}"}
        listed = (await bot.client.get("/api/v1/patients", headers=headers)).json()
        queue = (await bot.client.get("/api/v1/escalations", headers=headers)).json()
        assert {p["external_id"] for p in listed["items"]} == patients, role
        assert listed["total"] == len(patients), role
        assert {e["patient"] for e in queue} == escalations, role


async def test_a_ladder_grant_ends_with_the_escalation(
    api: tuple[InProcess, Team], pg: Database
) -> None:
    bot, team = api
    headers = {"Authorization": f"Bearer {team.tokens['ladder_c']}"}
    assert (await bot.client.get("/api/v1/patients/PB", headers=headers)).status_code == 200
    async with pg.transaction() as session:
        await session.execute(
            update(Escalation)
            .where(Escalation.id == team.escalations["EB"])
            .values(status="resolved")
        )
    assert (await bot.client.get("/api/v1/patients/PB", headers=headers)).status_code == 404


async def test_the_dashboard_only_permissions(api: tuple[InProcess, Team], pg: Database) -> None:
    _, team = api
    roles = ("nurse_a", "nurse_b", "ladder_c", "supervisor", "admin")
    async with pg.session() as session:
        for rule, expected in POLICY.items():
            got = []
            for role in roles:
                access = Access(session, team.actors[role])
                if rule == "assign a patient to nurse B":
                    got.append(access.may_assign(team.manager_ids["nurse_b"]))
                    continue
                check = (
                    access.require_admin
                    if rule.startswith("manage")
                    else access.require_rota_editor
                )
                try:
                    check()
                except Forbidden:
                    got.append(False)
                else:
                    got.append(True)
            assert tuple(got) == expected, rule
