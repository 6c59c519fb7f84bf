"""Score every learner and refresh offers: ``python manage.py score_learners [--no-offers]``."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from learners.services.model_source import NoLearnerModel
from learners.services.offer_policy import make_offers
from learners.services.scoring import score_all_learners


class Command(BaseCommand):
    help = "Score all learners with the production propensity models and write their offers."

    def add_arguments(self, parser):
        parser.add_argument("--no-offers", action="store_true", help="Only score; leave offers alone")

    def handle(self, *args, **options):
        steps = ["scoring"] if options["no_offers"] else ["scoring", "offers"]
        results = {}
        with tqdm(total=len(steps), desc="learners", unit="step") as bar:
            for step in steps:
                bar.set_postfix_str(step)
                started = time.perf_counter()
                try:
                    results[step] = score_all_learners() if step == "scoring" else make_offers()
                except NoLearnerModel as exc:
                    raise CommandError(
                        f"{exc} Run `python manage.py train --kind propensity` first."
                    ) from exc
                results[step]["seconds"] = round(time.perf_counter() - started, 2)
                bar.update(1)
        for step, result in results.items():
            self.stdout.write(self.style.SUCCESS(f"{step}: {result}"))
