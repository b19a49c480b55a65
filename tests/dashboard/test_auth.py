"""Signing in and out, sessions, idle timeout and CSRF (SPEC §11)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import select
from starlette.responses import Response

from bot.dashboard.login import safe_next
from bot.dashboard.sessions import COOKIE, SessionCodec
from bot.server import Server
from outreach.clock import ManualClock
from storage.models import AuditLog, Escalation
from storage.repositories.managers import ManagerRepository
from tests.dashboard.team import Browser, Team, team_app

BrowserFor = Callable[[str], Awaitable[Browser]]


async def test_anonymous_is_sent_to_the_login_page(server: Server, team: Team) -> None:
    browser = Browser(team_app(server))
    try:
        response = await browser.get("/dashboard/patients?q=Bea")
        assert response.status_code == 303
        assert response.headers["location"] == "/dashboard/login?next=/dashboard/patients%3Fq%3DBea"
        page = await browser.get("/dashboard/patients/PB1")
        assert page.status_code == 303 and "Bea" not in page.text
        api = await browser.client.get("/api/v1/patients")
        assert api.status_code == 401
    finally:
        await browser.aclose()


async def test_login_and_logout(
    browser_for: BrowserFor, team: Team, server: Server, clock: ManualClock
) -> None:
    browser = await browser_for("")
    form = await browser.get("/dashboard/login?next=/dashboard/patients")
    assert form.status_code == 200 and 'name="password"' in form.text
    signed_in = await browser.post(
        "/dashboard/login",
        {
            "email": "Alice@Example.org",
            "password": "correct horse battery staple",
            "next": "/dashboard/patients",
        },
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/dashboard/patients"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = await browser.get("/dashboard/patients")
    assert page.status_code == 200 and "Ana Alvarez" in page.text

    out = await browser.post("/dashboard/logout")
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/login"
    again = await browser.get("/dashboard/patients")
    assert again.status_code == 303
    async with server.db.session() as session:
        actions = list(
            await session.scalars(
                select(AuditLog.action).where(AuditLog.actor_id == team.alice).order_by(AuditLog.id)
            )
        )
    assert actions[0] == "login" and actions[-1] == "logout"


def test_only_dashboard_paths_are_followed_after_login() -> None:
    assert safe_next("/dashboard/patients?q=x") == "/dashboard/patients?q=x"
    for target in ("https://evil.example/dashboard/", "//evil.example", "/dashboard\\..", None):
        assert safe_next(target) == "/dashboard/"


async def test_bad_password_and_unknown_user(browser_for: BrowserFor, team: Team) -> None:
    browser = await browser_for("")
    wrong = await browser.login("alice", "not the password at all")
    assert wrong.status_code == 401 and "Wrong e-mail or password" in wrong.text
    nobody = await browser.login("mallory", "correct horse battery staple")
    assert nobody.status_code == 401 and "Wrong e-mail or password" in nobody.text
    assert (await browser.get("/dashboard/patients")).status_code == 303


async def test_a_deactivated_user_cannot_sign_in_and_loses_the_session(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    browser = await browser_for("alice")
    async with server.db.transaction() as session:
        await ManagerRepository(session).set_active(team.alice, False)
    assert (await browser.get("/dashboard/patients")).status_code == 303
    assert (await browser.login("alice")).status_code == 401


async def test_a_new_password_ends_older_sessions(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    browser = await browser_for("bob")
    assert (await browser.get("/dashboard/patients")).status_code == 200
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    async with server.db.transaction() as session:
        await ManagerRepository(session).set_password_hash(team.bob, cheap.hash("another one!"))
    assert (await browser.get("/dashboard/patients")).status_code == 303


async def test_idle_timeout_on_the_injected_clock(
    browser_for: BrowserFor, team: Team, clock: ManualClock
) -> None:
    browser = await browser_for("alice")
    clock.advance(timedelta(minutes=20))
    assert (await browser.get("/dashboard/patients")).status_code == 200
    clock.advance(timedelta(minutes=20))  # 40 min since login, 20 since the last request
    assert (await browser.get("/dashboard/patients")).status_code == 200
    clock.advance(timedelta(minutes=31))
    expired = await browser.get("/dashboard/patients")
    assert expired.status_code == 303
    assert expired.headers["location"].startswith("/dashboard/login")
    login = await browser.get(expired.headers["location"])
    assert "timed out" in login.text


async def test_the_idle_timeout_is_configurable(
    server: Server, team: Team, clock: ManualClock
) -> None:
    browser = Browser(team_app(server, idle=timedelta(minutes=5)))
    try:
        browser.sign_in_as(team.alice, clock.now())
        assert (await browser.get("/dashboard/patients")).status_code == 200
        clock.advance(timedelta(minutes=6))
        assert (await browser.get("/dashboard/patients")).status_code == 303
    finally:
        await browser.aclose()


async def test_csrf_token_missing_or_wrong_is_403(
    browser_for: BrowserFor, team: Team, server: Server
) -> None:
    browser = await browser_for("bob")
    path = f"/dashboard/escalations/{team.escalation_b}/ack"
    missing = await browser.client.post(path, data={})
    assert missing.status_code == 403
    wrong = await browser.client.post(path, data={"csrf_token": "guessed"})
    assert wrong.status_code == 403
    async with server.db.session() as session:
        escalation = await session.get(Escalation, team.escalation_b)
        assert escalation is not None and escalation.status == "open"
    anonymous = Browser(team_app(server))
    try:
        login = await anonymous.client.post(
            "/dashboard/login",
            data={"email": "bob@example.org", "password": "correct horse battery staple"},
        )
        assert login.status_code == 403
    finally:
        await anonymous.aclose()


def test_the_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    codec = SessionCodec("k" * 40, secure=True)
    response = Response()
    codec.write(response, codec.anonymous())
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(COOKIE + "=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_a_forged_cookie_is_anonymous(clock: ManualClock) -> None:
    codec = SessionCodec("k" * 40, secure=False)
    other = SessionCodec("another-key" * 4, secure=False)
    response = Response()
    other.write(response, other.signed_in(1, "hash", clock.now()))
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert not codec.read(value, clock.now()).signed_in
    assert other.read(value, clock.now()).signed_in
