"""Advice stays coherent with its model (issue 15, defect 2) and names the guardrail that capped it
(defect 8): after a promotion the pages and the API mark advice from another version as stale and
refuse to apply it until the recompute the promotion queued has run."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from analytics.models import ModelVersion
from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache, promote_version
from pricing.errors import NotAdvisable
from pricing.models import AdviceRun, PriceRecommendation
from pricing.services.advice import compute_recommendations, run_advice_recompute
from pricing.services.price_changes import apply_recommendation
from tests.factories import PricingSettingsFactory, StaffFactory
from tests.helpers import api_client_for, signed_in
from tests.pricing.db_world import load_synthetic_world

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_synthetic_world(n_courses=60, weeks=30, seed=5)
        clear_model_cache()
        run = start_pipeline_run(kind="demand", sync=True, params={"bootstrap_reps": 2, "cv_folds": 2})
        assert run.status == "succeeded", run.error
        yield run
        call_command("flush", "--noinput", verbosity=0)
        clear_model_cache()


def moving_advice() -> PriceRecommendation:
    compute_recommendations()
    advice = next(
        (
            r
            for r in PriceRecommendation.objects.filter(status="pending").select_related("course")
            if r.changes_price
        ),
        None,
    )
    assert advice is not None, "no price-moving advice in the test world"
    return advice


def promote_another(staff) -> ModelVersion:
    other = ModelVersion.objects.filter(name="demand").exclude(stage="production").order_by("version").first()
    promote_version(version=other, user=staff)
    return other


def test_promotion_marks_advice_stale_everywhere_refuses_it_and_the_recompute_freshens_it(world, client):
    staff = StaffFactory()
    advice = moving_advice()
    old_version = advice.model_version
    new = promote_another(staff)
    run = AdviceRun.objects.get(started_by=staff)
    assert run.status == "queued"
    expected = f"Computed with model v{old_version}; v{new.version} is in production now; recomputing…"

    signed_in(client, staff)
    page = client.get(reverse("pricing:course_detail", args=[advice.course.code])).content.decode()
    assert expected in page
    assert 'data-testid="apply"' not in page
    assert f"Curves from demand model v{new.version}" in page
    staff_list = client.get(reverse("pricing:staff_courses")).content.decode()
    assert 'data-testid="advice-stale-banner"' in staff_list
    assert f'value="{advice.pk}"' not in staff_list  # no checkbox to apply it in bulk
    teacher = advice.course.teacher.user
    home = signed_in(client, teacher).get(reverse("pricing:teacher_home")).content.decode()
    assert f"stale: model v{old_version}" in home
    assert 'data-testid="stale-count"' in home  # stale advice is not counted as advised

    body = api_client_for(teacher).get("/api/v1/pricing/recommendations/?status=pending").json()
    listed = next(r for r in body["results"] if r["id"] == advice.pk)
    assert listed["stale"] is True and listed["stale_reason"] == expected
    refused = api_client_for(teacher).post(f"/api/v1/pricing/recommendations/{advice.pk}/apply/")
    assert refused.status_code == 409
    assert (
        f"computed with model v{old_version} and v{new.version} is in production" in refused.json()["detail"]
    )
    with pytest.raises(NotAdvisable):
        apply_recommendation(recommendation=advice, user=staff)
    advice.course.refresh_from_db()
    assert advice.course.price_tokens == advice.current_price_tokens

    # The recompute (the task the promotion queued) brings fresh advice from the new model.
    run_advice_recompute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.progress_pct) == ("succeeded", 100)
    fresh = PriceRecommendation.objects.get(course=advice.course, status="pending")
    assert fresh.model_version == new.version
    page = (
        signed_in(client, staff)
        .get(reverse("pricing:course_detail", args=[advice.course.code]))
        .content.decode()
    )
    assert "is in production now" not in page
    body = api_client_for(teacher).get("/api/v1/pricing/recommendations/?status=pending").json()
    assert not any(r["stale"] for r in body["results"])


def test_a_guardrail_that_capped_the_advice_is_named(world, client):
    PricingSettingsFactory(max_change_pct=5, cooldown_days=0)
    compute_recommendations()
    capped = [
        r
        for r in PriceRecommendation.objects.filter(status="pending")
        if (r.details.get("guardrail") or {}).get("name") == "step limit"
    ]
    assert capped, "no advice in the test world is held back by a 5% step"
    advice = capped[0]
    direction = "+" if advice.recommended_price_tokens > advice.current_price_tokens else "−"
    text = f"capped at {direction}5% by the step limit"
    assert advice.details["guardrail"]["text"] == text
    assert text in advice.reason
    page = signed_in(client, StaffFactory()).get(reverse("pricing:course_detail", args=[advice.course.code]))
    assert text in page.content.decode()
    # Advice the guardrails did not hold back names none.
    free = PriceRecommendation.objects.filter(status="pending").exclude(pk__in=[r.pk for r in capped])
    assert all(not r.details.get("guardrail") or r.details["guardrail"]["name"] != "step limit" for r in free)


def test_a_teachers_floor_that_holds_the_advice_back_is_named(world):
    PricingSettingsFactory(cooldown_days=0)
    compute_recommendations()
    lowered = [
        r
        for r in PriceRecommendation.objects.filter(status="pending").select_related("course")
        if (r.details.get("guardrail") or {}).get("name") == "step limit"
        and r.recommended_price_tokens < r.current_price_tokens
    ]
    assert lowered, "no advice in the test world is held back by the step limit on the way down"
    named = []
    for advice in lowered:
        course = advice.course
        course.price_floor_tokens = round(course.price_tokens * 0.9)
        course.save(update_fields=["price_floor_tokens"])
        compute_recommendations(course_ids=[course.pk])
        fresh = PriceRecommendation.objects.get(course=course, status="pending")
        if fresh.changes_price:
            named.append((fresh, course.price_floor_tokens))
    assert named, "the floor made every lowered advice keep its price"
    for fresh, floor in named:
        assert fresh.recommended_price_tokens == floor
        assert fresh.details["guardrail"] == {
            "name": "teacher's floor",
            "text": f"held at the teacher's floor of {floor} tokens",
        }
        assert f"held at the teacher's floor of {floor} tokens" in fresh.reason
