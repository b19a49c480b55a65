"""A real HTTP server on 127.0.0.1 in its own thread and event loop, for fake providers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any, Self

import uvicorn
from starlette.types import ASGIApp


class LoopbackServer:
    """Serves an ASGI app on ``127.0.0.1:<free port>`` from a daemon thread.

    Usable as a context manager from sync (``with``) and async (``async with``) tests; the
    server's loop is its own, so any test loop can talk to it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self.stopping.clear()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=repr(self)
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self!r} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    async def hang(self, seconds: float) -> None:
        """Sleep in a handler for up to ``seconds``, cut short when the server stops."""
        deadline = time.monotonic() + seconds
        # ``stopping`` is set from the test's thread, so a threading.Event polled here.
        while time.monotonic() < deadline and not self.stopping.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: Any) -> None:
        await asyncio.to_thread(self.stop)
