"""A small care team for dashboard and API tests, and a client that signs in through the form.

Panels: Alice (care manager) has patient PA1; Bob (care manager, backup Carol) has PB1 and PB2;
Carol (care manager) has nobody. Bob's PB1 has an open urgent escalation whose ladder alerted
Carol (the backup rung). Sam is a supervisor, Ada an admin. Everyone's password is PASSWORD.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.responses import Response

from bot.api import api_routes
from bot.config import Settings, load_settings
from bot.dashboard import dashboard_routes
from bot.dashboard.sessions import COOKIE, SessionCodec
from bot.server import Server
from outreach.clock import ManualClock
from storage.engine import Database
from storage.repositories import Repositories
from storage.repositories.patients import PatientFields

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-for-the-dashboard-0123456789"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@cache
def password_hash() -> str:
    """A cheap argon2 hash of PASSWORD: the real parameters take ~1 s per check here, and
    verifying reads the parameters from the hash (a login then upgrades it: needs_rehash)."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@dataclass
class Team:
    alice: int
    bob: int
    carol: int
    sam: int
    ada: int
    pa1: int
    pb1: int
    pb2: int
    escalation_b: int
    escalation_a: int
    tokens: dict[str, str]


def team_settings(tmp_path: Path, **extra: str) -> Settings:
    env = {
        "CAREBOT_VAR_DIR": str(tmp_path),
        "SECRET_KEY": SECRET,
        "CARE_TEAM_NAME": "Riverside Care",
        "SANDBOX": "off",
        **extra,
    }
    return load_settings(env, env_file=None)


async def seed_team(db: Database, now: datetime) -> Team:
    async with db.transaction() as session:
        repos = Repositories(session)
        ids: dict[str, int] = {}
        for key, name, role in (
            ("alice", "Alice Adams", "care_manager"),
            ("bob", "Bob Brown", "care_manager"),
            ("carol", "Carol Chen", "care_manager"),
            ("sam", "Sam Supervisor", "supervisor"),
            ("ada", "Ada Admin", "admin"),
        ):
            manager, _ = await repos.managers.upsert_by_email(
                f"{key}@example.org",
                name=name,
                role=role,
                at=now,
                phone=None,
                timezone="America/New_York",
            )
            await repos.managers.set_password_hash(manager.id, password_hash())
            ids[key] = manager.id
        await repos.managers.set_backup(ids["bob"], ids["carol"])
        for external_id, name, phone, manager in (
            ("PA1", "Ana Alvarez", "+12025550111", "alice"),
            ("PB1", "Bea Barnes", "+12025550122", "bob"),
            ("PB2", "Ben Bishop", "+12025550133", "bob"),
        ):
            patient, _ = await repos.patients.upsert(
                external_id,
                PatientFields(
                    name=name,
                    timezone="America/New_York",
                    channel="sms",
                    care_manager_id=ids[manager],
                    phone=phone,
                    baseline={"weight": 180.0},
                ),
                at=now,
            )
            ids[external_id] = patient.id
            await repos.programs.upsert("general", "Wellbeing check-in", "", at=now)
            await repos.enrollments.upsert(
                patient.id,
                "general",
                cadence_day="20",
                cadence_time="10:00",
                next_due_at=now + timedelta(days=18),
                at=now,
                anchor_at=now,
            )
            await repos.consents.record(
                channel="sms",
                address=f"tel:{phone}",
                granted=True,
                source="import",
                at=now,
                patient_id=patient.id,
            )
        raised_b = await repos.escalations.raise_or_update(
            patient_id=ids["PB1"],
            rule_id="redflag.chest_pain",
            severity="urgent",
            reasons=[{"rule_id": "redflag.chest_pain", "explanation": "Chest pain reported."}],
            at=now - timedelta(minutes=20),
            ack_deadline=now + timedelta(minutes=40),
            patient_words="my chest hurts",
            assignee_id=ids["bob"],
        )
        await repos.notifications.record(
            "alert", now, escalation_id=raised_b.escalation.id, care_manager_id=ids["bob"]
        )
        await repos.notifications.record(
            "ladder",
            now,
            escalation_id=raised_b.escalation.id,
            care_manager_id=ids["carol"],
            rung=1,
        )
        raised_a = await repos.escalations.raise_or_update(
            patient_id=ids["PA1"],
            rule_id="pain.high_and_rising",
            severity="routine",
            reasons=[{"rule_id": "pain.high_and_rising", "explanation": "Pain rose to 8/10."}],
            at=now - timedelta(hours=2),
            ack_deadline=now + timedelta(days=2),
            assignee_id=ids["alice"],
        )
        tokens = {}
        for key in ("alice", "bob", "carol", "sam", "ada"):
            token, _ = await repos.api_tokens.create(ids[key], f"{key} token", at=now)
            tokens[key] = token
    return Team(
        ids["alice"],
        ids["bob"],
        ids["carol"],
        ids["sam"],
        ids["ada"],
        ids["PA1"],
        ids["PB1"],
        ids["PB2"],
        raised_b.escalation.id,
        raised_a.escalation.id,
        tokens,
    )


@asynccontextmanager
async def running_server(
    db: Database, clock: ManualClock, tmp_path: Path, **settings: str
) -> AsyncIterator[Server]:
    """A started server (no ticks) on ``db`` with the manual clock."""
    server = Server(team_settings(tmp_path, **settings), clock=clock, run_ticks=False, db=db)
    await server.start()
    try:
        yield server
    finally:
        if server.senders is not None:
            await server.senders.aclose()


def team_app(server: Server, idle: timedelta | None = None) -> Starlette:
    return Starlette(routes=dashboard_routes(server, idle=idle) + api_routes(server))


class Browser:
    """An httpx client on the ASGI app that signs in through the login form (``login``) or
    with a session cookie minted like the login would (``sign_in_as``, no argon2 cost)."""

    def __init__(self, app: Starlette) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        self.csrf = ""

    def sign_in_as(self, user_id: int, now: datetime, stored_hash: str | None = None) -> None:
        codec = SessionCodec(SECRET, secure=False)
        state = codec.signed_in(user_id, stored_hash or password_hash(), now)
        response = Response()
        codec.write(response, state)
        cookie = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        self.client.cookies.set(COOKIE, cookie)
        self.csrf = state.csrf

    async def aclose(self) -> None:
        await self.client.aclose()

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = await self.client.get(path, **kwargs)  # type: ignore[arg-type]
        self._remember(response)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        form = {"csrf_token": self.csrf, **(data or {})}
        response = await self.client.post(path, data=form)
        self._remember(response)
        return response

    def _remember(self, response: httpx.Response) -> None:
        match = (
            CSRF.search(response.text)
            if "text/html" in response.headers.get("content-type", "")
            else None
        )
        if match:
            self.csrf = match[1]

    async def login(self, who: str, password: str = PASSWORD) -> httpx.Response:
        """Sign in; on success, load a page so that the session's new CSRF token is known."""
        await self.get("/dashboard/login")
        response = await self.post(
            "/dashboard/login", {"email": f"{who}@example.org", "password": password}
        )
        if response.status_code == 303:
            await self.get("/dashboard/escalations")
        return response
