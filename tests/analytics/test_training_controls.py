"""Dashboard training controls that need no trained model."""

import pytest
from django.urls import reverse

from analytics.models import PipelineRun
from analytics.services.registry import clear_model_cache
from tests.factories import LearnerFactory, StaffFactory
from tests.helpers import api_client_for, signed_in
from tests.pricing.db_world import load_synthetic_world
from tokenecon.services.accounts import top_up_wallet

pytestmark = pytest.mark.django_db


def test_elasticities_api_without_a_production_model_is_404():
    clear_model_cache()
    client = api_client_for(StaffFactory())
    assert client.get("/api/v1/models/demand/elasticities/").status_code == 404


def test_training_button_creates_a_run_and_redirects_to_its_progress(client):
    load_synthetic_world(n_courses=20, weeks=12)
    signed_in(client, StaffFactory())
    response = client.post(reverse("analytics:start_training"))
    run = PipelineRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("analytics:run_detail", args=[run.pk])
    partial = client.get(reverse("analytics:run_detail", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_learner_training_button_starts_a_propensity_run(client):
    signed_in(client, StaffFactory())
    response = client.post(reverse("analytics:start_training"), {"kind": "propensity"})
    run = PipelineRun.objects.get()
    assert run.kind == "propensity"
    assert response["Location"] == reverse("analytics:run_detail", args=[run.pk])


def test_an_unknown_model_family_is_refused_and_starts_nothing(client):
    signed_in(client, StaffFactory())
    response = client.post(reverse("analytics:start_training"), {"kind": "astrology"})
    assert response.status_code == 400
    assert b"astrology" in response.content
    assert not PipelineRun.objects.exists()


def test_an_unknown_model_family_is_echoed_as_plain_text_never_as_html(client):
    signed_in(client, StaffFactory())
    response = client.post(reverse("analytics:start_training"), {"kind": "<script>alert(1)</script>"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


def test_dashboard_writes_token_flow_in_tokens_and_money_with_separators(client, settings):
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=12_345, idempotency_key="dashboard-flow")
    html = signed_in(client, StaffFactory()).get(reverse("analytics:dashboard")).content.decode()
    assert "12,345 tokens" in html
    assert f"≈ 0.00 {settings.TOKEN_CURRENCY}" in html
