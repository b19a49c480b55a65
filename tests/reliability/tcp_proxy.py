"""A TCP proxy on loopback between carebot and PostgreSQL, to take the database away and back.

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = proxy.rewrite(database_url)   # carebot connects through the proxy
        proxy.cut()                         # every connection dropped, new ones refused
        proxy.restore()
        proxy.partition()                   # bytes stop flowing both ways, nobody is told
        proxy.heal()

It runs in its own thread and event loop, so it keeps working while the test's loop or the
carebot processes are busy. ``cut`` is what a database restart or failover looks like to a
client: open connections end, and connecting fails at once until it is back. ``partition`` is
a network that silently drops packets: connections stay open, new ones are accepted, but no
byte goes through until ``heal`` (then what was held is delivered, as TCP retransmits it).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Self

from sqlalchemy.engine import make_url


@dataclass
class ProxyStats:
    accepted: int = 0
    refused: int = 0
    """Connections attempted while cut (closed at once)."""
    dropped: int = 0
    """Open connections ended by a cut."""
    cuts: int = 0


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.stats = ProxyStats()
        self._down = False
        self._partitioned = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._started = threading.Event()
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the proxy is not started")
        return self._port

    def rewrite(self, database_url: str) -> str:
        """``database_url`` pointed at the proxy instead of the database server."""
        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    # -- control (from any thread) ---------------------------------------------------------------

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, daemon=True, name="tcp-proxy")
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the TCP proxy did not start")
        return self

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until :meth:`restore`."""
        self._call(self._cut)

    def restore(self) -> None:
        self._down = False

    def partition(self) -> None:
        """Hold every byte in both directions (and new connections) until :meth:`heal`."""
        self._partitioned.set()

    def heal(self) -> None:
        self._partitioned.clear()

    @property
    def down(self) -> bool:
        return self._down

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._call(self._close)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the proxy's own loop ----------------------------------------------------------------------

    def _call(self, function: object) -> None:
        loop = self._loop
        assert loop is not None and callable(function)
        done = threading.Event()

        def run() -> None:
            try:
                function()
            finally:
                done.set()

        loop.call_soon_threadsafe(run)
        done.wait(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self._port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def _cut(self) -> None:
        self._down = True
        self.stats.cuts += 1
        for writer in list(self._writers):
            self.stats.dropped += 1
            writer.transport.abort()
        self._writers.clear()

    def _close(self) -> None:
        self._cut()
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            self.stats.refused += 1
            writer.transport.abort()
            return
        await self._held()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._down:  # cut while connecting
            self.stats.refused += 1
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self.stats.accepted += 1
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            for w in (writer, up_writer):
                w.transport.abort()

    async def _held(self) -> None:
        while self._partitioned.is_set():  # noqa: ASYNC110 - set from the test's thread
            await asyncio.sleep(0.02)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                await self._held()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
