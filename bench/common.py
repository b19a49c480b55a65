"""What the benchmarks share: fake providers in their own process, scratch databases, bulk
seeding in SQL, a running clock, child processes, percentiles and peak RSS.

Figures are printed as one JSON object per line; every timing is ``time.monotonic()``, which on
Linux is one clock for every process of the machine, so a time taken in a fake provider's
process and one taken in carebot's can be subtracted.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage.engine import Database, normalize_url
from storage.types import UTCDateTime
from tests.scratch import scratch_postgres

POSTGRES_ENV = "CAREBOT_TEST_POSTGRES_URL"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
"""A Monday, 10:00 in New York: inside every patient's contact window."""
ZONE = "America/New_York"


# -- time -----------------------------------------------------------------------------------


class RunningClock:
    """carebot's clock for a benchmark: starts at ``start`` and runs at the real pace, so that
    the run happens inside the patients' contact window whatever the hour on this machine."""

    def __init__(self, start: datetime = START) -> None:
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(q * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def latency_ms(values: list[float]) -> dict[str, float]:
    """p50/p99/max of latencies given in seconds, in milliseconds."""
    return {
        "p50_ms": round(1000 * statistics.median(values), 2) if values else 0.0,
        "p99_ms": round(1000 * percentile(values, 0.99), 2),
        "max_ms": round(1000 * max(values), 2) if values else 0.0,
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else 0.0


# -- child processes ------------------------------------------------------------------------


def _child_main(conn: Connection, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result = asyncio.run(func(*args)) if asyncio.iscoroutinefunction(func) else func(*args)
        conn.send(("ok", result))
    except BaseException as exc:  # the parent re-raises it
        import traceback

        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def in_child(func: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
    """Run ``func(*args)`` (a coroutine function runs in its own loop) in a fresh process and
    return its result: its peak RSS, CPU and event loop are its own."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(child, func, args), daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"{func.__name__} did not finish within {timeout} s")
        status, value = parent.recv()
    except EOFError:
        raise RuntimeError(f"{func.__name__} died (exit code {process.exitcode})") from None
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    if status != "ok":
        raise RuntimeError(f"{func.__name__} failed in its process:\n{value}")
    return value


async def in_child_async(func: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(in_child, func, *args)


# -- fake providers in their own process --------------------------------------------------------


def _bench_twilio() -> Any:
    """FakeTwilio that counts accepted messages and keeps only (to, time) of each, so that a
    100,000-message wave costs it constant memory and time per message."""
    from tests.fakes.twilio import FakeTwilio

    class BenchTwilio(FakeTwilio):
        def __init__(self) -> None:
            super().__init__()
            self.accepted = 0
            self.first_at = 0.0
            self.last_at = 0.0
            self.times: list[tuple[str, float]] = []
            self.recipients: set[str] = set()
            self.keep_times = False
            _add_routes(self._app, _control_routes(self))

        async def _create_message(self, request: Request) -> Response:
            response = await super()._create_message(request)
            if response.status_code == 201:
                now = time.monotonic()
                self.accepted += 1
                self.first_at = self.first_at or now
                self.last_at = now
                self.recipients.add(self.sent[-1].to)
                if self.keep_times:
                    self.times.append((self.sent[-1].to, now))
            self.sent.clear()
            self._messages.clear()
            self.requests.clear()
            return response

    return BenchTwilio()


def _bench_telegram() -> Any:
    """FakeTelegram that keeps (chat, time, text) of every sendMessage."""
    from tests.fakes.telegram import FakeTelegram

    class BenchTelegram(FakeTelegram):
        def __init__(self) -> None:
            super().__init__()
            self.accepted = 0
            self.first_at = 0.0
            self.last_at = 0.0
            self.times: list[tuple[str, float, str]] = []
            self.recipients: set[str] = set()
            self.keep_times = True
            _add_routes(self._app, _control_routes(self))

        async def _api_sendmessage(self, params: dict[str, str]) -> Any:
            result = await super()._api_sendmessage(params)
            if isinstance(result, dict):
                now = time.monotonic()
                self.accepted += 1
                self.first_at = self.first_at or now
                self.last_at = now
                self.recipients.add(params.get("chat_id", ""))
                self.times.append((params.get("chat_id", ""), now, params.get("text", "")))
            self.calls.clear()
            self._messages.clear()
            return result

    return BenchTelegram()


def _add_routes(app: Any, routes: list[Route]) -> None:
    app.router.routes.extend(routes)


def _control_routes(fake: Any) -> list[Route]:
    async def stats(request: Request) -> Response:
        return JSONResponse(
            {
                "accepted": fake.accepted,
                "recipients": len(fake.recipients),
                "first_at": fake.first_at,
                "last_at": fake.last_at,
            }
        )

    async def times(request: Request) -> Response:
        if request.method == "POST":  # start (or stop) keeping times, and forget the old ones
            fake.keep_times = request.query_params.get("keep", "1") == "1"
            fake.times = []
            fake.recipients = set()
            fake.accepted, fake.first_at, fake.last_at = 0, 0.0, 0.0
            return JSONResponse({"ok": True})
        return JSONResponse({"times": fake.times})

    return [
        Route("/_bench/stats", stats, methods=["GET"]),
        Route("/_bench/times", times, methods=["GET", "POST"]),
    ]


FAKES: dict[str, Callable[[], Any]] = {"twilio": _bench_twilio, "telegram": _bench_telegram}


def _fake_main(kind: str, conn: Connection) -> None:
    fake = FAKES[kind]()
    fake.start()
    conn.send(fake.url)
    with contextlib.suppress(EOFError):
        conn.recv()  # until the parent says stop (or goes away)
    fake.stop()


class _FakeControl:
    """Reads and resets a bench fake over HTTP (the same whichever process serves it)."""

    url: str
    _http: httpx.Client

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._http.get("/_bench/stats").json()
        return result

    async def astats(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.stats)

    def times(self) -> list[list[Any]]:
        result: list[list[Any]] = self._http.get("/_bench/times").json()["times"]
        return result

    def reset(self, *, keep_times: bool) -> None:
        """Zero the counters and start (or stop) keeping each accepted message's time."""
        self._http.post("/_bench/times", params={"keep": "1" if keep_times else "0"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> _FakeControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeProcess(_FakeControl):
    """A fake provider (``twilio`` or ``telegram``) serving from its own process, so that its
    CPU and memory are not carebot's."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_fake_main, args=(kind, child), daemon=True)
        self._process.start()
        child.close()
        if not self._conn.poll(30):
            raise RuntimeError(f"fake {kind} did not start")
        self.url = self._conn.recv()
        self._http = httpx.Client(base_url=self.url, timeout=30)

    def cpu_seconds(self) -> float:
        """CPU time the fake's process used so far (Linux /proc)."""
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        super().close()
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(timeout=15)
        if self._process.is_alive():
            self._process.kill()


class FakeThread(_FakeControl):
    """The same fake in a thread of this process (smoke tests: no process to start)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._fake = FAKES[kind]()
        self._fake.start()
        self.url = self._fake.url
        self._http = httpx.Client(base_url=self.url, timeout=30)

    def close(self) -> None:
        super().close()
        self._fake.stop()


def fake_provider(kind: str, *, isolate: bool = True) -> FakeProcess | FakeThread:
    return FakeProcess(kind) if isolate else FakeThread(kind)


async def isolated(isolate: bool, func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` (a coroutine function) in a fresh process, or awaited here."""
    if isolate:
        return await asyncio.to_thread(in_child, func, *args)
    return await func(*args)


# -- databases ------------------------------------------------------------------------------


def postgres_base_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    return normalize_url(url).render_as_string(hide_password=False) if url else None


@contextlib.contextmanager
def scratch_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="carebot-bench-") as folder:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"


@contextlib.asynccontextmanager
async def scratch_database(engine: str) -> AsyncIterator[str]:
    """A scratch database URL of ``engine`` (``sqlite`` or ``postgresql``), removed on exit."""
    if engine == "sqlite":
        with scratch_sqlite() as url:
            yield url
        return
    base = postgres_base_url()
    if base is None:
        raise RuntimeError(f"set {POSTGRES_ENV} for the PostgreSQL figures")
    async with scratch_postgres(base, "carebot_bench") as url:
        yield url


def engines(requested: str) -> list[str]:
    """``both`` → SQLite, and PostgreSQL when its URL is set."""
    if requested != "both":
        return [requested]
    return ["sqlite", "postgresql"] if postgres_base_url() else ["sqlite"]


async def database_size_mb(db: Database) -> float:
    async with db.session() as session:
        if db.dialect == "postgresql":
            size = await session.scalar(text("SELECT pg_database_size(current_database())"))
            return round(int(size or 0) / 2**20, 1)
    path = Path(make_url(db.url).database or "")
    total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    return round(total / 2**20, 1)


# -- a panel of patients, seeded in SQL (nothing held in Python) -------------------------------


@dataclass(frozen=True)
class Panel:
    """``count`` SMS patients ``{prefix}0000001…`` on phones ``+1{area}…``, each enrolled in
    ``program`` with consent; one in ``due_every`` due at ``due``, the others a month later.

    ``managers`` care managers (``m1@bench.example`` …) share the patients round robin; with
    ``manager_chats`` each is linked to Telegram chat ``100000 + n``.
    """

    count: int
    due: datetime = START
    due_every: int = 1
    prefix: str = "W"
    area: str = "555"
    program: str = "general"
    managers: int = 1
    manager_chats: bool = False

    def phone(self, n: int) -> str:
        return f"+1{self.area}{n:07d}"

    def external_id(self, n: int) -> str:
        return f"{self.prefix}{n:07d}"


def _seq(dialect: str) -> tuple[str, str]:
    """(prefix, source) of a statement that selects ``g`` = 1…:count."""
    if dialect == "postgresql":
        return "", "generate_series(1, :count) AS s(g)"
    return "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :count) ", "s"


def _seed_statements(panel: Panel, dialect: str) -> list[str]:
    prefix, source = _seq(dialect)
    if dialect == "postgresql":
        pad = "lpad(g::text, {w}, '0')"
        boolean = "false"
        true = "true"
    else:
        pad = "printf('%0{w}d', g)"
        boolean = "0"
        true = "1"
    digits7 = pad.format(w=7)
    chat = "CAST(100000 + g AS TEXT)" if panel.manager_chats else "NULL"
    manager_of = "(SELECT min(id) FROM care_managers)"
    if panel.managers > 1:
        manager_of = (
            f"(SELECT id FROM care_managers WHERE email = 'm' || (1 + g % {panel.managers})"
            " || '@bench.example')"
        )
    return [
        f"""{prefix}INSERT INTO care_managers (email, name, phone, role, timezone,
              telegram_chat_id, active, created_at)
            SELECT 'm' || g || '@bench.example', 'Manager ' || g, '+1202' || {digits7},
                   'care_manager', '{ZONE}', {chat}, {true}, :now
            FROM {source}""".replace(":count", ":managers"),
        f"""{prefix}INSERT INTO patients (external_id, name, phone, timezone, language, channel,
              care_manager_id, baseline, status, created_at)
            SELECT '{panel.prefix}' || {digits7}, 'Patient ' || g, '+1{panel.area}' || {digits7},
                   '{ZONE}', 'en', 'sms', {manager_of}, '{{}}', 'active', :now
            FROM {source}""",
        f"""INSERT INTO enrollments (patient_id, program_id, cadence_day, cadence_time,
              anchor_at, next_due_at, paused, consecutive_missed, created_at)
            SELECT id, '{panel.program}', '2', '10:00', :now,
                   CASE WHEN id % {panel.due_every} = 0 THEN :due ELSE :later END,
                   {boolean}, 0, :now
            FROM patients WHERE external_id LIKE '{panel.prefix}%'""",
        f"""INSERT INTO consents (patient_id, subject, channel, address, scope, granted, source,
              text_version, language, recorded_at)
            SELECT id, 'patient', 'sms', 'tel:' || phone, 'checkins', {true}, 'import', 'v1',
                   'en', :now
            FROM patients WHERE external_id LIKE '{panel.prefix}%'""",
    ]


async def seed_panel(db: Database, panel: Panel) -> None:
    """Insert the panel with a few INSERT … SELECT statements (generate_series on PostgreSQL,
    a recursive CTE on SQLite): the panel never exists in Python."""
    params = {
        "now": panel.due - timedelta(days=40),
        "due": panel.due,
        "later": panel.due + timedelta(days=30),
        "count": panel.count,
        "managers": panel.managers,
    }
    async with db.transaction() as session:
        for sql in _seed_statements(panel, db.dialect):
            used = {k: v for k, v in params.items() if f":{k}" in sql}
            typed = [bindparam(k, type_=UTCDateTime()) for k in ("now", "due", "later")]
            statement = text(sql).bindparams(*(b for b in typed if b.key in used))
            await session.execute(statement, used)
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("ANALYZE"))


def carebot_env(database_url: str, *, twilio: str, telegram: str | None = None) -> dict[str, str]:
    """carebot's settings for a benchmark: the fakes, and a Twilio rate that never paces."""
    env = {
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "CAREBOT_VAR_DIR": tempfile.gettempdir(),
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 31 + "1",
        "TWILIO_AUTH_TOKEN": "test-auth-token-0123456789abcdef",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio,
        "TWILIO_MPS": "1000000",
        "CARE_TEAM_NAME": "Riverside Care",
        "CARE_TEAM_PHONE": "+1 202 555 0100",
        "DEFAULT_REGION": "US",
        "SANDBOX": "off",
        "LOG_LEVEL": "WARNING",
    }
    if telegram is not None:
        env |= {
            "TELEGRAM_BOT_TOKEN": "123456:TEST-token_abcdefghijklmnopqrstuv",
            "TELEGRAM_API_BASE_URL": telegram,
            "TELEGRAM_WEBHOOK_SECRET": "bench-telegram-secret_0123456789",
        }
    return env


def emit(figures: dict[str, Any]) -> None:
    """One JSON line on stdout."""
    import json

    print(json.dumps(figures), flush=True)


# -- carebot under uvicorn, in its own process --------------------------------------------------

HELLO_PATH = "/bench/hello"
SMS_PATH = "/webhooks/twilio/sms"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _uvicorn(env: dict[str, str], port: int, clock_start: datetime) -> Any:
    """``carebot serve`` as bot/commands/serve.py runs it (uvicorn defaults, the ticks on),
    plus a hello-world route in this app instance only."""
    import uvicorn
    from starlette.responses import PlainTextResponse

    from bot.app import create_app
    from bot.config import load_settings
    from bot.server import Server

    class Uvicorn(uvicorn.Server):
        """Without signal handlers: whoever runs the benchmark owns Ctrl-C."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Server(load_settings(env, env_file=None), clock=RunningClock(clock_start))
    app = create_app(server)

    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    _add_routes(app, [Route(HELLO_PATH, hello, methods=["GET", "POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    return Uvicorn(config)


async def _serve(env: dict[str, str], port: int, clock_start: datetime, conn: Connection) -> None:
    """The carebot process: logging at WARNING (see bench/README.md), then serve until told."""
    from bot.logs import configure_logging

    configure_logging("WARNING")
    web = _uvicorn(env, port, clock_start)
    profile = os.environ.get(PROFILE_ENV)
    profiler = _start_profiler() if profile else None
    serving = asyncio.create_task(web.serve())
    await _started(web, serving)
    cpu0 = time.process_time()
    conn.send("started" if web.started else "failed")
    while True:
        order = await asyncio.to_thread(conn.recv)
        if order == "cpu":
            conn.send(time.process_time() - cpu0)
            continue
        break
    web.should_exit = True
    await serving
    if profiler is not None and profile:
        write_profile(profiler, profile)
    conn.send({"peak_rss_mb": peak_rss_mb()})


async def _started(web: Any, serving: asyncio.Task[None]) -> None:
    # uvicorn offers a flag, not an event, for "started".
    while not (web.started or serving.done()):  # noqa: ASYNC110
        await asyncio.sleep(0.05)


PROFILE_ENV = "CAREBOT_BENCH_PROFILE"
"""A file name: profile the carebot process with pyinstrument (``.html``, else text)."""


def _start_profiler() -> Any:
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled", interval=0.002)
    profiler.start()
    return profiler


def write_profile(profiler: Any, path: str) -> None:
    profiler.stop()
    if path.endswith(".html"):
        profiler.write_html(path)
    else:
        Path(path).write_text(profiler.output_text(show_all=False, color=False))


def _serve_main(env: dict[str, str], port: int, clock_start: datetime, conn: Connection) -> None:
    asyncio.run(_serve(env, port, clock_start, conn))


class CarebotProcess:
    """carebot (``create_app(Server(settings))`` under uvicorn) in a process of its own."""

    def __init__(self, env: dict[str, str], port: int, clock_start: datetime) -> None:
        context = multiprocessing.get_context("spawn")
        self.url = f"http://127.0.0.1:{port}"
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_main, args=(env, port, clock_start, child), daemon=True
        )
        self._process.start()
        child.close()
        if not self._conn.poll(120) or self._conn.recv() != "started":
            self._process.kill()
            raise RuntimeError("carebot did not start")

    async def cpu_seconds(self) -> float:
        """CPU time the carebot process used since it started serving."""
        return await asyncio.to_thread(self._cpu_seconds)

    def _cpu_seconds(self) -> float:
        self._conn.send("cpu")
        seconds: float = self._conn.recv()
        return seconds

    async def stop(self) -> dict[str, Any]:
        return await asyncio.to_thread(self._stop)

    def _stop(self) -> dict[str, Any]:
        self._conn.send("stop")
        figures: dict[str, Any] = self._conn.recv() if self._conn.poll(60) else {}
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
        return figures


class CarebotInline:
    """The same server in this process and loop (smoke tests: no process to start)."""

    def __init__(self, env: dict[str, str], port: int, clock_start: datetime) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._web = _uvicorn(env, port, clock_start)
        self._serving: asyncio.Task[None] | None = None
        self._cpu0 = 0.0

    async def start(self) -> CarebotInline:
        self._serving = asyncio.create_task(self._web.serve())
        await _started(self._web, self._serving)
        if not self._web.started:
            raise RuntimeError("carebot did not start")
        self._cpu0 = time.process_time()
        return self

    async def cpu_seconds(self) -> float:
        return time.process_time() - self._cpu0

    async def stop(self) -> dict[str, Any]:
        self._web.should_exit = True
        if self._serving is not None:
            await self._serving
        return {"peak_rss_mb": peak_rss_mb()}


async def start_carebot(
    env: dict[str, str], port: int, clock_start: datetime, *, isolate: bool = True
) -> CarebotProcess | CarebotInline:
    """carebot under uvicorn: in its own process, or (``isolate=False``) in this one."""
    if isolate:
        return await asyncio.to_thread(CarebotProcess, env, port, clock_start)
    return await CarebotInline(env, port, clock_start).start()


Request_ = tuple[str, bytes, dict[str, str]]
"""(path, body, headers) of a POST the load generator sends."""


def sms_request(public_url: str, auth_token: str, phone: str, body: str, sid: str) -> Request_:
    """A signed Twilio inbound-SMS webhook (path, body, headers)."""
    from urllib.parse import urlencode

    from tests.fakes.twilio import inbound_sms, signed_headers

    form = inbound_sms(body, from_=phone, sid=sid)
    headers = signed_headers(auth_token, public_url + SMS_PATH, form)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return (SMS_PATH, urlencode(form).encode(), headers)


async def load(
    url: str, requests: list[Request_], concurrency: int, pace: float = 0.0
) -> list[tuple[float, float, int]]:
    """POST ``requests`` with ``concurrency`` in flight (``pace``: seconds between the starts of
    consecutive requests); per request (sent, answered, status) as ``time.monotonic()``.
    Meant to run in a process of its own (``in_child(load, ...)``).

    aiohttp, not httpx: against a bare Starlette hello route under uvicorn, httpx's client fell
    from ~420 requests/s at 8 in flight to ~130/s at 32, while aiohttp kept ~2,150/s at both,
    so httpx measured its own connection pool rather than the server.
    """
    import aiohttp

    results: list[tuple[float, float, int]] = [(0.0, 0.0, 0)] * len(requests)
    queue = iter(enumerate(requests))
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as client:
        # Open the connections first (on the hello route: /healthz reads the migration files).
        async def opened() -> None:
            async with client.get(HELLO_PATH) as response:
                await response.read()

        await asyncio.gather(*(opened() for _ in range(concurrency)))

        async def worker() -> None:
            for index, (path, body, headers) in queue:
                if pace:
                    await asyncio.sleep(pace)
                sent = time.monotonic()
                async with client.post(path, data=body, headers=headers) as response:
                    await response.read()
                results[index] = (sent, time.monotonic(), response.status)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def throughput(results: list[tuple[float, float, int]]) -> float:
    """Requests answered per second, from the first send to the last answer."""
    if not results:
        return 0.0
    span = max(r[1] for r in results) - min(r[0] for r in results)
    return round(len(results) / span, 1) if span > 0 else 0.0


async def wait_for(probe: Callable[[], Any], within: float, every: float = 0.2) -> bool:
    """Poll ``probe`` (sync; run in a thread) until it is truthy or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await asyncio.to_thread(probe):
            return True
        await asyncio.sleep(every)
    return False
