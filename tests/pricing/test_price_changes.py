"""Applying and dismissing stored advice many at once (the staff list, the admin action and the
bulk API share one service), and reading the pricing settings without writing them."""

import pytest

from pricing.models import PricingSettings
from pricing.selectors import pricing_settings
from pricing.services.price_changes import (
    NO_SUCH_RECOMMENDATION,
    apply_recommendations,
    dismiss_recommendations,
)
from tests.factories import PriceRecommendationFactory, PricingSettingsFactory, StaffFactory
from tests.helpers import signed_in
from tokenecon.models import PriceChange

pytestmark = pytest.mark.django_db


def test_apply_recommendations_refuses_each_bad_one_and_applies_the_rest():
    staff = StaffFactory()
    first, second = PriceRecommendationFactory.create_batch(2)
    dismissed = PriceRecommendationFactory(status="dismissed")
    decisions = apply_recommendations(ids=[first.pk, dismissed.pk, 999_999, second.pk], user=staff)
    assert [d.recommendation_id for d in decisions] == [first.pk, dismissed.pk, 999_999, second.pk]
    assert [d.done for d in decisions] == [True, False, False, True]
    assert "only pending ones can be applied" in decisions[1].refusal
    assert decisions[2].refusal == NO_SUCH_RECOMMENDATION == "No such recommendation."
    assert decisions[2].subject == "Recommendation 999999"
    assert decisions[1].subject == dismissed.course.code
    for decision, recommendation in ((decisions[0], first), (decisions[3], second)):
        change = decision.price_change
        assert (change.old_price_tokens, change.new_price_tokens) == (
            recommendation.current_price_tokens,
            recommendation.recommended_price_tokens,
        )
        recommendation.refresh_from_db()
        assert recommendation.status == "applied" and recommendation.decided_by == staff
    assert PriceChange.objects.count() == 2


def test_apply_recommendations_applies_a_repeated_id_once():
    recommendation = PriceRecommendationFactory()
    decisions = apply_recommendations(ids=[recommendation.pk, recommendation.pk], user=StaffFactory())
    assert [d.done for d in decisions] == [True, False]
    assert "only pending ones" in decisions[1].refusal
    assert PriceChange.objects.count() == 1


def test_apply_recommendations_refuses_advice_outside_todays_guardrails():
    PricingSettingsFactory(max_change_pct=5)
    recommendation = PriceRecommendationFactory()  # +10%
    (decision,) = apply_recommendations(ids=[recommendation.pk], user=StaffFactory())
    assert not decision.done and "outside today's guardrails" in decision.refusal
    assert PriceChange.objects.count() == 0


def test_dismiss_recommendations_keeps_prices_and_refuses_decided_ones():
    pending = PriceRecommendationFactory()
    applied = PriceRecommendationFactory(status="applied")
    decisions = dismiss_recommendations(ids=[pending.pk, applied.pk], user=StaffFactory())
    assert [d.done for d in decisions] == [True, False]
    assert "only pending ones can be dismissed" in decisions[1].refusal
    pending.refresh_from_db()
    assert pending.status == "dismissed"
    assert PriceChange.objects.count() == 0


def test_pricing_settings_are_the_defaults_until_saved_and_reading_writes_nothing():
    config = pricing_settings()
    assert config.pk is None and PricingSettings.objects.count() == 0
    assert float(config.max_change_pct) == 20 and config.objective == "revenue"
    assert config.min_enrollments_for_advice == 20 and config.bundles_active


def test_pricing_settings_return_the_saved_row():
    saved = PricingSettingsFactory(max_change_pct=7, objective="enrollments")
    config = pricing_settings()
    assert config.pk == saved.pk and float(config.max_change_pct) == 7 and config.objective == "enrollments"
    assert PricingSettings.objects.count() == 1


def test_admin_apply_action_reports_applied_and_refused(client):
    good = PriceRecommendationFactory()
    decided = PriceRecommendationFactory(status="dismissed")
    response = signed_in(client, StaffFactory()).post(
        "/admin/pricing/pricerecommendation/",
        {"action": "apply_selected", "_selected_action": [good.pk, decided.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Applied 1 recommendation(s)." in page
    assert f"{decided.course.code}: This recommendation is dismissed" in page
