"""Pipeline runs: stages, progress, failures, idempotency and a lost worker."""

import pytest

from analytics.models import ModelVersion, PipelineRun
from analytics.pipelines.registry import PIPELINES
from analytics.pipelines.spec import PipelineSpec
from analytics.services.pipeline import StageFailed, execute_stage, start_pipeline_run
from analytics.services.registry import NewVersion, register_model_versions
from analytics.services.run_progress import blank_stages
from tests.factories import PipelineRunFactory

pytestmark = pytest.mark.django_db

CALLS: list[str] = []


def make_stage(name: str, *, fail: bool = False):
    def stage(ctx):
        CALLS.append(name)
        ctx.progress(0.5, f"{name} half way")
        if fail:
            raise ValueError(f"{name} broke")
        if name == "data":
            ctx.save("numbers", [1, 2, 3])
        if name == "training":
            assert ctx.load("numbers") == [1, 2, 3]
        if name == "report":
            register_model_versions(
                name="toy",
                versions=[NewVersion(algorithm="toy", artifact=1, params={}, features=[], metrics={})],
                run=ctx.run,
            )
            return {"report": {"ok": True}, "report_html": "<p>ok</p>"}
        return {"stage": name}

    return stage


STAGES = ("data", "understanding", "preparation", "training", "evaluation", "report")
TOY = PipelineSpec(
    kind="toy", title="toy models", stages={s: make_stage(s) for s in STAGES}, fingerprint=lambda p: "fixed"
)
TOY_BROKEN = PipelineSpec(
    kind="toy-broken",
    title="broken toy models",
    stages={s: make_stage(s, fail=(s == "evaluation")) for s in STAGES},
)


@pytest.fixture(autouse=True)
def toy_pipelines(monkeypatch):
    """The toy pipelines are declared for these tests only."""
    for spec in (TOY, TOY_BROKEN):
        monkeypatch.setitem(PIPELINES, spec.kind, spec)


def test_sync_run_executes_every_stage_in_order_and_stores_reports():
    CALLS.clear()
    run = start_pipeline_run(kind="toy", sync=True)
    assert CALLS == list(STAGES)
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.progress_pct == 100
    assert [s["status"] for s in run.stages] == ["succeeded"] * 6
    assert all(s["seconds"] is not None for s in run.stages)
    assert run.report["report"] == {"ok": True}
    assert run.report_html == "<p>ok</p>"


def test_training_is_idempotent_for_the_same_data_and_parameters():
    first = start_pipeline_run(kind="toy", sync=True)
    CALLS.clear()
    again = start_pipeline_run(kind="toy", sync=True)
    assert again.pk == first.pk
    assert CALLS == []
    forced = start_pipeline_run(kind="toy", sync=True, force=True)
    assert forced.pk != first.pk


def test_failing_stage_fails_the_run_and_registers_nothing():
    run = start_pipeline_run(kind="toy-broken", sync=True)
    assert run.status == PipelineRun.Status.FAILED
    assert "evaluation broke" in run.error
    statuses = {s["name"]: s["status"] for s in run.stages}
    assert statuses["evaluation"] == "failed"
    assert statuses["report"] == "pending"
    assert not ModelVersion.objects.exists()


def test_a_stage_redelivered_after_its_worker_died_fails_the_run():
    run = PipelineRunFactory(kind="toy", stages=blank_stages())
    execute_stage(run_id=run.pk, stage="data")
    run.refresh_from_db()
    run.stages[1]["status"] = "running"  # what a worker killed mid-stage leaves behind
    run.save()
    with pytest.raises(StageFailed):
        execute_stage(run_id=run.pk, stage="understanding")
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert "lost" in run.error
    assert not ModelVersion.objects.exists()
