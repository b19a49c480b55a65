"""The outcome of an import: counts, every bad row with all its reasons, and notes per row."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that cannot be imported, with every reason found (in column order)."""

    line: int
    reasons: tuple[str, ...]

    def text(self) -> str:
        return f"line {self.line}: " + "; ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class RowNote:
    """Something the operator should know about a row that was not rejected."""

    line: int
    text: str


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, when ``imported`` is false, refused to do).

    ``opted_out`` counts rows whose patient or family member revoked consent after an earlier
    import: that person's record and consent were left as they are.
    """

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    opted_out: int = 0
    removed: int = 0
    bad: list[BadRow] = field(default_factory=list)
    notes: list[RowNote] = field(default_factory=list)
    imported: bool = False

    @property
    def good(self) -> int:
        return self.rows - len(self.bad)

    @property
    def exit_code(self) -> int:
        """0 when the file was imported (with ``--skip-bad``: at least one row), else 1."""
        return 0 if self.imported else 1

    def summary(self) -> str:
        """The one summary line; see docs/import.md for its exact form."""
        if not self.imported:
            hint = "; fix them, or use --skip-bad to import the good rows" if self.good else ""
            return f"{self.kind}: nothing imported: {len(self.bad)} bad of {self.rows} rows{hint}"
        if self.kind == "rota":
            return (
                f"rota: {self.created} entries imported, replacing {self.removed}; "
                f"{len(self.bad)} bad"
            )
        return (
            f"{self.kind}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.opted_out} opted out (left unchanged), "
            f"{len(self.bad)} bad"
        )

    def lines(self) -> list[str]:
        """Bad rows and notes in line order (bad rows first on a line), then the summary."""
        entries = [(bad.line, 0, bad.text()) for bad in self.bad]
        entries += [(note.line, 1, f"line {note.line}: {note.text}") for note in self.notes]
        return [text for _, _, text in sorted(entries)] + [self.summary()]
