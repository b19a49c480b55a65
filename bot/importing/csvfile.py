"""Reading an import file: the header checked against the columns, rows with their line numbers."""

from __future__ import annotations

import _csv
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from outreach.errors import CarebotError


class ImportFileError(CarebotError, ValueError):
    """The file cannot be imported at all: unreadable, not UTF-8, or a wrong header."""


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: ``line`` is the file line it starts on (the header is line 1)."""

    line: int
    values: dict[str, str]
    error: str | None = None
    """Set when the row cannot be read as the header's columns (wrong number of fields)."""

    def get(self, column: str) -> str:
        return self.values.get(column, "")


def read_rows(path: Path, columns: Sequence[str]) -> list[CsvRow]:
    """The rows of the CSV file at ``path``, whose header must name exactly ``columns``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path.name}: not UTF-8 text (byte {exc.start}); save the file as CSV UTF-8"
        ) from None
    except OSError as exc:
        raise ImportFileError(f"{path.name}: cannot read the file ({exc.strerror})") from None
    return parse_rows(text, columns, name=path.name)


def parse_rows(text: str, columns: Sequence[str], name: str = "file") -> list[CsvRow]:
    """The rows of CSV ``text``; see :func:`read_rows`."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError(f"{name}: the file is empty; line 1 must be the header")
        keys = _check_header(header, columns, name)
        return list(_rows(reader, keys))
    except csv.Error as exc:
        raise ImportFileError(f"{name}: line {reader.line_num}: not valid CSV ({exc})") from None


def _check_header(header: list[str], columns: Sequence[str], name: str) -> list[str]:
    keys = [cell.strip().lower() for cell in header]
    problems: list[str] = []
    missing = [column for column in columns if column not in keys]
    unknown = [key for key in keys if key not in columns]
    repeated = sorted({key for key in keys if keys.count(key) > 1 and key in columns})
    if missing:
        problems.append("missing column(s): " + ", ".join(missing))
    if unknown:
        problems.append("unknown column(s): " + ", ".join(repr(key) for key in unknown))
    if repeated:
        problems.append("repeated column(s): " + ", ".join(repeated))
    if problems:
        raise ImportFileError(
            f"{name}: line 1 (header): {'; '.join(problems)}; expected: {','.join(columns)}"
        )
    return keys


def _rows(reader: _csv.Reader, keys: list[str]) -> list[CsvRow]:
    rows: list[CsvRow] = []
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (and lines of empty cells) are not rows
        values = {key: cell.strip() for key, cell in zip(keys, cells, strict=False)}
        error = None
        if len(cells) != len(keys):
            error = f"has {len(cells)} fields, the header has {len(keys)}"
        nul = [key for key, cell in values.items() if "\x00" in cell]
        if nul:
            # No database stores it faithfully (PostgreSQL refuses it in text): the row is bad.
            found = f"NUL character in {', '.join(nul)}"
            error = f"{error}; {found}" if error else found
            values = {key: cell.replace("\x00", "") for key, cell in values.items()}
        rows.append(CsvRow(line, values, error))
    return rows
