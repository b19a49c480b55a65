"""The REST API: bearer tokens, every endpoint, JSON errors (authorization: tests/dashboard)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.server import Server
from outreach.clock import ManualClock
from storage.models import ApiToken, AuditLog, CheckIn
from storage.repositories import Repositories
from storage.repositories.api_tokens import ApiTokenRepository
from tests.dashboard.team import Team, team_app

NEW = {
    "external_id": "API-7",
    "name": "Rosa Diaz",
    "phone": "+1 202 555 0155",
    "timezone": "America/New_York",
    "language": "es",
    "channel": "sms",
    "program": "general",
    "care_manager": "bob@example.org",
    "consent": True,
}


@pytest.fixture
async def api(server: Server, team: Team) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=team_app(server)), base_url="http://testserver"
    ) as client:
        yield client


def auth(team: Team, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {team.tokens[who]}"}


async def test_tokens(
    api: httpx.AsyncClient, team: Team, server: Server, clock: ManualClock
) -> None:
    assert (await api.get("/api/v1/patients")).status_code == 401
    bad = await api.get("/api/v1/patients", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")
    assert bad.json() == {"error": "the token is not valid", "detail": []}
    basic = await api.get("/api/v1/patients", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert (await api.get("/api/v1/patients", headers=auth(team, "bob"))).status_code == 200
    async with server.db.transaction() as session:
        row = await ApiTokenRepository(session).authenticate(team.tokens["bob"])
        assert row is not None
        assert row.token_hash != team.tokens["bob"] and len(row.token_hash) == 64  # sha256
        await ApiTokenRepository(session).revoke(row.id, clock.now())
    assert (await api.get("/api/v1/patients", headers=auth(team, "bob"))).status_code == 401
    async with server.db.transaction() as session:
        await Repositories(session).managers.set_active(team.alice, False)
    assert (await api.get("/api/v1/patients", headers=auth(team, "alice"))).status_code == 401
    async with server.db.session() as session:
        assert await session.scalar(select(ApiToken.id).where(ApiToken.token_hash == "")) is None


async def test_patients_crud(api: httpx.AsyncClient, team: Team, server: Server) -> None:
    bob = auth(team, "bob")
    created = await api.post("/api/v1/patients", json=NEW, headers=bob)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phone"] == "+12025550155" and body["care_manager"] == "bob@example.org"
    assert body["programs"] == ["general"] and body["status"] == "active"
    again = await api.post("/api/v1/patients", json=NEW, headers=bob)
    assert again.status_code == 409
    invalid = await api.post(
        "/api/v1/patients",
        json={**NEW, "external_id": "X", "timezone": "Nowhere/Land"},
        headers=bob,
    )
    assert invalid.status_code == 422 and any("time zone" in d for d in invalid.json()["detail"])
    extra = await api.post("/api/v1/patients", json={**NEW, "ssn": "1"}, headers=bob)
    assert extra.status_code == 422 and extra.json()["detail"] == [
        "ssn: Extra inputs are not permitted"
    ]
    nul = await api.post("/api/v1/patients", json={**NEW, "name": "a\x00b"}, headers=bob)
    assert nul.status_code == 422
    garbage = await api.post(
        "/api/v1/patients",
        content=b"{not json",
        headers={**bob, "content-type": "application/json"},
    )
    assert garbage.status_code == 400

    got = await api.get("/api/v1/patients/API-7", headers=bob)
    assert got.status_code == 200 and got.json()["name"] == "Rosa Diaz"
    patched = await api.patch(
        "/api/v1/patients/API-7", json={"name": "Rosa Díaz", "baseline_weight": "150"}, headers=bob
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Rosa Díaz" and patched.json()["baseline"] == {"weight": 150.0}
    listed = (await api.get("/api/v1/patients?q=ros&limit=1", headers=bob)).json()
    assert listed["total"] == 1 and listed["items"][0]["external_id"] == "API-7"
    assert (await api.get("/api/v1/patients?limit=0", headers=bob)).status_code == 422
    assert (await api.get("/api/v1/patients/nobody", headers=bob)).status_code == 404


async def test_enrolments_checkins_and_contact_log(
    api: httpx.AsyncClient, team: Team, server: Server
) -> None:
    alice = auth(team, "alice")
    enrolments = (await api.get("/api/v1/patients/PA1/enrollments", headers=alice)).json()
    assert [(e["program"], e["cadence_day"], e["paused"]) for e in enrolments] == [
        ("general", "20", False)
    ]
    moved = await api.put(
        "/api/v1/patients/PA1/enrollments",
        json={"program": "heart_failure", "cadence_day": "every 14 days", "paused": True},
        headers=alice,
    )
    assert moved.status_code == 200, moved.text
    assert [(e["program"], e["cadence_day"], e["paused"]) for e in moved.json()] == [
        ("heart_failure", "every 14 days", True)
    ]
    resumed = await api.put(
        "/api/v1/patients/PA1/enrollments", json={"paused": False}, headers=alice
    )
    assert resumed.json()[0]["paused"] is False

    started = await api.post("/api/v1/patients/PA1/checkins", json={}, headers=alice)
    assert started.status_code == 202 and started.json() == {"status": "started", "patient": "PA1"}
    busy = await api.post("/api/v1/patients/PA1/checkins", json={}, headers=alice)
    assert busy.status_code == 409 and "in progress" in busy.json()["error"]
    checkins = (await api.get("/api/v1/patients/PA1/checkins", headers=alice)).json()
    assert checkins[0]["manual"] and checkins[0]["status"] == "in_progress"
    log = (await api.get("/api/v1/patients/PA1/messages", headers=alice)).json()
    assert log and log[0]["direction"] == "out" and log[0]["kind"] == "question"


async def test_escalations(api: httpx.AsyncClient, team: Team, server: Server) -> None:
    bob = auth(team, "bob")
    queue = (await api.get("/api/v1/escalations", headers=bob)).json()
    assert [e["id"] for e in queue] == [team.escalation_b]
    assert queue[0]["patient"] == "PB1" and queue[0]["patient_words"] == "my chest hurts"
    assert (await api.get("/api/v1/escalations?status=bogus", headers=bob)).status_code == 422
    one = await api.get(f"/api/v1/escalations/{team.escalation_b}", headers=bob)
    assert one.status_code == 200 and one.json()["status"] == "open"
    acked = await api.post(f"/api/v1/escalations/{team.escalation_b}/ack", headers=bob)
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    twice = await api.post(f"/api/v1/escalations/{team.escalation_b}/ack", headers=bob)
    assert twice.status_code == 409
    resolved = await api.post(
        f"/api/v1/escalations/{team.escalation_b}/resolve", json={"note": "Seen."}, headers=bob
    )
    assert resolved.json()["status"] == "resolved" and resolved.json()["notes"] == ["Seen."]
    assert (await api.get("/api/v1/escalations", headers=bob)).json() == []
    done = (await api.get("/api/v1/escalations?status=resolved", headers=bob)).json()
    assert [e["id"] for e in done] == [team.escalation_b]
    huge = await api.get("/api/v1/escalations/99999999999999999999999", headers=bob)
    assert huge.status_code == 404


async def test_api_reads_are_audited(api: httpx.AsyncClient, team: Team, server: Server) -> None:
    await api.get("/api/v1/patients/PB1", headers=auth(team, "bob"))
    async with server.db.session() as session:
        row = await session.scalar(
            select(AuditLog).where(
                AuditLog.patient_id == team.pb1, AuditLog.action == "patient.viewed"
            )
        )
    assert row is not None and (row.actor_type, row.actor_id) == ("api", team.bob)
    assert row.detail["via"] == "api" and isinstance(row.detail["token_id"], int)


async def test_fhir_export(api: httpx.AsyncClient, team: Team, server: Server) -> None:
    one = await api.get("/api/v1/export/fhir?patient=PA1", headers=auth(team, "alice"))
    assert one.status_code == 200, one.text
    bundles = one.json()
    assert len(bundles) == 1 and bundles[0]["resourceType"] == "Bundle"
    assert (await api.get("/api/v1/export/fhir", headers=auth(team, "alice"))).status_code == 403
    everyone = (await api.get("/api/v1/export/fhir", headers=auth(team, "sam"))).json()
    assert len(everyone) == 3
    bad = await api.get("/api/v1/export/fhir?since=yesterday", headers=auth(team, "sam"))
    assert bad.status_code == 422
    async with server.db.session() as session:
        exported = set(
            await session.scalars(
                select(AuditLog.patient_id).where(AuditLog.action == "patient.exported")
            )
        )
    assert exported == {team.pa1, team.pb1, team.pb2}


async def test_a_checkin_outside_legal_hours_needs_force(
    api: httpx.AsyncClient, team: Team, clock: ManualClock, server: Server
) -> None:
    clock.advance(timedelta(hours=13))  # 23:00 in New York
    alice = auth(team, "alice")
    refused = await api.post("/api/v1/patients/PA1/checkins", json={}, headers=alice)
    assert refused.status_code == 409 and "--force" in refused.json()["error"]
    forced = await api.post("/api/v1/patients/PA1/checkins", json={"force": True}, headers=alice)
    assert forced.status_code == 202
    async with server.db.session() as session:
        assert await session.scalar(select(CheckIn.id).where(CheckIn.patient_id == team.pa1))
