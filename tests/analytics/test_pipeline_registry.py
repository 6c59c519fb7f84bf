"""The pipeline registry: every pipeline is declared once, and the dashboard, the ``train``
command and the pipeline service all read it."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from analytics.management.commands import train
from analytics.models import PipelineRun
from analytics.pipelines.registry import (
    DEFAULT_KIND,
    PIPELINES,
    UnknownPipeline,
    pipeline,
    trainable_kinds,
)
from analytics.pipelines.spec import PipelineSpec, stages_by_name
from analytics.services.pipeline import start_pipeline_run
from analytics.services.run_progress import blank_stages, fail_stale_runs
from analytics.tasks import fail_stale_runs_task
from tests.factories import PipelineRunFactory, StaffFactory
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", list(PIPELINES))
def test_every_declared_pipeline_has_every_stage_of_a_run(kind):
    spec = pipeline(kind)
    assert spec.kind == kind
    assert set(spec.stages) == set(PipelineRun.STAGES)
    assert all(callable(stage) for stage in spec.stages.values())


def test_a_pipeline_lacking_a_stage_is_refused_when_declared():
    with pytest.raises(ValueError, match=r"Pipeline half lacks stages \['evaluation', 'report'\]"):
        PipelineSpec(
            kind="half",
            title="half models",
            stages={name: lambda ctx: {} for name in PipelineRun.STAGES[:4]},
        )


def test_stages_are_named_by_their_functions_and_a_misnamed_one_is_refused():
    def stage_data(ctx):
        return {}

    def stage_trainig(ctx):
        return {}

    assert stages_by_name(stage_data) == {"data": stage_data}
    with pytest.raises(ValueError, match=r"Not stages of a run: \['trainig'\]"):
        stages_by_name(stage_data, stage_trainig)


def test_trainable_kinds_are_the_declared_pipelines_with_demand_the_default():
    assert trainable_kinds() == ("demand", "propensity")
    assert DEFAULT_KIND in trainable_kinds()


def test_an_unknown_kind_is_refused_with_the_kinds_there_are():
    with pytest.raises(
        UnknownPipeline, match=r"Unknown model family 'astrology'; expected one of demand, propensity\."
    ):
        pipeline("astrology")
    with pytest.raises(UnknownPipeline):
        start_pipeline_run(kind="astrology")
    assert not PipelineRun.objects.exists()


def test_dashboard_offers_one_training_button_per_trainable_kind(client):
    page = signed_in(client, StaffFactory()).get(reverse("analytics:dashboard")).content.decode()
    for kind in trainable_kinds():
        assert f'name="kind" value="{kind}"' in page
    assert "Train demand models" in page and "Train learner models" in page


@pytest.mark.parametrize("kind", trainable_kinds())
def test_dashboard_button_starts_a_run_of_each_trainable_kind(client, kind):
    signed_in(client, StaffFactory())
    response = client.post(reverse("analytics:start_training"), {"kind": kind})
    run = PipelineRun.objects.get()
    assert (run.kind, response.status_code) == (kind, 302)


@pytest.mark.parametrize("kind", trainable_kinds())
def test_train_command_passes_each_trainable_kind_its_own_parameters(monkeypatch, kind):
    started = {}

    def fake_start(**arguments):
        started.update(arguments)
        return PipelineRunFactory(kind=arguments["kind"], status=PipelineRun.Status.SUCCEEDED)

    monkeypatch.setattr(train, "start_pipeline_run", fake_start)
    call_command("train", "--kind", kind, "--sync", "--seed", "3", stdout=StringIO())
    assert started["kind"] == kind
    # Every parameter the pipeline takes that the command has an option for, unset ones at their default.
    defaults = pipeline(kind).defaults
    expected = {
        name: defaults[name] for name in ("holdout_weeks", "cv_folds", "bootstrap_reps") if name in defaults
    }
    assert started["params"] == {**expected, "seed": 3}


def test_train_command_refuses_an_unknown_kind_with_the_kinds_there_are():
    with pytest.raises(
        CommandError, match="Unknown model family 'astrology'; expected one of demand, propensity"
    ):
        call_command("train", "--kind", "astrology", "--sync", stdout=StringIO())
    assert not PipelineRun.objects.exists()


def stale_run() -> PipelineRun:
    return PipelineRunFactory(
        status=PipelineRun.Status.RUNNING,
        stages=blank_stages(),
        current_stage="training",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )


def test_dashboard_get_writes_nothing_and_leaves_a_stale_run_to_beat(client):
    run = stale_run()
    assert signed_in(client, StaffFactory()).get(reverse("analytics:dashboard")).status_code == 200
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.RUNNING
    assert fail_stale_runs_task() == 1
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert "worker was lost" in run.error
    assert next(s for s in run.stages if s["name"] == "training")["status"] == "failed"


def test_a_run_still_reporting_is_not_failed_as_stale():
    run = PipelineRunFactory(
        status=PipelineRun.Status.RUNNING, stages=blank_stages(), heartbeat_at=timezone.now()
    )
    assert fail_stale_runs() == 0
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.RUNNING


def test_run_progress_answers_fragment_or_page_and_varies_on_hx_request(client):
    run = PipelineRunFactory(stages=blank_stages())
    signed_in(client, StaffFactory())
    url = reverse("analytics:run_detail", args=[run.pk])
    page, fragment = client.get(url), client.get(url, HTTP_HX_REQUEST="true")
    assert "<html" in page.content.decode() and "<html" not in fragment.content.decode()
    assert 'id="run-progress"' in fragment.content.decode()
    assert all("HX-Request" in response["Vary"] for response in (page, fragment))
