"""Compute and store a price recommendation for every course from the production demand model."""

import time

from django.core.management.base import BaseCommand, CommandError

from pricing.services.model_source import NoDemandModel
from pricing.services.recommendations import compute_recommendations


class Command(BaseCommand):
    help = "Recompute price recommendations for the whole catalog (the nightly task does the same)."

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            count = compute_recommendations()
        except NoDemandModel as exc:
            raise CommandError(f"{exc} Run `manage.py train` first.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Stored {count} price recommendations in {time.perf_counter() - started:.1f} s."
            )
        )
