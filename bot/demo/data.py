"""The demo panel: a care team, an on-call rota and twenty sandbox patients (all made up).

Every name, phone number and e-mail here is invented; the phones are in the 555-01xx range set
aside for fiction. Patients are reached on the sandbox channel (``sandbox:<external id>``), so
nothing ever leaves the machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Behaviour = Literal["responder", "slow", "silent", "stop", "red_flag", "worse"]
"""How a scripted patient behaves in ``carebot demo`` (bot/demo/script.py)."""

DEMO_DOMAIN = "demo.carebot"
DEMO_ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
DEMO_PASSWORD = "carebot-demo-2026"
"""The dashboard password of every demo care-team member. Development only: the demo refuses
to run with ``CAREBOT_ENV=production``."""
DEMO_TEAM_NAME = "Riverside Care (demo)"
DEMO_CONSENT_SOURCE = "demo"


@dataclass(frozen=True, slots=True)
class DemoStaff:
    email: str
    name: str
    role: str
    timezone: str
    phone: str | None = None
    backup: str | None = None
    """The e-mail of the backup care manager."""


@dataclass(frozen=True, slots=True)
class DemoRota:
    email: str
    days: str
    start: str
    end: str
    rung: str
    timezone: str = "America/New_York"


@dataclass(frozen=True, slots=True)
class DemoFamily:
    name: str
    relationship: str
    language: str
    notify_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoPatient:
    """A demo patient; ``last_month`` is the check-in seeded a month before the demo starts
    (``completed`` with the usual answers, overridden by ``last_answers``, or ``missed``)."""

    external_id: str
    name: str
    language: str
    program: str
    timezone: str
    manager: str
    day: str
    behaviour: Behaviour = "responder"
    time: str = "10:00"
    baseline_weight: float | None = None
    family: DemoFamily | None = None
    answers: Mapping[str, str] = field(default_factory=dict)
    """Answers this month that differ from the usual ones (question id → what they type)."""
    last_answers: Mapping[str, str] = field(default_factory=dict)
    last_month: Literal["completed", "missed"] = "completed"
    showcase: bool = False
    """Print this patient's whole conversation on the demo timeline."""

    @property
    def address(self) -> str:
        return f"sandbox:{self.external_id}"

    @property
    def family_address(self) -> str:
        return f"sandbox:{self.external_id}-family"


def _email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


ALEX, BEA, CARL, DANA = (_email(n) for n in ("alex.rivera", "bea.okafor", "carl.nguyen", "dana"))

STAFF: tuple[DemoStaff, ...] = (
    DemoStaff(ALEX, "Alex Rivera", "care_manager", "America/New_York", "+12025550101", BEA),
    DemoStaff(BEA, "Bea Okafor", "care_manager", "America/Chicago", "+12025550102", CARL),
    DemoStaff(CARL, "Carl Nguyen", "care_manager", "America/New_York", "+12025550103", ALEX),
    DemoStaff(DANA, "Dana Brooks", "supervisor", "America/New_York", "+12025550104"),
    DemoStaff(DEMO_ADMIN_EMAIL, "Demo Admin", "admin", "America/New_York"),
)

ROTA: tuple[DemoRota, ...] = (
    DemoRota(ALEX, "mon-fri", "08:00", "17:00", "oncall"),
    DemoRota(CARL, "mon-fri", "17:00", "08:00", "oncall"),
    DemoRota(BEA, "sat;sun", "00:00", "00:00", "oncall", "America/Chicago"),
    DemoRota(DANA, "mon-sun", "00:00", "00:00", "supervisor"),
)

_NY, _CHI, _DEN, _LA = ("America/New_York", "America/Chicago", "America/Denver",
                        "America/Los_Angeles")  # fmt: skip
_PR, _PHX = "America/Puerto_Rico", "America/Phoenix"

PATIENTS: tuple[DemoPatient, ...] = (
    DemoPatient(
        "P001", "Robert Hale", "en", "general", _NY, ALEX, "2", "red_flag",
        family=DemoFamily("Linda Hale", "wife", "en", ("escalation", "unreachable")),
    ),
    DemoPatient(
        "P002", "Ana Morales", "es", "heart_failure", _NY, BEA, "2", baseline_weight=165,
        showcase=True,
        family=DemoFamily("Sofía Morales", "hija", "es", ("escalation", "unreachable")),
    ),
    DemoPatient(
        "P003", "Grace Kim", "en", "general", _LA, CARL, "3", "worse",
        answers={"pain": "8, it has been getting worse"}, last_answers={"pain": "3"},
    ),
    DemoPatient("P004", "Walter Price", "en", "copd", _CHI, ALEX, "3", "stop"),
    DemoPatient("P005", "Helen Brooks", "en", "diabetes", _DEN, BEA, "4", "slow"),
    DemoPatient(
        "P006", "Samuel Reed", "en", "heart_failure", _NY, CARL, "4", "silent",
        baseline_weight=201, last_month="missed",
        family=DemoFamily("Mark Reed", "son", "en", ("unreachable",)),
    ),
    DemoPatient("P007", "Rosa Jiménez", "es", "depression", _CHI, ALEX, "5", "silent"),
    DemoPatient("P008", "James Carter", "en", "depression", _NY, BEA, "6"),
    DemoPatient("P009", "Lucía Fernández", "es", "general", _PR, CARL, "first tue"),
    DemoPatient(
        "P010", "Thomas Wright", "en", "heart_failure", _PHX, ALEX, "9", "slow",
        baseline_weight=188,
    ),
    DemoPatient(
        "P011", "Carmen Díaz", "es", "diabetes", _LA, BEA, "10",
        family=DemoFamily("Miguel Díaz", "esposo", "es", ("escalation",)),
    ),
    DemoPatient("P012", "Margaret Hill", "en", "copd", _NY, CARL, "12"),
    DemoPatient("P013", "José Ramírez", "es", "copd", _CHI, ALEX, "14"),
    DemoPatient("P014", "Dorothy Evans", "en", "general", _NY, BEA, "16"),
    DemoPatient("P015", "Daniel Young", "en", "diabetes", _CHI, CARL, "18", "slow"),
    DemoPatient(
        "P016", "Isabel Castro", "es", "heart_failure", _DEN, ALEX, "20", baseline_weight=150,
    ),
    DemoPatient("P017", "Frank Moore", "en", "depression", _NY, BEA, "22"),
    DemoPatient("P018", "Elena Vargas", "es", "general", _NY, CARL, "24", "silent"),
    DemoPatient("P019", "George Allen", "en", "copd", _LA, ALEX, "26"),
    DemoPatient("P020", "Patricia Lee", "en", "general", _NY, BEA, "last fri"),
)  # fmt: skip


def patient_by_id(external_id: str) -> DemoPatient | None:
    return next((p for p in PATIENTS if p.external_id == external_id), None)
