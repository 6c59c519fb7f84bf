"""Real threads, real connections: the last use of a capped coupon goes to exactly one learner.

Runs on SQLite (writers queue at BEGIN IMMEDIATE) and on PostgreSQL, where the coupon's row lock
and the conditional ``uses_count < max_uses`` UPDATE decide it.
"""

from collections import Counter
from decimal import Decimal

import pytest

from tests.factories import CouponFactory, CourseFactory, LearnerFactory, TeacherFactory
from tests.helpers import run_in_threads
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import CouponRefused
from tokenecon.models import Coupon, Enrollment, Transfer
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.coupons import purchase_with_coupon

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.mark.parametrize("percent", [Decimal("20"), Decimal("100")], ids=["paid", "free"])
def test_two_learners_taking_the_last_use_at_once_exactly_one_gets_it(percent):
    teacher = TeacherFactory()
    course = CourseFactory(teacher=teacher, price_tokens=100)
    coupon = CouponFactory(code="LAST", course=course, percent_off=percent, max_uses=3, uses_count=2)
    learners = [LearnerFactory() for _ in range(2)]
    for index, learner in enumerate(learners):
        top_up_wallet(learner=learner, amount_tokens=500, idempotency_key=f"seed-{index}")

    def buy(index: int) -> str:
        purchase_with_coupon(
            learner=learners[index], course=course, code="last", idempotency_key=f"buy-{index}"
        )
        return "bought"

    outcomes = run_in_threads(buy, 2)
    assert outcomes == Counter({"bought": 1, CouponRefused.__name__: 1}), outcomes
    coupon.refresh_from_db()
    assert coupon.uses_count == 3
    assert Enrollment.objects.filter(coupon=coupon).count() == 1
    if percent < 100:
        assert Transfer.objects.filter(coupon=coupon).count() == 1
    assert_ledger_consistent()


def test_many_learners_racing_for_a_cap_of_three_get_three_uses():
    course = CourseFactory(price_tokens=60)
    CouponFactory(code="THREE", scope="all", course=None, funded_by="platform", max_uses=3)
    learners = [LearnerFactory() for _ in range(6)]
    for index, learner in enumerate(learners):
        top_up_wallet(learner=learner, amount_tokens=100, idempotency_key=f"seed-{index}")

    def buy(index: int) -> str:
        purchase_with_coupon(
            learner=learners[index], course=course, code="three", idempotency_key=f"buy-{index}"
        )
        return "bought"

    outcomes = run_in_threads(buy, 6)
    assert outcomes == Counter({"bought": 3, CouponRefused.__name__: 3}), outcomes
    assert Coupon.objects.get(code="THREE").uses_count == 3
    assert Enrollment.objects.count() == 3
    assert_ledger_consistent()


def test_one_learner_racing_two_courses_with_a_once_per_learner_coupon_uses_it_once():
    teacher = TeacherFactory()
    courses = [CourseFactory(teacher=teacher, price_tokens=50) for _ in range(2)]
    CouponFactory(code="ONCE", scope="teacher", course=None, teacher=teacher, max_uses_per_learner=1)
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="seed")

    def buy(index: int) -> str:
        purchase_with_coupon(
            learner=learner, course=courses[index], code="once", idempotency_key=f"buy-{index}"
        )
        return "bought"

    outcomes = run_in_threads(buy, 2)
    assert outcomes == Counter({"bought": 1, CouponRefused.__name__: 1}), outcomes
    assert Coupon.objects.get(code="ONCE").uses_count == 1
    assert_ledger_consistent()
