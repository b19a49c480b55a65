"""Import files without a database: reading CSV, the field parsers and row validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.importing.csvfile import ImportFileError, parse_rows, read_rows
from bot.importing.fields import e164, parse_notify, parse_phone, parse_weight_lb
from bot.importing.patient_rows import PATIENT_COLUMNS, PatientRules, validate_patients
from bot.importing.report import BadRow, ImportReport, RowNote
from bot.importing.rows import MANAGER_COLUMNS, ROTA_COLUMNS, validate_managers, validate_rota
from outreach.programs import load_programs

DATA = Path(__file__).parent.parent / "data" / "import"
MANAGERS = {"ana.lopez@clinic.example": 1, "ben.okafor@clinic.example": 2}


def rules() -> PatientRules:
    return PatientRules("US", load_programs(), MANAGERS)


def bad_lines(bad: list[BadRow]) -> dict[int, str]:
    return {row.line: "; ".join(row.reasons) for row in bad}


def test_line_numbers_count_quoted_newlines_and_blank_lines() -> None:
    text = 'a,b\n1,"x\ny\nz"\n\n3,4\r\n5\n'
    rows = parse_rows(text, ["a", "b"])
    assert [(row.line, row.error) for row in rows] == [
        (2, None),
        (6, None),
        (7, "has 1 fields, the header has 2"),
    ]
    assert rows[0].values["b"] == "x\ny\nz"


def test_a_nul_character_makes_the_row_bad_and_is_named() -> None:
    rows = parse_rows("a,b\nx\x00y,2\n1,\x00\x00,3\n", ["a", "b"])
    assert [(row.line, row.error) for row in rows] == [
        (2, "NUL character in a"),
        (3, "has 3 fields, the header has 2; NUL character in b"),
    ]
    assert rows[0].values["a"] == "xy"


def test_header_problems_are_named() -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_rows("email,name,phone,role,colour\n", MANAGER_COLUMNS)
    message = str(caught.value)
    assert "line 1 (header)" in message
    assert "missing column(s): backup, timezone" in message
    assert "unknown column(s): 'colour'" in message


def test_header_is_case_and_space_insensitive_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("\ufeffEmail, Name ,phone,ROLE,backup,timezone\nx@y.org,X,,admin,,\n")
    assert read_rows(path, MANAGER_COLUMNS)[0].values["email"] == "x@y.org"


def test_empty_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ImportFileError, match="empty"):
        read_rows(empty, MANAGER_COLUMNS)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("email,name\nñ".encode("latin-1"))
    with pytest.raises(ImportFileError, match="UTF-8"):
        read_rows(latin, MANAGER_COLUMNS)


@pytest.mark.parametrize(
    ("text", "pounds"),
    [("182", 182.0), ("182 lb", 182.0), ("182lbs", 182.0), ("82.5 kg", 181.9), ("82,5 KG", 181.9)],
)
def test_weights_are_stored_in_pounds(text: str, pounds: float) -> None:
    assert parse_weight_lb(text) == pounds


@pytest.mark.parametrize("text", ["heavy", "182 stone", "-5", "12", "900 lb", "1.2.3"])
def test_bad_weights(text: str) -> None:
    with pytest.raises(ValueError, match="baseline_weight"):
        parse_weight_lb(text)


def test_phones_and_notify() -> None:
    assert e164(parse_phone("(202) 555-0143", "US")) == "+12025550143"
    assert e164(parse_phone("+44 20 7946 0958", "US")) == "+442079460958"
    with pytest.raises(ValueError, match="not a valid phone number"):
        parse_phone("555-0100", "US")
    assert parse_notify("summary; Escalation") == ("escalation", "summary")
    with pytest.raises(ValueError, match="family_notify"):
        parse_notify("escalation;always")


def test_good_patient_file() -> None:
    checked = validate_patients(read_rows(DATA / "patients.csv", PATIENT_COLUMNS), rules())
    assert checked.bad == []
    first, second, telegram, fourth = checked.good
    assert (first.phone, first.cadence_day, first.cadence_time) == ("+12025550143", "5", "10:00")
    assert first.family is not None and first.family.notify == ("escalation", "unreachable")
    assert second.name == "Smith, Robert" and second.weight_lb == 181.9
    assert telegram.phone is None and telegram.cadence_day == "last fri"
    assert fourth.family is not None and fourth.family.language == "en"


def test_every_bad_patient_row_is_named_with_all_its_reasons() -> None:
    checked = validate_patients(read_rows(DATA / "patients_bad.csv", PATIENT_COLUMNS), rules())
    assert [row.line for row in checked.good] == [2, 14, 17]
    bad = bad_lines(checked.bad)
    assert sorted(bad) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16]
    assert "phone '555-0100' is not a valid phone number" in bad[3]
    assert "timezone 'Mars/Olympus' is not an IANA time zone" in bad[4]
    assert "program 'asthma' is not a known program" in bad[5]
    assert "care_manager 'nobody@clinic.example' is not a known manager" in bad[6]
    assert "external_id 'P105' appears more than once (lines 7, 8)" in bad[7] == bad[8]
    assert "checkin_time must be HH:MM" in bad[9]
    assert "checkin_day 'fifth mon' must be 1–28" in bad[10]
    assert "baseline_weight 'heavy'" in bad[11]
    assert "no emergency numbers for country JP" in bad[12]
    assert "family_notify 'always'" in bad[13]
    reasons = next(row.reasons for row in checked.bad if row.line == 16)
    assert len(reasons) == 4  # phone, zone, language, time: all of them


HEADER = ",".join(PATIENT_COLUMNS)


def one(line: str) -> list[str]:
    checked = validate_patients(parse_rows(f"{HEADER}\n{line}\n", PATIENT_COLUMNS), rules())
    return list(checked.bad[0].reasons) if checked.bad else []


def test_patient_rules_in_detail() -> None:
    base = "X1,Ann,(202) 555-0143,America/New_York,en,{channel},general,ana.lopez@clinic.example"
    sms = base.format(channel="sms")
    assert one(sms + ",1,10:00,,,,,,,") == []
    assert one(sms + ",29,10:00,,,,,,,") == [
        "checkin_day '29' must be 1–28 or 'first|second|third|fourth|last <weekday>'"
    ]
    assert "must be 1–28" in one(sms + ",weekly mon,10:00,,,,,,,")[0]
    assert one(sms + ",,,,,,,,,") == []  # the program's default cadence
    no_phone = "X1,Ann,,America/New_York,en,sms,general,ana.lopez@clinic.example,1,10:00,,,,,,,"
    assert one(no_phone) == ["phone is empty (needed for channel sms)"]
    telegram = "X1,Ann,,{zone},en,telegram,general,ana.lopez@clinic.example,1,10:00,,,,,,,"
    assert one(telegram.format(zone="America/Denver")) == []
    assert one(telegram.format(zone="Europe/Madrid")) == []  # ES, from the zone
    assert (
        "cannot tell the country of timezone 'Asia/Tokyo'"
        in one(telegram.format(zone="Asia/Tokyo"))[0]
    )
    partial = sms + ",1,10:00,,Kim,,(202) 555-0150,,,"
    assert one(partial)[0].startswith(
        "family contact incomplete: family_relationship, family_channel, family_notify empty"
    )


def test_managers_with_a_forward_backup_and_bad_chains() -> None:
    rows = read_rows(DATA / "managers.csv", MANAGER_COLUMNS)
    checked = validate_managers(rows, "US", "America/New_York", existing=[])
    assert checked.bad == []
    ana = checked.good[0]
    assert (ana.backup, ana.phone) == ("ben.okafor@clinic.example", "+12025550101")
    assert checked.good[3].timezone == "America/New_York"  # empty: DEFAULT_TIMEZONE

    bad = bad_lines(
        validate_managers(
            read_rows(DATA / "managers_bad.csv", MANAGER_COLUMNS), "US", "UTC", existing=[]
        ).bad
    )
    assert bad[2] == "backup 'ben.okafor@clinic.example' is on bad line 4"
    assert bad[3] == "email 'not-an-email' is not an e-mail address"
    assert "role 'nurse' must be one of care_manager, supervisor, admin" in bad[4]
    assert bad[5] == "backup 'ghost@clinic.example' is not a known manager"
    assert "appears more than once (lines 6, 7)" in bad[6] == bad[7]
    assert bad[8] == "backup names the manager themself"


def test_rota_rows() -> None:
    managers = {
        "ana.lopez@clinic.example": (1, True),
        "ben.okafor@clinic.example": (2, True),
        "cara.singh@clinic.example": (3, False),
    }
    good = validate_rota(read_rows(DATA / "rota.csv", ROTA_COLUMNS), "UTC", managers)
    assert [row.line for row in good.bad] == [5]  # cara is deactivated
    assert good.good[1].end == "08:00"  # past midnight
    bad = bad_lines(
        validate_rota(read_rows(DATA / "rota_bad.csv", ROTA_COLUMNS), "UTC", managers).bad
    )
    assert sorted(bad) == [3, 4, 5]
    assert "ghost@clinic.example' is not a known manager" in bad[3]
    assert bad[4].count(";") == 3  # days, start, timezone, rung
    assert "'2026-02-30' is not a calendar date" in bad[5] and "got '24:00'" in bad[5]


def test_report_lines_and_summary() -> None:
    report = ImportReport("patients", rows=5, bad=[BadRow(4, ("a", "b"))])
    assert report.lines() == [
        "line 4: a; b",
        "patients: nothing imported: 1 bad of 5 rows; fix them, or use --skip-bad to import "
        "the good rows",
    ]
    assert report.exit_code == 1
    report.imported, report.created, report.opted_out = True, 3, 1
    report.notes.append(RowNote(2, "opted out, left unchanged (patient)"))
    assert report.lines() == [
        "line 2: opted out, left unchanged (patient)",
        "line 4: a; b",
        "patients: 3 created, 0 updated, 0 unchanged, 1 opted out (left unchanged), 1 bad",
    ]
    assert report.exit_code == 0
