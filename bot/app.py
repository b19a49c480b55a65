"""The ASGI app of ``carebot serve``: webhooks, health, the sandbox page, one lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.api import api_routes
from bot.dashboard import dashboard_routes
from bot.server import Server
from bot.web.sandbox import sandbox_routes
from bot.web.voice import voice_routes
from bot.web.webhooks import webhook_routes


def create_app(server: Server) -> Starlette:
    """The app around a (not yet started) server; the lifespan starts and stops it."""
    settings = server.settings

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.stop()

    async def healthz(request: Request) -> Response:
        if await server.ping():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    routes += _webhooks(server)
    routes += dashboard_routes(server) + api_routes(server)
    routes += voice_routes(settings, server)
    if settings.sandbox_enabled:
        routes += sandbox_routes(settings, server, server)
    return Starlette(routes=routes, lifespan=lifespan)


def _webhooks(server: Server) -> list[BaseRoute]:
    """Webhook routes resolve the Telegram channel at request time (it starts in the lifespan)."""
    late = _LateTelegram(server) if server.settings.telegram_enabled else None
    return list(webhook_routes(server.settings, server, server, late))  # type: ignore[arg-type]


class _LateTelegram:
    """Stands for the Telegram channel, which exists only once the server started."""

    def __init__(self, server: Server) -> None:
        self._server = server

    def __getattr__(self, name: str) -> object:
        channel = self._server.telegram
        if channel is None:
            raise AttributeError(name)
        return getattr(channel, name)
