"""Every test runs with logging at DEBUG; at the end no log line may contain a message body,
a name or a phone number that a test used (SPEC §11: logs carry ids only).

Test helpers register the personal data they create with :func:`remember`. The session fails
if any captured record (message or exception trace) contains one of them.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from bot.logs import quiet_third_parties

_SENSITIVE: set[str] = set()
_LINES: list[str] = []
_MIN_LENGTH = 6  # short words ("yes", "7") are not identifying and appear in ordinary text


def remember(*values: str | None) -> None:
    """Mark values as personal data that must never reach a log."""
    for value in values:
        if value and len(value.strip()) >= _MIN_LENGTH:
            _SENSITIVE.add(value.strip())
            if value.startswith("+"):
                _SENSITIVE.add(value[2:] if value.startswith("+1") else value[1:])


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _LINES.append(self.format(record))
        except Exception:  # a record that cannot format is not our concern here
            _LINES.append(f"{record.name} {record.levelname} <unformattable>")


def _remember_import_files() -> None:
    """Names and phones of the CSV fixtures are personal data too."""
    folder = Path(__file__).parent / "data" / "import"
    for path in folder.glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for column in ("name", "phone", "family_name", "family_phone"):
                    remember(row.get(column))


def pytest_configure(config: pytest.Config) -> None:
    _remember_import_files()
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(_Capture())
    quiet_third_parties()


def leaks() -> list[tuple[str, str]]:
    found = []
    for line in _LINES:
        for value in _SENSITIVE:
            if value in line:
                found.append((value, line[:300]))
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = leaks()
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"PRIVACY: {len(found)} log lines carry personal data:", red=True)
            for value, line in found[:20]:
                reporter.write_line(f"  {value!r} in: {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
