"""Random coupon purchases (kinds, funders, scopes, caps, prices) never break the ledger: balances
sum to zero, no learner or teacher account goes negative, each purchase's split is whole tokens
summing to what the learner paid, uses never pass a cap, and each teacher's identity holds."""

import uuid
from decimal import Decimal

import pytest
from django.db.models import Count
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.factories import CouponFactory, CourseFactory, LearnerFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import AlreadyEnrolled, CouponRefused, InsufficientTokens, NotRefundable
from tokenecon.models import AccountKind, Coupon, Enrollment, EnrollmentStatus, Entry, Transfer, TransferKind
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.coupons import coupon_price, purchase_with_coupon
from tokenecon.services.earnings import teacher_balances
from tokenecon.services.enrollment import purchase_legs, refund_enrollment
from tokenecon.services.rates import split_commission

WALLET, TEACHER, REVENUE, TREASURY = 1, 2, 3, 4


@given(
    list_price=st.integers(1, 10_000),
    off=st.integers(0, 100),
    platform_funded=st.booleans(),
)
def test_a_purchase_split_is_whole_tokens_summing_to_what_was_paid(list_price, off, platform_funded):
    paid = list_price * (100 - off) // 100
    legs = dict(
        purchase_legs(
            wallet_id=WALLET,
            earnings_id=TEACHER,
            revenue_id=REVENUE,
            paid_tokens=paid,
            list_price_tokens=list_price,
            platform_funded=platform_funded,
            treasury_id=TREASURY,
        )
    )
    assert all(isinstance(v, int) and v != 0 for v in legs.values())
    assert sum(legs.values()) == 0
    assert legs.get(WALLET, 0) == -paid
    teacher = legs.get(TEACHER, 0)
    expected = split_commission(paid_tokens=list_price if platform_funded else paid)[0]
    assert teacher == expected
    assert legs.get(REVENUE, 0) >= 0 and legs.get(TREASURY, 0) <= 0
    if not platform_funded:
        assert TREASURY not in legs


class CouponMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.prefix = uuid.uuid4().hex[:10]
        self.keys = 0
        self.coupons: list[Coupon] = []

    def key(self) -> str:
        self.keys += 1
        return f"{self.prefix}-{self.keys}"

    @initialize(prices=st.lists(st.integers(1, 400), min_size=3, max_size=3))
    def setup(self, prices) -> None:
        self.teachers = TeacherFactory.create_batch(2)
        self.learners = LearnerFactory.create_batch(3)
        self.courses = [
            CourseFactory(
                teacher=self.teachers[i % 2], price_tokens=p, category=("programming", "design")[i % 2]
            )
            for i, p in enumerate(prices)
        ]
        self.expected_wallet = {learner.pk: 0 for learner in self.learners}

    @rule(who=st.integers(0, 2), amount=st.integers(1, 500))
    def top_up(self, who, amount) -> None:
        learner = self.learners[who]
        top_up_wallet(learner=learner, amount_tokens=amount, idempotency_key=self.key())
        self.expected_wallet[learner.pk] += amount

    @rule(
        percent=st.one_of(st.none(), st.integers(1, 100)),
        tokens_off=st.integers(1, 500),
        platform=st.booleans(),
        scope=st.sampled_from(["course", "teacher", "category", "all"]),
        on=st.integers(0, 2),
        max_uses=st.one_of(st.none(), st.integers(1, 3)),
        per_learner=st.integers(1, 2),
    )
    def create_coupon(self, percent, tokens_off, platform, scope, on, max_uses, per_learner) -> None:
        course = self.courses[on]
        self.coupons.append(
            CouponFactory(
                code=f"C{self.prefix}{len(self.coupons)}".upper(),
                kind="percent" if percent is not None else "fixed",
                percent_off=Decimal(percent) if percent is not None else None,
                tokens_off=None if percent is not None else tokens_off,
                funded_by="platform" if platform else "teacher",
                scope=scope,
                course=course if scope == "course" else None,
                teacher=course.teacher if scope == "teacher" else None,
                category=course.category if scope == "category" else "",
                max_uses=max_uses,
                max_uses_per_learner=per_learner,
            )
        )

    @rule(who=st.integers(0, 2), which=st.integers(0, 2), pick=st.integers(0, 50))
    def buy_with_coupon(self, who, which, pick) -> None:
        if not self.coupons:
            return
        learner, course = self.learners[who], self.courses[which]
        coupon = self.coupons[pick % len(self.coupons)]
        coupon.refresh_from_db()
        price = coupon_price(coupon, list_price_tokens=course.price_tokens)
        before = wallet_of(learner).balance_tokens
        try:
            enrollment = purchase_with_coupon(
                learner=learner, course=course, code=coupon.code, idempotency_key=self.key()
            )
        except (CouponRefused, AlreadyEnrolled):
            assert wallet_of(learner).balance_tokens == before
            return
        except InsufficientTokens:
            assert price > before
            return
        assert enrollment.price_paid_tokens == price
        self.expected_wallet[learner.pk] -= price

    @rule(pick=st.integers(0, 50))
    def refund(self, pick) -> None:
        live = list(
            Enrollment.objects.filter(learner__in=self.learners)
            .exclude(status=EnrollmentStatus.REFUNDED)
            .order_by("pk")
        )
        if not live:
            return
        enrollment = live[pick % len(live)]
        try:
            refund_enrollment(enrollment=enrollment, idempotency_key=self.key())
        except NotRefundable:
            assert enrollment.price_paid_tokens == 0  # a free enrollment has no purchase to reverse
            return
        self.expected_wallet[enrollment.learner_id] += enrollment.price_paid_tokens

    @invariant()
    def ledger_is_consistent(self) -> None:
        assert_ledger_consistent()

    @invariant()
    def wallets_match_and_teachers_reconcile(self) -> None:
        if not hasattr(self, "learners"):
            return
        for learner in self.learners:
            assert wallet_of(learner).balance_tokens == self.expected_wallet[learner.pk]
        for teacher in self.teachers:
            balances = teacher_balances(teacher, release=False)
            assert balances.identity_holds, balances
            assert min(balances.pending, balances.available, balances.held) >= 0

    @invariant()
    def every_coupon_purchase_splits_what_was_paid(self) -> None:
        for transfer in Transfer.objects.filter(
            kind=TransferKind.PURCHASE, coupon__isnull=False
        ).select_related("enrollment", "coupon"):
            legs = dict(Entry.objects.filter(transfer=transfer).values_list("account__kind", "amount_tokens"))
            paid = transfer.enrollment.price_paid_tokens
            assert legs[AccountKind.LEARNER_WALLET] == -paid
            assert sum(v for k, v in legs.items() if k != AccountKind.LEARNER_WALLET) == paid
            platform = transfer.coupon.funded_by == "platform"
            share = split_commission(paid_tokens=transfer.enrollment.list_price_tokens if platform else paid)[
                0
            ]
            assert legs[AccountKind.TEACHER_PENDING] == share

    @invariant()
    def uses_count_every_redemption_within_the_caps(self) -> None:
        for coupon in Coupon.objects.filter(pk__in=[c.pk for c in self.coupons]).annotate(
            redeemed=Count("enrollments")
        ):
            assert coupon.uses_count == coupon.redeemed
            assert coupon.max_uses is None or coupon.uses_count <= coupon.max_uses
        per_learner = (
            Enrollment.objects.filter(coupon__isnull=False)
            .values("coupon", "learner")
            .annotate(n=Count("pk"))
        )
        caps = dict(Coupon.objects.values_list("pk", "max_uses_per_learner"))
        assert all(row["n"] <= caps[row["coupon"]] for row in per_learner)


@pytest.mark.django_db
def test_random_coupon_purchases_keep_the_ledger_consistent():
    run_state_machine_as_test(
        CouponMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
