"""A small driver for rule tests: run a built-in program's rules on answers and history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from outreach.findings import Finding
from outreach.programs import AnswerValue, builtin_programs
from outreach.rules import RuleContext, evaluate

NOW = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def run(
    program_id: str,
    answers: Mapping[str, AnswerValue],
    *,
    previous: Mapping[str, AnswerValue] | None = None,
    baseline: Mapping[str, AnswerValue] | None = None,
    readings: Sequence[tuple[datetime, str, float]] = (),
    immediate_only: bool = False,
) -> dict[str, Finding]:
    """The findings by rule id."""
    ctx = RuleContext(now=NOW, previous=previous or {}, baseline=baseline or {}, readings=readings)
    findings = evaluate(builtin_programs()[program_id], answers, ctx, immediate_only=immediate_only)
    by_id = {f.rule_id: f for f in findings}
    assert len(by_id) == len(findings), "a rule fired twice"
    return by_id
