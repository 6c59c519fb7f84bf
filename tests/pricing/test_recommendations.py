"""Price advice on a trained production model: batch computation, guardrails, apply and dismiss,
and the Celery task and beat schedule around them."""

from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache
from pricing.errors import NotAdvisable
from pricing.models import AdviceRun, PriceRecommendation
from pricing.selectors import pricing_settings
from pricing.services import advice
from pricing.services.advice import compute_recommendations, optimise_catalog
from pricing.services.forecasts import optimise_course
from pricing.services.price_changes import apply_recommendation, dismiss_recommendation, set_course_price
from pricing.tasks import compute_price_recommendations
from tests.factories import (
    AdviceRunFactory,
    EnrollmentFactory,
    LearnerFactory,
    PricingSettingsFactory,
    StaffFactory,
)
from tests.pricing.db_world import load_synthetic_world
from tokenecon.celery import app as celery_app
from tokenecon.models import Course, PriceChange, PriceChangeSource

pytestmark = pytest.mark.django_db

N_COURSES = 80


@pytest.fixture(scope="module")
def trained_world(django_db_setup, django_db_blocker):
    """One small world with a production demand model, shared by this module (tests roll back)."""
    with django_db_blocker.unblock():
        load_synthetic_world(n_courses=N_COURSES, weeks=30, seed=1)
        clear_model_cache()
        run = start_pipeline_run(kind="demand", sync=True, params={"bootstrap_reps": 2, "cv_folds": 2})
        assert run.status == "succeeded", run.error
        yield run
        call_command("flush", "--noinput", verbosity=0)
        clear_model_cache()


def _pending():
    return PriceRecommendation.objects.filter(status=PriceRecommendation.Status.PENDING)


def _applicable():
    """A pending recommendation that moves the price (the advice is confident enough)."""
    compute_recommendations()
    for recommendation in _pending().select_related("course"):
        if recommendation.changes_price:
            return recommendation
    pytest.fail("No recommendation in the test world changes a price; the world is too uncertain.")


def test_compute_stores_one_pending_recommendation_per_course(trained_world):
    count = compute_recommendations()
    assert count == Course.objects.count() == N_COURSES
    assert _pending().count() == N_COURSES
    assert set(_pending().values_list("course_id", flat=True)) == set(
        Course.objects.values_list("pk", flat=True)
    )
    sample = _pending().first()
    assert sample.model_version >= 1 and sample.reason
    assert {"strategies", "intervals", "bounds"} <= set(sample.details)


def test_recomputing_supersedes_the_previous_pending_recommendations(trained_world):
    compute_recommendations()
    first_ids = set(_pending().values_list("pk", flat=True))
    compute_recommendations()
    assert _pending().count() == N_COURSES
    assert not first_ids & set(_pending().values_list("pk", flat=True))
    assert PriceRecommendation.objects.filter(pk__in=first_ids, status="superseded").count() == N_COURSES


def test_recomputing_some_courses_leaves_the_others_pending(trained_world):
    compute_recommendations()
    ids = list(Course.objects.values_list("pk", flat=True)[:5])
    untouched = set(_pending().exclude(course_id__in=ids).values_list("pk", flat=True))
    assert compute_recommendations(course_ids=ids) == 5
    assert untouched <= set(_pending().values_list("pk", flat=True))
    assert _pending().count() == N_COURSES


def test_every_recommended_price_respects_the_guardrails(trained_world):
    # Floors: a few teachers refuse any cut, one floor sits above the allowed step.
    courses = list(Course.objects.order_by("pk"))
    for course in courses[:10]:
        course.price_floor_tokens = course.price_tokens
    courses[10].price_floor_tokens = int(courses[10].price_tokens * 1.5)
    Course.objects.bulk_update(courses[:11], ["price_floor_tokens"])
    compute_recommendations()
    step = float(pricing_settings().max_change_pct) / 100
    assert _pending().count() == N_COURSES
    for r in _pending().select_related("course"):
        price, current = r.recommended_price_tokens, r.current_price_tokens
        assert settings.TOKEN_PRICE_MIN <= price <= settings.TOKEN_PRICE_MAX, r
        if r.course.price_floor_tokens:
            assert price >= r.course.price_floor_tokens, r
        if not r.course.price_floor_tokens or r.course.price_floor_tokens <= current * (1 + step):
            assert np.floor(current * (1 - step)) <= price <= np.ceil(current * (1 + step)), r


def test_a_smaller_max_change_narrows_every_recommendation(trained_world):
    PricingSettingsFactory(max_change_pct=5)
    compute_recommendations()
    assert _pending().count() == N_COURSES
    for r in _pending():
        assert (
            abs(r.recommended_price_tokens / r.current_price_tokens - 1) <= 0.05 + 1 / r.current_price_tokens
        )


def test_uncertain_course_gets_no_change_and_low_confidence(trained_world):
    PricingSettingsFactory(min_enrollments_for_advice=10**6)
    compute_recommendations()
    assert _pending().count() == N_COURSES
    for r in _pending():
        assert r.recommended_price_tokens == r.current_price_tokens
        assert r.confidence == PriceRecommendation.Confidence.LOW
        assert "Too little history" in r.reason


def test_course_with_few_enrollments_is_not_advised_to_move(trained_world):
    counts = {c.pk: c.enrollments.count() for c in Course.objects.all()}
    fewest = min(counts, key=counts.get)
    most = max(counts, key=counts.get)
    PricingSettingsFactory(min_enrollments_for_advice=counts[fewest] + 1)
    compute_recommendations()
    uncertain = _pending().get(course_id=fewest)
    assert uncertain.confidence == "low"
    assert not uncertain.changes_price
    assert "Too little history" in uncertain.reason
    assert "Too little history" not in _pending().get(course_id=most).reason


def test_apply_writes_a_price_change_with_source_and_approver(trained_world):
    recommendation = _applicable()
    staff = StaffFactory()
    old_price = recommendation.course.price_tokens
    change = apply_recommendation(recommendation=recommendation, user=staff)
    course = Course.objects.get(pk=recommendation.course_id)
    assert course.price_tokens == recommendation.recommended_price_tokens != old_price
    assert change.source == PriceChangeSource.RECOMMENDATION
    assert change.approved_by == staff
    assert (change.old_price_tokens, change.new_price_tokens) == (old_price, course.price_tokens)
    recommendation.refresh_from_db()
    assert recommendation.status == "applied" and recommendation.decided_by == staff
    assert recommendation.decided_at is not None


def test_applying_twice_is_refused_and_writes_nothing(trained_world):
    recommendation = _applicable()
    staff = StaffFactory()
    apply_recommendation(recommendation=recommendation, user=staff)
    changes = PriceChange.objects.count()
    with pytest.raises(NotAdvisable, match="applied"):
        apply_recommendation(recommendation=recommendation, user=staff)
    assert PriceChange.objects.count() == changes


def test_applying_after_the_price_changed_is_refused(trained_world):
    recommendation = _applicable()
    Course.objects.filter(pk=recommendation.course_id).update(
        price_tokens=recommendation.current_price_tokens + 1
    )
    with pytest.raises(NotAdvisable, match="price changed"):
        apply_recommendation(recommendation=recommendation, user=StaffFactory())


def test_dismiss_keeps_the_price_and_records_who(trained_world):
    recommendation = _applicable()
    staff = StaffFactory()
    price = recommendation.course.price_tokens
    changes = PriceChange.objects.count()
    dismissed = dismiss_recommendation(recommendation=recommendation, user=staff)
    assert dismissed.status == "dismissed" and dismissed.decided_by == staff
    assert Course.objects.get(pk=recommendation.course_id).price_tokens == price
    assert PriceChange.objects.count() == changes
    with pytest.raises(NotAdvisable):
        apply_recommendation(recommendation=recommendation, user=staff)


def test_optimise_course_rescales_to_the_given_enrollments_and_starting_price(trained_world):
    course = Course.objects.order_by("pk").first()
    plain = optimise_course(course=course)
    scaled = optimise_course(course=course, current_enrollments=plain.expected_enrollments_current * 3)
    assert scaled.expected_enrollments_current == pytest.approx(plain.expected_enrollments_current * 3)
    assert scaled.recommended_price == plain.recommended_price
    moved = optimise_course(course=course, current_price=200)
    assert moved.current_price == 200
    step = float(pricing_settings().max_change_pct) / 100
    assert 200 * (1 - step) - 1 <= moved.recommended_price <= 200 * (1 + step) + 1


def test_the_task_computes_recommendations(trained_world):
    assert compute_price_recommendations.apply().get() == N_COURSES
    assert _pending().count() == N_COURSES


def test_beat_runs_the_nightly_advice_and_the_stale_run_sweep():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "pricing.compute_price_recommendations" in schedule
    assert schedule["analytics.fail_stale_runs"] == 30
    celery_app.loader.import_default_modules()
    assert {"pricing.compute_price_recommendations", "analytics.fail_stale_runs"} <= set(celery_app.tasks)


def _plant_co_enrollments(first: Course, second: Course, learners: int = 12) -> None:
    """Learners who took both courses (a pair the catalog's co-enrollment will find)."""
    when = timezone.now() - timedelta(days=3)
    for learner in LearnerFactory.create_batch(learners):
        for course in (first, second):
            EnrollmentFactory(learner=learner, course=course, enrolled_at=when)


def _bundle_row(course: Course) -> dict:
    advice = _pending().get(course=course)
    (row,) = [s for s in advice.details["strategies"] if s["strategy"] == "bundle"]
    return row


def test_stored_advice_offers_a_bundle_beside_the_price_and_the_setting_turns_it_off(trained_world):
    first, second = Course.objects.order_by("pk")[:2]
    _plant_co_enrollments(first, second)
    compute_recommendations()
    row = _bundle_row(first)
    assert row["active"] is True
    assert row["proposed_price"] is None and row["weight"] is None  # never moves the price
    # This world's learners overlap a lot, so the strongest partner may be another course.
    assert row["explanation"].startswith("Often taken with"), row["explanation"]
    assert (
        "learners took both" in row["explanation"] and "tokens of revenue per 30 days" in row["explanation"]
    )
    PricingSettingsFactory(bundles_active=False)
    compute_recommendations()
    assert _bundle_row(first)["active"] is False
    assert _bundle_row(first)["explanation"].startswith("No bundle")


# --- advice runs: the background recompute and its progress ---------------------------------------


def test_chunked_optimisation_reports_progress_and_gives_the_prices_of_one_batch(trained_world, monkeypatch):
    whole = optimise_catalog()
    monkeypatch.setattr(advice, "ADVICE_CHUNK_COURSES", 30)
    steps = []
    chunked = optimise_catalog(on_progress=lambda done, total: steps.append((done, total)))
    assert steps == [(30, N_COURSES), (60, N_COURSES), (N_COURSES, N_COURSES)]
    assert chunked["course_id"].tolist() == whole["course_id"].tolist()
    assert chunked["recommended_price"].tolist() == whole["recommended_price"].tolist()
    assert chunked["confidence"].tolist() == whole["confidence"].tolist()
    assert chunked["strategies"].tolist() == whole["strategies"].tolist()
    assert np.allclose(chunked["expected_revenue_recommended"], whole["expected_revenue_recommended"])


def test_advice_run_writes_real_progress_per_chunk_and_ends_succeeded_at_100(trained_world, monkeypatch):
    monkeypatch.setattr(advice, "ADVICE_CHUNK_COURSES", 30)
    staff = StaffFactory()
    run = AdviceRunFactory(started_by=staff)
    seen = []
    optimise = advice.optimise_catalog

    def optimise_and_read_the_row(**kwargs):
        report = kwargs.pop("on_progress")

        def read_after(done: int, total: int) -> None:
            report(done, total)
            seen.append(
                AdviceRun.objects.values_list("status", "progress_pct", "courses_done", "courses_total").get(
                    pk=run.pk
                )
            )

        return optimise(**kwargs, on_progress=read_after)

    monkeypatch.setattr(advice, "optimise_catalog", optimise_and_read_the_row)
    assert compute_price_recommendations.apply(args=[run.pk]).get() == N_COURSES
    assert seen == [
        ("running", 37, 30, N_COURSES),
        ("running", 75, 60, N_COURSES),
        ("running", 99, N_COURSES, N_COURSES),
    ]
    run.refresh_from_db()
    assert (run.status, run.progress_pct, run.courses_done, run.recommendations_stored) == (
        "succeeded",
        100,
        N_COURSES,
        N_COURSES,
    )
    assert run.started_by == staff and run.started_at <= run.finished_at and run.error == ""
    assert _pending().count() == N_COURSES


def test_the_nightly_task_and_the_command_record_a_run_of_the_whole_catalog(trained_world):
    compute_price_recommendations.apply().get()
    # (The world's training queued a recompute of its own when it promoted its model.)
    nightly = AdviceRun.objects.latest("pk")
    assert nightly.status == "succeeded" and nightly.started_by is None
    assert nightly.recommendations_stored == N_COURSES
    out = StringIO()
    call_command("recommend_prices", stdout=out)
    assert f"Stored {N_COURSES} price recommendations" in out.getvalue()
    assert AdviceRun.objects.filter(status="succeeded").count() == 2


def test_a_finished_run_is_not_run_again(trained_world):
    run = AdviceRunFactory(status="succeeded", progress_pct=100, recommendations_stored=3)
    assert compute_price_recommendations.apply(args=[run.pk]).get() == 3
    assert not _pending().exists()


def test_a_dismissal_is_remembered_until_the_price_or_the_model_changes(trained_world):
    recommendation = _applicable()
    course = recommendation.course
    dismiss_recommendation(recommendation=recommendation, user=StaffFactory())
    compute_recommendations()
    assert not _pending().filter(course=course).exists()  # the same advice does not come back
    assert _pending().count() == N_COURSES - 1
    Course.objects.filter(pk=course.pk).update(price_tokens=course.price_tokens + 7)
    compute_recommendations()
    assert _pending().filter(course=course).exists()  # a new price is new information


def test_a_dismissal_does_not_hide_materially_different_advice(trained_world):
    recommendation = _applicable()
    dismiss_recommendation(recommendation=recommendation, user=StaffFactory())
    # As if the dismissed advice had proposed a price far from what the model proposes now.
    far = recommendation.current_price_tokens * 3
    PriceRecommendation.objects.filter(pk=recommendation.pk).update(recommended_price_tokens=far)
    compute_recommendations()
    assert _pending().filter(course=recommendation.course).exists()


def test_a_price_is_not_stepped_again_within_the_cool_down(trained_world):
    recommendation = _applicable()
    course = recommendation.course
    # A move away from the model's optimum, made now: advice would step straight back.
    moved_to = max(settings.TOKEN_PRICE_MIN, round(recommendation.current_price_tokens * 0.8))
    set_course_price(
        course=course, new_price_tokens=moved_to, approved_by=StaffFactory(), source=PriceChangeSource.MANUAL
    )
    course.refresh_from_db()
    without_cool_down = optimise_catalog(
        course_ids=[course.pk], today=timezone.now().date() + timedelta(days=365)
    )
    assert without_cool_down.iloc[0]["recommended_price"] != course.price_tokens
    compute_recommendations()
    kept = _pending().get(course=course)
    days = pricing_settings().cooldown_days
    assert kept.recommended_price_tokens == course.price_tokens
    assert kept.confidence == "low" and f"{days}-day cool-down" in kept.reason
