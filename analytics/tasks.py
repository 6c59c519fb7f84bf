"""Celery tasks for pipeline runs: one task per stage, chained (queued by
``analytics.services.pipeline.queue_pipeline_run``), and the janitor beat runs."""

from celery import shared_task

from analytics.services.pipeline import RUN_STAGE_TASK, StageFailed, execute_stage
from analytics.services.run_progress import fail_stale_runs


@shared_task(name=RUN_STAGE_TASK, acks_late=True)
def run_pipeline_stage(run_id: int, stage: str) -> str:
    try:
        execute_stage(run_id=run_id, stage=stage)
    except StageFailed as exc:
        # Raising stops the chain; the run row already says why.
        raise RuntimeError(str(exc)) from None
    return stage


@shared_task(name="analytics.fail_stale_runs")
def fail_stale_runs_task() -> int:
    return fail_stale_runs()
