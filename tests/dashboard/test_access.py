"""Per-panel access (SPEC §10, §11, §7): through pages and the API alike, a care manager reads
and acts on their own panel and the escalations whose ladder includes them; nothing else leaks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import select

from bot.server import Server
from outreach.clock import ManualClock
from storage.models import AuditLog, CheckIn, Escalation
from tests.dashboard.team import Browser, Team

BrowserFor = Callable[[str], Awaitable[Browser]]


def section(response: httpx.Response, element_id: str) -> str:
    """The element with that id (the results, not the search box echoing the term)."""
    text = response.text
    start = text.index(f'id="{element_id}"')
    return text[start : text.index("</table>", start)]


def bearer(team: Team, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {team.tokens[who]}"}


async def _status(server: Server, escalation_id: int) -> str:
    async with server.db.session() as session:
        escalation = await session.get(Escalation, escalation_id)
        assert escalation is not None
        return escalation.status


async def test_a_manager_sees_only_their_panel_in_lists_and_search(
    browser_for: BrowserFor, team: Team
) -> None:
    alice = await browser_for("alice")
    listing = await alice.get("/dashboard/patients")
    assert listing.status_code == 200
    assert "Ana Alvarez" in listing.text
    assert "Bea Barnes" not in listing.text and "Ben Bishop" not in listing.text
    for term in ("Bea", "PB1", "Barnes", "+1202555012"):
        found = section(await alice.get("/dashboard/patients", params={"q": term}), "patients")
        assert "Bea Barnes" not in found and "PB1" not in found, term
    by_manager = await alice.get("/dashboard/patients", params={"manager": str(team.bob)})
    assert "Bea Barnes" not in by_manager.text and "(0)" in by_manager.text
    queue = await alice.get("/dashboard/escalations")
    assert "Pain rose to 8/10" in queue.text
    assert "Bea Barnes" not in queue.text and "my chest hurts" not in queue.text


async def test_a_manager_cannot_read_or_act_on_another_panel(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    alice = await browser_for("alice")
    page = await alice.get("/dashboard/patients/PB1")
    assert page.status_code == 404 and "Bea" not in page.text
    assert (await alice.get("/dashboard/patients/PB1/edit")).status_code == 404
    ack = await alice.post(f"/dashboard/escalations/{team.escalation_b}/ack")
    assert ack.status_code == 404
    resolve = await alice.post(
        f"/dashboard/escalations/{team.escalation_b}/resolve", {"note": "not mine"}
    )
    assert resolve.status_code == 404
    assert await _status(server, team.escalation_b) == "open"
    for action in ("checkin", "pause", "invite"):
        assert (await alice.post(f"/dashboard/patients/PB1/{action}")).status_code == 404
    edit = await alice.post("/dashboard/patients/PB1/edit", {"name": "Stolen"})
    assert edit.status_code == 404
    async with server.db.session() as session:
        started = await session.scalar(select(CheckIn.id).where(CheckIn.patient_id == team.pb1))
        denied = list(
            await session.scalars(
                select(AuditLog).where(
                    AuditLog.actor_id == team.alice, AuditLog.action == "access.denied"
                )
            )
        )
    assert started is None
    assert len(denied) >= 3
    # Enrolling a patient onto someone else's panel is refused too.
    enrol = await alice.post(
        "/dashboard/patients/new",
        {
            "external_id": "PX9",
            "name": "Xavier",
            "phone": "+12025550199",
            "timezone": "America/New_York",
            "language": "en",
            "channel": "sms",
            "program": "general",
            "care_manager": "bob@example.org",
        },
    )
    assert enrol.status_code == 403


async def test_the_api_applies_the_same_policy(
    server: Server, team: Team, browser_for: BrowserFor
) -> None:
    client = (await browser_for("")).client
    alice = bearer(team, "alice")
    listed = (await client.get("/api/v1/patients", headers=alice)).json()
    assert [p["external_id"] for p in listed["items"]] == ["PA1"] and listed["total"] == 1
    searched = (await client.get("/api/v1/patients?q=Bea", headers=alice)).json()
    assert searched == {"items": [], "total": 0}
    for path in (
        "/api/v1/patients/PB1",
        "/api/v1/patients/PB1/messages",
        "/api/v1/patients/PB1/checkins",
        "/api/v1/patients/PB1/enrollments",
        f"/api/v1/escalations/{team.escalation_b}",
        "/api/v1/export/fhir?patient=PB1",
    ):
        response = await client.get(path, headers=alice)
        assert response.status_code == 404, path
        assert "Bea" not in response.text
    escalations = (await client.get("/api/v1/escalations", headers=alice)).json()
    assert [e["id"] for e in escalations] == [team.escalation_a]
    for path, body in (
        (f"/api/v1/escalations/{team.escalation_b}/ack", None),
        (f"/api/v1/escalations/{team.escalation_b}/resolve", {"note": "x"}),
        ("/api/v1/patients/PB1/checkins", {}),
    ):
        assert (await client.post(path, json=body, headers=alice)).status_code == 404, path
    patch = await client.patch("/api/v1/patients/PB1", json={"name": "Z"}, headers=alice)
    assert patch.status_code == 404
    assert await _status(server, team.escalation_b) == "open"


async def test_a_backup_alerted_on_the_ladder_can_read_and_act(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    carol = await browser_for("carol")
    listing = await carol.get("/dashboard/patients")
    assert "Bea Barnes" in listing.text
    assert "Ben Bishop" not in listing.text  # Bob's other patient: no escalation of hers
    page = await carol.get("/dashboard/patients/PB1")
    assert page.status_code == 200 and "my chest hurts" in page.text
    assert (await carol.get("/dashboard/patients/PB2")).status_code == 404
    # The ladder grants reading and acting on the escalation, not editing the record.
    assert (await carol.get("/dashboard/patients/PB1/edit")).status_code == 403
    assert (await carol.post("/dashboard/patients/PB1/checkin")).status_code == 403
    ack = await carol.post(f"/dashboard/escalations/{team.escalation_b}/ack")
    assert ack.status_code == 303
    assert await _status(server, team.escalation_b) == "acknowledged"
    api, token = carol.client, bearer(team, "carol")
    got = await api.get("/api/v1/patients/PB1", headers=token)
    assert got.status_code == 200 and got.json()["name"] == "Bea Barnes"
    resolved = await api.post(
        f"/api/v1/escalations/{team.escalation_b}/resolve",
        json={"note": "Called her; resting, GP tomorrow."},
        headers=token,
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    # Once resolved, the ladder no longer includes Carol: the record is closed to her.
    assert (await api.get("/api/v1/patients/PB1", headers=token)).status_code == 404
    assert (await carol.get("/dashboard/patients/PB1")).status_code == 404


async def test_supervisors_and_admins_see_every_panel(browser_for: BrowserFor, team: Team) -> None:
    for who in ("sam", "ada"):
        browser = await browser_for(who)
        listing = await browser.get("/dashboard/patients")
        assert all(name in listing.text for name in ("Ana Alvarez", "Bea Barnes", "Ben Bishop"))
        queue = await browser.get("/dashboard/escalations")
        assert "my chest hurts" in queue.text and "Pain rose to 8/10" in queue.text
        assert (await browser.get("/dashboard/patients/PB2/edit")).status_code == 200


async def test_admin_pages_are_for_admins(browser_for: BrowserFor, team: Team) -> None:
    alice = await browser_for("alice")
    for path in ("/dashboard/users", "/dashboard/tokens"):
        assert (await alice.get(path)).status_code == 403
    assert (await alice.post("/dashboard/rota", {"email": "alice@example.org"})).status_code == 403
    rota = await alice.get("/dashboard/rota")
    assert rota.status_code == 200 and "Save the rota" not in rota.text


async def test_reading_a_patient_page_writes_an_audit_row(
    browser_for: BrowserFor, team: Team, server: Server, clock: ManualClock
) -> None:
    alice = await browser_for("alice")
    response = await alice.get("/dashboard/patients/PA1")
    assert response.status_code == 200
    async with server.db.session() as session:
        rows = list(
            await session.scalars(
                select(AuditLog).where(
                    AuditLog.patient_id == team.pa1, AuditLog.action == "patient.viewed"
                )
            )
        )
    assert len(rows) == 1
    row = rows[0]
    assert (row.actor_type, row.actor_id, row.entity_type) == (
        "care_manager",
        team.alice,
        "patient",
    )
    assert row.at == clock.now()
    assert row.detail["via"] == "dashboard"


async def test_list_views_audit_one_row_per_patient_shown(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    sam = await browser_for("sam")
    await sam.get("/dashboard/patients")
    await sam.get("/dashboard/escalations")
    async with server.db.session() as session:
        listed = list(
            await session.execute(
                select(AuditLog.patient_id, AuditLog.detail).where(
                    AuditLog.actor_id == team.sam, AuditLog.action == "patient.listed"
                )
            )
        )
    patients_view = sorted(pid for pid, detail in listed if detail.get("view") == "patients")
    queue_view = sorted(pid for pid, detail in listed if detail.get("view") == "queue")
    assert patients_view == sorted([team.pa1, team.pb1, team.pb2])
    assert queue_view == sorted([team.pa1, team.pb1])
