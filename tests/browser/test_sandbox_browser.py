"""The first five minutes in a real headless Chromium: play a demo patient in the sandbox chat,
report a red flag mid-check-in, and find the escalation in the dashboard queue (issue 9)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from bot.app import create_app
from bot.config import load_settings
from bot.demo.data import DEMO_ADMIN_EMAIL, DEMO_PASSWORD
from bot.demo.loader import load_demo_data
from bot.server import Server
from storage.migrate import upgrade
from storage.models import Escalation, Patient
from tests.browser.test_dashboard_browser import CHROMIUM, _Uvicorn
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian chromium at /usr/bin/chromium (CI installs it: .ci/run)",
)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextlib.asynccontextmanager
async def demo_server(tmp_path: Path) -> AsyncIterator[tuple[str, Server]]:
    """`carebot serve --demo` in-process: sandbox channel, demo data, no provider accounts."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}"
    await upgrade(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = load_settings(
        {"DATABASE_URL": url, "CAREBOT_VAR_DIR": str(tmp_path), "PUBLIC_BASE_URL": base},
        env_file=None,
    )
    server = Server(settings, run_ticks=False)
    web = _Uvicorn(uvicorn.Config(create_app(server), log_config=None, access_log=False))
    task = asyncio.create_task(web.serve(sockets=[sock]))
    await eventually(lambda: web.started or task.done(), "uvicorn to start")
    assert web.started
    try:
        await load_demo_data(
            server.db, server.runtime.clock, settings, server.runtime.programs,
            due="cadence", password=DEMO_PASSWORD,
        )  # fmt: skip
        yield base, server
    finally:
        web.should_exit = True
        await asyncio.wait_for(task, 20)
        sock.close()


async def test_sandbox_patient_red_flag_reaches_the_queue(tmp_path: Path) -> None:
    async with asyncio.timeout(120), demo_server(tmp_path) as (base, server):
        await _play(base, server)


async def _play(base: str, server: Server) -> None:
    from playwright.async_api import async_playwright

    async with server.db.session() as session:
        patient = await session.scalar(
            select(Patient).where(Patient.channel == "sandbox", Patient.language == "en",
                                  Patient.external_id.in_(["P001", "P002", "P003"]))
            .order_by(Patient.external_id).limit(1)
        )  # fmt: skip
    assert patient is not None
    applied = await server.runtime.checkins.start_now(patient.external_id, restart=True, force=True)
    await server.runtime.after_commit(applied)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/sandbox")
            await page.select_option("#patient", f"sandbox:{patient.external_id}")
            log = page.locator("#log .msg.out")
            await log.first.wait_for()  # the first question, delivered over the sandbox
            assert "check-in" in (await log.first.inner_text()).lower()
            asked = await log.count()

            await page.fill("#text", "I have crushing chest pain right now")
            await page.click("#composer button[type=submit]")
            await page.wait_for_function(
                "n => document.querySelectorAll('#log .msg.out').length > n", arg=asked
            )
            assert "Call 911 now" in await log.last.inner_text()

            async with server.db.session() as session:
                escalation = await session.scalar(
                    select(Escalation).where(Escalation.patient_id == patient.id)
                )
            assert escalation is not None and escalation.severity == "emergency"

            await page.goto(f"{base}/dashboard/escalations")
            await page.fill("input[name=email]", DEMO_ADMIN_EMAIL)
            await page.fill("input[name=password]", DEMO_PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/dashboard/escalations")
            row = page.locator(f'tr[data-escalation="{escalation.id}"]')
            assert await row.count() == 1
            assert "crushing chest pain" in await row.inner_text()
        finally:
            await browser.close()
