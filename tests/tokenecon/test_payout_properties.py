"""Random sequences of sales, releases, payout requests, approvals, rejections and retries keep
the ledger's invariants: balances sum to zero, no learner or teacher account is negative, and per
teacher pending + available + held + paid = earned - refunded.

``PayoutRules`` is a RuleBasedStateMachine of its own (its state lives under ``payout_*`` names
so it can be mixed into the ledger's machine next to its rules)."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.factories import CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import IdempotencyConflict, PayoutRefused
from tokenecon.models import PayoutStatus
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.earnings import release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.payouts import approve_payout, reject_payout, request_payout

MINIMUM = 20


class PayoutRules(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.payout_prefix = uuid.uuid4().hex
        self.payout_keys = 0
        self.payout_requests: list = []  # (request, teacher index, key)

    def payout_key(self) -> str:
        self.payout_keys += 1
        return f"{self.payout_prefix}-{self.payout_keys}"

    @initialize()
    def payout_people(self) -> None:
        self.payout_teachers = TeacherFactory.create_batch(2)
        self.payout_courses = [
            CourseFactory(teacher=self.payout_teachers[i % 2], price_tokens=price)
            for i, price in enumerate([15, 40, 99, 160])
        ]
        self.payout_staff = StaffFactory()
        self.expected_held = [0, 0]
        self.expected_paid = [0, 0]

    @rule(course=st.integers(0, 3))
    def payout_sell(self, course: int) -> None:
        learner = LearnerFactory()
        price = self.payout_courses[course].price_tokens
        top_up_wallet(learner=learner, amount_tokens=price, idempotency_key=self.payout_key())
        purchase_course(
            learner=learner, course=self.payout_courses[course], idempotency_key=self.payout_key()
        )

    @rule(which=st.integers(0, 1))
    def payout_release(self, which: int) -> None:
        later = timezone.now() + timedelta(days=django_settings.TOKEN_REFUND_WINDOW_DAYS + 1)
        release_due(now=later, teacher=self.payout_teachers[which])

    @rule(which=st.integers(0, 1), fraction=st.floats(0.0, 1.5))
    def payout_request(self, which: int, fraction: float) -> None:
        teacher = self.payout_teachers[which]
        available = teacher_balances(teacher).available
        amount = int(available * fraction)
        key = self.payout_key()
        try:
            payout = request_payout(teacher=teacher, amount_tokens=amount, idempotency_key=key)
        except PayoutRefused:
            assert amount < MINIMUM or amount > available
            return
        assert MINIMUM <= amount <= available
        self.expected_held[which] += amount
        self.payout_requests.append((payout, which, key))

    @rule(data=st.data(), change=st.booleans())
    def payout_retry(self, data, change: bool) -> None:
        if not self.payout_requests:
            return
        payout, which, key = data.draw(st.sampled_from(self.payout_requests))
        amount = payout.amount_tokens + (1 if change else 0)
        try:
            again = request_payout(
                teacher=self.payout_teachers[which], amount_tokens=amount, idempotency_key=key
            )
        except IdempotencyConflict:
            assert change
            return
        assert not change and again.pk == payout.pk

    @rule(data=st.data(), approve=st.booleans())
    def payout_decide(self, data, approve: bool) -> None:
        if not self.payout_requests:
            return
        payout, which, _key = data.draw(st.sampled_from(self.payout_requests))
        payout.refresh_from_db()
        before = payout.status
        try:
            if approve:
                decided = approve_payout(payout, by=self.payout_staff)
            else:
                decided = reject_payout(payout, by=self.payout_staff, reason="random")
        except PayoutRefused:
            wanted = PayoutStatus.PAID if approve else PayoutStatus.REJECTED
            assert before not in (PayoutStatus.REQUESTED, wanted)
            return
        if before == PayoutStatus.REQUESTED:
            self.expected_held[which] -= payout.amount_tokens
            if approve:
                self.expected_paid[which] += payout.amount_tokens
        assert decided.status == (PayoutStatus.PAID if approve else PayoutStatus.REJECTED)

    @invariant()
    def payout_identity_per_teacher(self) -> None:
        if not hasattr(self, "payout_teachers"):
            return
        for index, teacher in enumerate(self.payout_teachers):
            balances = teacher_balances(teacher, release=False)
            assert balances.identity_holds, balances
            assert min(balances.pending, balances.available, balances.held) >= 0
            assert balances.held == self.expected_held[index]
            assert balances.paid == self.expected_paid[index]

    @invariant()
    def payout_ledger_consistent(self) -> None:
        assert_ledger_consistent()


@pytest.mark.django_db
def test_random_payout_sequences_keep_the_ledger_and_the_identity(settings):
    settings.TOKEN_PAYOUT_MIN_TOKENS = MINIMUM
    settings.PAYOUT_PROVIDER = "test"
    run_state_machine_as_test(
        PayoutRules,
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
