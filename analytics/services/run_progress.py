"""What a pipeline run's row says about its progress: each stage's status, progress and timing,
the overall percentage pages poll, the heartbeat a running stage writes, and failure (of a stage,
or of a run whose worker went quiet), which also removes the run's files.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from analytics.jsonable import jsonable
from analytics.models import ModelVersion, PipelineRun

# A running stage beats this often, whether or not it reports progress (a long fit reports none).
HEARTBEAT_EVERY_S = 10.0
# A run whose last beat is older than this lost its worker; beat checks every 30 s
# (``analytics.fail_stale_runs``), so a lost run is failed within about two minutes.
STALE_AFTER = timedelta(seconds=90)


def run_folder(run_id: int) -> Path:
    """Where a run's stages hand their output to the next one."""
    return Path(settings.ARTIFACTS_DIR) / "runs" / str(run_id)


def artifact_tag(run_id: int) -> str:
    """Part of the file name of every model artifact a run writes, so a failed run's can be found."""
    return f"-run{run_id}-"


def remove_run_files(*, run_id: int) -> int:
    """Delete a failed run's folder and any model artifact it wrote that no version points to
    (a run killed between writing its artifacts and registering them). Registered versions'
    files are never touched. Returns the number of files removed."""
    removed = 0
    folder = run_folder(run_id)
    if folder.exists():
        removed += sum(1 for path in folder.rglob("*") if path.is_file())
        shutil.rmtree(folder, ignore_errors=True)
    models = Path(settings.ARTIFACTS_DIR) / "models"
    if models.exists():
        registered = set(ModelVersion.objects.values_list("artifact_path", flat=True))
        for path in models.rglob(f"*{artifact_tag(run_id)}*"):
            if path.relative_to(settings.ARTIFACTS_DIR).as_posix() not in registered:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


@contextmanager
def heartbeat(*, run_id: int, every_s: float | None = None) -> Iterator[None]:
    """Beat the run's heartbeat from a thread while the block (a stage) runs.

    Inside a caller's transaction the thread could not see the run's row (and on SQLite would
    wait for that transaction's write lock), so there the stage's own writes are the only beats.
    """
    if connection.in_atomic_block:
        yield
        return
    interval = HEARTBEAT_EVERY_S if every_s is None else every_s
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                PipelineRun.objects.filter(pk=run_id, status=PipelineRun.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"run-{run_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


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
        if stage == PipelineRun.STAGES[-1] and run.status != PipelineRun.Status.FAILED:
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
        transaction.on_commit(lambda: remove_run_files(run_id=run_id))


def fail_stale_runs(*, older_than: timedelta = STALE_AFTER, now: datetime | None = None) -> int:
    """Mark runs failed whose worker stopped beating (killed, machine restarted)."""
    cutoff = (now or timezone.now()) - older_than
    stale = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    count = 0
    for run in stale:
        fail_run(
            run_id=run.pk,
            stage=run.current_stage or "data",
            error=f"No heartbeat for over {older_than.total_seconds():.0f} s: the worker was lost.",
        )
        count += 1
    return count
