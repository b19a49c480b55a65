"""A crew of named worker processes that is kept running: SIGKILL one at random moments, and
fork a fresh one whenever one died (killed by the test or by its own fault injector)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tests.reliability.procs import Child, Zygote
from tests.reliability.worker_proc import CRASH_STATUS


@dataclass
class CrewStats:
    kills: int = 0
    """SIGKILLs sent by the test."""
    exits_after_send: int = 0
    """Processes that ended themselves right after a provider accepted a message."""
    restarts: int = 0
    other_exits: list[int] = field(default_factory=list)


class Crew:
    def __init__(
        self,
        zygote: Zygote,
        names: list[str],
        *,
        env: Callable[[str], Mapping[str, str]] | None = None,
        mode: str = "worker",
    ) -> None:
        self.zygote = zygote
        self.names = names
        self.env = env or (lambda name: {})
        self.mode = mode
        self.slots: dict[str, Child] = {}
        self.stats = CrewStats()
        self.dead: list[Child] = []

    def start(self) -> None:
        """Fork every worker; they may die at once (the fault injector), :meth:`revive` them."""
        for name in self.names:
            self.slots[name] = self.zygote.spawn(name, mode=self.mode, env=self.env(name))

    def revive(self) -> int:
        """Fork again every slot whose process ended; returns how many."""
        self.zygote.refresh()
        revived = 0
        for name, child in list(self.slots.items()):
            if child.alive:
                continue
            self._account(child)
            self.slots[name] = self.zygote.spawn(name, mode=self.mode, env=self.env(name))
            self.stats.restarts += 1
            revived += 1
        return revived

    def kill_one(self, rng: random.Random, *, min_age: float = 0.2) -> Child | None:
        """SIGKILL one running worker, whatever it is doing (starting up included), and fork
        its replacement at once; None if no worker has lived ``min_age`` seconds yet."""
        self.zygote.refresh()
        now = time.monotonic()
        running = [c for c in self.slots.values() if c.alive and now - c.started >= min_age]
        if not running:
            return None
        victim = rng.choice(running)
        self.zygote.kill(victim)
        self.stats.kills += 1
        self.zygote.wait_exit(victim, timeout=10)
        self.revive()
        return victim

    def wait_all_ready(self, timeout: float = 30) -> None:
        for child in list(self.slots.values()):
            if child.alive:
                self.zygote.wait_ready(child, timeout)

    def dump_stacks(self) -> None:
        """Ask every running worker to write its stacks to its log (SIGUSR1, faulthandler)."""
        for child in self.slots.values():
            if child.alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGUSR1)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM every worker (a graceful stop) and wait for them."""
        for child in self.slots.values():
            if child.alive:
                self.zygote.terminate(child)
        for child in self.slots.values():
            if child.alive:
                self.zygote.wait_exit(child, timeout)
            self._account(child)

    def _account(self, child: Child) -> None:
        if child in self.dead:
            return
        self.dead.append(child)
        status = child.exit_status
        if status == CRASH_STATUS:
            self.stats.exits_after_send += 1
        elif status not in (None, 0, -9):
            self.stats.other_exits.append(status)

    def crashed_at(self) -> dict[int, float]:
        """pid → wall time of death, of the processes that died without a graceful stop
        (SIGKILL or the fault injector)."""
        return {
            c.pid: c.exited_at
            for c in self.dead
            if c.exit_status not in (None, 0) and c.exited_at is not None
        }
