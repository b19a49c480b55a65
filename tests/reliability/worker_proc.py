"""Runs a carebot ``Server`` as ``carebot worker`` or ``carebot serve`` do, with faults injected.

    python -m tests.reliability.worker_proc worker        # one worker in the foreground
    python -m tests.reliability.worker_proc serve PORT    # the ASGI app under uvicorn
    python -m tests.reliability.worker_proc zygote        # forks workers on request (below)

Settings come from the environment exactly as for ``carebot`` (``DATABASE_URL``, ``TWILIO_*``,
tick intervals...). The launcher adds, never changing a line of production code:

- the clock: ``RELIABILITY_CLOCK_*`` (see :mod:`tests.reliability.warp`) replaces the system
  clock through ``Server(clock=...)``;
- a sender wrapper (``bot.server.build_senders`` is wrapped in this process only) that appends
  one JSON line per provider call to ``RELIABILITY_EVENTS`` and, with probability
  ``RELIABILITY_EXIT_AFTER_SEND``, ends the process with ``os._exit(137)`` right after the
  provider accepted a message and before carebot could commit that it did: the
  call-to-commit window of SPEC §12 (until the file ``RELIABILITY_CALM_FILE`` exists);
- ``RELIABILITY_EXIT_AFTER_ACCEPT=1`` (serve): a webhook is committed to the inbox and answered
  2xx, then the process dies before processing it.

Event lines carry outbox keys, provider ids and a digest of the address, never an address,
a name or a body.

The zygote imports everything once and forks a fresh process per ``spawn`` command, so that a
worker killed with SIGKILL is replaced in milliseconds rather than the seconds an interpreter
start takes. Protocol: JSON lines on stdin (``{"cmd": "spawn", "name": ..., "mode": "worker" |
"serve", "port": ..., "env": {...}, "log": path}``, ``{"cmd": "quit"}``); JSON lines on stdout
(``spawned``, ``ready``, ``exited`` with the pid).
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import hashlib
import json
import os
import random
import select
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import uvicorn

import bot.server
from bot.config import Settings, load_settings
from bot.logs import configure_logging
from bot.server import Server
from handlers.registry import Senders
from outreach.ports import OutboundMessage, SendResult
from outreach.programs.loader import load_programs
from tests.reliability.warp import WarpClock

ENV_EVENTS = "RELIABILITY_EVENTS"
ENV_EXIT_AFTER_SEND = "RELIABILITY_EXIT_AFTER_SEND"
ENV_EXIT_AFTER_SENDS = "RELIABILITY_EXIT_AFTER_SENDS"
"""Also die right after this many accepted messages (a crash in the window for certain)."""
ENV_EXIT_AFTER_ACCEPT = "RELIABILITY_EXIT_AFTER_ACCEPT"
ENV_CALM = "RELIABILITY_CALM_FILE"
"""Once this file exists, the fault injector stops ending the process (the run settles)."""
ENV_SEED = "RELIABILITY_SEED"
ENV_NAME = "RELIABILITY_NAME"
CRASH_STATUS = 137


def digest(address: str) -> str:
    """A stable, non-reversible tag for an address (event lines carry no phone numbers)."""
    return hashlib.sha256(address.encode()).hexdigest()[:16]


class Events:
    """Appends JSON lines with ``O_APPEND`` writes: each line reaches the kernel at once, so it
    survives ``os._exit`` and SIGKILL, and lines of several processes never interleave."""

    def __init__(self, path: str | None, name: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if path else None
        self._name = name

    def write(self, event: str, **fields: Any) -> None:
        if self._fd is None:
            return
        line = {"ev": event, "w": self._name, "pid": os.getpid(), "t": time.time(), **fields}
        os.write(self._fd, (json.dumps(line) + "\n").encode())


class FaultySenders:
    """Wraps ``Senders``: records each provider call and may die right after one succeeded."""

    def __init__(
        self,
        inner: Senders,
        events: Events,
        *,
        exit_after_send: float,
        rng: random.Random,
        calm_file: str | None = None,
        exit_after_sends: int = 0,
    ) -> None:
        self.inner = inner
        self.events = events
        self.exit_after_send = exit_after_send
        self.rng = rng
        self.calm_file = calm_file
        self.exit_after_sends = exit_after_sends
        self.sends = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        scheme = message.address.partition(":")[0]
        try:
            result = await self.inner.send(message)
        except Exception as exc:
            self.events.write(
                "send_failed", key=message.idempotency_key, scheme=scheme, error=type(exc).__name__
            )
            raise
        self.events.write(
            "sent",
            key=message.idempotency_key,
            scheme=scheme,
            addr=digest(message.address),
            provider_id=result.provider_id,
        )
        self.sends += 1
        due = self.exit_after_sends and self.sends >= self.exit_after_sends
        luck = self.exit_after_send and self.rng.random() < self.exit_after_send
        if (due or luck) and not self.calm():
            self.events.write(
                "exit_after_send",
                key=message.idempotency_key,
                scheme=scheme,
                addr=digest(message.address),
            )
            os._exit(CRASH_STATUS)
        return result

    def calm(self) -> bool:
        return self.calm_file is not None and os.path.exists(self.calm_file)

    def can_look_up(self, address: str) -> bool:
        # Delivery asks this only for a row a dead worker left ``sending`` (SPEC §12).
        able = self.inner.can_look_up(address)
        self.events.write("reclaimed", addr=digest(address), checkable=able)
        return able

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        found = await self.inner.find_sent(address, body, since)
        self.events.write("lookup", addr=digest(address), found=found)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install_fault_injector(events: Events, exit_after_send: float, rng: random.Random) -> None:
    """Wrap the senders every Server of this process builds."""
    build = bot.server.build_senders  # type: ignore[attr-defined]

    def build_faulty(settings: Any, **kwargs: Any) -> Any:
        return FaultySenders(
            build(settings, **kwargs),
            events,
            exit_after_send=exit_after_send,
            rng=rng,
            calm_file=os.environ.get(ENV_CALM),
            exit_after_sends=int(os.environ.get(ENV_EXIT_AFTER_SENDS, "0") or 0),
        )

    bot.server.build_senders = build_faulty  # type: ignore[attr-defined]


def make_server(settings: Settings, events: Events) -> Server:
    clock = WarpClock.from_env()
    server = Server(settings, clock=clock)
    if os.environ.get(ENV_EXIT_AFTER_ACCEPT) == "1":
        loop = asyncio.get_running_loop()

        def crash_after_answer(inbox_id: int) -> None:
            # The response is on its way; die before anything processes the committed row.
            events.write("exit_after_accept", inbox=inbox_id)
            loop.call_later(0.3, os._exit, CRASH_STATUS)

        server.process_soon = crash_after_answer  # type: ignore[method-assign]
    return server


def announce(event: str, **fields: Any) -> None:
    line = json.dumps({"ev": event, "pid": os.getpid(), "t": time.time(), **fields}) + "\n"
    os.write(sys.stdout.fileno(), line.encode())


async def run_worker(settings: Settings, events: Events, name: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = make_server(settings, events)
    await server.start()
    events.write("ready")
    announce("ready", name=name)
    try:
        await stop.wait()
    finally:
        await server.stop()


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()


async def run_serve(settings: Settings, events: Events, name: str, port: int) -> None:
    from bot.app import create_app  # the web side only where it is served

    server = make_server(settings, events)
    config = uvicorn.Config(
        create_app(server),
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_config=None,
        access_log=False,
        http="h11",
        ws="none",
        timeout_graceful_shutdown=3,
    )

    def started() -> None:
        events.write("ready")
        announce("ready", name=name, port=port)

    await _Uvicorn(config, started).serve()


def run_child(mode: str, name: str, port: int | None) -> int:
    """The body of one worker or server process; returns its exit status."""
    seed = int(os.environ.get(ENV_SEED, "0") or 0) or int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed ^ os.getpid())
    random.seed(rng.random())
    settings = load_settings(os.environ, env_file=None)
    configure_logging(settings.log_level)
    events = Events(os.environ.get(ENV_EVENTS), name)
    install_fault_injector(events, float(os.environ.get(ENV_EXIT_AFTER_SEND, "0") or 0), rng)
    if mode == "serve":
        assert port is not None
        asyncio.run(run_serve(settings, events, name, port))
    else:
        asyncio.run(run_worker(settings, events, name))
    return 0


# -- the zygote -------------------------------------------------------------------------------


def _fork_child(command: dict[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 2)
        # ``kill -USR1 <pid>`` writes every thread's stack to the log (a stuck worker).
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        os.environ.update(command.get("env", {}))
        os.environ[ENV_NAME] = command["name"]
        status = run_child(command.get("mode", "worker"), command["name"], command.get("port"))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(status)


def _signal_all(children: set[int], sig: signal.Signals) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def zygote() -> None:
    """Fork children on request; report each child's end; stop them all on EOF or quit."""
    load_programs(None)  # warm every import the children need before forking
    with contextlib.suppress(ImportError):
        import bot.app  # noqa: F401
    children: set[int] = set()
    announce("zygote_ready")
    stdin = sys.stdin.fileno()
    buffer = b""
    running = True
    deadline = float("inf")
    while running or children:
        readable, _, _ = select.select([stdin] if running else [], [], [], 0.05)
        if readable:
            chunk = os.read(stdin, 65536)
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                command = json.loads(line)
                if command["cmd"] == "spawn":
                    pid = _fork_child(command)
                    children.add(pid)
                    announce("spawned", name=command["name"], child=pid)
                elif command["cmd"] == "quit":
                    chunk = b""
            if not chunk and running:
                running = False
                deadline = time.monotonic() + 15
                _signal_all(children, signal.SIGTERM)
        if time.monotonic() > deadline:
            _signal_all(children, signal.SIGKILL)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if pid == 0:
                break
            children.discard(pid)
            announce("exited", child=pid, status=os.waitstatus_to_exitcode(status))


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "worker"
    if mode == "zygote":
        zygote()
        return 0
    port = int(argv[2]) if mode == "serve" else None
    return run_child(mode, os.environ.get(ENV_NAME, mode), port)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
