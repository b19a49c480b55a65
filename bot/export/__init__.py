"""Data exports for the care team: FHIR R4B bundles and CSV files (docs/export.md)."""

from bot.export.csvfiles import export_csv
from bot.export.fhir import FhirCounts, fhir_bundles, write_fhir
from bot.export.files import ExportError

__all__ = ["ExportError", "FhirCounts", "export_csv", "fhir_bundles", "write_fhir"]
