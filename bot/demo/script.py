"""The scripted people of the demo month: how each patient and care manager reacts to a message.

Patients follow their ``behaviour`` (bot/demo/data.py). Care managers acknowledge alerts after
some minutes; the assignee misses an emergency page (on a home visit), so the ladder climbs to
the backup, who acknowledges it. Random delays come from the seeded generator only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.demo.answers import answer_text
from bot.demo.data import DemoPatient
from outreach.programs.model import Question

RED_FLAG_WORDS = {
    "en": "I have crushing chest pain right now",
    "es": "Tengo un dolor muy fuerte en el pecho ahora mismo",
}
STOP_WORDS = {"en": "Please stop texting me", "es": "No más mensajes por favor"}
ASKING = ("question", "reask", "reminder")
"""Message kinds that wait for an answer."""


@dataclass(frozen=True, slots=True)
class Say:
    """A scripted message: who sends what, and when. ``notable`` lines go on the timeline."""

    at: datetime
    address: str
    text: str
    notable: bool = False


class PatientScript:
    """One patient's reactions to what carebot sends them."""

    def __init__(self, patient: DemoPatient, rng: random.Random) -> None:
        self.patient = patient
        self.rng = rng
        self.reminded = False
        self.answered = 0

    def on_message(self, kind: str, question: Question | None, now: datetime) -> Say | None:
        """The reply to a message of ``kind`` while ``question`` waits for an answer, if any."""
        if kind == "reminder":
            self.reminded = True
        if kind not in ASKING or question is None:
            return None
        behaviour = self.patient.behaviour
        if behaviour == "silent" or (behaviour == "slow" and not self.reminded):
            return None
        language = self.patient.language
        if behaviour == "red_flag" and self.answered == 0:
            return self._say(now, RED_FLAG_WORDS[language], notable=True)
        if behaviour == "stop" and self.answered == 1:
            return self._say(now, STOP_WORDS[language], notable=True)
        self.answered += 1
        notable = question.id in self.patient.answers
        return self._say(now, answer_text(question, self.patient), notable=notable)

    def _say(self, now: datetime, text: str, *, notable: bool = False) -> Say:
        delay = timedelta(minutes=self.rng.randint(2, 12), seconds=self.rng.randint(0, 59))
        return Say(now + delay, self.patient.address, text, notable)


@dataclass(frozen=True, slots=True)
class ManagerPlan:
    """When a care manager answers an alert: acknowledge after ``ack``, resolve after
    ``resolve`` (None: leave it acknowledged for the queue)."""

    ack: timedelta | None
    resolve: timedelta | None


def manager_plan(severity: str, rung: int, rng: random.Random) -> ManagerPlan:
    """How the person on ``rung`` answers an alert of ``severity``."""
    if severity == "emergency":
        if rung == 0:
            return ManagerPlan(None, None)  # on a home visit: the page goes unanswered
        return ManagerPlan(timedelta(minutes=rng.randint(2, 4)), timedelta(hours=1))
    if severity == "urgent":
        return ManagerPlan(timedelta(minutes=rng.randint(15, 45)), timedelta(days=1))
    return ManagerPlan(timedelta(minutes=rng.randint(40, 180)), None)


def ack_text(escalation_id: int) -> str:
    return f"ACK {escalation_id}"


def resolve_text(escalation_id: int) -> str:
    return f"RESOLVE {escalation_id} called the patient, plan agreed"
