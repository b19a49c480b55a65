"""Golden transcripts of every built-in program in English and Spanish.

Set UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change; review the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from outreach.conversation import ConversationEnv, PatientView, no_screen
from outreach.locale import locale_for
from outreach.programs.loader import builtin_programs
from outreach.rules import RuleContext
from outreach.texts import format_date
from outreach.triage import screen
from tests.unit.conversation.transcript import run_script

DATA = Path(__file__).parents[2] / "data" / "transcripts"
SCENARIOS: list[dict[str, Any]] = yaml.safe_load((DATA / "scenarios.yaml").read_text())
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


def env_for(scenario: dict[str, Any]) -> ConversationEnv:
    program = builtin_programs()[scenario["program"]]
    locale = locale_for("US")
    assert locale is not None
    name = "Ana" if scenario["language"] == "es" else "Sam"
    return ConversationEnv(
        program=program,
        patient=PatientView(name, scenario["language"], "America/New_York", locale),
        team_name="Riverside Care",
        team_phone="555-0100",
        rule_context=RuleContext(
            now=START,
            previous=scenario.get("previous", {}),
            baseline=scenario.get("baseline", {}),
        ),
        next_checkin=format_date(date(2026, 4, 2), scenario["language"]),
        screen=screen if scenario.get("screen") == "triage" else no_screen,
    )


def script_of(scenario: dict[str, Any]) -> list[str | timedelta]:
    return [
        timedelta(hours=item["wait_hours"]) if isinstance(item, dict) else str(item)
        for item in scenario["replies"]
    ]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_transcript_matches_golden(scenario: dict[str, Any]) -> None:
    transcript = run_script(env_for(scenario), START, script_of(scenario))
    golden = DATA / f"{scenario['name']}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(transcript.text())
    assert golden.exists(), f"no golden file {golden.name}: run with UPDATE_GOLDEN=1 and review"
    assert transcript.text() == golden.read_text()


def test_every_builtin_program_has_an_english_and_a_spanish_transcript() -> None:
    covered = {(s["program"], s["language"]) for s in SCENARIOS}
    for program in builtin_programs():
        assert (program, "en") in covered and (program, "es") in covered, program
