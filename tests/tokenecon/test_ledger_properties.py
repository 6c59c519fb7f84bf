"""Random sequences of ledger operations never break the ledger's invariants."""

import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import AlreadyEnrolled, InsufficientTokens, NotRefundable
from tokenecon.models import Enrollment, EnrollmentStatus
from tokenecon.services.accounts import earnings_of, pay_out_teacher, reward_learner, top_up_wallet, wallet_of
from tokenecon.services.enrollment import purchase_course, refund_enrollment
from tokenecon.services.rates import discounted_price_tokens


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
            purchase_course(learner=learner, course=course, idempotency_key=key, discount_pct=discount)
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

    @rule(data=st.data())
    def refund(self, data) -> None:
        live = list(
            Enrollment.objects.filter(learner__in=self.learners).exclude(status=EnrollmentStatus.REFUNDED)
        )
        if not live:
            return
        enrollment = data.draw(st.sampled_from(live))
        try:
            refund_enrollment(enrollment=enrollment, idempotency_key=self.key())
        except (InsufficientTokens, NotRefundable):
            return
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
        assert_ledger_consistent()


@pytest.mark.django_db
def test_random_operation_sequences_keep_the_ledger_consistent():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
