"""Racing retries of one refund (issue 14, defect 10): every call with the same idempotency key
gets the first call's refund, concurrent or later; a refund under another key is refused.

The issue raced ten calls; this races the ledger tests' 8 threads, real threads on real
connections, so it runs against the lane's database (SQLite here, PostgreSQL in the second CI
lane, where the enrollment's row lock is what they queue on).
"""

from collections import Counter

import pytest

from tests.factories import CourseFactory, LearnerFactory
from tests.helpers import THREADS, run_in_threads
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import NotRefundable
from tokenecon.models import Enrollment, EnrollmentStatus, Transfer, TransferKind
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.enrollment import purchase_course, refund_enrollment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enrollment():
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="seed")
    return purchase_course(learner=learner, course=CourseFactory(price_tokens=60), idempotency_key="buy")


def test_concurrent_retries_of_one_refund_all_get_the_first_refund(enrollment):
    def refund(_index: int) -> int:
        fresh = Enrollment.objects.get(pk=enrollment.pk)
        return refund_enrollment(enrollment=fresh, idempotency_key="refund-once").pk

    outcomes = run_in_threads(refund)
    (refund_id,) = outcomes
    assert outcomes == Counter({refund_id: THREADS}), outcomes
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1
    assert Transfer.objects.get(pk=refund_id).idempotency_key == "refund-once"
    assert wallet_of(enrollment.learner).balance_tokens == 100
    assert Enrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.REFUNDED
    assert_ledger_consistent()


def test_a_later_retry_replays_and_another_key_is_refused(enrollment):
    first = refund_enrollment(enrollment=enrollment, idempotency_key="refund-once")
    fresh = Enrollment.objects.get(pk=enrollment.pk)
    assert refund_enrollment(enrollment=fresh, idempotency_key="refund-once").pk == first.pk
    with pytest.raises(NotRefundable):
        refund_enrollment(enrollment=fresh, idempotency_key="refund-twice")
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1
    assert_ledger_consistent()
