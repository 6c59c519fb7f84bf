"""Compute and store a price recommendation for every course from the production demand model."""

import time

from django.core.management.base import BaseCommand, CommandError

from pricing.services.advice import run_advice_recompute
from pricing.services.model_source import NoDemandModel


class Command(BaseCommand):
    help = "Recompute price recommendations for the whole catalog (the nightly task does the same)."

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            run = run_advice_recompute()
        except NoDemandModel as exc:
            raise CommandError(f"{exc} Run `manage.py train` first.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Stored {run.recommendations_stored} price recommendations in "
                f"{time.perf_counter() - started:.1f} s (advice run {run.pk})."
            )
        )
