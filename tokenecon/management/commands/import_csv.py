"""Import one CSV file into the marketplace: all rows or none, every problem listed."""

import time

from django.core.management.base import BaseCommand, CommandError

from tokenecon.csv_io import IMPORT_KINDS, CsvValidationError, import_csv


class Command(BaseCommand):
    help = "Import a CSV file (teachers, courses, learners, price_history, enrollments, activity)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=IMPORT_KINDS)
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header on line 1)")

    def handle(self, *args, kind: str, file: str, **options):
        started = time.perf_counter()
        try:
            with open(file, encoding="utf-8-sig", newline="") as stream:
                result = import_csv(kind=kind, source=stream)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        except CsvValidationError as exc:
            self.stderr.write(f"{len(exc.problems)} problem(s) in {file}; nothing was imported.")
            self.stderr.write(f"{'line':>6}  {'column':<22} {'value':<24} reason")
            for p in exc.problems:
                value = p.value if len(p.value) <= 24 else p.value[:21] + "..."
                self.stderr.write(f"{p.line:>6}  {p.column:<22} {value:<24} {p.reason}")
            raise CommandError(f"{kind}: {len(exc.problems)} problem(s), nothing imported.") from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"{kind}: {result.rows} rows, {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.transfers} ledger transfers ({elapsed:.1f} s)"
            )
        )
