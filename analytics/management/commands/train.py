"""Train models with a pipeline run: ``python manage.py train [--kind KIND] [--sync] [--force]``."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.models import PipelineRun
from analytics.pipelines.registry import DEFAULT_KIND, UnknownPipeline, pipeline, trainable_kinds
from analytics.services.pipeline import RunInProgress, start_pipeline_run


class Command(BaseCommand):
    help = "Run a training pipeline (by default the demand models: seven models, evaluation, registry)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--kind",
            default=DEFAULT_KIND,
            help=f"one of {', '.join(trainable_kinds())} (default {DEFAULT_KIND})",
        )
        parser.add_argument(
            "--sync", action="store_true", help="Run in this process instead of a Celery worker"
        )
        parser.add_argument(
            "--force", action="store_true", help="Retrain even if this data was already trained on"
        )
        # Pipeline parameters: a pipeline takes those of its ``defaults``; unset ones get its default.
        parser.add_argument("--holdout-weeks", type=int, help="demand: weeks held out for evaluation")
        parser.add_argument("--cv-folds", type=int, help="demand: course-grouped cross-validation folds")
        parser.add_argument("--bootstrap-reps", type=int, help="demand: bootstrap refits for the intervals")
        parser.add_argument("--seed", type=int, help="random seed of the fits")
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait for a queued run")

    def handle(self, *args, **options):
        try:
            spec = pipeline(options["kind"])
        except UnknownPipeline as exc:
            raise CommandError(str(exc)) from exc
        params = {
            name: default if options[name] is None else options[name]
            for name, default in spec.defaults.items()
            if name in options
        }
        started = time.perf_counter()
        try:
            if options["sync"]:
                with tqdm(total=100, desc="training", unit="%") as bar:
                    run = start_pipeline_run(kind=spec.kind, params=params, sync=True, force=options["force"])
                    bar.update(100)
            else:
                run = start_pipeline_run(kind=spec.kind, params=params, force=options["force"])
        except RunInProgress as exc:
            if options["sync"]:
                raise CommandError(str(exc)) from exc
            # Queued: follow the run already under way instead of starting a second.
            self.stderr.write(str(exc))
            run = exc.run
        if not options["sync"]:
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
