"""Promotion guards (issue 15, defect 3): a retrain does not put a broken model in production.

The data-quality checks catch a stale or holed window, the held-out data must be large enough,
and the selected candidate must not score a negative held-out R² nor below the production model;
otherwise it is registered as staging with the reasons on the registry and run pages."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from analytics.data_quality import assess_data_quality, freshness_check, gap_check
from analytics.models import ModelVersion
from analytics.services.pipeline import start_pipeline_run
from analytics.services.promotion_guards import ProductionComparison, promotion_refusals
from analytics.services.registry import clear_model_cache
from tests.factories import ModelVersionFactory, StaffFactory
from tests.helpers import signed_in
from tests.pricing.db_world import load_synthetic_world
from tokenecon.models import Enrollment

pytestmark = pytest.mark.django_db
PARAMS = {"bootstrap_reps": 2, "cv_folds": 2}
START = date(2026, 1, 1)


def steady(days: int, per_day: int = 20) -> dict[date, int]:
    return {START + timedelta(days=i): per_day for i in range(days)}


# --- the checks and the rule, on small made-up figures --------------------------------------------


def test_freshness_fails_when_the_last_days_are_far_below_the_usual_day():
    assert freshness_check(steady(120), recent_days=14, min_share=0.25).passed
    stale = steady(100) | {START + timedelta(days=119): 1}  # a stray enrollment 19 days later
    check = freshness_check(stale, recent_days=14, min_share=0.25)
    assert not check.passed and check.critical
    assert "average 0.1 enrollments a day against a usual 20.0 (at least 25% of it needed)" in check.title


def test_gap_check_counts_runs_of_empty_days_but_not_a_quiet_day_or_two():
    quiet = steady(60)
    for offset in (10, 11, 30):
        quiet.pop(START + timedelta(days=offset))
    assert gap_check(quiet, min_gap_days=3).passed
    holed = steady(60)
    for offset in range(20, 27):
        holed.pop(START + timedelta(days=offset))
    check = gap_check(holed, min_gap_days=3)
    assert (check.passed, check.failing, check.checked) == (False, 7, 60)
    assert "7 in 1 gap of 3+ days, the longest 7 days from 2026-01-21" in check.title


def refusals(**overrides) -> list[str]:
    healthy = {
        "candidate_r2": 0.4,
        "holdout_rows": 480,
        "holdout_active_weeks": 8,
        "failed_data_checks": [],
        "comparison": None,
        "min_rows": 200,
        "min_weeks": 4,
    }
    return promotion_refusals(**(healthy | overrides))


def test_a_healthy_candidate_passes_every_guard():
    assert refusals() == []
    assert refusals(comparison=ProductionComparison(3, 0.35, 0.4, same_data=True)) == []


def test_a_failed_data_check_refuses_promotion_and_names_the_check():
    assert refusals(failed_data_checks=["The last 14 days ... average 0.1"]) == [
        "the training data failed a data-quality check: The last 14 days ... average 0.1"
    ]


def test_too_little_held_out_data_refuses_promotion():
    (reason,) = refusals(holdout_rows=120, holdout_active_weeks=1)
    assert reason == (
        "too little held-out data: 120 course-weeks in 1 week with enrollments, at least 200 "
        "course-weeks in 4 weeks needed"
    )
    assert refusals(holdout_rows=480, holdout_active_weeks=3)


def test_a_negative_held_out_r2_is_never_promoted():
    assert refusals(candidate_r2=-0.55) == [
        "held-out R² −0.55 is negative: the model predicts worse than the mean"
    ]


def test_a_candidate_worse_than_production_is_refused_saying_on_which_data():
    same = refusals(candidate_r2=0.3, comparison=ProductionComparison(9, 0.41, 0.3, same_data=True))
    assert same == [
        "held-out R² 0.30 is below production's 0.41 (v9; both on this run's held-out weeks "
        "(v9 had not trained on them))"
    ]
    (stored,) = refusals(candidate_r2=0.3, comparison=ProductionComparison(9, 0.41, 0.3, same_data=False))
    assert "v9's R² on its own held-out weeks: it trained on this run's" in stored


# --- on a database world, through a real training run ---------------------------------------------


@pytest.fixture
def world():
    tables = load_synthetic_world(n_courses=60, weeks=30, seed=2)
    clear_model_cache()
    yield tables
    clear_model_cache()


def train():
    run = start_pipeline_run(kind="demand", sync=True, params=PARAMS, force=True)
    assert run.status == "succeeded", run.error
    return run, ModelVersion.objects.get(run=run, selected=True)


@pytest.mark.slow
def test_a_window_with_empty_held_out_weeks_is_registered_as_staging_and_production_is_kept(world, client):
    _, first = train()
    assert first.stage == "production"
    # One enrollment ten weeks after the last: the window's last weeks (the held-out ones) are empty.
    add_stray_enrollment(weeks_later=10)
    run, candidate = train()
    candidate.refresh_from_db()
    first.refresh_from_db()
    assert candidate.stage == "staging" and first.stage == "production"
    promotion = run.report["report"]["promotion"]
    assert promotion["promoted"] is False and promotion["holdout_active_weeks"] <= 1
    assert run.report["report"]["production_version"] == first.version
    note = candidate.promotion_note
    assert "failed a data-quality check: The last 14 days of the window" in note
    assert "Days without any enrollment inside the window" in note
    assert "too little held-out data" in note
    signed_in(client, StaffFactory())
    registry = client.get(reverse("analytics:registry")).content.decode()
    assert "Not promoted: " in registry and "too little held-out data" in registry
    run_page = client.get(reverse("analytics:run_detail", args=[run.pk])).content.decode()
    assert "Not promoted" in run_page and "too little held-out data" in run_page


@pytest.mark.slow
def test_a_candidate_below_productions_stored_r2_is_not_promoted(world):
    _, first = train()
    first.metrics = {**first.metrics, "holdout": {**first.metrics["holdout"], "r2": 0.99}}
    first.save(update_fields=["metrics"])
    run, candidate = train()
    candidate.refresh_from_db()
    assert candidate.stage == "staging"
    comparison = run.report["report"]["promotion"]["comparison"]
    assert comparison["same_data"] is False and comparison["production_r2"] == 0.99
    assert "is below production's 0.99" in candidate.promotion_note
    assert "on its own held-out weeks" in candidate.promotion_note
    assert ModelVersion.objects.get(name="demand", stage="production") == first


@pytest.mark.slow
def test_production_is_scored_on_the_same_held_out_weeks_when_it_never_saw_them(world):
    last = Enrollment.objects.order_by("-enrolled_at").first().enrolled_at
    later = list(Enrollment.objects.filter(enrolled_at__gt=last - timedelta(weeks=9)).values())
    Enrollment.objects.filter(enrolled_at__gt=last - timedelta(weeks=9)).delete()
    _, first = train()
    assert first.stage == "production"
    Enrollment.objects.bulk_create([Enrollment(**row) for row in later])
    run, candidate = train()
    promotion = run.report["report"]["promotion"]
    comparison = promotion["comparison"]
    assert comparison["same_data"] is True and comparison["production_version"] == first.version
    candidate.refresh_from_db()
    worse = comparison["candidate_r2"] < comparison["production_r2"]
    assert candidate.stage == ("staging" if worse else "production")
    assert ("below production's" in candidate.promotion_note) is worse


def add_stray_enrollment(weeks_later: int = 10) -> None:
    last = Enrollment.objects.order_by("-enrolled_at").first()
    Enrollment.objects.create(
        learner=Enrollment.objects.exclude(learner=last.learner).first().learner,
        course=last.course,
        enrolled_at=last.enrolled_at + timedelta(weeks=weeks_later),
        list_price_tokens=last.list_price_tokens,
        price_paid_tokens=last.price_paid_tokens,
    )


def test_the_data_quality_page_fails_freshness_and_gap_on_a_window_with_empty_last_weeks(world, client):
    fresh = {c.key: c for c in assess_data_quality().checks}
    assert fresh["enrollments_fresh"].passed and fresh["enrollments_no_gap"].passed
    add_stray_enrollment()
    report = assess_data_quality()
    failed = {c.key for c in report.critical_failures}
    assert {"enrollments_fresh", "enrollments_no_gap"} <= failed
    assert report.score < 100
    page = signed_in(client, StaffFactory()).get(reverse("analytics:data_quality")).content.decode()
    assert "Timeliness" in page and "Days without any enrollment inside the window" in page


# --- Django admin's registry actions ask first too (issue 15, defect 5) ---------------------------


def admin_post(client, action: str, version: ModelVersion, **extra):
    return client.post(
        reverse("admin:analytics_modelversion_changelist"),
        {"action": action, "_selected_action": [version.pk], **extra},
    )


def test_admin_archive_of_the_production_model_needs_the_second_confirmation(client):
    production = ModelVersionFactory(stage="production")
    signed_in(client, StaffFactory(is_superuser=True))
    asked = admin_post(client, "archive_selected", production)
    assert asked.status_code == 200
    assert "It is the production model: no demand model will be in production" in asked.content.decode()
    production.refresh_from_db()
    assert production.stage == "production"
    refused = admin_post(client, "archive_selected", production, confirm="1")
    assert refused.status_code == 200 and "tick the box" in refused.content.decode()
    production.refresh_from_db()
    assert production.stage == "production"
    admin_post(client, "archive_selected", production, confirm="1", understand="1")
    production.refresh_from_db()
    assert production.stage == "archived"


def test_admin_promote_shows_what_leaves_production_before_promoting(client, monkeypatch):
    monkeypatch.setattr("analytics.services.registry.artifact_file", lambda relative: Path(__file__))
    production = ModelVersionFactory(stage="production")
    staging = ModelVersionFactory(promotion_note="Held-out R² −0.55 is negative.")
    signed_in(client, StaffFactory(is_superuser=True))
    asked = admin_post(client, "promote_selected", staging).content.decode()
    assert f"demand v{production.version} leaves production" in asked
    assert "Not promoted automatically: Held-out R² −0.55 is negative." in asked
    staging.refresh_from_db()
    assert staging.stage == "staging"
    admin_post(client, "promote_selected", staging, confirm="1")
    staging.refresh_from_db()
    production.refresh_from_db()
    assert (staging.stage, production.stage) == ("production", "archived")
    assert staging.promotion_note == ""
