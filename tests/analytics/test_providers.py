"""What analytics hands to learners: each course's elasticity from the production demand model."""

import numpy as np
import pytest

from analytics.services.providers import course_elasticity_provider, demand_provider
from pricing.models import PriceRecommendation
from pricing.services.model_source import course_rows
from tests.pricing.db_world import trained_world
from tokenecon.models import Course

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world_without_advice(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), trained_world(seed=5, advice=False) as run:
        yield run


def test_course_elasticities_come_from_the_model_at_todays_price_without_stored_advice(
    world_without_advice,
):
    # Offers used to take per-course elasticities only from stored price advice, and fell back
    # to category averages (which cost a third of their value) when none had been computed.
    assert not PriceRecommendation.objects.exists()
    values = course_elasticity_provider()
    assert set(values) == set(Course.objects.values_list("pk", flat=True))
    demand = demand_provider()
    rows = course_rows(demand)
    expected = demand.artifact.model.elasticity(rows)
    assert np.allclose([values[c] for c in rows["course_id"]], expected)


def test_course_elasticities_follow_a_price_change_and_can_be_asked_per_course(world_without_advice):
    course = Course.objects.order_by("pk").first()
    before = course_elasticity_provider([course.pk])
    assert list(before) == [course.pk]
    Course.objects.filter(pk=course.pk).update(price_tokens=course.price_tokens * 2)
    after = course_elasticity_provider([course.pk])
    Course.objects.filter(pk=course.pk).update(price_tokens=course.price_tokens)
    assert after[course.pk] != pytest.approx(before[course.pk])
