"""A demand pipeline run in a real Celery worker, and one whose worker is killed mid-run (lane 2
runs this with two workers on PostgreSQL and Redis)."""

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from analytics.models import ModelVersion, PipelineRun
from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache, load_production_model, production_version
from analytics.services.run_progress import STALE_AFTER, artifact_tag, fail_stale_runs, run_folder
from tests.celery_worker import celery_workers, worker_processes
from tests.pricing.db_world import load_synthetic_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker, pytest.mark.slow]

# 30 weeks: on 20 (12 to train on) the selected model's held-out R² was -3e5, and the promotion
# guards rightly keep such a model out of production.
WEEKS = 30
BEAT_EVERY_S = settings.CELERY_BEAT_SCHEDULE["analytics-fail-stale-runs"]["schedule"]


def wait_for(run: PipelineRun, condition, timeout: float = 120.0) -> PipelineRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if condition(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} stuck: {run.status} {run.current_stage} {run.stages}")


def test_pipeline_runs_in_the_worker_and_promotes_a_model():
    load_synthetic_world(n_courses=60, weeks=WEEKS)
    with celery_workers(1):
        run = start_pipeline_run(kind="demand", params={"bootstrap_reps": 0, "cv_folds": 2})
        run = wait_for(run, lambda r: r.is_finished)
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert ModelVersion.objects.filter(name="demand", stage="production").count() == 1


def test_worker_killed_mid_run_is_failed_within_the_detection_time_and_leaves_no_files():
    load_synthetic_world(n_courses=60, weeks=WEEKS)
    params = {"bootstrap_reps": 0, "cv_folds": 2}
    with celery_workers(1) as names:
        first = wait_for(start_pipeline_run(kind="demand", params=params), lambda r: r.is_finished)
        assert first.status == PipelineRun.Status.SUCCEEDED, first.error
        serving = production_version("demand")
        run = start_pipeline_run(kind="demand", params=params, force=True)
        run = wait_for(run, lambda r: r.current_stage in ("preparation", "training", "evaluation"))
        assert run_folder(run.pk).exists()
        for process in worker_processes(names):
            os.kill(process.pid, signal.SIGKILL)
    time.sleep(1)
    run.refresh_from_db()
    last_beat = run.heartbeat_at
    assert run.status == PipelineRun.Status.RUNNING
    assert fail_stale_runs() == 0  # a recent beat: not yet lost
    # The janitor (analytics.fail_stale_runs, every 30 s by beat) at its first sweep after the
    # threshold: at most two minutes after the worker's last beat.
    detected_by = last_beat + STALE_AFTER + timedelta(seconds=BEAT_EVERY_S)
    assert detected_by - last_beat <= timedelta(minutes=2)
    assert fail_stale_runs(now=detected_by) == 1
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert "worker was lost" in run.error
    # The previous production model still serves; the killed run left no version and no files.
    assert production_version("demand") == serving
    clear_model_cache()
    assert load_production_model("demand")[0] == serving
    assert not ModelVersion.objects.filter(run=run).exists()
    assert not run_folder(run.pk).exists()
    models = Path(settings.ARTIFACTS_DIR) / "models"
    assert not list(models.rglob(f"*{artifact_tag(run.pk)}*"))
