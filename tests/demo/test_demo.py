"""``carebot demo``: the shortened month's figures are what the scripted patients did."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.demo.data import PATIENTS, DemoPatient
from bot.demo.simulation import DEMO_START
from outreach.schedule import next_occurrence, parse_cadence
from tests.demo.conftest import DAYS, DemoRun, invoke

END = DEMO_START + timedelta(days=DAYS)
RESPONSE_WINDOW = timedelta(hours=72)


def first_due(patient: DemoPatient) -> timedelta:
    """When the patient's first check-in of the demo falls due, from the demo's start."""
    cadence = parse_cadence(patient.day, patient.time)
    return next_occurrence(cadence, DEMO_START, ZoneInfo(patient.timezone)) - DEMO_START


def due(*behaviours: str, settled: bool = False) -> list[DemoPatient]:
    """Patients of these behaviours due inside the run (and, if ``settled``, whose response
    window also ended inside it)."""
    span = END - DEMO_START - (RESPONSE_WINDOW if settled else timedelta(0))
    return [p for p in PATIENTS if p.behaviour in behaviours and first_due(p) < span]


def test_summary_matches_the_script(demo_run: DemoRun) -> None:
    summary = demo_run.summary
    everyone = due("responder", "slow", "silent", "stop", "red_flag", "worse")
    answered = due("responder", "slow", "red_flag", "worse")
    silent = due("silent", settled=True)
    unreachable = [p for p in silent if p.last_month == "missed"]
    red_flags = due("red_flag")
    assert (len(everyone), len(answered), len(silent)) == (11, 8, 2)  # the script itself

    assert summary.checkins_sent == len(everyone)
    # A red flag ends the check-in at once: it counts as completed, the care team takes over.
    assert summary.checkins_completed == len(answered)
    assert summary.checkins_missed == len(silent)
    assert summary.checkins_cancelled == len(due("stop")) == 1
    assert summary.checkins_open == 0
    assert summary.opt_outs == 1
    assert summary.escalations == {
        "emergency": len(red_flags),
        "urgent": len(due("worse")),
        # the STOP's note to the care manager, and two missed check-ins in a row
        "routine": len(due("stop")) + len(unreachable),
    }
    assert summary.escalations["emergency"] == 1
    family = [p for p in red_flags if p.family and "escalation" in p.family.notify_on]
    family += [p for p in unreachable if p.family and "unreachable" in p.family.notify_on]
    assert summary.family_notifications == len(family) == 2


def test_the_ladder_climbs_once_and_acks_are_timed(demo_run: DemoRun) -> None:
    summary = demo_run.summary
    # The assignee misses the emergency page; after 5 minutes the backup gets it and acks.
    assert summary.ladder_steps == 1
    assert 5 < summary.ack_minutes["emergency"] <= 10
    assert 15 <= summary.ack_minutes["urgent"] <= 46
    assert summary.median_ack_minutes is not None


def test_timeline_and_table_are_printed(demo_run: DemoRun) -> None:
    out = demo_run.result.stdout
    for line in (
        'P001   writes "I have crushing chest pain right now"',
        "P001   emergency advice sent at once",
        "climbs to the backup",
        "acknowledged by Bea Okafor",
        'P004   writes "Please stop texting me"',
        "P006   family notice (unreachable) -> son",
        "Pain 8/10, up 5 points since last time (3/10).",
        'P002   carebot: "Hola Ana',  # the Spanish conversation is shown in full
        "P005   reminder sent",
    ):
        assert line in out, line
    summary = demo_run.summary
    assert f"│ check-ins sent                        │ {summary.checkins_sent:>7} │" in out
    assert "family notifications" in out and "median time to acknowledge" in out
    # ids only: no phone number or sandbox address on the timeline
    assert "+1202555" not in out and "sandbox:" not in out


def test_refused_in_production(var_dir: dict[str, str]) -> None:
    env = {**var_dir, "CAREBOT_ENV": "production", "SECRET_KEY": "x" * 40}
    result = invoke("demo", "--days", "1", env=env)
    assert result.exit_code == 1
    assert "the demo is disabled when CAREBOT_ENV=production" in result.stderr
