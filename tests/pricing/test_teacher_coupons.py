"""Teacher portal coupons: the list shows the teacher's own coupons with uses, cap, validity and
status; the form creates a teacher-funded coupon for one of their courses or all of them, and
names the field of each bad input; deactivation is for the coupon's own teacher."""

import pytest
from django.urls import reverse

from tests.factories import CouponFactory, CourseFactory, StaffFactory, TeacherFactory
from tests.helpers import signed_in
from tokenecon.models import Coupon

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(client, teacher):
    return signed_in(client, teacher.user)


def form(course=None, *, course_given=True, **overrides):
    data = {
        "code": "spring25",
        "kind": "percent",
        "percent_off": "25",
        "tokens_off": "",
        "scope": "course",
        "course": course.pk if course else "",
        "valid_from": "",
        "valid_until": "",
        "max_uses": "10",
        "max_uses_per_learner": "1",
    }
    data.update(overrides)
    if not course_given:
        data["course"] = ""
    return data


def test_the_list_shows_own_coupons_with_uses_cap_and_status(portal, teacher, course):
    CouponFactory(code="MINE", course=course, max_uses=10, uses_count=4)
    CouponFactory(code="ALLMINE", scope="teacher", course=None, teacher=teacher, is_active=False)
    CouponFactory(code="THEIRS")
    page = portal.get(reverse("pricing:coupons"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "MINE" in body and "ALLMINE" in body and "THEIRS" not in body
    assert "4 / 10" in body and ">inactive<" in body and ">active<" in body
    assert reverse("pricing:coupons") in portal.get(reverse("pricing:teacher_home")).content.decode()


def test_a_teacher_creates_a_coupon_for_their_course(portal, teacher, course):
    answer = portal.post(reverse("pricing:coupon_new"), form(course))
    assert answer.status_code == 302 and answer["Location"] == reverse("pricing:coupons")
    coupon = Coupon.objects.get()
    assert (coupon.code, coupon.course_id, coupon.funded_by, coupon.max_uses) == (
        "SPRING25",
        course.pk,
        "teacher",
        10,
    )
    portal.post(reverse("pricing:coupon_new"), form(code="EVERY", scope="teacher"))
    assert Coupon.objects.get(code="EVERY").teacher_id == teacher.pk


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"percent_off": "0"}, "percent_off", "above 0 and at most 100"),
        ({"percent_off": "150"}, "percent_off", "above 0 and at most 100"),
        ({"kind": "fixed", "percent_off": "", "tokens_off": "0"}, "tokens_off", "positive whole number"),
        ({"code": "no spaces"}, "code", "letters A-Z, digits"),
        (
            {"valid_from": "2030-01-02T10:00", "valid_until": "2030-01-01T10:00"},
            "valid_until",
            "after its start",
        ),
        ({"code": "TAKEN"}, "code", "Code TAKEN is taken"),
        (
            {
                "scope": "course",
                "max_uses": "",
                "code": "NOCOURSE",
                "percent_off": "5",
                "course_given": False,
            },
            "course",
            "Choose one of your courses.",
        ),
    ],
)
def test_bad_input_is_a_form_error_on_its_field_and_writes_nothing(portal, course, overrides, field, message):
    CouponFactory(code="TAKEN")
    answer = portal.post(reverse("pricing:coupon_new"), form(course, **overrides))
    assert answer.status_code == 400
    assert field in answer.context["form"].errors
    assert message in " ".join(answer.context["form"].errors[field])
    assert Coupon.objects.count() == 1


def test_another_teachers_course_is_refused_with_its_code(portal):
    foreign = CourseFactory()
    answer = portal.post(reverse("pricing:coupon_new"), form(foreign))
    assert answer.status_code == 400
    assert f"{foreign.code} is not one of your courses." in answer.content.decode()
    assert not Coupon.objects.exists()


def test_deactivating_own_coupon_and_not_another_teachers(portal, course):
    mine = CouponFactory(code="MINE", course=course)
    theirs = CouponFactory(code="THEIRS")
    answer = portal.post(reverse("pricing:coupon_deactivate", args=[mine.pk]))
    assert answer.status_code == 302
    mine.refresh_from_db()
    assert not mine.is_active
    assert portal.post(reverse("pricing:coupon_deactivate", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active
    assert portal.get(reverse("pricing:coupon_deactivate", args=[mine.pk])).status_code == 405


@pytest.mark.parametrize("name", ["pricing:coupons", "pricing:coupon_new"])
def test_the_pages_are_for_teachers(client, learner, name):
    assert signed_in(client, learner.user).get(reverse(name)).status_code == 403
    assert signed_in(client, StaffFactory()).get(reverse(name)).status_code == 403
    assert signed_in(client, TeacherFactory().user).get(reverse(name)).status_code == 200
