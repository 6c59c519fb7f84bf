"""Real threads, real connections: concurrent spends of the same tokens cannot both pass.

Runs on whichever database the lane uses; CI runs it on SQLite and again on PostgreSQL, where
it exercises the row locks and conditional updates.
"""

from collections import Counter

import pytest

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tests.helpers import THREADS, run_in_threads
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import InsufficientTokens
from tokenecon.models import Enrollment, Transfer
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.enrollment import purchase_course

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_purchases_never_spend_the_same_tokens_twice():
    teacher = TeacherFactory()
    courses = [CourseFactory(teacher=teacher, price_tokens=30) for _ in range(THREADS)]
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="seed")

    def buy(index: int) -> str:
        purchase_course(learner=learner, course=courses[index], idempotency_key=f"buy-{index}")
        return "bought"

    outcomes = run_in_threads(buy)
    assert outcomes == Counter({"bought": 3, InsufficientTokens.__name__: THREADS - 3}), outcomes
    assert wallet_of(learner).balance_tokens == 10
    assert Enrollment.objects.count() == 3
    assert_ledger_consistent()


def test_concurrent_retries_of_one_request_move_tokens_once():
    learner = LearnerFactory()

    def top_up(_index: int) -> int:
        return top_up_wallet(learner=learner, amount_tokens=50, idempotency_key="one-request").pk

    outcomes = run_in_threads(top_up)
    assert len(outcomes) == 1, outcomes
    assert Transfer.objects.count() == 1
    assert wallet_of(learner).balance_tokens == 50
    assert_ledger_consistent()


def test_concurrent_enrollments_in_one_course_create_one_enrollment():
    course = CourseFactory(price_tokens=20)
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="seed")

    def buy(index: int) -> str:
        purchase_course(learner=learner, course=course, idempotency_key=f"same-course-{index}")
        return "bought"

    outcomes = run_in_threads(buy)
    assert outcomes["bought"] == 1, outcomes
    assert wallet_of(learner).balance_tokens == 480
    assert_ledger_consistent()
