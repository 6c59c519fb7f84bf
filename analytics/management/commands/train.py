"""Train the demand models: ``python manage.py train [--sync] [--force]``."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.models import PipelineRun
from analytics.services.pipeline import start_pipeline_run


class Command(BaseCommand):
    help = "Run the demand-model pipeline (seven models, evaluation, registry) and show its progress."

    def add_arguments(self, parser):
        parser.add_argument("--kind", default="demand", help="demand (default) or propensity")
        parser.add_argument(
            "--sync", action="store_true", help="Run in this process instead of a Celery worker"
        )
        parser.add_argument(
            "--force", action="store_true", help="Retrain even if this data was already trained on"
        )
        parser.add_argument("--holdout-weeks", type=int, default=8)
        parser.add_argument("--cv-folds", type=int, default=2)
        parser.add_argument("--bootstrap-reps", type=int, default=4)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait for a queued run")

    def handle(self, *args, **options):
        if options["kind"] == "demand":
            params = {
                "holdout_weeks": options["holdout_weeks"],
                "cv_folds": options["cv_folds"],
                "bootstrap_reps": options["bootstrap_reps"],
                "seed": options["seed"],
            }
        else:
            params = {"seed": options["seed"]}
        started = time.perf_counter()
        if options["sync"]:
            with tqdm(total=100, desc="training", unit="%") as bar:
                run = start_pipeline_run(
                    kind=options["kind"], params=params, sync=True, force=options["force"]
                )
                bar.update(100)
        else:
            run = start_pipeline_run(kind=options["kind"], params=params, force=options["force"])
            self._follow(run, options["timeout"])
            run.refresh_from_db()
        self._summarise(run, time.perf_counter() - started)

    def _follow(self, run: PipelineRun, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with tqdm(total=100, desc=f"run {run.pk}", unit="%") as bar:
            while time.monotonic() < deadline:
                run.refresh_from_db()
                bar.set_postfix_str(run.current_stage or "queued")
                bar.update(run.progress_pct - bar.n)
                if run.is_finished:
                    return
                time.sleep(0.5)
        raise CommandError(f"Run {run.pk} did not finish within {timeout:.0f} s; is a Celery worker running?")

    def _summarise(self, run: PipelineRun, seconds: float) -> None:
        if run.status == PipelineRun.Status.FAILED:
            raise CommandError(f"Run {run.pk} failed:\n{run.error}")
        report = run.report.get("report", {})
        self.stdout.write(self.style.SUCCESS(f"Run {run.pk} {run.status} in {seconds:.1f} s"))
        for stage in run.stages:
            self.stdout.write(
                f"  {stage['name']:<14} {stage['status']:<10} {stage.get('seconds') or 0:7.2f} s"
            )
        if report.get("summary_lines"):
            for line in report["summary_lines"]:
                self.stdout.write(f"  {line}")
        elif report:
            self.stdout.write(
                f"Selected: {report['selected']} (production version {report.get('production_version')})"
            )
            for row in report["models"]:
                truth = row.get("truth_category_mae")
                extra = f"  elasticity MAE vs truth {truth:.3f}" if truth is not None else ""
                self.stdout.write(
                    f"  {row['model']:<18} held-out deviance {row['holdout_poisson_deviance']:.4f}"
                    f"  R² {row['holdout_r2']:.3f}  fit {row['fit_seconds']:.2f} s{extra}"
                )
