"""Escalation policy as pure functions: alert wording, the ladder's next rung, family notices,
and the commands care managers send back (ACK 12, RESOLVE 12 note, REPLY 12 text)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from outreach.findings import Severity
from outreach.texts import first_name


class Rung(IntEnum):
    """The acknowledgement ladder (SPEC §7)."""

    ASSIGNEE = 0
    BACKUP = 1
    ONCALL = 2
    SUPERVISOR = 3


LAST_RUNG = Rung.SUPERVISOR


def next_rung(current: int, staffed: Callable[[int], bool]) -> int:
    """The rung after ``current`` that has someone on it; empty rungs are skipped, and past the
    last rung the last staffed one repeats, so nothing is dropped."""
    for rung in range(current + 1, LAST_RUNG + 1):
        if staffed(rung):
            return rung
    for rung in range(LAST_RUNG, -1, -1):
        if staffed(rung):
            return rung
    return current


@dataclass(frozen=True, slots=True)
class AlertContent:
    escalation_id: int
    severity: Severity
    patient_name: str
    external_id: str
    reasons: Sequence[str]
    patient_words: str | None
    rung: int = 0


def alert_text(content: AlertContent, *, detail: str, channel: str) -> str:
    """The care manager's alert. ``detail`` full: severity, patient, reason and the patient's
    words; minimal: severity, patient id and where to look (SPEC §7)."""
    level = content.severity.label.upper()
    number = content.escalation_id
    if detail == "minimal":
        body = (
            f"{level}: escalation {number} for patient {content.external_id}. "
            "Open the carebot dashboard to review it."
        )
    else:
        reason = "; ".join(dict.fromkeys(content.reasons)) or "needs review"
        body = f"{level}: {content.patient_name} ({content.external_id}) - {reason}."
        if content.patient_words:
            body += f' Patient wrote: "{_clip(content.patient_words)}"'
    if content.rung > 0:
        body += " Escalated: not acknowledged in time."
    if channel == "sms":
        body += f" Reply ACK {number} or RESOLVE {number} <note>."
    return body


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_FAMILY = {
    ("escalation", "en"): "{name}'s check-in today needs attention. {team} has been told and "
    "will call {name}.",
    ("escalation", "es"): "La revisión de hoy de {name} necesita atención. {team} ya fue "
    "avisado y llamará a {name}.",
    ("unreachable", "en"): "We have not been able to reach {name} for the last check-ins. "
    "{team} has been told.",
    ("unreachable", "es"): "No hemos podido comunicarnos con {name} en las últimas revisiones. "
    "{team} ya fue avisado.",
}
_QUESTIONS = {"en": "Questions: {phone}.", "es": "Preguntas: {phone}."}


def family_text(kind: str, language: str, *, patient_name: str, team: str, phone: str) -> str:
    """The minimum-necessary family notice: no scores, diagnoses, symptoms or drug names."""
    lang = language if language in ("en", "es") else "en"
    body = _FAMILY[(kind, lang)].format(name=first_name(patient_name), team=team)
    if phone:
        body += " " + _QUESTIONS[lang].format(phone=phone)
    return body


def family_kind(rule_id: str, severity: Severity) -> str | None:
    """Which family scope an escalation falls under, if any: unreachable patients, and urgent
    or emergency escalations. Routine notes (an opt-out, a mild symptom) are not sent."""
    if rule_id == "patient.unreachable":
        return "unreachable"
    if severity >= Severity.URGENT:
        return "escalation"
    return None


@dataclass(frozen=True, slots=True)
class ManagerCommand:
    """``action``: ack, resolve, reply, help."""

    action: str
    escalation_id: int | None = None
    text: str = ""


_COMMAND = re.compile(
    r"^\s*/?(ack|acknowledge|resolve|reply)\s*#?(\d+)\b[\s:,-]*(.*)$", re.IGNORECASE | re.DOTALL
)
_CALLBACK = re.compile(r"^callback:(ack|resolve):(\d+)$")


def parse_manager_command(body: str, command: str | None = None) -> ManagerCommand:
    """A care manager's message: an SMS "ACK 12", a Telegram "/reply 12 text" or a button."""
    if command:
        button = _CALLBACK.match(command)
        if button:
            return ManagerCommand(button.group(1), int(button.group(2)))
    match = _COMMAND.match(body or "")
    if not match:
        return ManagerCommand("help")
    action = match.group(1).lower()
    action = "ack" if action == "acknowledge" else action
    return ManagerCommand(action, int(match.group(2)), match.group(3).strip())


MANAGER_HELP = (
    "carebot: reply ACK <number> to acknowledge an escalation, RESOLVE <number> <note> to "
    "resolve it, or REPLY <number> <text> to write to the patient."
)
