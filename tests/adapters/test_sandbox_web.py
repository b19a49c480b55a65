"""The sandbox chat page and its JSON endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bot.web.sandbox import sandbox_routes
from bot.web.webhooks import inbound_from_inbox
from outreach.errors import ConfigurationError
from tests.adapters.conftest import make_settings
from tests.adapters.sinks import FakeInbox

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
XSS = '<script>alert("x")</script>'


class FakeContactLog:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    async def patients(self) -> list[dict[str, Any]]:
        return [
            {"address": "sandbox:demo-1", "name": "Ada Demo"},
            {"address": "sandbox:demo-2", "name": XSS},
        ]

    async def messages(self, address: str, after_id: int) -> list[dict[str, Any]]:
        self.asked.append((address, after_id))
        return [{"id": after_id + 1, "direction": "out", "body": XSS, "at": NOW.isoformat()}]


@pytest.fixture
def inbox() -> FakeInbox:
    return FakeInbox()


@pytest.fixture
def contact_log() -> FakeContactLog:
    return FakeContactLog()


@pytest.fixture
async def client(inbox: FakeInbox, contact_log: FakeContactLog) -> AsyncIterator[httpx.AsyncClient]:
    routes = sandbox_routes(make_settings(SANDBOX="on"), inbox, contact_log, now=lambda: NOW)
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_page_lists_patients_escaped_and_loads_its_script(client: httpx.AsyncClient) -> None:
    page = await client.get("/sandbox")
    script = await client.get("/sandbox/sandbox.js")

    assert page.status_code == 200
    assert "Ada Demo" in page.text
    assert XSS not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="sandbox/sandbox.js"></script>' in page.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert "textContent" in script.text and "innerHTML" not in script.text


async def test_posted_message_goes_through_the_inbox(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    response = await client.post(
        "/sandbox/messages", json={"address": "sandbox:demo-1", "text": "4"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["inbox_id"] == 1 and body["external_id"].startswith("SBIN")
    assert inbox.scheduled == [1]
    message = inbound_from_inbox("sandbox", inbox.payload("sandbox", body["external_id"]))
    assert message is not None
    assert (message.channel, message.address, message.body) == ("sandbox", "sandbox:demo-1", "4")
    assert (message.external_id, message.received_at) == (body["external_id"], NOW)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"address": "tel:+15551230001", "text": "4"}, 400),
        ({"address": "sandbox:demo-1", "text": ""}, 400),
        ({"address": "sandbox:demo-1", "text": "x" * 1601}, 400),
        ({"address": "sandbox:demo-1"}, 400),
        (["sandbox:demo-1", "4"], 400),
    ],
)
async def test_invalid_posts_are_refused(
    client: httpx.AsyncClient, inbox: FakeInbox, payload: Any, status: int
) -> None:
    response = await client.post("/sandbox/messages", json=payload)
    assert response.status_code == status
    assert inbox.accepts == []


async def test_form_posts_are_refused_so_other_sites_cannot_post(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    response = await client.post(
        "/sandbox/messages",
        content=b'{"address": "sandbox:demo-1", "text": "4"}',
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 415
    assert inbox.accepts == []


async def test_unreachable_inbox_is_503(client: httpx.AsyncClient, inbox: FakeInbox) -> None:
    inbox.unavailable = True
    response = await client.post(
        "/sandbox/messages", json={"address": "sandbox:demo-1", "text": "4"}
    )
    assert response.status_code == 503


async def test_messages_are_read_from_the_contact_log(
    client: httpx.AsyncClient, contact_log: FakeContactLog
) -> None:
    response = await client.get(
        "/sandbox/messages", params={"address": "sandbox:demo-1", "after": 7}
    )
    assert response.status_code == 200
    assert response.json() == [{"id": 8, "direction": "out", "body": XSS, "at": NOW.isoformat()}]
    assert contact_log.asked == [("sandbox:demo-1", 7)]
    bad = await client.get("/sandbox/messages", params={"address": "tel:+1555", "after": 0})
    worse = await client.get("/sandbox/messages", params={"address": "sandbox:x", "after": "-1"})
    assert (bad.status_code, worse.status_code) == (400, 400)


def test_never_built_in_production(inbox: FakeInbox, contact_log: FakeContactLog) -> None:
    settings = make_settings(CAREBOT_ENV="production", SECRET_KEY="k" * 32)
    with pytest.raises(ConfigurationError):
        sandbox_routes(settings, inbox, contact_log)
