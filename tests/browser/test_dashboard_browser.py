"""The dashboard in a real headless Chromium against a real uvicorn server (SQLite).

A patient's red-flag SMS (through ``runtime.handle_inbound`` and ``outreach.triage.screen``)
opens an escalation; the care manager signs in, sees it in the queue, acknowledges it, sees it
leave the open queue and finds the trend chart on the patient page. Saves the screenshots of
docs/dashboard.md (docs/img/queue.png, docs/img/patient.png).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from bot.app import create_app
from bot.server import Server
from outreach.ports import InboundMessage
from storage.migrate import upgrade
from storage.models import Escalation
from storage.repositories import Repositories
from storage.repositories.patients import PatientFields
from tests.dashboard.team import PASSWORD, password_hash, team_settings
from tests.e2e.conftest import eventually
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio

CHROMIUM = Path("/usr/bin/chromium")
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PHONE = "+12025550111"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian chromium at /usr/bin/chromium (CI installs it: .ci/run)",
)


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner owns Ctrl-C


@contextlib.asynccontextmanager
async def running(tmp_path: Path, twilio: FakeTwilio) -> AsyncIterator[tuple[str, Server]]:
    """carebot under uvicorn on 127.0.0.1, texting through the fake Twilio server."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}"
    await upgrade(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = team_settings(
        tmp_path,
        DATABASE_URL=url,
        PUBLIC_BASE_URL=base,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE_URL=twilio.url,
        TWILIO_MPS="100",
    )
    server = Server(settings, run_ticks=False)
    config = uvicorn.Config(
        create_app(server), lifespan="on", log_config=None, access_log=False, http="h11", ws="none"
    )
    web = _Uvicorn(config)
    task = asyncio.create_task(web.serve(sockets=[sock]))
    await eventually(lambda: web.started or task.done(), "uvicorn to start")
    assert web.started, f"uvicorn did not start: {task.exception() if task.done() else 'timeout'}"
    try:
        yield base, server
    finally:
        web.should_exit = True
        await asyncio.wait_for(task, 20)
        sock.close()


async def seed(server: Server) -> None:
    """Nina's panel: Ana, enrolled in the wellbeing check-in, three months of pain answers."""
    now = server.runtime.clock.now()
    async with server.db.transaction() as session:
        repos = Repositories(session)
        nina, _ = await repos.managers.upsert_by_email(
            "nina@example.org",
            name="Nina Nurse",
            at=now,
            phone="+12025550100",
            timezone="America/New_York",
        )
        await repos.managers.set_password_hash(nina.id, password_hash())
        patient, _ = await repos.patients.upsert(
            "P-1001",
            PatientFields(
                name="Ana Lopez",
                timezone="America/New_York",
                channel="sms",
                care_manager_id=nina.id,
                phone=PHONE,
            ),
            at=now,
        )
        enrollment, _ = await repos.enrollments.upsert(
            patient.id,
            "general",
            cadence_day="5",
            cadence_time="10:00",
            next_due_at=now + timedelta(days=20),
            at=now - timedelta(days=120),
        )
        await repos.consents.record(
            channel="sms",
            address=f"tel:{PHONE}",
            granted=True,
            source="import",
            at=now - timedelta(days=120),
            patient_id=patient.id,
        )
        for months, pain, health, missed_days in (
            (4, 2, 2, 0),
            (3, 3, 3, 1),
            (2, 5, 3, 2),
            (1, 8, 4, 6),
        ):
            at = now - timedelta(days=30 * months)
            checkin = await repos.checkins.create(
                enrollment_id=enrollment.id,
                patient_id=patient.id,
                program_id="general",
                occurrence_key=f"seed-{months}",
                scheduled_for=at,
                at=at,
                status="completed",
            )
            assert checkin is not None
            checkin.started_at, checkin.completed_at = at, at + timedelta(minutes=7)
            for question, value in (
                ("general_health", health),
                ("pain", pain),
                ("adherence_days", missed_days),
            ):
                await repos.checkins.record_answer(
                    checkin.id, patient.id, question, raw_text=str(value), at=at, value_num=value
                )


async def test_acknowledge_a_red_flag_in_the_browser(tmp_path: Path) -> None:
    with FakeTwilio() as twilio:
        async with asyncio.timeout(120):  # fail, never hang, should a step stall
            await _acknowledge_in_the_browser(tmp_path, twilio)


async def _acknowledge_in_the_browser(tmp_path: Path, twilio: FakeTwilio) -> None:
    from playwright.async_api import async_playwright

    async with running(tmp_path, twilio) as (base, server):
        await seed(server)
        # The patient texts a red flag: screened, an emergency escalation, Nina alerted.
        await server.runtime.handle_inbound(
            InboundMessage(
                channel="sms",
                address=f"tel:{PHONE}",
                body="I have crushing chest pain and I can't breathe",
                external_id="SMbrowser0001",
                received_at=datetime.now(UTC),
            )
        )
        async with server.db.session() as session:
            escalation = await session.scalar(select(Escalation))
        assert escalation is not None and escalation.severity == "emergency"
        await eventually(lambda: len(twilio.sent) >= 2, "the advice and the alert texted")

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                await page.goto(f"{base}/dashboard/escalations")
                assert "/dashboard/login" in page.url  # anonymous: to the login form
                await page.fill("input[name=email]", "nina@example.org")
                await page.fill("input[name=password]", PASSWORD)
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{base}/dashboard/escalations")

                row = page.locator(f'tr[data-escalation="{escalation.id}"]')
                assert await row.count() == 1
                text = await row.inner_text()
                assert "Ana Lopez" in text and "emergency" in text and "chest pain" in text
                assert "left" in text  # time to the acknowledgement deadline
                DOCS_IMG.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(DOCS_IMG / "queue.png"), full_page=True)

                await row.locator("button.ack").click()
                await page.wait_for_selector(".flash")
                assert "acknowledged" in (await page.inner_text(".flash"))
                await page.goto(f"{base}/dashboard/escalations?view=open")
                assert await page.locator(f'tr[data-escalation="{escalation.id}"]').count() == 0
                assert await page.locator("#queue-empty").count() == 1

                await page.goto(f"{base}/dashboard/patients")
                await page.click("text=Ana Lopez")
                await page.wait_for_url(f"{base}/dashboard/patients/P-1001")
                chart = page.locator("#chart-pain svg.chart")
                assert await chart.count() == 1
                assert await chart.locator("circle").count() == 4
                assert await chart.locator('g.threshold[data-value="7"]').count() == 1
                timeline = await page.inner_text("#timeline")
                assert (
                    "crushing chest pain" in timeline and "acknowledged by Nina Nurse" in timeline
                )
                await page.screenshot(path=str(DOCS_IMG / "patient.png"), full_page=True)
            finally:
                await browser.close()
