"""Staff's coupon admin: create any coupon through the service's rules, see uses against the cap,
change only what may change, deactivate in bulk; nobody deletes a coupon."""

import pytest
from django.urls import reverse

from tests.factories import CouponFactory, CourseFactory, StaffFactory
from tests.helpers import signed_in
from tokenecon.models import Coupon

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    return signed_in(client, StaffFactory())


def add_form(**overrides):
    data = {
        "code": "spring",
        "kind": "percent",
        "percent_off": "15",
        "tokens_off": "",
        "scope": "all",
        "course": "",
        "teacher": "",
        "category": "",
        "funded_by": "platform",
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "max_uses": "100",
        "max_uses_per_learner": "1",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_staff_create_a_platform_funded_coupon_for_every_course(admin_client):
    answer = admin_client.post(reverse("admin:tokenecon_coupon_add"), add_form())
    assert answer.status_code == 302, answer.content.decode()[:2000]
    coupon = Coupon.objects.get()
    assert (coupon.code, coupon.scope, coupon.funded_by, coupon.max_uses) == (
        "SPRING",
        "all",
        "platform",
        100,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"percent_off": "101"}, "above 0 and at most 100"),
        ({"code": "TAKEN"}, "Code TAKEN is taken"),
        ({"scope": "course"}, "Choose the course."),
        ({"scope": "category"}, "Choose a category."),
        ({"kind": "fixed", "percent_off": "", "tokens_off": ""}, "Enter the number of tokens off."),
    ],
)
def test_bad_input_is_shown_on_the_form_and_writes_nothing(admin_client, overrides, message):
    CouponFactory(code="TAKEN")
    answer = admin_client.post(reverse("admin:tokenecon_coupon_add"), add_form(**overrides))
    assert answer.status_code == 200
    assert message in answer.content.decode()
    assert Coupon.objects.count() == 1


def test_the_list_shows_uses_against_the_cap_and_status(admin_client):
    CouponFactory(code="CAPPED", max_uses=5, uses_count=5)
    body = admin_client.get(reverse("admin:tokenecon_coupon_changelist")).content.decode()
    assert "CAPPED" in body and "5 / 5" in body and "used up" in body


def test_a_change_may_move_the_cap_but_not_below_the_uses(admin_client):
    coupon = CouponFactory(code="CAPPED", max_uses=5, uses_count=3)
    url = reverse("admin:tokenecon_coupon_change", args=[coupon.pk])
    assert admin_client.get(url).status_code == 200
    data = {
        "valid_until_0": "",
        "valid_until_1": "",
        "max_uses": "2",
        "max_uses_per_learner": "1",
        "is_active": "on",
    }
    answer = admin_client.post(url, data)
    assert answer.status_code == 200 and "Already used 3 times" in answer.content.decode()
    answer = admin_client.post(url, {**data, "max_uses": "9"})
    assert answer.status_code == 302
    coupon.refresh_from_db()
    assert coupon.max_uses == 9 and coupon.percent_off == 20


def test_deactivate_action_and_no_delete(admin_client):
    coupons = [CouponFactory(course=CourseFactory()) for _ in range(2)]
    answer = admin_client.post(
        reverse("admin:tokenecon_coupon_changelist"),
        {"action": "deactivate_selected", "_selected_action": [c.pk for c in coupons]},
    )
    assert answer.status_code == 302
    assert not Coupon.objects.filter(is_active=True).exists()
    assert admin_client.get(reverse("admin:tokenecon_coupon_delete", args=[coupons[0].pk])).status_code == 403
