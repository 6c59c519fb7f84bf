"""The demand pipeline end to end on data in the database: seven models, evaluation, registry."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from analytics.models import ModelVersion, PipelineRun
from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache
from pricing.models import AdviceRun
from tests.factories import LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import api_client_for, signed_in
from tests.pricing.db_world import load_synthetic_world
from tokenecon.models import Course
from tokenecon.staticfiles import PLOTLY_JS_STATIC

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def trained_run(django_db_setup, django_db_blocker):
    """One training run shared by this module's tests (each test still rolls back its own writes)."""
    with django_db_blocker.unblock():
        load_synthetic_world(n_courses=150, weeks=30)
        clear_model_cache()
        yield start_pipeline_run(kind="demand", sync=True, params={"bootstrap_reps": 2, "cv_folds": 2})
        call_command("flush", "--noinput", verbosity=0)
        clear_model_cache()


def test_pipeline_trains_every_model_and_promotes_the_selected_one(trained_run):
    run = trained_run
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    versions = ModelVersion.objects.filter(name="demand")
    assert sorted(versions.values_list("algorithm", flat=True)) == sorted(
        ["linear", "semilog", "gam", "poly2", "poly3", "random_forest", "gradient_boosting"]
    )
    production = versions.get(stage="production")
    assert production.selected
    assert production.algorithm == run.report["report"]["selected"]
    for version in versions:
        assert version.metrics["holdout"]["poisson_deviance"] > 0
        assert all(e < 0 for e in version.metrics["category_elasticities"].values()) or not version.selected
    assert "plotly" in run.report_html
    assert run.report["evaluation"]["rule"].startswith("Eligible")


def test_report_registry_and_run_pages_render_for_staff(client, trained_run):
    signed_in(client, StaffFactory())
    for name, args in [
        ("analytics:run_report", [trained_run.pk]),
        ("analytics:run_detail", [trained_run.pk]),
        ("analytics:registry", []),
        ("analytics:dashboard", []),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200, name
    assert (
        f"/static/{PLOTLY_JS_STATIC}"
        in client.get(reverse("analytics:run_report", args=[trained_run.pk])).content.decode()
    )


def test_elasticities_api_serves_the_production_model(trained_run):
    client = api_client_for(TeacherFactory().user)
    body = client.get("/api/v1/models/demand/elasticities/").json()
    assert {row["category"] for row in body["categories"]} == {"programming", "design", "music"}
    assert all(row["elasticity"] < 0 for row in body["categories"])
    learner_client = api_client_for(LearnerFactory().user)
    assert learner_client.get("/api/v1/models/demand/elasticities/").status_code == 403


def test_models_api_lists_versions_with_metrics_for_staff_only(trained_run):
    client = api_client_for(StaffFactory())
    body = client.get("/api/v1/models/?name=demand").json()
    assert body["count"] == 7
    assert "holdout" in body["results"][0]["metrics"]
    teacher = api_client_for(TeacherFactory().user)
    assert teacher.get("/api/v1/models/").status_code == 403


def test_promote_and_archive_from_the_registry_page_ask_for_confirmation_first(client, trained_run):
    staff = StaffFactory()
    signed_in(client, staff)
    production = ModelVersion.objects.get(name="demand", stage="production")
    other = ModelVersion.objects.filter(name="demand").exclude(stage="production").first()
    promote = reverse("analytics:change_stage", args=[other.pk, "promote"])
    confirm_page = reverse("analytics:confirm_stage_change", args=[other.pk, "promote"])

    # A bare POST (an old form, a script) changes nothing and is sent to the confirmation.
    response = client.post(promote)
    assert (response.status_code, response["Location"]) == (302, confirm_page)
    other.refresh_from_db()
    assert other.stage != "production"
    page = client.get(confirm_page).content.decode()
    assert f"demand v{production.version} ({production.algorithm}) leaves production" in page
    assert f"Price advice for {Course.objects.count()} courses is recomputed" in page

    assert client.post(promote, {"confirm": "1"}).status_code == 302
    other.refresh_from_db()
    assert other.stage == "production"
    assert ModelVersion.objects.filter(name="demand", stage="production").count() == 1
    # The recompute with the new model, queued by the promotion.
    assert AdviceRun.objects.filter(status="queued", started_by=staff).count() == 1

    # Archiving the production model leaves production empty: a second confirmation is needed.
    archive = reverse("analytics:change_stage", args=[other.pk, "archive"])
    page = client.get(reverse("analytics:confirm_stage_change", args=[other.pk, "archive"])).content.decode()
    assert "No demand model will be in production" in page and 'name="understand"' in page
    refused = client.post(archive, {"confirm": "1"})
    assert refused.status_code == 400
    assert "tick the box" in refused.content.decode()
    other.refresh_from_db()
    assert other.stage == "production"
    assert client.post(archive, {"confirm": "1", "understand": "1"}).status_code == 302
    other.refresh_from_db()
    assert other.stage == "archived"
    assert client.post(reverse("analytics:change_stage", args=[other.pk, "explode"])).status_code == 404
    assert (
        client.get(reverse("analytics:confirm_stage_change", args=[other.pk, "explode"])).status_code == 404
    )


@pytest.mark.parametrize("path", ["/dashboard/models/", "/dashboard/runs/1/", "/dashboard/runs/1/report/"])
def test_dashboard_pages_are_staff_only(client, path):
    assert signed_in(client, TeacherFactory().user).get(path).status_code == 403
    client.logout()
    assert client.get(path).status_code == 302


def test_train_command_runs_the_pipeline_and_a_second_call_reuses_it(trained_run):
    first = StringIO()
    call_command("train", "--sync", "--bootstrap-reps", "2", stdout=first)
    run = PipelineRun.objects.filter(kind="demand").latest("pk")
    assert run.pk != trained_run.pk
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert f"Run {run.pk} succeeded" in first.getvalue()
    assert f"Selected: {run.report['report']['selected']}" in first.getvalue()
    versions = ModelVersion.objects.count()

    second = StringIO()
    call_command("train", "--sync", "--bootstrap-reps", "2", stdout=second)
    assert f"Run {run.pk} succeeded" in second.getvalue()
    assert ModelVersion.objects.count() == versions
