"""The README's promise, in process: play a demo patient in the sandbox, report a red flag, and
find the escalation in the dashboard queue."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from bot.app import create_app
from bot.config import load_settings
from bot.demo.data import DEMO_ADMIN_EMAIL, DEMO_PASSWORD
from bot.demo.loader import load_demo_data
from bot.server import Server
from outreach.clock import SystemClock
from outreach.programs.loader import load_programs
from storage.migrate import upgrade
from tests.demo.conftest import invoke

RED_FLAG = "I have crushing chest pain right now"
WAIT = 20.0


async def test_red_flag_in_the_sandbox_reaches_the_dashboard_queue(tmp_path: Path) -> None:
    settings = load_settings({"CAREBOT_VAR_DIR": str(tmp_path)}, env_file=None)
    await upgrade(settings.db_url)
    server = Server(settings, run_ticks=False)
    await load_demo_data(
        server.db, SystemClock(), settings, load_programs(None), password=DEMO_PASSWORD
    )
    await server.start()
    transport = httpx.ASGITransport(app=create_app(server))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await play_and_check(client)
    finally:
        await server.stop()


async def play_and_check(client: httpx.AsyncClient) -> None:
    page = await client.get("/sandbox")
    assert page.status_code == 200 and "P001" in page.text
    message = {"address": "sandbox:P001", "text": RED_FLAG}
    sent = await client.post("/sandbox/messages", json=message)
    assert sent.status_code == 200
    advice = await wait_for(client, "sandbox:P001", "Call 911 now")
    assert advice["direction"] == "out"

    login = await client.get("/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    form = {"csrf_token": token.group(1), "email": DEMO_ADMIN_EMAIL}
    form |= {"password": DEMO_PASSWORD, "next": "/dashboard/"}
    assert (await client.post("/dashboard/login", data=form)).status_code == 303
    queue = await client.get("/dashboard/escalations")
    assert queue.status_code == 200
    assert "Robert Hale" in queue.text and "emergency" in queue.text
    assert "crushing chest pain" in queue.text


async def wait_for(client: httpx.AsyncClient, address: str, words: str) -> dict[str, str]:
    """Poll the sandbox page's feed: the server processes a message right after its 2xx."""
    try:
        async with asyncio.timeout(WAIT):
            while True:
                feed = await client.get("/sandbox/messages", params={"address": address})
                for message in feed.json():
                    if words in message["body"]:
                        return dict(message)
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"no message with {words!r} for {address} in {WAIT} s") from None


def test_serve_demo_refused_in_production(tmp_path: Path) -> None:
    env = {"CAREBOT_VAR_DIR": str(tmp_path), "CAREBOT_ENV": "production", "SECRET_KEY": "x" * 40}
    result = invoke("serve", "--demo", "--exit-after-start", env=env)
    assert result.exit_code == 1
    assert "--demo is refused when CAREBOT_ENV=production" in result.stderr
