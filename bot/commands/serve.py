"""``carebot serve`` (web + webhooks + scheduler) and ``carebot worker`` (scheduler only)."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer
import uvicorn

from bot.app import create_app
from bot.cli import run, settings
from bot.logs import configure_logging
from bot.server import Server


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    telegram_polling: bool = typer.Option(
        False, "--telegram-polling", help="Poll Telegram instead of receiving its webhook."
    ),
    no_scheduler: bool = typer.Option(
        False, "--no-scheduler", help="Serve only; leave the ticks to `carebot worker`."
    ),
) -> None:
    """Run the web server, the webhooks and (unless --no-scheduler) the scheduler ticks."""
    config = settings()
    configure_logging(config.log_level)
    server = Server(config, run_ticks=not no_scheduler, telegram_polling=telegram_polling)
    app = create_app(server)
    if config.sandbox_enabled:
        typer.echo(f"sandbox chat: http://{host}:{port}/sandbox")
    typer.echo(f"carebot listening on http://{host}:{port} (health: /healthz)")
    uvicorn.run(app, host=host, port=port, log_config=None, lifespan="on")


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
