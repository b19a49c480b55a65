"""The trend charts of a patient: charted answers and score totals, with their rule thresholds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.charts import Chart, Point, Threshold
from outreach.programs.model import Program, Question, Rule
from storage.models import CheckIn, Enrollment, Patient
from storage.repositories.checkins import CheckInRepository

NUMERIC = ("scale", "number", "choice")
UNIT_LABELS = {"lb": "lb", "mg_dl": "mg/dL", "days": "days", "count": "", "points": "points"}
SEVERITY_RANK = {"emergency": 0, "urgent": 1, "routine": 2, "baseline": 3}


def rule_thresholds(rules: Iterable[Rule], baseline: float | None = None) -> list[Threshold]:
    """The horizontal lines a question's rules imply, one per value (the most severe wins):
    absolute limits and band edges (``value >= 7``, ``value < 70``, ``crosses_into``) and,
    given a baseline, the baseline itself and baseline + limit (``change_from_baseline >= 5``).
    Changes against the previous answer have no fixed line and are not drawn."""
    found: dict[float, Threshold] = {}

    def add(value: float, label: str, tone: str) -> None:
        current = found.get(value)
        if current is None or SEVERITY_RANK[tone] < SEVERITY_RANK[current.tone]:
            found[value] = Threshold(value, label, tone)

    for rule in rules:
        for condition in [*rule.all_of, *rule.any_of]:
            if condition.value is not None and condition.than is not None:
                add(condition.than, rule.severity, rule.severity)
            for edge in condition.crosses_into or ():
                add(edge, rule.severity, rule.severity)
            if (
                condition.change_from_baseline in (">=", ">")
                and condition.than is not None
                and baseline is not None
            ):
                add(baseline, "baseline", "baseline")
                add(baseline + condition.than, f"baseline+{condition.than:g}", rule.severity)
    return sorted(found.values(), key=lambda t: t.value)


def _title(question: Question) -> str:
    words = question.id.replace("_", " ").capitalize()
    unit = UNIT_LABELS.get(question.unit or "", "")
    return f"{words} ({unit})" if unit and unit not in words.lower() else words


def _bounds(question: Question) -> tuple[float | None, float | None]:
    if question.type == "choice":
        values = [option.value for option in question.options]
        return min(values), max(values)
    if question.type == "scale":
        return question.min, question.max
    return None, None  # numbers (weight, sugar): the data and thresholds set the axis


def _total_bounds(program: Program, total_id: str) -> tuple[float | None, float | None]:
    low = high = 0.0
    for question in program.total_members(total_id):
        q_low, q_high = _bounds(question)
        if q_low is None or q_high is None:
            return None, None
        low, high = low + q_low, high + q_high
    return low, high


def _baseline(patient: Patient, key: str) -> float | None:
    value: Any = (patient.baseline or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


async def patient_charts(
    session: AsyncSession,
    patient: Patient,
    programs: Mapping[str, Program],
    enrollments: Sequence[Enrollment],
    checkins: Sequence[CheckIn],
) -> list[Chart]:
    """One chart per charted question and score total of the patient's programs."""
    charts: list[Chart] = []
    seen: set[str] = set()
    repo = CheckInRepository(session)
    for enrollment in enrollments:
        program = programs.get(enrollment.program_id)
        if program is None:
            continue
        for question in program.questions:
            if not question.chart or question.type not in NUMERIC or question.id in seen:
                continue
            seen.add(question.id)
            readings = await repo.readings(patient.id, question.id)
            low, high = _bounds(question)
            charts.append(
                Chart(
                    id=question.id,
                    title=_title(question),
                    unit=UNIT_LABELS.get(question.unit or "", ""),
                    points=[Point(r.at, r.value) for r in readings],
                    thresholds=rule_thresholds(question.rules, _baseline(patient, question.id)),
                    low=low,
                    high=high,
                    floor=question.min,
                )
            )
        for total in program.totals:
            if not total.chart or total.id in seen:
                continue
            seen.add(total.id)
            low, high = _total_bounds(program, total.id)
            charts.append(
                Chart(
                    id=total.id,
                    title=total.label,
                    points=_total_points(checkins, total.id),
                    thresholds=rule_thresholds(total.rules),
                    low=low,
                    high=high,
                )
            )
    return charts


def _total_points(checkins: Sequence[CheckIn], total_id: str) -> list[Point]:
    points = []
    for checkin in checkins:
        value = ((checkin.state or {}).get("totals") or {}).get(total_id)
        if isinstance(value, int | float):
            at = checkin.completed_at or checkin.started_at or checkin.scheduled_for
            points.append(Point(at, float(value)))
    return sorted(points, key=lambda p: p.at)
