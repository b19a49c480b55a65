"""Severity levels and findings: what triage concludes about a message or a check-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    """Ordered: a higher value is more serious."""

    NONE = 0
    ROUTINE = 1
    URGENT = 2
    EMERGENCY = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason for concern.

    ``rule_id`` is stable (e.g. ``redflag.heart.chest_pain`` or ``pain.high_and_rising``) and is
    the key that deduplicates escalations. ``explanation`` is one line a care manager can read.
    ``sensitive`` findings (mental health, substance use, HIV, reproductive health) are never
    shown to family. ``response`` names the patient-facing reply the finding calls for:
    ``emergency``, ``crisis``, ``emergency_other`` (advice for someone else), ``guidance``
    (hypothetical) or ``""`` for none.
    """

    rule_id: str
    severity: Severity
    explanation: str
    category: str = ""
    question_id: str | None = None
    value: float | str | None = None
    previous: float | str | None = None
    baseline: float | str | None = None
    span: tuple[int, int] | None = None
    text: str | None = None
    sensitive: bool = False
    response: str = ""
    negated: bool = False
    historical: bool = False
    hypothetical: bool = False
    experiencer: str = "patient"
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.label,
            "explanation": self.explanation,
            "category": self.category,
            "question_id": self.question_id,
            "value": self.value,
            "previous": self.previous,
            "baseline": self.baseline,
            "span": list(self.span) if self.span else None,
            "sensitive": self.sensitive,
            "response": self.response,
            "negated": self.negated,
            "historical": self.historical,
            "hypothetical": self.hypothetical,
            "experiencer": self.experiencer,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Finding:
        span = data.get("span")
        return cls(
            rule_id=str(data["rule_id"]),
            severity=Severity.parse(str(data["severity"])),
            explanation=str(data.get("explanation", "")),
            category=str(data.get("category", "")),
            question_id=_opt_str(data.get("question_id")),
            value=_opt_val(data.get("value")),
            previous=_opt_val(data.get("previous")),
            baseline=_opt_val(data.get("baseline")),
            span=(int(span[0]), int(span[1])) if isinstance(span, list | tuple) else None,
            sensitive=bool(data.get("sensitive", False)),
            response=str(data.get("response", "")),
            negated=bool(data.get("negated", False)),
            historical=bool(data.get("historical", False)),
            hypothetical=bool(data.get("hypothetical", False)),
            experiencer=str(data.get("experiencer", "patient")),
        )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_val(value: object) -> float | str | None:
    if value is None or isinstance(value, float | str):
        return value
    if isinstance(value, int):
        return float(value)
    return str(value)


def highest(findings: list[Finding] | tuple[Finding, ...]) -> Severity:
    """The most serious severity among findings (NONE for no findings)."""
    return max((f.severity for f in findings), default=Severity.NONE)
