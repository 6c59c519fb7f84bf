"""The coupons API: teachers see and manage their own courses' coupons, staff every coupon,
learners none (403) but may check a code on a course (the price, or 400 with the reason)."""

from decimal import Decimal

import pytest

from tests.factories import CouponFactory, CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import api_client_for
from tokenecon.models import Coupon, Enrollment

pytestmark = pytest.mark.django_db

LIST = "/api/v1/coupons/"
VALIDATE = "/api/v1/coupons/validate/"


def detail(coupon) -> str:
    return f"/api/v1/coupons/{coupon.pk}/"


@pytest.fixture
def api(teacher):
    return api_client_for(teacher.user)


def test_a_teacher_lists_only_own_coupons_and_staff_all(api, teacher, course):
    CouponFactory(code="MINE", course=course)
    CouponFactory(code="ALLMINE", scope="teacher", course=None, teacher=teacher)
    CouponFactory(code="THEIRS")
    codes = {row["code"] for row in api.get(LIST).json()["results"]}
    assert codes == {"MINE", "ALLMINE"}
    assert len(api_client_for(StaffFactory()).get(LIST).json()["results"]) == 3
    assert api_client_for(LearnerFactory().user).get(LIST).status_code == 403
    assert {r["code"] for r in api.get(LIST, {"course": course.code}).json()["results"]} == {"MINE"}


def test_a_teacher_creates_a_coupon_for_their_course(api, teacher, course):
    answer = api.post(
        LIST, {"code": "spring25", "percent_off": 25, "course": course.code, "max_uses": 10}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["code"], body["course"], body["funded_by"], body["status"]) == (
        "SPRING25",
        course.code,
        "teacher",
        "active",
    )
    every = api.post(
        LIST, {"code": "EVERY", "kind": "fixed", "tokens_off": 15, "scope": "teacher"}, format="json"
    )
    assert every.status_code == 201 and every.json()["teacher"] == teacher.external_id


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"percent_off": 0}, "percent_off", "above 0 and at most 100"),
        ({"percent_off": 120}, "percent_off", "above 0 and at most 100"),
        ({"kind": "fixed", "percent_off": None, "tokens_off": 0}, "tokens_off", "positive whole number"),
        ({"code": "bad code!"}, "code", "letters A-Z, digits"),
        ({"code": "taken"}, "code", "Code TAKEN is taken"),
        (
            {"valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"},
            "valid_until",
            "after its start",
        ),
        ({"funded_by": "platform"}, "funded_by", "only staff create platform-funded"),
        ({"scope": "all"}, "scope", "one of their courses or all of them"),
        ({"course": "NOPE"}, "course", "does not exist"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, course, body, field, message):
    CouponFactory(code="TAKEN")
    answer = api.post(LIST, {"code": "NEW1", "percent_off": 10, "course": course.code, **body}, format="json")
    assert answer.status_code == 400
    assert message in " ".join(answer.json()[field])
    assert Coupon.objects.count() == 1


def test_a_coupon_for_another_teachers_course_is_refused(api):
    foreign = CourseFactory()
    answer = api.post(LIST, {"code": "STEAL", "percent_off": 50, "course": foreign.code}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"course": [f"{foreign.code} is not one of your courses."]}
    assert not Coupon.objects.exists()


def test_staff_create_a_platform_funded_category_coupon():
    answer = api_client_for(StaffFactory()).post(
        LIST,
        {
            "code": "DESIGN10",
            "percent_off": 10,
            "scope": "category",
            "category": "design",
            "funded_by": "platform",
        },
        format="json",
    )
    assert answer.status_code == 201 and answer.json()["funded_by"] == "platform"


def test_patch_and_delete_deactivate_and_only_editable_fields_change(api, course):
    coupon = CouponFactory(code="MINE", course=course, max_uses=5, uses_count=2)
    assert api.patch(detail(coupon), {"is_active": False}, format="json").json()["is_active"] is False
    assert (
        api.patch(detail(coupon), {"is_active": True, "max_uses": 9}, format="json").json()["max_uses"] == 9
    )
    refused = api.patch(detail(coupon), {"percent_off": 90}, format="json")
    assert refused.status_code == 400 and "cannot change" in refused.json()["percent_off"][0]
    low = api.patch(detail(coupon), {"max_uses": 1}, format="json")
    assert low.status_code == 400 and "Already used 2 times" in low.json()["max_uses"][0]
    gone = api.delete(detail(coupon))
    assert gone.status_code == 200 and gone.json()["status"] == "inactive"
    assert Coupon.objects.filter(pk=coupon.pk, is_active=False).exists()
    assert api.put(detail(coupon), {}, format="json").status_code == 405


def test_another_teachers_coupon_is_a_404(api):
    theirs = CouponFactory(code="THEIRS")
    assert api.get(detail(theirs)).status_code == 404
    assert api.patch(detail(theirs), {"is_active": False}, format="json").status_code == 404
    assert api.delete(detail(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


def test_a_learner_validates_a_code_and_gets_the_price(course):
    course.price_tokens = 120
    course.save()
    CouponFactory(code="SPRING25", course=course, percent_off=Decimal("25"))
    learner = LearnerFactory()
    answer = api_client_for(learner.user).post(
        VALIDATE, {"code": " spring25 ", "course": course.code}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "code": "SPRING25",
        "course": course.code,
        "list_price_tokens": 120,
        "price_tokens": 90,
        "discount_tokens": 30,
        "discount_pct": "25.00",
        "funded_by": "teacher",
    }
    assert Coupon.objects.get().uses_count == 0 and not Enrollment.objects.exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: None, "Unknown coupon code NOPE."),
        (lambda c: CouponFactory(code="NOPE", course=c, is_active=False), "Coupon NOPE is no longer active."),
        (lambda c: CouponFactory(code="NOPE", course=c, max_uses=2, uses_count=2), "has been used up"),
        (lambda c: CouponFactory(code="NOPE"), "is for another course"),
    ],
)
def test_a_refused_code_is_a_400_with_the_reason(course, make, message):
    make(course)
    answer = api_client_for(LearnerFactory().user).post(
        VALIDATE, {"code": "nope", "course": course.code}, format="json"
    )
    assert answer.status_code == 400 and message in answer.json()["detail"]


def test_validate_needs_a_course_on_sale_and_is_for_learners(course):
    learner = api_client_for(LearnerFactory().user)
    assert learner.post(VALIDATE, {"code": "X"}, format="json").json() == {
        "course": ["This field is required."]
    }
    missing = learner.post(VALIDATE, {"code": "X", "course": "NOPE"}, format="json")
    assert missing.status_code == 400 and missing.json() == {"course": ["No course NOPE on sale."]}
    body = {"code": "X", "course": course.code}
    assert api_client_for(TeacherFactory().user).post(VALIDATE, body, format="json").status_code == 403
    assert api_client_for(StaffFactory()).post(VALIDATE, body, format="json").status_code == 403
