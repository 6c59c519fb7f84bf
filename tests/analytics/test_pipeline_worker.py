"""A demand pipeline run in a real Celery worker, and one whose worker is killed mid-run."""

import os
import signal
import time
from datetime import timedelta

import pytest

from analytics.models import ModelVersion, PipelineRun
from analytics.services.pipeline import start_pipeline_run
from analytics.services.run_progress import fail_stale_runs
from tests.celery_worker import celery_workers, worker_processes
from tests.pricing.db_world import load_synthetic_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker, pytest.mark.slow]


def wait_for(run: PipelineRun, condition, timeout: float = 120.0) -> PipelineRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if condition(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} stuck: {run.status} {run.current_stage} {run.stages}")


def test_pipeline_runs_in_the_worker_and_promotes_a_model():
    load_synthetic_world(n_courses=60, weeks=20)
    with celery_workers(1):
        run = start_pipeline_run(kind="demand", params={"bootstrap_reps": 0, "cv_folds": 2})
        run = wait_for(run, lambda r: r.is_finished)
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert ModelVersion.objects.filter(name="demand", stage="production").count() == 1


def test_worker_killed_mid_run_leaves_a_failed_run_and_no_new_version():
    load_synthetic_world(n_courses=60, weeks=20)
    with celery_workers(1) as names:
        run = start_pipeline_run(kind="demand", params={"bootstrap_reps": 0, "cv_folds": 2})
        run = wait_for(run, lambda r: r.current_stage in ("preparation", "training", "evaluation"))
        for process in worker_processes(names):
            os.kill(process.pid, signal.SIGKILL)
    time.sleep(1)
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.RUNNING
    # The janitor (the analytics.fail_stale_runs task beat runs) fails runs whose worker went quiet.
    assert fail_stale_runs(older_than=timedelta(seconds=0)) == 1
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert "worker was lost" in run.error
    assert not ModelVersion.objects.filter(name="demand").exists()
