"""Figures the reliability tests produce: printed at the end of the run and, with
``CAREBOT_RELIABILITY_REPORT=path``, written there as JSON (docs/reliability.md quotes them)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPORT_ENV = "CAREBOT_RELIABILITY_REPORT"
FULL_ENV = "CAREBOT_RELIABILITY_FULL"
_FIGURES: dict[str, dict[str, Any]] = {}


def full_size() -> bool:
    """``CAREBOT_RELIABILITY_FULL=1``: the full-size runs instead of the CI sizes."""
    return os.environ.get(FULL_ENV, "") not in ("", "0")


def record(test: str, **figures: Any) -> None:
    _FIGURES.setdefault(test, {}).update(figures)


def recorded() -> dict[str, dict[str, Any]]:
    return dict(_FIGURES)


def write_report() -> Path | None:
    path = os.environ.get(REPORT_ENV)
    if not path or not _FIGURES:
        return None
    target = Path(path)
    existing: dict[str, Any] = {}
    if target.exists():
        try:
            existing = json.loads(target.read_text())
        except ValueError:
            existing = {}
    existing.update(_FIGURES)
    target.write_text(json.dumps(existing, indent=2, sort_keys=True, default=str) + "\n")
    return target
