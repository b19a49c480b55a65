"""``carebot serve`` (web + webhooks + scheduler) and ``carebot worker`` (scheduler only)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import httpx
import typer
import uvicorn
from starlette.applications import Starlette

from bot.app import create_app
from bot.cli import fail, run, settings
from bot.config import Settings
from bot.demo.data import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, DEMO_TEAM_NAME
from bot.demo.loader import DemoLoad, load_demo_data, refuse_in_production
from bot.logs import configure_logging
from bot.server import Server
from outreach.clock import SystemClock
from outreach.programs.loader import load_programs
from storage.engine import Database
from storage.migrate import check_schema


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    telegram_polling: bool = typer.Option(
        False, "--telegram-polling", help="Poll Telegram instead of receiving its webhook."
    ),
    no_scheduler: bool = typer.Option(
        False, "--no-scheduler", help="Serve only; leave the ticks to `carebot worker`."
    ),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Load the demo care team and sandbox patients first (development only; loading "
        "twice adds nothing).",
    ),
    exit_after_start: bool = typer.Option(
        False,
        "--exit-after-start",
        help="Start, check /healthz once, then stop: exit 0 when healthy (smoke tests).",
    ),
) -> None:
    """Run the web server, the webhooks and (unless --no-scheduler) the scheduler ticks."""
    config = settings()
    configure_logging(config.log_level)
    if demo:
        config = load_demo(config)
    server = Server(config, run_ticks=not no_scheduler, telegram_polling=telegram_polling)
    app = create_app(server)
    base = f"http://{host}:{port}"
    if config.sandbox_enabled:
        typer.echo(f"sandbox chat: {base}/sandbox")
    if demo:
        typer.echo(f"dashboard: {base}/  (demo login: {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD})")
    typer.echo(f"carebot listening on {base} (health: /healthz)")
    if exit_after_start:
        if not run(_start_check_stop(app, host, port)):
            fail("the health check failed")
        typer.echo("health check passed; stopping (--exit-after-start)")
        return
    uvicorn.run(app, host=host, port=port, log_config=None, lifespan="on")


def load_demo(config: Settings) -> Settings:
    """``--demo``: the demo panel, due at once, on the migrated database (never production).

    Returns the settings to serve it with: the demo team's name unless CARE_TEAM_NAME is set.
    """
    if config.production:
        fail("--demo is refused when CAREBOT_ENV=production: it creates fake patients and a "
             "care team with a published password")  # fmt: skip
    load = run(_load(config))
    if load.patients_created:
        typer.echo(
            f"demo data loaded: {load.staff_created} care-team members, "
            f"{load.patients_created} sandbox patients, {load.rota_entries} rota entries"
        )
    else:
        typer.echo(f"demo data already loaded ({load.patients_existing} sandbox patients)")
    if config.care_team_name != Settings.model_fields["care_team_name"].default:
        return config
    return config.model_copy(update={"care_team_name": DEMO_TEAM_NAME})


async def _load(config: Settings) -> DemoLoad:
    refuse_in_production(config)
    async with Database.from_url(config.db_url) as db:
        await check_schema(db.engine)
        return await load_demo_data(
            db,
            SystemClock(),
            config,
            load_programs(config.programs_dir),
            due="now",
            password=DEMO_PASSWORD,
        )


async def _start_check_stop(app: Starlette, host: str, port: int) -> bool:
    """Serve until started, ask /healthz once, then shut down gracefully."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            return False
        await asyncio.sleep(0.05)
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"http://{probe_host}:{port}/healthz")
        healthy = response.status_code == 200
    except httpx.HTTPError:
        healthy = False
    server.should_exit = True
    await serving
    await _drain(healthy)
    return healthy


async def _drain(healthy: bool, patience: float = 10.0) -> None:
    """Wait for tasks the shutdown left behind; exit hard if they hang.

    A tick interrupted by the shutdown in the middle of a database call can leave a task that
    never ends, and ``asyncio.run`` would then wait for it forever. A smoke test must end:
    after ``patience`` seconds this says so on stderr and exits with the health check's verdict.
    """
    current = asyncio.current_task()
    leftovers = {task for task in asyncio.all_tasks() if task is not current}
    if not leftovers:
        return
    _, pending = await asyncio.wait(leftovers, timeout=patience)
    if not pending:
        return
    typer.echo(
        f"carebot: warning: {len(pending)} task(s) still running {patience:.0f} s after the "
        "shutdown (an interrupted tick); exiting anyway",
        err=True,
    )
    if healthy:
        typer.echo("health check passed; stopping (--exit-after-start)")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if healthy else 1)


def worker(
    telegram_polling: bool = typer.Option(
        False, "--telegram-polling", help="Also poll Telegram for updates."
    ),
) -> None:
    """Run the scheduler ticks only (scale out on PostgreSQL with several workers)."""
    config = settings()
    configure_logging(config.log_level)
    run(_work(Server(config, telegram_polling=telegram_polling)))


async def _work(server: Server) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    logging.getLogger(__name__).info("worker running; Ctrl-C to stop")
    try:
        await stop.wait()
    finally:
        await server.stop()
