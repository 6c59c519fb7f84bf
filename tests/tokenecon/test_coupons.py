"""Coupons in the ledger: each refusal says why and moves nothing; the funder decides the split;
a free coupon enrolls without a transfer; a refund returns what was paid; creating and
deactivating is for a coupon's own teacher and staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import CouponFactory, CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import AlreadyEnrolled, CouponInvalid, CouponRefused, IdempotencyConflict
from tokenecon.models import (
    Account,
    AccountKind,
    Coupon,
    Enrollment,
    Entry,
    Transfer,
)
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.coupons import (
    create_coupon,
    deactivate_coupon,
    normalise_code,
    purchase_with_coupon,
    quote_coupon,
    update_coupon,
)
from tokenecon.services.earnings import pending_of, release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course, refund_enrollment

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    teacher = TeacherFactory()
    course = CourseFactory(teacher=teacher, price_tokens=100, category="programming")
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=1000, idempotency_key="seed")
    return teacher, course, learner


def _balances() -> dict:
    return dict(Account.objects.values_list("pk", "balance_tokens"))


def _refused(match: str, **kwargs):
    return pytest.raises(CouponRefused, match=match)


def test_codes_are_matched_without_case_or_blanks(world):
    _, course, learner = world
    CouponFactory(code="SAVE20", course=course)
    assert normalise_code("  save20 ") == "SAVE20"
    quote = quote_coupon(code=" save20", course=course, learner=learner)
    assert (quote.list_price_tokens, quote.price_tokens, quote.discount_tokens) == (100, 80, 20)
    assert quote.funded_by == "teacher"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: None, r"Unknown coupon code NOPE\."),
        (
            lambda c: CouponFactory(code="NOPE", course=c, is_active=False),
            r"Coupon NOPE is no longer active\.",
        ),
        (
            lambda c: CouponFactory(code="NOPE", course=c, valid_from=datetime(2030, 1, 3, 12, tzinfo=UTC)),
            r"Coupon NOPE is not valid yet: valid from 3 Jan 2030\.",
        ),
        (
            lambda c: CouponFactory(code="NOPE", course=c, valid_until=datetime(2020, 2, 2, 12, tzinfo=UTC)),
            r"Coupon NOPE expired on 2 Feb 2020\.",
        ),
        (
            lambda c: CouponFactory(code="NOPE", course=c, max_uses=3, uses_count=3),
            r"Coupon NOPE has been used up \(3 of 3 uses\)\.",
        ),
        (lambda c: CouponFactory(code="NOPE"), r"Coupon NOPE is for another course, not C"),
        (
            lambda c: CouponFactory(code="NOPE", scope="teacher", course=None, teacher=TeacherFactory()),
            r"Coupon NOPE is for another teacher's courses",
        ),
        (
            lambda c: CouponFactory(code="NOPE", scope="category", course=None, category="design"),
            r"Coupon NOPE is for Design courses",
        ),
    ],
    ids=["unknown", "inactive", "not-yet-valid", "expired", "used-up", "course", "teacher", "category"],
)
def test_each_refusal_says_why_and_charges_nothing(world, make, message):
    _, course, learner = world
    make(course)
    before = _balances()
    with pytest.raises(CouponRefused, match=message):
        quote_coupon(code="nope", course=course, learner=learner)
    with pytest.raises(CouponRefused, match=message):
        purchase_with_coupon(learner=learner, course=course, code="nope", idempotency_key="k1")
    assert _balances() == before
    assert not Enrollment.objects.exists()
    assert Coupon.objects.filter(uses_count__gt=0).exclude(max_uses=3).count() == 0


def test_an_empty_code_asks_for_one(world):
    _, course, learner = world
    with _refused(r"Enter a coupon code\."):
        quote_coupon(code="  ", course=course, learner=learner)


def test_a_course_not_on_sale_is_refused(world):
    teacher, _, learner = world
    draft = CourseFactory(teacher=teacher, status="draft")
    CouponFactory(code="DRAFTY", scope="all", course=None)
    with _refused(rf"{draft.code} is not on sale\."):
        quote_coupon(code="drafty", course=draft, learner=learner)


def test_the_per_learner_cap_refuses_a_second_use_even_after_a_refund(world):
    teacher, course, learner = world
    other = CourseFactory(teacher=teacher, price_tokens=50)
    coupon = CouponFactory(code="ONCE", scope="teacher", course=None, teacher=teacher)
    first = purchase_with_coupon(learner=learner, course=course, code="once", idempotency_key="a")
    refund_enrollment(enrollment=first, idempotency_key="refund-a")
    before = _balances()
    with _refused(r"You have already used coupon ONCE \(1 use per learner\)\."):
        purchase_with_coupon(learner=learner, course=other, code="once", idempotency_key="b")
    assert _balances() == before
    coupon.refresh_from_db()
    assert coupon.uses_count == 1  # a refund does not give the use back


def test_a_teacher_funded_coupon_lowers_the_teachers_share(world):
    teacher, course, learner = world
    coupon = CouponFactory(code="T20", course=course, funded_by="teacher")
    enrollment = purchase_with_coupon(learner=learner, course=course, code="t20", idempotency_key="k")
    assert (enrollment.price_paid_tokens, enrollment.list_price_tokens) == (80, 100)
    assert enrollment.coupon_id == coupon.pk and enrollment.discount_pct == Decimal("20")
    transfer = Transfer.objects.get(enrollment=enrollment)
    assert transfer.coupon_id == coupon.pk
    legs = dict(Entry.objects.filter(transfer=transfer).values_list("account__kind", "amount_tokens"))
    assert legs == {
        AccountKind.LEARNER_WALLET: -80,
        AccountKind.TEACHER_PENDING: 64,
        AccountKind.PLATFORM_REVENUE: 16,
    }
    coupon.refresh_from_db()
    assert coupon.uses_count == 1
    assert wallet_of(learner).balance_tokens == 920
    assert_ledger_consistent()


@pytest.mark.parametrize(
    ("percent", "platform_leg_kind", "platform_tokens"),
    [(10, "platform_revenue", 10), (50, "platform_treasury", -30)],
)
def test_a_platform_funded_coupon_credits_the_teacher_as_at_list_price(
    world, percent, platform_leg_kind, platform_tokens
):
    teacher, course, learner = world
    CouponFactory(code="P", course=None, scope="all", funded_by="platform", percent_off=Decimal(percent))
    enrollment = purchase_with_coupon(learner=learner, course=course, code="p", idempotency_key="k")
    paid = 100 - percent
    legs = dict(
        Entry.objects.filter(transfer__enrollment=enrollment).values_list("account__kind", "amount_tokens")
    )
    assert legs[AccountKind.LEARNER_WALLET] == -paid
    assert legs[AccountKind.TEACHER_PENDING] == 80  # the teacher's share of the list price
    assert legs[platform_leg_kind] == platform_tokens
    assert sum(v for k, v in legs.items() if k != AccountKind.LEARNER_WALLET) == paid
    assert teacher_balances(teacher, release=False).identity_holds
    assert_ledger_consistent()


def test_a_fixed_coupon_takes_tokens_off_and_records_the_percentage(world):
    _, course, learner = world
    CouponFactory(code="MINUS30", course=course, kind="fixed", percent_off=None, tokens_off=30)
    enrollment = purchase_with_coupon(learner=learner, course=course, code="minus30", idempotency_key="k")
    assert enrollment.price_paid_tokens == 70
    assert enrollment.discount_pct == Decimal("30.00")


@pytest.mark.parametrize(
    "coupon_kwargs",
    [
        {"percent_off": Decimal("100")},
        {"kind": "fixed", "percent_off": None, "tokens_off": 500},
    ],
    ids=["100-percent", "tokens-off-above-price"],
)
def test_a_free_coupon_enrolls_with_no_transfer_and_records_the_redemption(world, coupon_kwargs):
    teacher, course, learner = world
    coupon = CouponFactory(code="FREE", course=course, max_uses=5, **coupon_kwargs)
    before = _balances()
    transfers = Transfer.objects.count()
    enrollment = purchase_with_coupon(learner=learner, course=course, code="free", idempotency_key="free-1")
    assert _balances() == before and Transfer.objects.count() == transfers
    enrollment.refresh_from_db()
    assert enrollment.price_paid_tokens == 0 and enrollment.discount_pct == Decimal("100")
    assert enrollment.coupon_id == coupon.pk and enrollment.released_at is not None
    coupon.refresh_from_db()
    assert coupon.uses_count == 1
    # Nothing pending for the teacher, and the release finds nothing to do.
    assert release_due(now=timezone.now() + timedelta(days=30), teacher=teacher) == 0
    assert pending_of(teacher).balance_tokens == 0


def test_a_free_enrollment_replays_on_a_retry_with_the_same_key(world):
    teacher, course, learner = world
    coupon = CouponFactory(code="FREE", course=course, percent_off=Decimal("100"), max_uses=1)
    first = purchase_with_coupon(learner=learner, course=course, code="free", idempotency_key="same")
    # The coupon is now used up, yet the retry answers the first enrollment.
    again = purchase_with_coupon(learner=learner, course=course, code="free", idempotency_key="same")
    assert again.pk == first.pk
    assert purchase_course(learner=learner, course=course, idempotency_key="same").pk == first.pk
    coupon.refresh_from_db()
    assert coupon.uses_count == 1 and Enrollment.objects.count() == 1
    # The key belongs to that purchase: another course under it is a conflict, nothing written.
    other = CourseFactory(teacher=teacher)
    with pytest.raises(IdempotencyConflict):
        purchase_course(learner=learner, course=other, idempotency_key="same")
    with pytest.raises(IdempotencyConflict):
        purchase_course(learner=learner, course=other, idempotency_key="same", paid_tokens=0)
    # A new key for the same course: the seat is taken.
    with pytest.raises(AlreadyEnrolled):
        purchase_course(learner=learner, course=course, idempotency_key="new", paid_tokens=0)
    assert Enrollment.objects.count() == 1


def test_a_paid_coupon_purchase_replays_without_taking_a_second_use(world):
    _, course, learner = world
    coupon = CouponFactory(code="LAST", course=course, max_uses=1)
    first = purchase_with_coupon(learner=learner, course=course, code="last", idempotency_key="k")
    again = purchase_with_coupon(learner=learner, course=course, code="last", idempotency_key="k")
    assert again.pk == first.pk
    coupon.refresh_from_db()
    assert coupon.uses_count == 1
    assert wallet_of(learner).balance_tokens == 920


def test_a_refund_of_a_coupon_purchase_returns_what_was_paid(world):
    teacher, course, learner = world
    CouponFactory(code="HALF", course=None, scope="all", funded_by="platform", percent_off=Decimal("50"))
    enrollment = purchase_with_coupon(learner=learner, course=course, code="half", idempotency_key="k")
    assert wallet_of(learner).balance_tokens == 950
    refund_enrollment(enrollment=enrollment, idempotency_key="refund:k")
    assert wallet_of(learner).balance_tokens == 1000
    assert pending_of(teacher).balance_tokens == 0
    assert teacher_balances(teacher, release=False).identity_holds
    assert_ledger_consistent()


def test_a_confirmed_price_that_no_longer_holds_is_refused(world):
    _, course, learner = world
    CouponFactory(code="T20", course=course)
    with _refused(r"the price is 80 tokens, not the 90 you confirmed"):
        purchase_with_coupon(
            learner=learner, course=course, code="t20", idempotency_key="k", expected_price_tokens=90
        )
    assert not Enrollment.objects.exists()


# --- creating, changing, deactivating -----------------------------------------------------------


def _fields(**overrides):
    return {
        "code": "spring-25",
        "kind": "percent",
        "percent_off": Decimal("25"),
        "scope": "course",
        **overrides,
    }


def test_a_teacher_creates_a_teacher_funded_coupon_for_their_course(world):
    teacher, course, _ = world
    coupon = create_coupon(by=teacher.user, course=course, **_fields())
    assert (coupon.code, coupon.funded_by, coupon.course_id, coupon.created_by_id) == (
        "SPRING-25",
        "teacher",
        course.pk,
        teacher.user_id,
    )
    every = create_coupon(by=teacher.user, **_fields(code="ALLMINE", scope="teacher"))
    assert every.teacher_id == teacher.pk and every.course_id is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"percent_off": Decimal("0")}, "percent_off", "above 0 and at most 100"),
        ({"percent_off": Decimal("100.5")}, "percent_off", "above 0 and at most 100"),
        ({"percent_off": None}, "percent_off", "Enter the percentage off"),
        ({"kind": "fixed", "percent_off": None, "tokens_off": 0}, "tokens_off", "positive whole number"),
        ({"kind": "fixed", "percent_off": None}, "tokens_off", "Enter the number of tokens off"),
        ({"code": "a b"}, "code", "letters A-Z, digits"),
        ({"code": "ab"}, "code", "3 to 32 characters"),
        ({"code": "X" * 33}, "code", "3 to 32 characters"),
        ({"code": "TAKEN"}, "code", "Code TAKEN is taken"),
        (
            {
                "valid_from": datetime(2030, 1, 2, tzinfo=UTC),
                "valid_until": datetime(2030, 1, 1, tzinfo=UTC),
            },
            "valid_until",
            "must be after its start",
        ),
        ({"funded_by": "platform"}, "funded_by", "only staff create platform-funded"),
        ({"scope": "all"}, "scope", "one of their courses or all of them"),
        ({"max_uses": 0}, "max_uses", "at least 1"),
    ],
)
def test_a_bad_coupon_names_the_field_and_writes_nothing(world, overrides, field, message):
    teacher, course, _ = world
    CouponFactory(code="TAKEN", course=course)
    count = Coupon.objects.count()
    with pytest.raises(CouponInvalid) as caught:
        create_coupon(by=teacher.user, course=course, **_fields(**overrides))
    assert message in caught.value.errors[field]
    assert Coupon.objects.count() == count


def test_a_teacher_cannot_create_a_coupon_for_another_teachers_course(world):
    teacher, _, _ = world
    foreign = CourseFactory()
    with pytest.raises(CouponInvalid) as caught:
        create_coupon(by=teacher.user, course=foreign, **_fields())
    assert caught.value.errors == {"course": f"{foreign.code} is not one of your courses."}
    assert not Coupon.objects.exists()


def test_staff_create_any_scope_and_funder(world):
    staff = StaffFactory()
    coupon = create_coupon(
        by=staff, **_fields(code="PLAT", scope="category", category="design", funded_by="platform")
    )
    assert (coupon.scope, coupon.category, coupon.funded_by) == ("category", "design", "platform")
    with pytest.raises(CouponInvalid) as caught:
        create_coupon(by=staff, **_fields(code="NOCAT", scope="category"))
    assert "category" in caught.value.errors


def test_deactivating_is_for_the_owner_and_staff(world):
    teacher, course, learner = world
    coupon = CouponFactory(code="OFF", course=course)
    with pytest.raises(CouponRefused, match="not one of yours"):
        deactivate_coupon(coupon=coupon, by=TeacherFactory().user)
    deactivate_coupon(coupon=coupon, by=teacher.user)
    coupon.refresh_from_db()
    assert not coupon.is_active
    with _refused("no longer active"):
        quote_coupon(code="off", course=course, learner=learner)
    update_coupon(coupon=coupon, by=StaffFactory(), is_active=True)
    assert quote_coupon(code="off", course=course, learner=learner).price_tokens == 80


def test_an_update_cannot_change_the_amount_or_cap_below_the_uses(world):
    teacher, course, _ = world
    coupon = CouponFactory(code="CAP", course=course, max_uses=5, uses_count=3)
    with pytest.raises(CouponInvalid) as caught:
        update_coupon(coupon=coupon, by=teacher.user, percent_off=Decimal("90"))
    assert "cannot change" in caught.value.errors["percent_off"]
    with pytest.raises(CouponInvalid) as caught:
        update_coupon(coupon=coupon, by=teacher.user, max_uses=2)
    assert "Already used 3 times" in caught.value.errors["max_uses"]
    assert update_coupon(coupon=coupon, by=teacher.user, max_uses=10).max_uses == 10
