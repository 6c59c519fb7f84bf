"""CSV import and export of teachers, courses, learners, price history, enrollments and activity.

Columns are documented in ``docs/csv.md``; ``schemas`` is their single definition in code.
"""

from tokenecon.csv_io.errors import CsvProblem, CsvValidationError
from tokenecon.csv_io.exporters import EXPORT_KINDS, export_csv
from tokenecon.csv_io.importing.engine import ImportResult
from tokenecon.csv_io.importing.service import import_csv, preview_import
from tokenecon.csv_io.schemas import IMPORT_KINDS

__all__ = [
    "EXPORT_KINDS",
    "IMPORT_KINDS",
    "CsvProblem",
    "CsvValidationError",
    "ImportResult",
    "export_csv",
    "import_csv",
    "preview_import",
]
