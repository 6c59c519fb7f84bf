"""The learner catalog sorts by rating, popularity, price and newest; the choice stays in the
pager's links (issue 15)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from learners.views import CATALOG_PAGE_SIZE
from tests.factories import CourseFactory, EnrollmentFactory, LearnerFactory
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf():
    rated_high = CourseFactory(code="C90001", price_tokens=50, launch_date=date(2024, 1, 1))
    rated_low = CourseFactory(code="C90002", price_tokens=300, launch_date=date(2025, 6, 1))
    unrated = CourseFactory(code="C90003", price_tokens=120, launch_date=date(2023, 1, 1))
    EnrollmentFactory(course=rated_high, rating=5)
    EnrollmentFactory(course=rated_low, rating=2)
    for _ in range(3):
        EnrollmentFactory(course=unrated)
    EnrollmentFactory(course=rated_low, status="refunded")  # a refund is not popularity
    return rated_high, rated_low, unrated


def order(client, sort: str) -> list[str]:
    response = client.get(reverse("learners:catalog"), {"sort": sort})
    assert response.status_code == 200
    return [course.code for course in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("rating", ["C90001", "C90002", "C90003"]),  # unrated last
        ("popular", ["C90003", "C90001", "C90002"]),  # 3 enrollments, then 1 each (code breaks the tie)
        ("price", ["C90001", "C90003", "C90002"]),
        ("-price", ["C90002", "C90003", "C90001"]),
        ("newest", ["C90002", "C90001", "C90003"]),
    ],
)
def test_catalog_sorts(client, shelf, sort, expected):
    signed_in(client, LearnerFactory().user)
    assert order(client, sort) == expected


def test_the_sort_select_offers_rating_and_popularity(client, shelf):
    page = signed_in(client, LearnerFactory().user).get(reverse("learners:catalog")).content.decode()
    assert '<option value="rating">Top rated</option>' in page
    assert '<option value="popular">Most popular</option>' in page


def test_an_unknown_sort_is_reported_and_the_catalog_still_answers(client, shelf):
    signed_in(client, LearnerFactory().user)
    response = client.get(reverse("learners:catalog"), {"sort": "cheapest-first"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert len(response.context["page"].object_list) == 3


def test_the_pager_keeps_the_sort_and_the_search(client):
    for n in range(CATALOG_PAGE_SIZE + 5):
        CourseFactory(title=f"Guitar {n}", price_tokens=10 + n)
    signed_in(client, LearnerFactory().user)
    response = client.get(reverse("learners:catalog"), {"q": "guitar", "sort": "-price"})
    page = response.content.decode()
    assert (
        'href="?page=2&amp;q=guitar&amp;sort=-price"' in page
        or 'href="?q=guitar&amp;sort=-price&amp;page=2"' in page
    )
    second = client.get(reverse("learners:catalog"), {"q": "guitar", "sort": "-price", "page": 2})
    prices = [c.price_tokens for c in second.context["page"].object_list]
    assert prices == sorted(prices, reverse=True) and max(prices) < min(
        c.price_tokens for c in response.context["page"].object_list
    )
