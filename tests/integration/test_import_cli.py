"""The import and create-admin commands end to end: typer's runner on a migrated SQLite file.

These tests are synchronous on purpose: each command runs its own event loop (``bot.cli.run``).
"""

from __future__ import annotations

import asyncio
import io
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from bot.commands.admin import create_admin
from bot.commands.importing import ProgressBar, import_managers, import_patients, import_rota
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import CareManager, Patient
from tests.integration.test_import_managers import DATA

PASSWORD = "a long enough passphrase"


def cli() -> typer.Typer:
    """The commands wired as bot.cli wires them (``carebot import …``, ``carebot create-admin``)."""
    app = typer.Typer()
    imports = typer.Typer()
    imports.command("managers")(import_managers)
    imports.command("patients")(import_patients)
    imports.command("rota")(import_rota)
    app.add_typer(imports, name="import")
    app.command("create-admin")(create_admin)
    return app


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}"
    asyncio.run(upgrade(url))
    return url


def invoke(url: str, *args: str, stdin: str | None = None) -> Result:
    env = {"DATABASE_URL": url, "DEFAULT_REGION": "US", "PROGRAMS_DIR": ""}
    return CliRunner().invoke(cli(), list(args), env=env, input=stdin)


def scalar(url: str, statement: Any) -> object:
    async def go() -> object:
        async with Database.from_url(url) as db, db.transaction() as session:
            return await session.scalar(statement)

    return asyncio.run(go())


def test_import_end_to_end(database_url: str, tmp_path: Path) -> None:
    managers = invoke(database_url, "import", "managers", str(DATA / "managers.csv"))
    assert managers.exit_code == 0, managers.output
    assert managers.stdout.strip() == (
        "managers: 4 created, 0 updated, 0 unchanged, 0 opted out (left unchanged), 0 bad"
    )

    bad = invoke(database_url, "import", "patients", str(DATA / "patients_bad.csv"))
    assert bad.exit_code == 1
    lines = bad.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"line {n}" for n in (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16)
    ]
    assert lines[-1].startswith("line 16: phone '12' is not a valid phone number")
    assert bad.stdout.startswith("patients: nothing imported: 12 bad of 15 rows")
    assert scalar(database_url, select(func.count()).select_from(Patient)) == 0

    skipped = invoke(
        database_url, "import", "patients", str(DATA / "patients_bad.csv"), "--skip-bad"
    )
    assert skipped.exit_code == 0
    assert len(skipped.stderr.splitlines()) == 12
    assert "patients: 3 created, 0 updated, 0 unchanged" in skipped.stdout
    assert scalar(database_url, select(func.count()).select_from(Patient)) == 3

    rota = invoke(database_url, "import", "rota", str(DATA / "rota.csv"))
    assert (rota.exit_code, rota.stdout.strip()) == (
        0,
        "rota: 5 entries imported, replacing 0; 0 bad",
    )


def test_unusable_files_exit_2(database_url: str, tmp_path: Path) -> None:
    header = tmp_path / "wrong.csv"
    header.write_text("email,name,phone\n")
    result = invoke(database_url, "import", "managers", str(header))
    assert result.exit_code == 2
    assert result.stderr.startswith("carebot: wrong.csv: line 1 (header): missing column(s): role")
    missing = invoke(database_url, "import", "patients", str(tmp_path / "absent.csv"))
    assert missing.exit_code == 2 and "cannot read the file" in missing.stderr


def test_an_old_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = invoke(url, "import", "managers", str(DATA / "managers.csv"))
    assert result.exit_code == 1
    assert "carebot db upgrade" in result.stderr


def test_create_admin_from_stdin(database_url: str) -> None:
    result = invoke(
        database_url, "create-admin", "--email", "root@clinic.example", "--name", "Root",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert result.stdout.startswith("admin 1 created: root@clinic.example")
    role = scalar(database_url, select(CareManager.role).where(CareManager.id == 1))
    assert role == "admin"
    again = invoke(
        database_url, "create-admin", "--email", "ROOT@clinic.example", "--name", "Root",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert again.exit_code == 0 and "promoted to admin" in again.stdout
    short = invoke(
        database_url, "create-admin", "--email", "x@clinic.example", "--name", "X", stdin="pw\n"
    )
    assert short.exit_code == 1 and "at least 12 characters" in short.stderr
    assert "pw" not in short.output.replace("password", "")


def test_a_copy_of_a_fixture_keeps_its_line_numbers(database_url: str, tmp_path: Path) -> None:
    """Windows line endings count the same lines."""
    invoke(database_url, "import", "managers", str(DATA / "managers.csv"))
    crlf = tmp_path / "crlf.csv"
    shutil.copy(DATA / "patients_bad.csv", crlf)
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    result = invoke(database_url, "import", "patients", str(crlf))
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in result.stderr.splitlines()][-1] == "line 16"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_and_only_for_long_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe, terminal = io.StringIO(), _Terminal()
    monkeypatch.setattr(sys, "stderr", pipe)
    bar = ProgressBar(min_rows=10)
    bar(5, 20)
    bar.close()
    assert pipe.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", terminal)
    short = ProgressBar(min_rows=10)
    short(5, 5)
    assert short._progress is None
    bar = ProgressBar(min_rows=10)
    bar(10, 20)
    assert bar._progress is not None
    bar(20, 20)
    bar.close()
    assert bar._progress is None
