"""CSV imports of care managers, patients and the on-call rota (SPEC §10, §14)."""

from bot.importing.csvfile import ImportFileError
from bot.importing.managers import import_managers
from bot.importing.patients import import_patients
from bot.importing.progress import ProgressCallback
from bot.importing.report import BadRow, ImportReport, RowNote
from bot.importing.rota import import_rota

__all__ = [
    "BadRow",
    "ImportFileError",
    "ImportReport",
    "ProgressCallback",
    "RowNote",
    "import_managers",
    "import_patients",
    "import_rota",
]
