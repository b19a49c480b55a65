"""What a conversation step needs to know besides its state: program, patient and policies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from outreach.findings import Finding
from outreach.locale import EmergencyLocale
from outreach.programs.model import Program
from outreach.rules import RuleContext

Screen = Callable[[str, str], Sequence[Finding]]
"""Red-flag screening of free text: (text, language) -> findings."""


def no_screen(text: str, language: str) -> Sequence[Finding]:
    """A screen that finds nothing (engine tests that are not about triage)."""
    return ()


@dataclass(frozen=True, slots=True)
class PatientView:
    """The little the conversation knows of the patient."""

    first_name: str
    language: str
    timezone: str
    locale: EmergencyLocale


@dataclass(frozen=True, slots=True)
class Policy:
    """Timing of a check-in (SPEC §4): reminder offsets, response window, contact window."""

    reminders: tuple[timedelta, ...] = (timedelta(hours=4), timedelta(hours=24))
    response_window: timedelta = timedelta(hours=72)
    window_start: str = "09:00"
    window_end: str = "20:00"
    min_idle_before_reminder: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ConversationEnv:
    program: Program
    patient: PatientView
    team_name: str
    team_phone: str = ""
    rule_context: RuleContext | None = None
    screen: Screen = no_screen
    policy: Policy = field(default_factory=Policy)
    next_checkin: str | None = None
    """The next check-in's date as the patient should read it (closing message)."""
