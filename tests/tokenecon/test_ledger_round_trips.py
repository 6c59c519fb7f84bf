"""A purchase's round trips to the database (what bounds purchases per second under load): the
three accounts in one read, no "already enrolled?" or "key used?" read before the insert the
constraints guard, no lock read before the balance update, every balance in one UPDATE (on
PostgreSQL the transfer, its entries and the balances in one statement); and retries racing
their own first attempt replay it."""

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tests.tokenecon.test_ledger_concurrency import THREADS, run_in_threads
from tokenecon.errors import AlreadyEnrolled, InsufficientTokens
from tokenecon.models import Enrollment, Transfer
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.enrollment import purchase_course


@pytest.mark.django_db
def test_a_purchase_makes_three_statements_on_postgresql_five_on_sqlite_and_no_lock_read():
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="seed")
    teacher = TeacherFactory()
    # accounts exist (the teacher's pending account is made by their first sale)
    purchase_course(learner=learner, course=CourseFactory(teacher=teacher), idempotency_key="first")
    course = CourseFactory(teacher=teacher, price_tokens=100)
    with CaptureQueriesContext(connection) as queries:
        purchase_course(learner=learner, course=course, idempotency_key="second")
    sql = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    sql = [s for s in sql if not s.startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
    if connection.vendor == "postgresql":
        # accounts, enrollment, one statement: transfer, entries and the three balances
        assert len(sql) == 3, "\n".join(sql)
        # rows are locked only inside the statement that moves them, in primary-key order
        assert sql[-1].lstrip().startswith("WITH locked AS") and "ORDER BY" in sql[-1], sql[-1]
        assert sum("FOR UPDATE" in s for s in sql) == 1
    else:
        # accounts, enrollment, transfer, entries, one UPDATE of the three balances
        assert len(sql) == 5, "\n".join(sql)
        assert sum(s.startswith("UPDATE") for s in sql) == 1
        assert not any("FOR UPDATE" in s for s in sql)
    assert wallet_of(learner).balance_tokens == 500 - 100 - 100
    assert_ledger_consistent()


@pytest.mark.django_db
def test_a_purchase_the_wallet_cannot_cover_writes_nothing():
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=30, idempotency_key="seed")
    with pytest.raises(InsufficientTokens) as caught:
        purchase_course(learner=learner, course=CourseFactory(price_tokens=50), idempotency_key="buy")
    assert caught.value.balance_tokens == 30
    assert not Enrollment.objects.exists() and Transfer.objects.count() == 1
    assert_ledger_consistent()


@pytest.mark.django_db
def test_buying_a_course_owned_already_under_a_new_key_is_refused():
    learner = LearnerFactory()
    course = CourseFactory(price_tokens=20)
    top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="seed")
    purchase_course(learner=learner, course=course, idempotency_key="one")
    with pytest.raises(AlreadyEnrolled):
        purchase_course(learner=learner, course=course, idempotency_key="two")
    assert wallet_of(learner).balance_tokens == 80


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_purchase_all_answer_the_one_enrollment():
    learner = LearnerFactory()
    course = CourseFactory(price_tokens=20)
    top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="seed")

    def buy(_index: int) -> int:
        return purchase_course(learner=learner, course=course, idempotency_key="one-click").pk

    outcomes = run_in_threads(buy)
    (enrollment,) = Enrollment.objects.all()
    assert outcomes == Counter({enrollment.pk: THREADS}), outcomes
    assert wallet_of(learner).balance_tokens == 80
    assert_ledger_consistent()
