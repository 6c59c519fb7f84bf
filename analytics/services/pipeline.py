"""Pipeline runs: start a run (idempotent on the same data and parameters), queue its stages as a
Celery chain or run them in-process, and execute one stage (data, understanding, preparation,
training, evaluation, report) with its status, timing and progress stored on the ``PipelineRun``
row that pages poll.

Registration of models happens in the last stage in one transaction, so a failed or killed run
leaves no half-made version behind. The stages are queued by task name, so this module does not
import the tasks that call it.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback

from celery import chain, signature
from django.db import IntegrityError, transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

from analytics.models import PipelineRun
from analytics.pipelines.registry import pipeline
from analytics.pipelines.spec import NotEnoughData, StageContext
from analytics.services.run_progress import blank_stages, complete_stage, fail_run, heartbeat, update_stage
from tokenecon.errors import TokenEconomyError

# The Celery task (analytics.tasks.run_pipeline_stage) that runs one stage of a queued run.
RUN_STAGE_TASK = "analytics.run_pipeline_stage"


class StageFailed(Exception):
    """Raised after a stage marked its run failed, so a Celery chain stops there."""


class RunInProgress(TokenEconomyError):
    """A run of this kind is pending or running; ``run`` is that run (one per kind at a time)."""

    status_code = 409

    def __init__(self, run: PipelineRun):
        self.run = run
        super().__init__(
            f"A {run.kind} run is already {run.status} (run {run.pk}): one run of a kind at a time, "
            "so it is shown instead of starting another."
        )


ACTIVE = (PipelineRun.Status.PENDING, PipelineRun.Status.RUNNING)


def _active_run(kind: str) -> PipelineRun | None:
    return PipelineRun.objects.filter(kind=kind, status__in=ACTIVE).first()


def fingerprint_of(kind: str, params: dict) -> str:
    spec = pipeline(kind)
    payload = json.dumps({"kind": kind, "params": params, "data": spec.fingerprint(params)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def start_pipeline_run(
    *, kind: str, params: dict | None = None, user=None, sync: bool = False, force: bool = False
) -> PipelineRun:
    """Create a run and execute it (in Celery, or in-process with ``sync``).

    Idempotent: when a run of the same kind already succeeded on the same data and parameters,
    that run is returned and nothing is retrained, unless ``force``. One run per kind at a time:
    while one is pending or running, ``RunInProgress`` (carrying it) is raised; the database's
    constraint decides between two starts at the same moment. An unknown ``kind`` raises
    ``UnknownPipeline`` before anything is written.
    """
    params = params or {}
    fingerprint = fingerprint_of(kind, params)
    active = _active_run(kind)
    if active is not None:
        raise RunInProgress(active)
    if not force:
        done = PipelineRun.objects.filter(
            kind=kind, fingerprint=fingerprint, status=PipelineRun.Status.SUCCEEDED
        ).first()
        if done is not None:
            return done
    try:
        with transaction.atomic():
            run = PipelineRun.objects.create(
                kind=kind, params=params, fingerprint=fingerprint, stages=blank_stages(), created_by=user
            )
    except IntegrityError:
        active = _active_run(kind)
        if active is None:
            raise
        raise RunInProgress(active) from None
    if sync:
        for stage in PipelineRun.STAGES:
            try:
                execute_stage(run_id=run.pk, stage=stage)
            except StageFailed:
                break
        run.refresh_from_db()
        return run
    transaction.on_commit(lambda: queue_pipeline_run(run.pk))
    return run


def queue_pipeline_run(run_id: int) -> None:
    """One Celery task per stage, chained, then the pipeline's follow-up task if it has one."""
    steps = [signature(RUN_STAGE_TASK, args=(run_id, stage), immutable=True) for stage in PipelineRun.STAGES]
    follow_up = pipeline(PipelineRun.objects.get(pk=run_id).kind).then
    if follow_up:
        steps.append(signature(follow_up, immutable=True))
    chain(*steps).apply_async()


def execute_stage(*, run_id: int, stage: str) -> None:
    run = PipelineRun.objects.get(pk=run_id)
    if run.status == PipelineRun.Status.FAILED:
        raise StageFailed(f"run {run_id} already failed")
    entry = next(s for s in run.stages if s["name"] == stage)
    if entry["status"] == "succeeded":
        return  # a redelivered task: this stage's work is already stored
    if entry["status"] == "running":
        # The task came back after the worker that ran it died: the stage's work is lost.
        fail_run(
            run_id=run_id, stage=stage, error=f"The worker running stage '{stage}' was lost; start a new run."
        )
        raise StageFailed(f"run {run_id} lost its worker")
    if run.status == PipelineRun.Status.PENDING:
        PipelineRun.objects.filter(pk=run_id).update(
            status=PipelineRun.Status.RUNNING, started_at=timezone.now()
        )
        run.refresh_from_db()
    started = time.perf_counter()
    update_stage(
        run_id=run_id, stage=stage, status="running", started_at=timezone.now().isoformat(), progress=0.0
    )
    context = StageContext(run, stage)
    try:
        # One BLAS/OpenMP thread: on two shared cores, threads of small matrix work wait on each
        # other far longer than they compute (pygam's QR took 11 s instead of 1.9 s here).
        with threadpool_limits(limits=1), heartbeat(run_id=run_id):
            summary = pipeline(run.kind).stages[stage](context) or {}
    except NotEnoughData as exc:
        # What is missing is the whole story; a traceback would only hide it.
        fail_run(run_id=run_id, stage=stage, error=str(exc))
        raise StageFailed(str(exc)) from None
    except Exception:  # noqa: BLE001 - any failure fails the run with its traceback
        fail_run(run_id=run_id, stage=stage, error=traceback.format_exc(limit=8))
        raise StageFailed(f"stage {stage} of run {run_id} failed") from None
    seconds = round(time.perf_counter() - started, 3)
    complete_stage(run_id=run_id, stage=stage, seconds=seconds, summary=summary)
