"""The combined verdict on a message or check-in: severity, findings and replies to send."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from outreach.findings import Finding, Severity, highest

# Patient replies, most serious first. "emergency" and "crisis" are both sent when both apply;
# advice for someone else only when the patient needs neither; guidance only without an alert.
_ALERT_REPLIES = ("emergency", "crisis")


@dataclass(frozen=True, slots=True)
class Assessment:
    """What triage concluded.

    ``findings`` holds one finding per rule id (its most severe occurrence), denied ones left
    out. ``responses`` are the patient-facing replies to send, in order; ``advice`` the extra
    instructions for them ("note_time", "poison_control").
    """

    severity: Severity
    findings: tuple[Finding, ...]
    sensitive: bool
    responses: tuple[str, ...]
    advice: tuple[str, ...] = ()

    @property
    def response(self) -> str:
        """The most serious reply ("" for none)."""
        return self.responses[0] if self.responses else ""

    @property
    def alerting(self) -> tuple[Finding, ...]:
        """The findings that call for the care team (severity above none)."""
        return tuple(f for f in self.findings if f.severity > Severity.NONE)


def _deduplicated(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    best: dict[str, Finding] = {}
    for finding in findings:
        if finding.negated:
            continue
        kept = best.get(finding.rule_id)
        if kept is None or finding.severity > kept.severity:
            best[finding.rule_id] = finding
    return tuple(best.values())


def _responses(findings: tuple[Finding, ...]) -> tuple[str, ...]:
    alerting = {f.response for f in findings if f.severity > Severity.NONE}
    chosen = tuple(r for r in _ALERT_REPLIES if r in alerting)
    if chosen:
        return chosen
    if "emergency_other" in alerting:
        return ("emergency_other",)
    if not alerting - {""} and any(f.response == "guidance" for f in findings):
        return ("guidance",)
    return ()


def assess(findings: Iterable[Finding]) -> Assessment:
    """Combines findings (free-text and structured rules alike) into one assessment."""
    kept = _deduplicated(findings)
    alerting = [f for f in kept if f.severity > Severity.NONE]
    # "note the time it started", "call poison control": for what is happening now
    advice = sorted(
        {f.extra["advice"] for f in alerting if "advice" in f.extra and not f.historical}
    )
    return Assessment(
        severity=highest(kept),
        findings=kept,
        sensitive=any(f.sensitive for f in alerting),
        responses=_responses(kept),
        advice=tuple(advice),
    )
