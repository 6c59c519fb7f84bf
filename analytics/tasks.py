"""Celery tasks for pipeline runs: one task per stage, chained."""

from celery import chain, shared_task, signature

from analytics.models import PipelineRun
from analytics.services.pipeline import StageFailed, execute_stage, fail_stale_runs, pipeline


@shared_task(name="analytics.run_pipeline_stage", acks_late=True)
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


def queue_pipeline_run(run_id: int) -> None:
    steps = [run_pipeline_stage.si(run_id, stage) for stage in PipelineRun.STAGES]
    follow_up = pipeline(PipelineRun.objects.get(pk=run_id).kind).then
    if follow_up:
        steps.append(signature(follow_up, immutable=True))
    chain(*steps).apply_async()
