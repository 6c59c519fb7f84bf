"""Export one kind of marketplace data, or the ledger's transfers, to a CSV file."""

import sys
import time

from django.core.management.base import BaseCommand

from tokenecon.csv_io import EXPORT_KINDS, export_csv


class Command(BaseCommand):
    help = "Export teachers, courses, learners, price_history, enrollments, activity or transfers to CSV."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=EXPORT_KINDS)
        parser.add_argument("file", help="Path of the CSV file to write, or - for standard output")

    def handle(self, *args, kind: str, file: str, **options):
        started = time.perf_counter()
        if file == "-":
            count = export_csv(kind=kind, stream=sys.stdout)
            return
        with open(file, "w", encoding="utf-8", newline="") as stream:
            count = export_csv(kind=kind, stream=stream)
        self.stdout.write(
            self.style.SUCCESS(
                f"{kind}: {count} rows written to {file} ({time.perf_counter() - started:.1f} s)"
            )
        )
