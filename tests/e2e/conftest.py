"""The end-to-end harness: ``create_app(Server(settings))`` under a real uvicorn server on
127.0.0.1, the fake Twilio and Telegram servers, and a freshly migrated database.

carebot runs in the test's own event loop (so a test can also reach its runtime) on the system
clock; the fakes run in their own threads. Every wait polls with a deadline (``eventually``).
Tests that take ``carebot`` run on SQLite and, with ``CAREBOT_TEST_POSTGRES_URL``, on PostgreSQL
too; ``carebot_sqlite`` is SQLite only.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from bot import importing
from bot.app import create_app
from bot.cli import app as cli_app
from bot.config import Settings, load_settings
from bot.server import Server
from outreach.clock import SystemClock
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import Message, Patient, ProcessedWebhook
from tests.conftest import BACKENDS, empty_tables
from tests.fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BOT_TOKEN,
    FROM_NUMBER,
    FakeTelegram,
    FakeTwilio,
    inbound_sms,
    signed_headers,
)
from tests.fakes.twilio import SentSms

T = TypeVar("T")

TELEGRAM_SECRET = "e2e-telegram-secret_0123456789"
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
TELEGRAM_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MANAGER_EMAIL = "ana.lopez@clinic.example"
PATIENT_COLUMNS = (
    "external_id,name,phone,timezone,language,channel,program,care_manager,checkin_day,"
    "checkin_time,baseline_weight,family_name,family_relationship,family_phone,family_channel,"
    "family_language,family_notify"
).split(",")
WAIT = 10.0
"""Seconds any single expected event may take (typically well under one)."""


# -- waiting ----------------------------------------------------------------------------------


async def eventually(
    probe: Callable[[], T | Awaitable[T]], what: str, within: float = WAIT, every: float = 0.02
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(every)


# -- the running carebot ----------------------------------------------------------------------


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: the test runner owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Carebot:
    """A running carebot and everything a test talks to."""

    url: str
    settings: Settings
    env: dict[str, str | None]
    server: Server
    db: Database
    client: httpx.AsyncClient
    twilio: FakeTwilio
    telegram: FakeTelegram
    tmp_path: Path

    # -- the command line (its own event loop, in a thread, like a second process) -----------

    async def cli(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        environment = {**self.env, **(env or {})}
        runner = CliRunner()
        return await asyncio.to_thread(runner.invoke, cli_app, list(args), env=environment)

    async def import_csv(self, kind: str, rows: list[dict[str, str]], *, cli: bool) -> None:
        """Import these rows (missing columns empty): ``carebot import managers|patients FILE``
        through the command line, or the same import functions in this process (faster)."""
        path = self.tmp_path / f"{kind}-{time.monotonic_ns()}.csv"
        columns = PATIENT_COLUMNS if kind == "patients" else list(rows[0])
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        if cli:
            result = await self.cli("import", kind, str(path))
            assert result.exit_code == 0, result.stderr
            return
        importer = importing.import_patients if kind == "patients" else importing.import_managers
        report = await importer(self.db, SystemClock(), self.settings, path)
        assert report.imported and not report.bad, report.summary()

    async def enrol(self, *patients: dict[str, str], cli: bool = False) -> None:
        """The standard manager, then these patients (general program, a quiet cadence)."""
        manager = {
            "email": MANAGER_EMAIL,
            "name": "Ana Lopez",
            "phone": "(202) 555-0101",
            "role": "care_manager",
            "backup": "",
            "timezone": "America/New_York",
        }
        await self.import_csv("managers", [manager], cli=cli)
        rows = [{**_patient_defaults(), **patient} for patient in patients]
        await self.import_csv("patients", rows, cli=cli)

    async def checkin_now(self, external_id: str) -> Result:
        # --force: the system clock may be outside 08:00-21:00 in the patient's zone.
        return await self.cli("checkin", "now", external_id, "--force")

    # -- webhooks ------------------------------------------------------------------------------

    async def post_signed(
        self, path: str, form: dict[str, str], *, token: str = AUTH_TOKEN
    ) -> httpx.Response:
        headers = signed_headers(token, self.url + path, form)
        return await self.client.post(path, data=form, headers=headers)

    async def sms(self, phone: str, body: str, *, sid: str | None = None) -> httpx.Response:
        """The patient texts ``body``: Twilio's signed inbound webhook."""
        response = await self.post_signed(SMS_PATH, inbound_sms(body, from_=phone, sid=sid))
        assert response.status_code == 200, response.text
        return response

    async def status(self, sid: str, status: str) -> httpx.Response:
        form, headers = self.twilio.status_callback(sid, status, self.url + STATUS_PATH)
        return await self.client.post(STATUS_PATH, data=form, headers=headers)

    async def update(
        self, update: dict[str, Any], *, secret: str | None = TELEGRAM_SECRET
    ) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return await self.client.post(TELEGRAM_PATH, json=update, headers=headers)

    # -- what reached the providers ----------------------------------------------------------

    def sms_to(self, phone: str) -> list[SentSms]:
        return [sent for sent in list(self.twilio.sent) if sent.to == phone]

    def telegram_to(self, chat_id: int) -> list[str]:
        return [
            call.params["text"]
            for call in list(self.telegram.sent)
            if call.params.get("chat_id") == str(chat_id)
        ]

    async def next_sms(self, phone: str, count: int) -> SentSms:
        """Wait for the ``count``-th message (1-based) to ``phone`` and return it."""
        sent = await eventually(
            lambda: len(self.sms_to(phone)) >= count and self.sms_to(phone),
            f"SMS #{count} to {phone}",
        )
        return sent[count - 1]

    async def next_telegram(self, chat_id: int, count: int) -> str:
        sent = await eventually(
            lambda: len(self.telegram_to(chat_id)) >= count and self.telegram_to(chat_id),
            f"Telegram message #{count} to chat {chat_id}",
        )
        return sent[count - 1]

    # -- the database --------------------------------------------------------------------------

    async def patient(self, external_id: str) -> Patient:
        async with self.db.session() as session:
            patient = await session.scalar(
                select(Patient).where(Patient.external_id == external_id)
            )
        assert patient is not None, external_id
        return patient

    async def contact_log(self, patient_id: int) -> list[Message]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Message).where(Message.patient_id == patient_id).order_by(Message.id)
            )
            return list(rows)

    async def inbox_count(self) -> int:
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count(ProcessedWebhook.id))) or 0)

    async def processed(self, provider: str, external_id: str) -> bool:
        """Whether the inbox row of this delivery was processed."""
        async with self.db.session() as session:
            row = await session.scalar(
                select(ProcessedWebhook).where(
                    ProcessedWebhook.provider == provider,
                    ProcessedWebhook.external_id == external_id,
                )
            )
        return row is not None and row.processed_at is not None


def _patient_defaults() -> dict[str, str]:
    # A cadence day far from today, so no scheduled check-in falls due during a test.
    day = (datetime.now(UTC).day + 10) % 28 + 1
    return {
        "timezone": "America/New_York",
        "language": "en",
        "channel": "sms",
        "program": "general",
        "care_manager": MANAGER_EMAIL,
        "checkin_day": str(day),
        "checkin_time": "10:00",
    }


def carebot_env(database_url: str, public_url: str, var_dir: Path, **fakes: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": public_url,
        "CAREBOT_VAR_DIR": str(var_dir),
        "SECRET_KEY": "e2e-secret-key-not-for-production",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": fakes["twilio"],
        "TWILIO_MPS": "100",  # a long code's 1/s would make every test wait on pacing
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_BASE_URL": fakes["telegram"],
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "CARE_TEAM_NAME": "Riverside Care",
        "CARE_TEAM_PHONE": "+1 202 555 0100",
        "DEFAULT_REGION": "US",
    }


def _cli_environment(env: dict[str, str]) -> dict[str, str | None]:
    """The CLI reads the process environment: unset every other carebot setting, so that a
    developer's shell cannot leak into the test."""
    aliases = {info.alias for info in Settings.model_fields.values() if info.alias}
    cleared: dict[str, str | None] = dict.fromkeys(aliases)
    return {**cleared, **env}


@contextlib.asynccontextmanager
async def running_carebot(
    database_url: str,
    tmp_path: Path,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
    **overrides: str,
) -> AsyncIterator[Carebot]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = carebot_env(database_url, url, tmp_path / "var", twilio=twilio.url, telegram=telegram.url)
    env.update(overrides)
    settings = load_settings(env, env_file=None)
    server = Server(settings)
    config = uvicorn.Config(
        create_app(server),
        lifespan="on",
        log_config=None,
        access_log=False,
        http="h11",
        ws="none",
        timeout_graceful_shutdown=5,
    )
    web = _Uvicorn(config)
    task = asyncio.create_task(web.serve(sockets=[sock]))
    await eventually(lambda: web.started or task.done(), "carebot to start", within=20)
    if task.done():
        sock.close()
        raise RuntimeError(f"carebot did not start: {task.exception()!r}")
    db = Database.from_url(database_url)
    client = httpx.AsyncClient(base_url=url, timeout=15)
    try:
        yield Carebot(
            url, settings, _cli_environment(env), server, db, client, twilio, telegram, tmp_path
        )
    finally:
        await client.aclose()
        web.should_exit = True
        await asyncio.wait_for(task, 20)
        await db.dispose()
        sock.close()


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def e2e_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture(scope="session")
def e2e_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def fakes(e2e_twilio: FakeTwilio, e2e_telegram: FakeTelegram) -> Iterator[None]:
    e2e_twilio.reset()
    e2e_telegram.reset()
    yield
    e2e_twilio.reset()
    e2e_telegram.reset()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test gets a copy (a migration run costs more)."""
    path = tmp_path_factory.mktemp("e2e-template") / "carebot.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@dataclass
class Backend:
    url: str
    postgres: Database | None = None


def _sqlite_copy(template: Path, tmp_path: Path) -> Backend:
    path = tmp_path / "carebot.db"
    shutil.copyfile(template, path)
    return Backend(f"sqlite+aiosqlite:///{path}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return _sqlite_copy(sqlite_template, tmp_path)
    database: Database = request.getfixturevalue("postgres_database")
    return Backend(database.url, database)


@pytest.fixture
async def carebot(
    backend: Backend,
    tmp_path: Path,
    fakes: None,
    e2e_twilio: FakeTwilio,
    e2e_telegram: FakeTelegram,
) -> AsyncIterator[Carebot]:
    """A running carebot on SQLite and (with CAREBOT_TEST_POSTGRES_URL) on PostgreSQL."""
    try:
        async with running_carebot(backend.url, tmp_path, e2e_twilio, e2e_telegram) as bot:
            yield bot
    finally:
        if backend.postgres is not None:
            await empty_tables(backend.postgres, truncate=False)


StartCarebot = Callable[..., contextlib.AbstractAsyncContextManager[Carebot]]


@pytest.fixture
def start_carebot(
    sqlite_template: Path,
    tmp_path: Path,
    fakes: None,
    e2e_twilio: FakeTwilio,
    e2e_telegram: FakeTelegram,
) -> StartCarebot:
    """``async with start_carebot(SETTING="value") as bot``: carebot on SQLite with settings
    of the test's own."""

    def start(**overrides: str) -> contextlib.AbstractAsyncContextManager[Carebot]:
        backend = _sqlite_copy(sqlite_template, tmp_path)
        return running_carebot(backend.url, tmp_path, e2e_twilio, e2e_telegram, **overrides)

    return start


@pytest.fixture
async def carebot_sqlite(start_carebot: StartCarebot) -> AsyncIterator[Carebot]:
    """A running carebot on SQLite only."""
    async with start_carebot() as bot:
        yield bot
