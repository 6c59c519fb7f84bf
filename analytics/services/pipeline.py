"""Pipeline runs: stages (data, understanding, preparation, training, evaluation, report) with
status, timings and progress stored on a ``PipelineRun`` row that pages poll.

A pipeline is a mapping from stage name to a function ``stage(ctx) -> dict``; what one stage hands
to the next goes through ``ctx.save`` / ``ctx.load`` (joblib files in the run's folder), so each
stage can run as its own Celery task, on any worker. Registration of models happens in the last
stage in one transaction, so a failed or killed run leaves no half-made version behind.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import joblib
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

from analytics.models import PipelineRun

StageFunction = Callable[["StageContext"], dict | None]


@dataclass(frozen=True)
class PipelineSpec:
    kind: str
    stages: dict[str, StageFunction]
    fingerprint: Callable[[dict], str] = field(default=lambda params: "")
    # A Celery task (by name) queued after the last stage of a successful queued run.
    then: str | None = None


class StageFailed(Exception):
    """Raised after a stage marked its run failed, so a Celery chain stops there."""


_PIPELINES: dict[str, PipelineSpec] = {}


def register_pipeline(spec: PipelineSpec) -> PipelineSpec:
    missing = set(PipelineRun.STAGES) - set(spec.stages)
    if missing:
        raise ValueError(f"Pipeline {spec.kind} lacks stages {sorted(missing)}")
    _PIPELINES[spec.kind] = spec
    return spec


def pipeline(kind: str) -> PipelineSpec:
    if kind not in _PIPELINES:
        # Pipelines register themselves when their module is imported.
        from analytics import pipelines  # noqa: F401
    return _PIPELINES[kind]


class StageContext:
    def __init__(self, run: PipelineRun, stage: str):
        self.run = run
        self.stage = stage
        self.params = run.params
        self.folder = Path(settings.ARTIFACTS_DIR) / "runs" / str(run.pk)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._last_beat = 0.0

    def save(self, name: str, obj: Any) -> None:
        tmp = self.folder / f"{name}.joblib.tmp"
        joblib.dump(obj, tmp)
        tmp.replace(self.folder / f"{name}.joblib")

    def load(self, name: str) -> Any:
        return joblib.load(self.folder / f"{name}.joblib")

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress inside the stage; written at most twice a second."""
        now = time.monotonic()
        if now - self._last_beat < 0.5 and fraction < 1:
            return
        self._last_beat = now
        _update_stage(self.run.pk, self.stage, progress=max(0.0, min(1.0, fraction)), message=message)


def jsonable(value: Any) -> Any:
    """Plain JSON types only (numpy scalars and arrays, dates, NaN become numbers, lists, strings, null)."""

    def convert(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if hasattr(obj, "isoformat"):
            return obj.isoformat()
        return str(obj)

    text = json.dumps(value, default=convert, allow_nan=True)
    return json.loads(text.replace("NaN", "null").replace("-Infinity", "null").replace("Infinity", "null"))


def _blank_stages() -> list[dict]:
    return [
        {
            "name": name,
            "status": "pending",
            "progress": 0.0,
            "message": "",
            "started_at": None,
            "seconds": None,
        }
        for name in PipelineRun.STAGES
    ]


def _overall_progress(stages: list[dict]) -> int:
    done = sum(1.0 if s["status"] == "succeeded" else s.get("progress", 0.0) for s in stages)
    return int(round(100 * done / len(stages)))


def _update_stage(run_id: int, stage: str, **changes: Any) -> PipelineRun:
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        for entry in run.stages:
            if entry["name"] == stage:
                entry.update(changes)
        run.current_stage = stage
        run.progress_pct = _overall_progress(run.stages)
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["stages", "current_stage", "progress_pct", "heartbeat_at"])
    return run


def fingerprint_of(kind: str, params: dict) -> str:
    spec = pipeline(kind)
    payload = json.dumps({"kind": kind, "params": params, "data": spec.fingerprint(params)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def start_pipeline_run(
    *, kind: str, params: dict | None = None, user=None, sync: bool = False, force: bool = False
) -> PipelineRun:
    """Create a run and execute it (in Celery, or in-process with ``sync``).

    Idempotent: when a run of the same kind already succeeded on the same data and parameters,
    that run is returned and nothing is retrained, unless ``force``.
    """
    params = params or {}
    fingerprint = fingerprint_of(kind, params)
    if not force:
        done = PipelineRun.objects.filter(
            kind=kind, fingerprint=fingerprint, status=PipelineRun.Status.SUCCEEDED
        ).first()
        if done is not None:
            return done
    run = PipelineRun.objects.create(
        kind=kind, params=params, fingerprint=fingerprint, stages=_blank_stages(), created_by=user
    )
    if sync:
        for stage in PipelineRun.STAGES:
            try:
                execute_stage(run_id=run.pk, stage=stage)
            except StageFailed:
                break
        run.refresh_from_db()
        return run
    from analytics.tasks import queue_pipeline_run

    transaction.on_commit(lambda: queue_pipeline_run(run.pk))
    return run


def _fail(run_id: int, stage: str, error: str) -> None:
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        for entry in run.stages:
            if entry["name"] == stage:
                entry["status"] = "failed"
                entry["message"] = error.splitlines()[-1][:500] if error else "failed"
        run.status = PipelineRun.Status.FAILED
        run.error = error
        run.finished_at = timezone.now()
        run.save()


def execute_stage(*, run_id: int, stage: str) -> None:
    run = PipelineRun.objects.get(pk=run_id)
    if run.status == PipelineRun.Status.FAILED:
        raise StageFailed(f"run {run_id} already failed")
    entry = next(s for s in run.stages if s["name"] == stage)
    if entry["status"] == "succeeded":
        return  # a redelivered task: this stage's work is already stored
    if entry["status"] == "running":
        # The task came back after the worker that ran it died: the stage's work is lost.
        _fail(run_id, stage, f"The worker running stage '{stage}' was lost; start a new run.")
        raise StageFailed(f"run {run_id} lost its worker")
    if run.status == PipelineRun.Status.PENDING:
        PipelineRun.objects.filter(pk=run_id).update(
            status=PipelineRun.Status.RUNNING, started_at=timezone.now()
        )
        run.refresh_from_db()
    started = time.perf_counter()
    _update_stage(run_id, stage, status="running", started_at=timezone.now().isoformat(), progress=0.0)
    context = StageContext(run, stage)
    try:
        # One BLAS/OpenMP thread: on two shared cores, threads of small matrix work wait on each
        # other far longer than they compute (pygam's QR took 11 s instead of 1.9 s here).
        with threadpool_limits(limits=1):
            summary = pipeline(run.kind).stages[stage](context) or {}
    except Exception:  # noqa: BLE001 - any failure fails the run with its traceback
        _fail(run_id, stage, traceback.format_exc(limit=8))
        raise StageFailed(f"stage {stage} of run {run_id} failed") from None
    seconds = round(time.perf_counter() - started, 3)
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        for item in run.stages:
            if item["name"] == stage:
                item.update(status="succeeded", progress=1.0, seconds=seconds)
        run.report = {**run.report, stage: jsonable(summary.get("report", summary))}
        if "report_html" in summary:
            run.report_html = summary["report_html"]
        run.progress_pct = _overall_progress(run.stages)
        run.heartbeat_at = timezone.now()
        if stage == PipelineRun.STAGES[-1]:
            run.status = PipelineRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
        run.save()


def fail_stale_runs(*, older_than: timedelta = timedelta(minutes=15)) -> int:
    """Mark runs failed whose worker stopped reporting (killed, machine restarted)."""
    cutoff = timezone.now() - older_than
    stale = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING, heartbeat_at__lt=cutoff)
    count = 0
    for run in stale:
        _fail(run.pk, run.current_stage or "data", "No progress reported for too long: the worker was lost.")
        count += 1
    return count
