"""Real threads, real connections: a refund racing the release of the same enrollment gives one
consistent outcome (issue 16). Both lock the enrollment row first, so either the refund takes
the share back from pending and the release skips the refunded enrollment, or the release moves
it to available and the refund then follows the after-release rule (staff) or is refused (the
learner). Runs on the lane's database: SQLite serialises the writers, PostgreSQL queues them on
the enrollment's row lock (the bulk release skips rows a refund holds).
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tests.helpers import THREADS, run_in_threads
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import RefundRefused
from tokenecon.models import AccountKind, Enrollment, EnrollmentStatus, Entry, Transfer, TransferKind
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.earnings import available_of, pending_of, release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.refunds import learner_refund, staff_refund

pytestmark = pytest.mark.django_db(transaction=True)


def buy(*, teacher=None, days_ago: float) -> Enrollment:
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=100, idempotency_key=f"seed-{learner.pk}")
    course = CourseFactory(price_tokens=100, **({"teacher": teacher} if teacher else {}))
    return purchase_course(
        learner=learner,
        course=course,
        idempotency_key=f"buy-{learner.pk}",
        at=timezone.now() - timedelta(days=days_ago),
    )


def assert_one_consistent_outcome(teacher) -> None:
    balances = teacher_balances(teacher, release=False)
    assert balances.identity_holds, balances
    assert_ledger_consistent()


def test_a_staff_refund_racing_the_release_refunds_once_from_where_the_share_is():
    enrollment = buy(days_ago=20)
    teacher = enrollment.course.teacher

    def work(index: int) -> str:
        if index % 2:
            return f"released {release_due()}"
        fresh = Enrollment.objects.get(pk=enrollment.pk)
        staff_refund(enrollment=fresh, idempotency_key="staff-refund")
        return "refunded"

    outcomes = run_in_threads(work)
    assert outcomes["refunded"] == THREADS // 2, outcomes
    assert set(outcomes) <= {"refunded", "released 0", "released 1"}, outcomes
    released = Transfer.objects.filter(kind=TransferKind.RELEASE, enrollment=enrollment).exists()
    assert outcomes["released 1"] == int(released)
    refund = Transfer.objects.get(kind=TransferKind.REFUND)
    kinds = set(Entry.objects.filter(transfer=refund).values_list("account__kind", flat=True))
    # From pending if the refund won, from available if the release did; never both.
    expected = AccountKind.TEACHER_EARNINGS if released else AccountKind.TEACHER_PENDING
    assert expected in kinds and (
        {AccountKind.TEACHER_PENDING, AccountKind.TEACHER_EARNINGS} - {expected}
    ).isdisjoint(kinds)
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.REFUNDED
    assert (enrollment.released_at is not None) == released
    assert pending_of(teacher).balance_tokens == 0 and available_of(teacher).balance_tokens == 0
    assert wallet_of(enrollment.learner).balance_tokens == 100
    assert_one_consistent_outcome(teacher)


def test_a_learner_refund_racing_the_release_either_refunds_or_is_refused_never_both():
    # Inside the window by the learner's clock; the release runs as if the window were over.
    enrollment = buy(days_ago=13)
    teacher = enrollment.course.teacher
    later = timezone.now() + timedelta(days=2)

    def work(index: int) -> str:
        if index % 2:
            return f"released {release_due(now=later)}"
        fresh = Enrollment.objects.get(pk=enrollment.pk)
        try:
            learner_refund(learner=fresh.learner, enrollment=fresh)
        except RefundRefused:
            return "refused"
        return "refunded"

    outcomes = run_in_threads(work)
    enrollment.refresh_from_db()
    if enrollment.status == EnrollmentStatus.REFUNDED:
        # The refund won: every refund call got it (replays), nothing was released.
        assert outcomes == Counter({"refunded": THREADS // 2, "released 0": THREADS // 2}), outcomes
        assert enrollment.released_at is None
        assert wallet_of(enrollment.learner).balance_tokens == 100
        assert available_of(teacher).balance_tokens == 0
    else:
        # The release won: the learner is told only staff can refund now, the teacher is paid.
        assert outcomes["refused"] == THREADS // 2 and outcomes["released 1"] == 1, outcomes
        assert enrollment.released_at is not None
        assert not Transfer.objects.filter(kind=TransferKind.REFUND).exists()
        assert available_of(teacher).balance_tokens == 80
    assert pending_of(teacher).balance_tokens == 0
    assert_one_consistent_outcome(teacher)


def test_releases_and_refunds_of_one_teachers_enrollments_at_once_stay_consistent():
    teacher = TeacherFactory()
    enrollments = [buy(teacher=teacher, days_ago=20) for _ in range(THREADS)]

    def work(index: int) -> str:
        if index % 2:
            return f"released {release_due(batch=2)}"
        fresh = Enrollment.objects.get(pk=enrollments[index].pk)
        staff_refund(enrollment=fresh, idempotency_key=f"staff-{index}")
        return "refunded"

    outcomes = run_in_threads(work)
    assert outcomes["refunded"] == THREADS // 2, outcomes
    release_due()  # whatever a release skipped while a refund held it is due still
    refunded = {enrollments[i].pk for i in range(0, THREADS, 2)}
    for enrollment in Enrollment.objects.filter(pk__in=[e.pk for e in enrollments]):
        if enrollment.pk in refunded:
            assert enrollment.status == EnrollmentStatus.REFUNDED
        else:
            assert enrollment.released_at is not None and enrollment.status == EnrollmentStatus.ACTIVE
    assert pending_of(teacher).balance_tokens == 0
    assert available_of(teacher).balance_tokens == 80 * (THREADS // 2)
    assert (
        Transfer.objects.filter(kind=TransferKind.RELEASE).count()
        == Enrollment.objects.filter(released_at__isnull=False).count()
    )
    assert_one_consistent_outcome(teacher)
