"""What a pipeline run's row says about its progress: each stage's status, progress and timing,
the overall percentage pages poll, and failure (of a stage, or of a run whose worker went quiet).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from analytics.jsonable import jsonable
from analytics.models import PipelineRun


def blank_stages() -> list[dict]:
    """The ``stages`` of a run that has not started: every stage pending."""
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


def update_stage(*, run_id: int, stage: str, **changes: Any) -> PipelineRun:
    """Change one stage's entry (status, progress, message...) and beat the run's heartbeat."""
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


def complete_stage(*, run_id: int, stage: str, seconds: float, summary: dict) -> None:
    """Store a stage's summary (and the report's HTML, if it made one); the last stage ends the run."""
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


def fail_run(*, run_id: int, stage: str, error: str) -> None:
    """Mark the stage and its run failed, keeping the error (a traceback) for the run page."""
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


def fail_stale_runs(*, older_than: timedelta = timedelta(minutes=15)) -> int:
    """Mark runs failed whose worker stopped reporting (killed, machine restarted)."""
    cutoff = timezone.now() - older_than
    stale = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING, heartbeat_at__lt=cutoff)
    count = 0
    for run in stale:
        fail_run(
            run_id=run.pk,
            stage=run.current_stage or "data",
            error="No progress reported for too long: the worker was lost.",
        )
        count += 1
    return count
