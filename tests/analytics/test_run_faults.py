"""Faults of training runs: one run per kind at a time (enforced by the database), a heartbeat
while a stage runs, a lost run failed within the detection time, and a failed run's files removed
(never those of registered versions)."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from analytics.models import PipelineRun
from analytics.pipelines.registry import PIPELINES
from analytics.pipelines.spec import PipelineSpec
from analytics.services import pipeline as pipeline_service
from analytics.services.pipeline import RunInProgress, start_pipeline_run
from analytics.services.registry import NewVersion, register_model_versions
from analytics.services.run_progress import (
    STALE_AFTER,
    artifact_tag,
    blank_stages,
    fail_run,
    fail_stale_runs,
    run_folder,
)
from tests.factories import PipelineRunFactory, StaffFactory
from tests.helpers import signed_in

STAGES = PipelineRun.STAGES


def quiet_stage(ctx):
    """A stage that computes for a while and reports no progress (a long fit)."""
    time.sleep(1.2)
    return {}


def writes_then_breaks(ctx):
    ctx.save("panel", list(range(1000)))
    register_model_versions(
        name="toy-files",
        versions=[NewVersion(algorithm="kept", artifact=1, params={}, features=[], metrics={})],
        run=ctx.run,
    )
    raise ValueError("broke after writing")


QUIET = PipelineSpec(
    kind="toy-quiet",
    title="quiet",
    stages={s: (quiet_stage if s == "data" else lambda ctx: {}) for s in STAGES},
)
BREAKS = PipelineSpec(
    kind="toy-breaks",
    title="breaks",
    stages={s: (writes_then_breaks if s == "data" else lambda ctx: {}) for s in STAGES},
)


@pytest.fixture(autouse=True)
def toy_pipelines(monkeypatch):
    for spec in (QUIET, BREAKS):
        monkeypatch.setitem(PIPELINES, spec.kind, spec)


def running(kind: str = "demand", **fields) -> PipelineRun:
    return PipelineRunFactory(kind=kind, status=PipelineRun.Status.RUNNING, stages=blank_stages(), **fields)


@pytest.mark.django_db
def test_the_database_allows_one_pending_or_running_run_per_kind():
    running()
    PipelineRunFactory(kind="demand", status=PipelineRun.Status.FAILED)
    PipelineRunFactory(kind="propensity")  # another kind is free
    with pytest.raises(IntegrityError), transaction.atomic():
        PipelineRunFactory(kind="demand", status=PipelineRun.Status.PENDING)


@pytest.mark.django_db
def test_starting_a_kind_that_is_running_returns_that_run_with_a_clear_message(client):
    active = running(kind="toy-quiet")
    with pytest.raises(RunInProgress, match=f"already running \\(run {active.pk}\\)") as refused:
        start_pipeline_run(kind="toy-quiet", force=True)
    assert refused.value.run == active
    assert PipelineRun.objects.count() == 1
    signed_in(client, StaffFactory())
    response = client.post(reverse("analytics:start_training"), {"kind": "toy-quiet"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("analytics:run_detail", args=[active.pk])
    assert "already running" in response.content.decode()
    assert PipelineRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_starts_at_the_same_moment_make_one_run(monkeypatch):
    monkeypatch.setattr(pipeline_service, "queue_pipeline_run", lambda run_id: None)
    barrier = threading.Barrier(2)
    outcomes = []

    def start():
        barrier.wait()
        try:
            outcomes.append(start_pipeline_run(kind="toy-quiet", force=True).pk)
        except RunInProgress as exc:
            outcomes.append(("in progress", exc.run.pk))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run = PipelineRun.objects.get()
    assert sorted(outcomes, key=str) == sorted([run.pk, ("in progress", run.pk)], key=str)


@pytest.mark.django_db(transaction=True)
def test_a_stage_that_reports_nothing_still_beats(monkeypatch):
    monkeypatch.setattr("analytics.services.run_progress.HEARTBEAT_EVERY_S", 0.2)
    beats = []

    def watching_stage(ctx):
        started = PipelineRun.objects.get(pk=ctx.run.pk).heartbeat_at
        time.sleep(1.0)
        beats.append((started, PipelineRun.objects.get(pk=ctx.run.pk).heartbeat_at))
        return {}

    monkeypatch.setitem(QUIET.stages, "data", watching_stage)
    run = start_pipeline_run(kind="toy-quiet", sync=True)
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    started, later = beats[0]
    assert later > started  # written by the heartbeat thread while the stage was silent


@pytest.mark.django_db
def test_a_run_is_failed_once_its_heartbeat_is_older_than_the_threshold():
    assert STALE_AFTER <= timedelta(seconds=90)
    now = timezone.now()
    quiet = running(kind="demand", heartbeat_at=now - timedelta(seconds=60))
    assert fail_stale_runs(now=now) == 0
    assert fail_stale_runs(now=now + timedelta(seconds=31)) == 1
    quiet.refresh_from_db()
    assert quiet.status == PipelineRun.Status.FAILED and "worker was lost" in quiet.error
    never_beat = running(kind="propensity", started_at=now - timedelta(minutes=5))
    assert fail_stale_runs(now=now) == 1
    never_beat.refresh_from_db()
    assert never_beat.status == PipelineRun.Status.FAILED


@pytest.mark.django_db
def test_beat_sweeps_for_lost_runs_every_half_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["analytics-fail-stale-runs"]
    assert entry["task"] == "analytics.fail_stale_runs" and entry["schedule"] <= 30


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_leaves_no_files_but_registered_versions_keep_theirs():
    run = start_pipeline_run(kind="toy-breaks", sync=True)
    assert run.status == PipelineRun.Status.FAILED
    assert not run_folder(run.pk).exists()
    kept = run.versions.get()
    assert (settings.ARTIFACTS_DIR / kept.artifact_path).exists()

    # A run killed between writing its model files and registering them.
    lost = running(kind="demand")
    orphan = (
        settings.ARTIFACTS_DIR / "models" / "demand" / f"20260101T000000{artifact_tag(lost.pk)}0-gam.joblib"
    )
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x" * 1000)
    (run_folder(lost.pk)).mkdir(parents=True, exist_ok=True)
    (run_folder(lost.pk) / "panel.joblib").write_bytes(b"x" * 1000)
    fail_run(run_id=lost.pk, stage="training", error="lost")
    assert not orphan.exists() and not run_folder(lost.pk).exists()
    assert (settings.ARTIFACTS_DIR / kept.artifact_path).exists()
