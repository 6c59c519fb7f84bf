"""The staff's price-advice list: filters (pending only, confidence, category, teacher, search),
kept in the pager and the CSV link; CSV downloads of the advice, a teacher's payout requests and
the admin's ledger transfers, with the page's columns (issue 15)."""

from __future__ import annotations

import pytest

from pricing.views import PAGE_SIZE
from tests.factories import (
    CourseFactory,
    PriceRecommendationFactory,
    StaffFactory,
    TeacherFactory,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

URL = "/teacher/courses/"
CSV_URL = "/teacher/courses.csv"


@pytest.fixture
def advice_world():
    ada = TeacherFactory(display_name="Ada", external_id="T-ADA")
    bob = TeacherFactory(display_name="Bob", external_id="T-BOB")
    raise_high = CourseFactory(code="C80001", title="Python basics", teacher=ada, category="programming")
    keep = CourseFactory(code="C80002", title="Jazz piano", teacher=bob, category="music")
    raise_low = CourseFactory(code="C80003", title="SQL joins", teacher=bob, category="data_science")
    CourseFactory(code="C80004", title="No advice", teacher=ada, category="test_prep")
    PriceRecommendationFactory(course=raise_high, confidence="high")
    PriceRecommendationFactory(course=keep, confidence="high", recommended_price_tokens=keep.price_tokens)
    PriceRecommendationFactory(course=raise_low, confidence="low")
    return {"ada": ada, "bob": bob}


def shown(client, **params) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return [course.code for course in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["C80001", "C80002", "C80003", "C80004"]),
        ({"pending": "on"}, ["C80001", "C80003"]),  # keep-the-price advice is not a pending change
        ({"confidence": "high"}, ["C80001", "C80002"]),
        ({"category": "data_science"}, ["C80003"]),
        ({"teacher": "T-BOB"}, ["C80002", "C80003"]),
        ({"q": "sql"}, ["C80003"]),
        ({"q": "c8000"}, ["C80001", "C80002", "C80003", "C80004"]),
        ({"pending": "on", "confidence": "high", "teacher": "T-ADA"}, ["C80001"]),
    ],
)
def test_staff_filters(client, advice_world, params, expected):
    signed_in(client, StaffFactory())
    assert shown(client, **params) == expected


def test_a_bad_filter_is_reported_and_the_others_still_apply(client, advice_world):
    signed_in(client, StaffFactory())
    response = client.get(URL, {"teacher": "T-NOBODY", "category": "music"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert [c.code for c in response.context["page"].object_list] == ["C80002"]


def test_the_page_says_how_many_match(client, advice_world):
    page = signed_in(client, StaffFactory()).get(URL, {"teacher": "T-BOB", "page": "1"}).content.decode()
    assert "2 courses match the filters" in page
    assert "all 4 courses" in page  # the recompute still covers the whole catalog


def test_the_pager_keeps_the_filters(client):
    teacher = TeacherFactory(external_id="T-MANY")
    for n in range(PAGE_SIZE + 3):
        CourseFactory(teacher=teacher, code=f"C7{n:04d}")
    CourseFactory(code="C00000")  # another teacher's: filtered out
    signed_in(client, StaffFactory())
    first = client.get(URL, {"teacher": "T-MANY"})
    assert "teacher=T-MANY" in first.content.decode().split('class="pager"')[1]
    second = client.get(URL, {"teacher": "T-MANY", "page": 2})
    assert len(second.context["page"].object_list) == 3
    assert "C00000" not in {c.code for c in second.context["page"].object_list}
