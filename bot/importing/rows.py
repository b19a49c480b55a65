"""Pure validation of import rows: every reason a row is bad, or the typed row to store."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.importing.csvfile import CsvRow
from bot.importing.fields import (
    check_length,
    e164,
    parse_choice,
    parse_email,
    parse_phone,
    parse_zone,
    shown,
)
from bot.importing.report import BadRow
from outreach.schedule.localtime import parse_hhmm
from outreach.schedule.rota import parse_days

T = TypeVar("T")

ROLES = ("care_manager", "supervisor", "admin")
MANAGER_COLUMNS = ("email", "name", "phone", "role", "backup", "timezone")


@dataclass(slots=True)
class Validated(Generic[T]):
    """The good rows (in file order) and the bad ones."""

    good: list[T] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


class Reasons:
    """Collects the reasons a row is bad while its cells are parsed one by one."""

    def __init__(self, row: CsvRow) -> None:
        self.row = row
        self.items: list[str] = [row.error] if row.error else []

    def cell(self, column: str, parse: Callable[[str], T], required: bool = True) -> T | None:
        """``parse`` of the column's text; None (and a reason) when it is bad or missing."""
        text = self.row.get(column)
        if not text:
            if required:
                self.items.append(f"{column} is empty")
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.items.append(str(exc))
            return None

    def add(self, reason: str) -> None:
        self.items.append(reason)


def repeated(rows: Iterable[tuple[int, str]], column: str) -> dict[int, str]:
    """A reason for every line whose key also appears on another line (all of them are bad:
    which one is right cannot be told)."""
    lines: dict[str, list[int]] = defaultdict(list)
    for line, key in rows:
        lines[key].append(line)
    reasons: dict[int, str] = {}
    for key, where in lines.items():
        if len(where) > 1:
            listed = ", ".join(str(line) for line in where)
            for line in where:
                reasons[line] = f"{column} {key!r} appears more than once (lines {listed})"
    return reasons


@dataclass(frozen=True, slots=True)
class ManagerRow:
    line: int
    email: str
    name: str
    phone: str | None
    role: str
    backup: str | None
    timezone: str


def validate_managers(
    rows: list[CsvRow], region: str, default_zone: str, existing: Iterable[str]
) -> Validated[ManagerRow]:
    """Manager rows; ``existing`` are the e-mails already in the database (lower case).

    A ``backup`` must name a manager in the database or on a good row of this file (earlier or
    later); a backup on a bad row makes the row naming it bad too.
    """
    parsed: dict[int, ManagerRow] = {}
    reasons: dict[int, list[str]] = {}
    for row in rows:
        checked = Reasons(row)
        email = checked.cell("email", parse_email)
        name = checked.cell("name", lambda text: check_length(text, 200, "name"))
        phone = checked.cell("phone", lambda text: e164(parse_phone(text, region)), False)
        role = checked.cell("role", lambda text: parse_choice(text, ROLES, "role"))
        backup = checked.cell("backup", lambda text: parse_email(text, "backup"), False)
        zone = checked.cell("timezone", parse_zone, False) or default_zone
        if email and backup == email:
            checked.add("backup names the manager themself")
        reasons[row.line] = checked.items
        if email and name and role:
            parsed[row.line] = ManagerRow(row.line, email, name, phone, role, backup, zone)
    for line, reason in repeated(((m.line, m.email) for m in parsed.values()), "email").items():
        reasons[line].append(reason)
    in_file = {row.get("email").lower(): row.line for row in rows if row.get("email")}
    _check_backups(parsed, reasons, in_file, set(existing))
    return _split(rows, parsed, reasons)


def _check_backups(
    parsed: Mapping[int, ManagerRow],
    reasons: dict[int, list[str]],
    line_of: Mapping[str, int],
    existing: set[str],
) -> None:
    changed = True
    while changed:  # a bad backup row makes its dependants bad, and so on down the chain
        changed = False
        good = {row.email for row in parsed.values() if not reasons[row.line]}
        for row in parsed.values():
            if row.backup is None or reasons[row.line] or row.backup in good:
                continue
            if row.backup in line_of and row.backup not in existing:
                reasons[row.line].append(
                    f"backup {row.backup!r} is on bad line {line_of[row.backup]}"
                )
                changed = True
            elif row.backup not in line_of and row.backup not in existing:
                reasons[row.line].append(f"backup {row.backup!r} is not a known manager")


def _split(
    rows: list[CsvRow], parsed: Mapping[int, T], reasons: Mapping[int, list[str]]
) -> Validated[T]:
    result: Validated[T] = Validated()
    for row in rows:
        if reasons[row.line]:
            result.bad.append(BadRow(row.line, tuple(reasons[row.line])))
        else:
            result.good.append(parsed[row.line])
    return result


ROTA_COLUMNS = ("email", "days", "start", "end", "timezone", "rung")
RUNGS = ("oncall", "supervisor")


@dataclass(frozen=True, slots=True)
class RotaRow:
    line: int
    care_manager_id: int
    days: str
    start: str
    end: str
    timezone: str
    rung: str


def validate_rota(
    rows: list[CsvRow], default_zone: str, managers: Mapping[str, tuple[int, bool]]
) -> Validated[RotaRow]:
    """Rota rows; ``managers`` maps e-mail (lower case) → (id, active) from the database."""
    parsed: dict[int, RotaRow] = {}
    reasons: dict[int, list[str]] = {}
    for row in rows:
        checked = Reasons(row)
        manager_id = checked.cell("email", lambda text: _rota_manager(text, managers))
        days = checked.cell("days", _days)
        start = checked.cell("start", lambda text: parse_hhmm(text, "start").strftime("%H:%M"))
        end = checked.cell("end", lambda text: parse_hhmm(text, "end").strftime("%H:%M"))
        zone = checked.cell("timezone", parse_zone, False) or default_zone
        rung = checked.cell("rung", lambda text: _rung(text))
        reasons[row.line] = checked.items
        if not checked.items:
            assert manager_id is not None and days and start and end and rung
            parsed[row.line] = RotaRow(row.line, manager_id, days, start, end, zone, rung)
    return _split(rows, parsed, reasons)


def _rota_manager(text: str, managers: Mapping[str, tuple[int, bool]]) -> int:
    email = parse_email(text)
    if email not in managers:
        raise ValueError(f"email {shown(text)} is not a known manager (import managers first)")
    manager_id, active = managers[email]
    if not active:
        raise ValueError(f"email {shown(text)} is a deactivated manager")
    return manager_id


def _days(text: str) -> str:
    parse_days(text)  # the rota reads the words back with the same parser
    return text.strip().lower()


def _rung(text: str) -> str:
    word = text.strip().lower().replace("-", "")
    if word not in RUNGS:
        raise ValueError(f"rung {shown(text)} must be oncall or supervisor")
    return word
