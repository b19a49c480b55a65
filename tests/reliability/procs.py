"""The test side of :mod:`tests.reliability.worker_proc`: a zygote that forks carebot workers and
servers, which the tests kill with SIGKILL and start again."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Settings

REPO = Path(__file__).resolve().parents[2]


def clean_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The process environment without any carebot setting of the developer's shell, plus
    ``settings``."""
    aliases = {info.alias for info in Settings.model_fields.values() if info.alias}
    env = {k: v for k, v in os.environ.items() if k not in aliases}
    env["PYTHONPATH"] = str(REPO)
    env.update(settings)
    return env


@dataclass
class Child:
    name: str
    pid: int
    mode: str
    started: float = field(default_factory=time.monotonic)
    ready_at: float | None = None
    exit_status: int | None = None
    exited_at: float | None = None
    """Wall time (``time.time()``) the zygote saw it end."""

    @property
    def alive(self) -> bool:
        return self.exit_status is None


class Zygote:
    """One ``worker_proc zygote`` process; ``spawn`` forks a named worker or server from it."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env = clean_environment(env)
        self.log_dir = log_dir
        self.children: dict[int, Child] = {}
        self._lines: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 90) -> Zygote:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / "zygote.log").open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.worker_proc", "zygote"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self.env,
                cwd=REPO,
            )
        self._reader = threading.Thread(target=self._read, daemon=True, name="zygote-reader")
        self._reader.start()
        self._wait(lambda: self._find("zygote_ready"), timeout, "the zygote to start")
        return self

    def stop(self, timeout: float = 30) -> None:
        process = self._process
        if process is None:
            return
        for child in self.children.values():
            if child.alive:
                _signal(child.pid, signal.SIGTERM)
        try:
            assert process.stdin is not None
            process.stdin.write(b'{"cmd": "quit"}\n')
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            for child in self.children.values():
                if child.alive:
                    _signal(child.pid, signal.SIGKILL)
            process.kill()
            process.wait(10)
        if self._reader is not None:
            self._reader.join(10)
        if process.stdout is not None:
            process.stdout.close()
        self._process = None

    def __enter__(self) -> Zygote:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- children ------------------------------------------------------------------------------

    def spawn(
        self,
        name: str,
        *,
        mode: str = "worker",
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Child:
        """Fork a child; returns once it exists (not yet ready, see :meth:`wait_ready`)."""
        command = {
            "cmd": "spawn",
            "name": name,
            "mode": mode,
            "port": port,
            "env": dict(env or {}),
            "log": str(self.log_dir / f"{name}.log"),
        }
        mark = self._mark()
        self._send(command)
        line = self._wait(
            lambda: self._find("spawned", name=name, after=mark), timeout, f"{name} to fork"
        )
        child = Child(name, int(line["child"]), mode)
        self.children[child.pid] = child
        self._update()
        return child

    def wait_ready(self, child: Child, timeout: float = 60) -> bool:
        """True once the child announced it started; False if it died first."""

        def ready_or_dead() -> bool:
            self._update()
            return child.ready_at is not None or not child.alive

        self._wait(ready_or_dead, timeout, f"{child.name} to start")
        return child.ready_at is not None

    def kill(self, child: Child) -> None:
        """SIGKILL: no handler, no cleanup, no commit."""
        _signal(child.pid, signal.SIGKILL)

    def terminate(self, child: Child) -> None:
        _signal(child.pid, signal.SIGTERM)

    def wait_exit(self, child: Child, timeout: float = 30) -> int:
        def gone() -> bool:
            self._update()
            return not child.alive

        self._wait(gone, timeout, f"{child.name} to exit")
        assert child.exit_status is not None
        return child.exit_status

    def refresh(self) -> None:
        self._update()

    # -- plumbing ------------------------------------------------------------------------------

    def _send(self, command: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write((json.dumps(command) + "\n").encode())
        self._process.stdin.flush()

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for raw in self._process.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()

    def _mark(self) -> int:
        with self._cond:
            return len(self._lines)

    def _find(self, event: str, after: int = 0, **fields: Any) -> dict[str, Any] | None:
        with self._cond:
            for line in self._lines[after:]:
                if line.get("ev") == event and all(line.get(k) == v for k, v in fields.items()):
                    return line
        return None

    def _update(self) -> None:
        with self._cond:
            lines = list(self._lines)
        for line in lines:
            if line.get("ev") == "ready":
                child = self.children.get(int(line["pid"]))
                if child is not None and child.ready_at is None:
                    child.ready_at = time.monotonic()
            elif line.get("ev") == "exited":
                child = self.children.get(int(line["child"]))
                if child is not None and child.exit_status is None:
                    child.exit_status = int(line["status"])
                    child.exited_at = float(line["t"])

    def _wait(self, probe: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"the zygote died while waiting for {what}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
            with self._cond:
                self._cond.wait(0.05)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
