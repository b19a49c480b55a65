"""A clock shared by every process of a reliability run that runs ``factor`` times faster
than the wall clock, from a chosen start.

Leases (2 min for claimed check-ins and ``sending`` outbox rows, 1 min for escalations),
acknowledgement deadlines and the inbox grace are measured on carebot's injectable clock, so a
worker killed with rows claimed is replaced within seconds of wall time instead of minutes,
without touching a constant of the production code. All processes derive the time from the
same wall-clock epoch, so they agree on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ENV_EPOCH = "RELIABILITY_CLOCK_EPOCH"
ENV_START = "RELIABILITY_CLOCK_START"
ENV_FACTOR = "RELIABILITY_CLOCK_FACTOR"

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
"""A Monday, 10:00 in New York: inside every patient's contact window."""


@dataclass(frozen=True)
class WarpClock:
    """``now() = start + (wall - epoch) * factor`` (UTC)."""

    start: datetime = START
    factor: float = 30.0
    epoch: float = 0.0

    @classmethod
    def begin(cls, start: datetime = START, factor: float = 30.0) -> WarpClock:
        return cls(start, factor, time.time())

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self.factor)

    def wall(self, clock_seconds: float) -> float:
        """Wall seconds that ``clock_seconds`` of this clock take."""
        return clock_seconds / self.factor

    def env(self) -> dict[str, str]:
        return {
            ENV_EPOCH: repr(self.epoch),
            ENV_START: self.start.isoformat(),
            ENV_FACTOR: repr(self.factor),
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> WarpClock | None:
        if ENV_EPOCH not in environ:
            return None
        return cls(
            datetime.fromisoformat(environ[ENV_START]),
            float(environ[ENV_FACTOR]),
            float(environ[ENV_EPOCH]),
        )
