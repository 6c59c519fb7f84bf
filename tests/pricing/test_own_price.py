"""A teacher sets their own price within today's guardrails (typed or the slider's), confirms
old → new, and can undo their last change while the undo rule holds (issue 15)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from pricing.errors import PricingError
from pricing.services.price_changes import (
    own_price_bounds,
    own_price_refusal,
    set_own_price,
    undo_own_price,
    undoable_change,
)
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    PricingSettingsFactory,
    StaffFactory,
    TeacherFactory,
)
from tests.helpers import signed_in
from tokenecon.models import Course, PriceChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory(price_tokens=100)


def user_of(course):
    return course.teacher.user


def test_bounds_name_the_step_and_the_floor(course):
    PricingSettingsFactory(max_change_pct=20)
    bounds = own_price_bounds(course)
    assert (bounds.low, bounds.high) == (80, 120)
    assert "largest step of 20%" in bounds.low_reason and "largest step" in bounds.high_reason
    course.price_floor_tokens = 90
    bounds = own_price_bounds(course)
    assert bounds.low == 90 and bounds.low_reason == "your floor of 90 tokens"


def test_refusals_name_the_guardrail(course):
    PricingSettingsFactory(max_change_pct=20)
    assert "largest step of 20%" in own_price_refusal(course, 121)
    assert "lowest price today is 80" in own_price_refusal(course, 79)
    assert "already costs 100" in own_price_refusal(course, 100)
    course.price_tokens = settings.TOKEN_PRICE_MAX
    assert "platform maximum" in own_price_refusal(course, settings.TOKEN_PRICE_MAX + 1)
    assert own_price_refusal(course, settings.TOKEN_PRICE_MAX - 1) == ""


def test_set_own_price_records_a_manual_change(course):
    change = set_own_price(course=course, new_price_tokens=110, user=user_of(course), from_slider=True)
    assert (change.old_price_tokens, change.new_price_tokens, change.source) == (100, 110, "manual")
    assert change.approved_by == user_of(course) and "slider" in change.note
    assert Course.objects.get(pk=course.pk).price_tokens == 110


def test_set_own_price_refuses_another_teacher_and_writes_nothing(course):
    with pytest.raises(PricingError, match="Only the course's teacher"):
        set_own_price(course=course, new_price_tokens=110, user=TeacherFactory().user)
    with pytest.raises(PricingError, match="largest step"):
        set_own_price(course=course, new_price_tokens=500, user=user_of(course))
    assert PriceChange.objects.count() == 0 and Course.objects.get(pk=course.pk).price_tokens == 100


def test_undo_restores_the_previous_price_as_a_change(course):
    set_own_price(course=course, new_price_tokens=110, user=user_of(course))
    undo = undo_own_price(course=course, user=user_of(course))
    assert (undo.old_price_tokens, undo.new_price_tokens, undo.source) == (110, 100, "manual")
    assert undo.note.startswith("Undo of price change")
    assert Course.objects.get(pk=course.pk).price_tokens == 100
    # An undo is not undone in turn.
    with pytest.raises(PricingError, match="no price change of yours"):
        undo_own_price(course=course, user=user_of(course))


def test_undo_is_refused_after_a_purchase_at_the_new_price(course):
    change = set_own_price(course=course, new_price_tokens=110, user=user_of(course))
    EnrollmentFactory(course=course, enrolled_at=change.effective_at + timedelta(minutes=1))
    with pytest.raises(PricingError, match="has bought"):
        undo_own_price(course=course, user=user_of(course))
    assert Course.objects.get(pk=course.pk).price_tokens == 110


def test_undo_is_refused_after_the_window(course):
    set_own_price(course=course, new_price_tokens=110, user=user_of(course))
    later = timezone.now() + timedelta(hours=settings.PRICE_UNDO_HOURS, minutes=1)
    change, refusal = undoable_change(course, user_of(course), now=later)
    assert change is None and f"more than {settings.PRICE_UNDO_HOURS} hours" in refusal


def test_page_shows_bounds_and_the_undo_rule_to_the_owner_only(client, course):
    url = reverse("pricing:course_detail", args=[course.code])
    page = signed_in(client, user_of(course)).get(url).content.decode()
    assert 'data-testid="own-price-bounds"' in page and "Today you can set 80–120 tokens" in page
    assert f"for {settings.PRICE_UNDO_HOURS} hours, until a learner buys" in page
    client.logout()
    staff_page = signed_in(client, StaffFactory()).get(url).content.decode()
    assert "own-price-bounds" not in staff_page


def test_the_form_asks_for_confirmation_then_changes(client, course):
    signed_in(client, user_of(course))
    url = reverse("pricing:course_set_price", args=[course.code])
    response = client.post(url, {"price": 115})
    assert response.status_code == 200
    assert "100 tokens → 115 tokens" in response.content.decode()
    assert PriceChange.objects.count() == 0
    response = client.post(url, {"price": 115, "confirm": "1"})
    assert response.status_code == 302
    assert Course.objects.get(pk=course.pk).price_tokens == 115
    page = client.get(reverse("pricing:course_detail", args=[course.code])).content.decode()
    assert "now costs 115 tokens (was 100)" in page and 'data-testid="undo-price"' in page
    client.post(reverse("pricing:course_undo_price", args=[course.code]))
    assert Course.objects.get(pk=course.pk).price_tokens == 100
    assert PriceChange.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Say the new price"),
        ({"price": "abc"}, "whole number of tokens"),
        ({"price": 500, "confirm": "1"}, "largest step of 20%"),
        ({"price": 0}, "platform minimum"),
    ],
)
def test_a_refused_price_is_a_form_error_and_writes_nothing(client, course, data, message):
    signed_in(client, user_of(course))
    response = client.post(reverse("pricing:course_set_price", args=[course.code]), data)
    assert response.status_code == 400
    assert 'data-testid="own-price-errors"' in response.content.decode()
    assert message in response.content.decode()
    assert PriceChange.objects.count() == 0


def test_another_teacher_and_staff_cannot_set_the_price(client, course):
    url = reverse("pricing:course_set_price", args=[course.code])
    assert (
        signed_in(client, TeacherFactory().user).post(url, {"price": 110, "confirm": "1"}).status_code == 404
    )
    client.logout()
    assert signed_in(client, StaffFactory()).post(url, {"price": 110, "confirm": "1"}).status_code == 403
    assert Course.objects.get(pk=course.pk).price_tokens == 100


@pytest.fixture(scope="module")
def trained_world(django_db_setup, django_db_blocker):
    from tests.pricing.db_world import trained_world as priced_world

    with django_db_blocker.unblock(), priced_world(seed=3) as run:
        yield run


def test_the_slider_offers_its_price_to_the_owner_only(client, trained_world):
    course = Course.objects.filter(teacher__isnull=False).order_by("code").first()
    url = reverse("pricing:course_what_if", args=[course.code])
    price = course.price_tokens + 1
    fragment = signed_in(client, course.teacher.user).get(url, {"price": price}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert 'data-testid="apply-slider-price"' in body and f'name="price" value="{price}"' in body
    client.logout()
    staff = signed_in(client, StaffFactory()).get(url, {"price": price}, HTTP_HX_REQUEST="true")
    assert 'data-testid="apply-slider-price"' not in staff.content.decode()
