"""The dashboard's pages and forms: queue, patients, enrolment, charts, rota, users, tokens,
report, check-in now and invites."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import create_app
from bot.server import Server
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import (
    AuditLog,
    CheckIn,
    Consent,
    Enrollment,
    Escalation,
    FamilyContact,
    Message,
    OncallRota,
    Patient,
)
from storage.repositories import Repositories
from tests.dashboard.team import Browser, Team, running_server, team_app

BrowserFor = Callable[[str], Awaitable[Browser]]

NEW_PATIENT = {
    "external_id": "PA2",
    "name": "Alma Ortiz",
    "phone": "(202) 555-0144",
    "timezone": "America/Chicago",
    "language": "es",
    "channel": "sms",
    "program": "heart_failure",
    "care_manager": "alice@example.org",
    "cadence_day": "first tuesday",
    "cadence_time": "11:30",
    "baseline_weight": "82 kg",
    "consent": "on",
}


async def _patient(server: Server, external_id: str) -> Patient:
    async with server.db.session() as session:
        patient = await session.scalar(select(Patient).where(Patient.external_id == external_id))
    assert patient is not None
    return patient


async def test_the_app_mounts_the_dashboard_and_the_api(server: Server, team: Team) -> None:
    browser = Browser(create_app(server))
    try:
        assert (await browser.get("/dashboard/login")).status_code == 200
        document = (await browser.client.get("/openapi.json")).json()
        assert document["openapi"].startswith("3.") and "/api/v1/patients" in document["paths"]
        root = await browser.get("/")
        assert root.status_code == 303 and root.headers["location"] == "/dashboard/escalations"
    finally:
        await browser.aclose()


async def test_the_queue_orders_by_severity_and_age_and_acts(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    sam = await browser_for("sam")
    queue = (await sam.get("/dashboard/escalations")).text
    rows = re.findall(r'data-escalation="(\d+)"', queue)
    assert rows == [str(team.escalation_b), str(team.escalation_a)]  # urgent before routine
    assert "40 min left" in queue
    only_bob = (await sam.get(f"/dashboard/escalations?manager={team.bob}")).text
    assert re.findall(r'data-escalation="(\d+)"', only_bob) == [str(team.escalation_b)]

    ack = await sam.post(f"/dashboard/escalations/{team.escalation_b}/ack")
    assert ack.status_code == 303
    open_only = (await sam.get("/dashboard/escalations?view=open")).text
    assert re.findall(r'data-escalation="(\d+)"', open_only) == [str(team.escalation_a)]
    again = await sam.post(f"/dashboard/escalations/{team.escalation_b}/ack")
    assert "is acknowledged, not open" in (await sam.get(again.headers["location"])).text

    await sam.post(
        f"/dashboard/escalations/{team.escalation_b}/resolve", {"note": "Seen in clinic."}
    )
    left = (await sam.get("/dashboard/escalations")).text
    assert re.findall(r'data-escalation="(\d+)"', left) == [str(team.escalation_a)]
    async with server.db.session() as session:
        escalation = await session.get(Escalation, team.escalation_b)
        assert escalation is not None
        assert escalation.status == "resolved" and escalation.resolved_by_id == team.sam
        assert escalation.notes[0]["text"] == "Seen in clinic."
        actions = set(
            await session.scalars(select(AuditLog.action).where(AuditLog.actor_id == team.sam))
        )
    assert {"escalation.acknowledged", "escalation.resolved"} <= actions


async def test_enrol_edit_pause_and_resume_a_patient(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    alice = await browser_for("alice")
    form = await alice.get("/dashboard/patients/new")
    assert form.status_code == 200 and "Bob Brown" not in form.text  # own panel only
    bad = await alice.post(
        "/dashboard/patients/new", {**NEW_PATIENT, "phone": "12", "timezone": "Mars/Base"}
    )
    assert bad.status_code == 422
    assert "not a valid phone number" in bad.text and "not an IANA time zone" in bad.text

    created = await alice.post("/dashboard/patients/new", NEW_PATIENT)
    assert created.status_code == 303 and created.headers["location"] == "/dashboard/patients/PA2"
    patient = await _patient(server, "PA2")
    assert (patient.phone, patient.care_manager_id, patient.baseline["weight"]) == (
        "+12025550144",
        team.alice,
        180.8,
    )
    async with server.db.session() as session:
        enrollment = await session.scalar(
            select(Enrollment).where(Enrollment.patient_id == patient.id)
        )
        consent = await session.scalar(select(Consent).where(Consent.patient_id == patient.id))
    assert enrollment is not None and consent is not None
    assert (enrollment.program_id, enrollment.cadence_day, enrollment.cadence_time) == (
        "heart_failure",
        "first tue",
        "11:30",
    )
    assert enrollment.next_due_at is not None
    assert (consent.granted, consent.source, consent.address) == (
        True,
        "dashboard",
        "tel:+12025550144",
    )
    duplicate = await alice.post("/dashboard/patients/new", NEW_PATIENT)
    assert duplicate.status_code == 422 and "in use already" in duplicate.text

    edit = await alice.get("/dashboard/patients/PA2/edit")
    assert 'value="first tue"' in edit.text
    changed = await alice.post(
        "/dashboard/patients/PA2/edit",
        {**NEW_PATIENT, "cadence_day": "weekly monday", "name": "Alma Ortiz Ruiz"},
    )
    assert changed.status_code == 303
    assert (await _patient(server, "PA2")).name == "Alma Ortiz Ruiz"

    assert (await alice.post("/dashboard/patients/PA2/pause")).status_code == 303
    async with server.db.session() as session:
        paused = await session.scalar(select(Enrollment).where(Enrollment.patient_id == patient.id))
    assert paused is not None and paused.paused and paused.next_due_at is None
    assert (await _patient(server, "PA2")).status == "paused"
    await alice.post("/dashboard/patients/PA2/resume")
    assert (await _patient(server, "PA2")).status == "active"


async def test_family_contacts_and_consent(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    alice = await browser_for("alice")
    added = await alice.post(
        "/dashboard/patients/PA1/family",
        {
            "family_name": "Luis Alvarez",
            "relationship": "son",
            "family_phone": "+1 202 555 0177",
            "family_channel": "sms",
            "family_language": "es",
            "notify_escalation": "on",
            "notify_unreachable": "on",
            "family_consent": "on",
        },
    )
    assert added.status_code == 303
    async with server.db.session() as session:
        contact = await session.scalar(
            select(FamilyContact).where(FamilyContact.patient_id == team.pa1)
        )
        assert contact is not None
        assert (contact.address, contact.notify_on) == (
            "tel:+12025550177",
            ["escalation", "unreachable"],
        )
        grant = await session.scalar(select(Consent).where(Consent.family_contact_id == contact.id))
    assert grant is not None and grant.scope == "escalation;unreachable"
    page = (await alice.get("/dashboard/patients/PA1")).text
    assert "Luis Alvarez" in page
    revoked = await alice.post(
        "/dashboard/patients/PA1/consent/revoke", {"channel": "sms", "address": "tel:+12025550111"}
    )
    assert revoked.status_code == 303
    assert "revoked (dashboard)" in (await alice.get("/dashboard/patients/PA1")).text
    await alice.post(f"/dashboard/patients/PA1/family/{contact.id}/remove")
    async with server.db.session() as session:
        assert await session.get(FamilyContact, contact.id) is None


async def test_send_a_checkin_now(browser_for: BrowserFor, team: Team, server: Server) -> None:
    alice = await browser_for("alice")
    started = await alice.post("/dashboard/patients/PA1/checkin")
    assert started.status_code == 303
    page = await alice.get(started.headers["location"])
    assert "Check-in started" in page.text
    async with server.db.session() as session:
        checkin = await session.scalar(select(CheckIn).where(CheckIn.patient_id == team.pa1))
    assert checkin is not None and checkin.manual and checkin.status == "in_progress"
    again = await alice.post("/dashboard/patients/PA1/checkin")
    assert "in progress" in (await alice.get(again.headers["location"])).text


async def test_patient_page_timeline_and_charts(
    browser_for: BrowserFor, team: Team, server: Server, clock: ManualClock
) -> None:
    now = clock.now()
    async with server.db.transaction() as session:
        repos = Repositories(session)
        enrollment = await session.scalar(
            select(Enrollment).where(Enrollment.patient_id == team.pa1)
        )
        assert enrollment is not None
        for months, pain in ((3, 2.0), (2, 4.0), (1, 8.0)):
            at = now - timedelta(days=30 * months)
            checkin = await repos.checkins.create(
                enrollment_id=enrollment.id,
                patient_id=team.pa1,
                program_id="general",
                occurrence_key=f"m{months}",
                scheduled_for=at,
                at=at,
                status="completed",
            )
            assert checkin is not None
            await repos.checkins.record_answer(
                checkin.id, team.pa1, "pain", raw_text=f"{pain:g}", at=at, value_num=pain
            )
        await repos.messages.log_inbound(
            channel="sms",
            address="tel:+12025550111",
            body="my knee hurts a lot",
            external_id="SM1",
            at=now - timedelta(days=30),
            patient_id=team.pa1,
        )
        await repos.messages.queue_outbound(
            channel="sms",
            address="tel:+12025550111",
            body="From 0 to 10, how bad is your pain today?",
            idempotency_key="q1",
            at=now - timedelta(days=30),
            kind="question",
            patient_id=team.pa1,
        )
    alice = await browser_for("alice")
    page = (await alice.get("/dashboard/patients/PA1")).text
    assert '<svg class="chart"' in page and 'data-chart="pain"' in page
    assert 'class="threshold" data-value="7"' in page  # the pain rules' limit
    assert page.count("<circle") >= 3
    timeline = page[page.index('id="timeline"') :]
    assert "my knee hurts a lot" in timeline and "queued" in timeline
    assert "Answer: pain = 8" in timeline and "Escalation #" in timeline
    assert "Pain rose to 8/10" in timeline


async def test_rota_editor(browser_for: BrowserFor, team: Team, server: Server) -> None:
    sam = await browser_for("sam")
    bad = await sam.post(
        "/dashboard/rota",
        {
            "email": "carol@example.org",
            "days": "funday",
            "start": "18:00",
            "end": "08:00",
            "timezone": "America/New_York",
            "rung": "oncall",
        },
    )
    assert bad.status_code == 422 and "row 1:" in bad.text
    saved = await sam.client.post(
        "/dashboard/rota",
        data={
            "csrf_token": sam.csrf,
            "email": ["carol@example.org", "sam@example.org", ""],
            "days": ["mon-fri", "sat;sun", ""],
            "start": ["18:00", "00:00", ""],
            "end": ["08:00", "23:59", ""],
            "timezone": ["America/New_York", "America/New_York", ""],
            "rung": ["oncall", "supervisor", "oncall"],
        },
    )
    assert saved.status_code == 303
    async with server.db.session() as session:
        rows = list(await session.scalars(select(OncallRota).order_by(OncallRota.id)))
    assert [(r.care_manager_id, r.days, r.rung) for r in rows] == [
        (team.carol, "mon-fri", "oncall"),
        (team.sam, "sat;sun", "supervisor"),
    ]
    page = (await sam.get("/dashboard/rota")).text
    assert 'value="mon-fri"' in page and "Save the rota" in page


async def test_users_and_api_tokens(browser_for: BrowserFor, team: Team, server: Server) -> None:
    ada = await browser_for("ada")
    short = await ada.post(
        "/dashboard/users",
        {"email": "dan@example.org", "name": "Dan", "role": "care_manager", "password": "short"},
    )
    assert short.status_code == 422 and "at least 12 characters" in short.text
    created = await ada.post(
        "/dashboard/users",
        {
            "email": "dan@example.org",
            "name": "Dan Diaz",
            "role": "care_manager",
            "phone": "202 555 0188",
            "timezone": "America/Chicago",
            "backup": str(team.carol),
            "password": "a long enough passphrase",
        },
    )
    assert created.status_code == 303
    async with server.db.session() as session:
        repos = Repositories(session)
        dan = await repos.managers.by_email("dan@example.org")
    assert dan is not None and dan.backup_id == team.carol and dan.phone == "+12025550188"
    assert dan.password_hash and dan.password_hash.startswith("$argon2id$")

    page = await ada.post("/dashboard/tokens", {"manager_id": str(dan.id), "name": "EHR sync"})
    token = re.search(r'<code id="new-token">([^<]+)</code>', page.text)
    assert page.status_code == 200 and token is not None
    listing = await ada.client.get(
        "/api/v1/patients", headers={"Authorization": f"Bearer {token[1]}"}
    )
    assert listing.status_code == 200 and listing.json()["total"] == 0  # Dan's panel is empty
    assert token[1] not in (await ada.get("/dashboard/tokens")).text  # shown once
    token_id = re.findall(r"/dashboard/tokens/(\d+)/revoke", page.text)[-1]
    await ada.post(f"/dashboard/tokens/{token_id}/revoke")
    denied = await ada.client.get(
        "/api/v1/patients", headers={"Authorization": f"Bearer {token[1]}"}
    )
    assert denied.status_code == 401

    assert (
        await ada.post(f"/dashboard/users/{team.ada}/active", {"active": "0"})
    ).status_code == 303
    async with server.db.session() as session:
        me = await Repositories(session).managers.get(team.ada)
    assert me is not None and me.active  # nobody deactivates themselves


async def test_panel_report(
    browser_for: BrowserFor, team: Team, server: Server, clock: ManualClock
) -> None:
    now = clock.now()
    async with server.db.transaction() as session:
        repos = Repositories(session)
        enrollment = await session.scalar(
            select(Enrollment).where(Enrollment.patient_id == team.pb1)
        )
        assert enrollment is not None
        for key, status in (("a", "completed"), ("b", "missed"), ("c", "completed")):
            checkin = await repos.checkins.create(
                enrollment_id=enrollment.id,
                patient_id=team.pb1,
                program_id="general",
                occurrence_key=key,
                scheduled_for=now - timedelta(hours=5),
                at=now,
                status=status,
            )
            assert checkin is not None
            checkin.started_at = now - timedelta(hours=5)
            checkin.completed_at = now - timedelta(hours=1)
        await repos.escalations.acknowledge(team.escalation_b, team.bob, now)
    sam = await browser_for("sam")
    page = (await sam.get("/dashboard/report")).text
    bob_row = page[page.index("<td>Bob Brown</td>") :].split("</tr>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", bob_row)
    # manager, patients, sent, completed, missed, completion, open escalations, median ack
    assert cells == ["Bob Brown", "2", "3", "2", "1", "67%", "1", "20 min"]
    assert page.count("<svg") == 2  # bot.reporting's bar charts
    alice = await browser_for("alice")
    own = (await alice.get("/dashboard/report")).text
    assert "Alice Adams" in own and "Bob Brown" not in own


async def test_telegram_invite_link(
    db: Database, clock: ManualClock, tmp_path: Path, team: Team
) -> None:
    async with running_server(
        db, clock, tmp_path / "tg", TELEGRAM_BOT_USERNAME="carebot_test_bot"
    ) as server:
        browser = Browser(team_app(server))
        try:
            browser.sign_in_as(team.ada, clock.now())
            created = await browser.post(
                "/dashboard/patients/new",
                {**NEW_PATIENT, "external_id": "PT1", "channel": "telegram", "phone": ""},
            )
            assert created.status_code == 303
            assert (await _patient(server, "PT1")).status == "awaiting_link"
            page = await browser.post("/dashboard/patients/PT1/invite")
            link = re.search(r'<code id="invite-link">([^<]+)</code>', page.text)
            assert link is not None
            assert re.fullmatch(
                r"https://t\.me/carebot_test_bot\?start=[A-Za-z0-9_-]{20,64}", link[1]
            )
        finally:
            await browser.aclose()


async def test_message_the_patient(browser_for: BrowserFor, team: Team, server: Server) -> None:
    carol = await browser_for("carol")  # on PB1's ladder: she may write to the patient
    sent = await carol.post(
        "/dashboard/patients/PB1/reply", {"message": "Hi Bea, calling you now."}
    )
    assert sent.status_code == 303
    async with server.db.session() as session:
        message = await session.scalar(
            select(Message).where(Message.patient_id == team.pb1, Message.kind == "manager_reply")
        )
    assert message is not None
    assert (message.body, message.address, message.care_manager_id) == (
        "Hi Bea, calling you now.",
        "tel:+12025550122",
        team.carol,
    )
    page = (await carol.get("/dashboard/patients/PB1")).text
    assert "Hi Bea, calling you now." in page[page.index('id="timeline"') :]
    alice = await browser_for("alice")
    assert (await alice.post("/dashboard/patients/PB1/reply", {"message": "x"})).status_code == 404
