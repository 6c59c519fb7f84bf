"""Previewing and importing one CSV file: validate every row first, then write all or nothing.

Each kind is an upsert keyed by its external id: new keys are created, changed rows updated,
unchanged rows left alone, so importing the same file twice changes nothing. Enrollments are
purchases through the ledger, keyed by the enrollment id so no token ever moves twice.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.db import transaction

from tokenecon.csv_io.errors import CsvProblem, CsvValidationError
from tokenecon.csv_io.importing.activity import ACTIVITY
from tokenecon.csv_io.importing.catalog import COURSES, PRICE_HISTORY
from tokenecon.csv_io.importing.engine import ImportResult, RowChecks, Upsert
from tokenecon.csv_io.importing.enrollments import EnrollmentImport
from tokenecon.csv_io.importing.people import LEARNERS, TEACHERS, LearnerUpsert, PeopleUpsert
from tokenecon.csv_io.schemas import IMPORT_KINDS, SCHEMAS, ParsedFile, parse_csv

IMPORTERS: dict[str, Callable[[ParsedFile], RowChecks]] = {
    "teachers": partial(PeopleUpsert, declaration=TEACHERS),
    "courses": partial(Upsert, declaration=COURSES),
    "learners": partial(LearnerUpsert, declaration=LEARNERS),
    "price_history": partial(Upsert, declaration=PRICE_HISTORY),
    "enrollments": EnrollmentImport,
    "activity": partial(Upsert, declaration=ACTIVITY),
}


def plan_import(kind: str, source) -> RowChecks:
    """Parse ``source`` as ``kind`` and plan it (reads only); its result lists every problem."""
    if kind not in IMPORTERS:
        raise CsvValidationError(
            [CsvProblem(1, "", kind, f"unknown kind; choose one of {', '.join(IMPORT_KINDS)}")], kind=kind
        )
    parsed = parse_csv(SCHEMAS[kind], source)
    importer = IMPORTERS[kind](parsed)
    if not any(p.line == 1 for p in parsed.problems):
        importer.plan()
    importer.result.problems = sorted(importer.problems)
    return importer


def preview_import(*, kind: str, source) -> ImportResult:
    """Validate a file and count what it would create and update, writing nothing."""
    return plan_import(kind, source).result


def import_csv(*, kind: str, source) -> ImportResult:
    """Import one CSV file of ``kind``: every row valid and written, or ``CsvValidationError`` and nothing.

    Validation runs inside the same transaction as the writes, so the rows checked are the rows
    written even when someone else changes the data between a preview and the import.
    """
    with transaction.atomic(durable=True):
        importer = plan_import(kind, source)
        if importer.result.problems:
            raise CsvValidationError(importer.result.problems, kind=kind)
        importer.write()
    return importer.result
