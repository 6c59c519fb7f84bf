"""Random sequences of ledger operations never break the ledger's invariants.

The teacher-money rules (issue 16) are part of the machine: a clock that moves forward and
releases what is past the refund window, learner refunds under the policy (allowed exactly when
``learner_refund_eligibility`` says so), staff refunds after the release. After every step all
balances sum to zero, no learner or teacher account is negative and every teacher's identity
(pending + available + held + paid = earned - refunded) holds. To add rules (payout requests,
coupon purchases), use ``all_teachers``, ``all_learners``, ``live_enrollments`` and ``self.now``.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import AlreadyEnrolled, InsufficientTokens, NotRefundable, RefundRefused
from tokenecon.models import Enrollment, EnrollmentStatus
from tokenecon.services.accounts import earnings_of, pay_out_teacher, reward_learner, top_up_wallet, wallet_of
from tokenecon.services.earnings import release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course, refund_enrollment
from tokenecon.services.rates import discounted_price_tokens
from tokenecon.services.refunds import learner_refund, learner_refund_eligibility, staff_refund


class LedgerMachine(RuleBasedStateMachine):
    """Drives the services and keeps its own model of the expected balances."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = 0
        # Not id(self): examples share one database transaction, and a later machine at the same
        # address reused an earlier one's keys (an idempotency conflict, reported as flaky data).
        self.prefix = uuid.uuid4().hex
        self.replayable: list[tuple[str, object]] = []

    def key(self) -> str:
        self.keys += 1
        return f"{self.prefix}-{self.keys}"

    @initialize()
    def setup_people(self) -> None:
        self.teachers = TeacherFactory.create_batch(2)
        self.learners = LearnerFactory.create_batch(3)
        self.courses = [
            CourseFactory(teacher=self.teachers[i % 2], price_tokens=price)
            for i, price in enumerate([15, 40, 99, 160])
        ]
        self.expected_wallet = {learner.pk: 0 for learner in self.learners}
        # The machine's clock: purchases happen at it, releases and learner refunds judge by it.
        self.now = timezone.now() - timedelta(days=400)

    # --- helpers for rules (and for rules other helpers add) -----------------------------------
    def all_teachers(self) -> list:
        return list(self.teachers)

    def all_learners(self) -> list:
        return list(self.learners)

    def live_enrollments(self, **filters) -> list[Enrollment]:
        return list(
            Enrollment.objects.filter(learner__in=self.learners, **filters)
            .exclude(status=EnrollmentStatus.REFUNDED)
            .select_related("course")
            .order_by("pk")
        )

    @rule(who=st.integers(0, 2), amount=st.integers(1, 300))
    def top_up(self, who: int, amount: int) -> None:
        learner = self.learners[who]
        key = self.key()
        top_up_wallet(learner=learner, amount_tokens=amount, idempotency_key=key)
        self.expected_wallet[learner.pk] += amount
        self.replayable.append(
            (
                key,
                lambda k=key, lr=learner, a=amount: top_up_wallet(
                    learner=lr, amount_tokens=a, idempotency_key=k
                ),
            )
        )

    @rule(who=st.integers(0, 2), amount=st.integers(1, 50))
    def reward(self, who: int, amount: int) -> None:
        learner = self.learners[who]
        reward_learner(learner=learner, amount_tokens=amount, idempotency_key=self.key())
        self.expected_wallet[learner.pk] += amount

    @rule(who=st.integers(0, 2), which=st.integers(0, 3), discount=st.sampled_from([0, 5, 10, 15, 20, 30]))
    def purchase(self, who: int, which: int, discount: int) -> None:
        learner, course = self.learners[who], self.courses[which]
        price = discounted_price_tokens(list_price_tokens=course.price_tokens, discount_pct=discount)
        key = self.key()
        try:
            purchase_course(
                learner=learner, course=course, idempotency_key=key, discount_pct=discount, at=self.now
            )
        except InsufficientTokens:
            assert self.expected_wallet[learner.pk] < price
            return
        except AlreadyEnrolled:
            return
        self.expected_wallet[learner.pk] -= price
        self.replayable.append(
            (
                key,
                lambda k=key, lr=learner, c=course, d=discount: purchase_course(
                    learner=lr, course=c, idempotency_key=k, discount_pct=d
                ),
            )
        )

    @rule(who=st.integers(0, 2), which=st.integers(0, 3))
    def funded_purchase(self, who: int, which: int) -> None:
        """A learner tops up what the course costs and buys it (so refunds and releases have
        enrollments to work on in short runs)."""
        learner, course = self.learners[who], self.courses[which]
        if (
            Enrollment.objects.filter(learner=learner, course=course)
            .exclude(status=EnrollmentStatus.REFUNDED)
            .exists()
        ):
            return
        top_up_wallet(learner=learner, amount_tokens=course.price_tokens, idempotency_key=self.key())
        purchase_course(learner=learner, course=course, idempotency_key=self.key(), at=self.now)
        event("funded purchase")

    @rule(data=st.data())
    def refund(self, data) -> None:
        """A staff refund (the admin's), at any time."""
        live = self.live_enrollments()
        if not live:
            return
        enrollment = data.draw(st.sampled_from(live))
        try:
            refund_enrollment(enrollment=enrollment, idempotency_key=self.key())
        except NotRefundable:
            return
        self.expected_wallet[enrollment.learner_id] += enrollment.price_paid_tokens

    @rule(days=st.sampled_from([0, 1, 3, 7, 13, 14, 15, 30]), hours=st.integers(0, 23))
    def release(self, days: int, hours: int) -> None:
        """The clock moves on and the release runs; what is past the window moves to available."""
        self.now += timedelta(days=days, hours=hours)
        event(f"released {min(release_due(now=self.now), 2)}+")
        window = self.now - timedelta(days=14)
        assert (
            not Enrollment.objects.filter(
                learner__in=self.learners, released_at__isnull=True, enrolled_at__lte=window
            )
            .exclude(status=EnrollmentStatus.REFUNDED)
            .exists()
        )

    @rule(data=st.data(), progress=st.sampled_from([0, 10, 29, 30, 45, 100]))
    def learner_refund_under_policy(self, data, progress: int) -> None:
        """The learner's own refund succeeds exactly when the policy allows it."""
        live = self.live_enrollments()
        if not live:
            return
        enrollment = data.draw(st.sampled_from(live))
        Enrollment.objects.filter(pk=enrollment.pk).update(progress_pct=progress)
        enrollment.refresh_from_db()
        eligibility = learner_refund_eligibility(enrollment, now=self.now)
        try:
            learner_refund(learner=enrollment.learner, enrollment=enrollment, at=self.now)
        except (RefundRefused, NotRefundable) as exc:
            assert not eligibility.allowed and str(exc) == eligibility.reason
            event(f"learner refund refused: {eligibility.reason.split(':')[0].split(' ')[1]}")
            return
        assert eligibility.allowed
        event("learner refund allowed")
        assert enrollment.released_at is None  # inside the window: the share came from pending
        self.expected_wallet[enrollment.learner_id] += enrollment.price_paid_tokens

    @rule(data=st.data())
    def staff_refund_after_release(self, data) -> None:
        """Staff refund a released enrollment: available as far as it goes, the rest the platform's."""
        released = self.live_enrollments(released_at__isnull=False)
        if not released:
            return
        enrollment = data.draw(st.sampled_from(released))
        teacher = enrollment.course.teacher
        before = teacher_balances(teacher, release=False)
        staff_refund(enrollment=enrollment, idempotency_key=self.key(), at=self.now)
        after = teacher_balances(teacher, release=False)
        share = after.refunded - before.refunded
        event("staff refund after release" + (" (platform covers part)" if share > before.available else ""))
        assert after.available == max(0, before.available - share)
        assert after.pending == before.pending
        self.expected_wallet[enrollment.learner_id] += enrollment.price_paid_tokens

    @rule(which=st.integers(0, 1), fraction=st.floats(0.1, 1.5))
    def payout(self, which: int, fraction: float) -> None:
        teacher = self.teachers[which]
        available = earnings_of(teacher).balance_tokens
        amount = max(1, int(available * fraction))
        try:
            pay_out_teacher(teacher=teacher, amount_tokens=amount, idempotency_key=self.key())
        except InsufficientTokens:
            assert amount > available

    @rule(data=st.data())
    def retry_earlier_request(self, data) -> None:
        if not self.replayable:
            return
        _key, replay = data.draw(st.sampled_from(self.replayable))
        replay()

    @invariant()
    def wallets_match_the_model(self) -> None:
        if not hasattr(self, "learners"):
            return
        for learner in self.learners:
            assert wallet_of(learner).balance_tokens == self.expected_wallet[learner.pk]

    @invariant()
    def ledger_is_consistent(self) -> None:
        # Balances sum to zero, no account but the treasury is negative, entries match balances.
        assert_ledger_consistent()

    @invariant()
    def every_teachers_identity_holds(self) -> None:
        if not hasattr(self, "teachers"):
            return
        for teacher in self.all_teachers():
            balances = teacher_balances(teacher, release=False)
            assert balances.identity_holds, (teacher.pk, balances)
            assert min(balances.pending, balances.available, balances.held) >= 0, balances


@pytest.mark.django_db
def test_random_operation_sequences_keep_the_ledger_consistent():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
