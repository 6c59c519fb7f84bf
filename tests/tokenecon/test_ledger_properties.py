"""Random sequences of ledger operations never break the ledger's invariants.

The one state machine of the ledger, with every teacher-money rule of issue 16: top-ups, rewards,
purchases (list, discounted, with coupons of every kind, funder, scope and cap, 100% included), a
clock that moves forward and releases what is past the refund window, learner refunds under the
policy (allowed exactly when ``learner_refund_eligibility`` says so), staff refunds at any time
and after the release, payout requests (inside and outside the limits, retried with the same key
and the same or another amount), approvals and rejections (and the opposite decision refused).

After every step: all balances sum to zero, no learner or teacher account is negative (only the
treasury may be), every teacher's identity (pending + available + held + paid = earned -
refunded) holds, wallets, holds and payouts match the machine's model, every coupon purchase
splits what was paid in whole tokens, and coupon uses count every redemption within the caps.

``STATS`` counts examples, steps and outcomes; the test prints them (``pytest -s``) for the
closing note of the issue.
"""

import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.factories import CouponFactory, CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import (
    AlreadyEnrolled,
    CouponRefused,
    IdempotencyConflict,
    InsufficientTokens,
    NotRefundable,
    PayoutRefused,
    RefundRefused,
)
from tokenecon.models import (
    AccountKind,
    Coupon,
    Enrollment,
    EnrollmentStatus,
    Entry,
    PayoutRequest,
    PayoutStatus,
    Transfer,
    TransferKind,
)
from tokenecon.services.accounts import earnings_of, pay_out_teacher, reward_learner, top_up_wallet, wallet_of
from tokenecon.services.coupons import coupon_price, purchase_with_coupon
from tokenecon.services.earnings import release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course, refund_enrollment
from tokenecon.services.payouts import approve_payout, reject_payout, request_payout
from tokenecon.services.rates import discounted_price_tokens, split_commission
from tokenecon.services.refunds import learner_refund, learner_refund_eligibility, staff_refund

PAYOUT_MINIMUM = 20
CATEGORIES = ("programming", "design")

# A random coupon: percent (100% included) or tokens off, either funder, every scope, caps.
COUPON = dict(
    percent=st.one_of(st.none(), st.sampled_from([1, 10, 25, 50, 99, 100]), st.integers(1, 100)),
    tokens_off=st.integers(1, 200),
    platform=st.booleans(),
    scope=st.sampled_from(["course", "teacher", "category", "all"]),
    on=st.integers(0, 3),
    max_uses=st.one_of(st.none(), st.integers(1, 3)),
    per_learner=st.integers(1, 2),
)

# Examples, steps and outcomes of the runs in this process (printed by the test).
STATS: Counter = Counter()


def note(label: str) -> None:
    event(label)
    STATS[label] += 1


class LedgerMachine(RuleBasedStateMachine):
    """Drives the services and keeps its own model of the expected balances."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = 0
        # Not id(self): examples share one database transaction, and a later machine at the same
        # address reused an earlier one's keys (an idempotency conflict, reported as flaky data).
        self.prefix = uuid.uuid4().hex
        self.replayable: list[tuple[str, object]] = []
        self.coupons: list[Coupon] = []
        self.payouts: list[tuple[PayoutRequest, int, str]] = []  # (request, teacher index, client key)
        STATS["examples"] += 1

    def key(self) -> str:
        self.keys += 1
        return f"{self.prefix}-{self.keys}"

    @initialize(first_coupon=st.fixed_dictionaries(COUPON))
    def setup_people(self, first_coupon: dict) -> None:
        self.teachers = TeacherFactory.create_batch(2)
        self.learners = LearnerFactory.create_batch(3)
        self.courses = [
            CourseFactory(teacher=self.teachers[i % 2], price_tokens=price, category=CATEGORIES[i // 2])
            for i, price in enumerate([15, 40, 99, 160])
        ]
        self.staff = StaffFactory()
        self.expected_wallet = {learner.pk: 0 for learner in self.learners}
        self.expected_held = [0, 0]
        self.expected_paid = [0, 0]
        self.add_coupon(**first_coupon)  # one coupon from the start, more by ``create_coupon``
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

    @rule(
        who=st.integers(0, 2),
        which=st.integers(0, 3),
        discount=st.sampled_from([0, 5, 10, 15, 20, 30]),
        fund=st.booleans(),
    )
    def purchase(self, who: int, which: int, discount: int, fund: bool) -> None:
        """A purchase at list or offer price (``fund``: the learner first tops up the price)."""
        learner, course = self.learners[who], self.courses[which]
        price = discounted_price_tokens(list_price_tokens=course.price_tokens, discount_pct=discount)
        if fund:
            top_up_wallet(learner=learner, amount_tokens=price, idempotency_key=self.key())
            self.expected_wallet[learner.pk] += price
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
        note("purchase" + (" at an offer price" if discount else " at list price"))
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
        note("staff refund (any time)")
        self.expected_wallet[enrollment.learner_id] += enrollment.price_paid_tokens

    @rule(days=st.sampled_from([0, 1, 3, 7, 13, 14, 15, 30]), hours=st.integers(0, 23))
    def release(self, days: int, hours: int) -> None:
        """The clock moves on and the release runs; what is past the window moves to available."""
        self.now += timedelta(days=days, hours=hours)
        released = release_due(now=self.now)
        STATS["enrollments released"] += released
        event(f"released {min(released, 2)}+")
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
            note("learner refund refused")
            return
        assert eligibility.allowed
        note("learner refund allowed")
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
        try:
            staff_refund(enrollment=enrollment, idempotency_key=self.key(), at=self.now)
        except NotRefundable as exc:
            assert enrollment.price_paid_tokens == 0 and "no tokens were paid" in str(exc)
            note("staff refund of a 100% coupon enrollment refused (nothing paid)")
            return
        after = teacher_balances(teacher, release=False)
        share = after.refunded - before.refunded
        note("staff refund after release" + (" (platform covers part)" if share > before.available else ""))
        assert after.available == max(0, before.available - share)
        assert after.pending == before.pending
        self.expected_wallet[enrollment.learner_id] += enrollment.price_paid_tokens

    @rule(which=st.integers(0, 1), fraction=st.floats(0.1, 1.5))
    def payout(self, which: int, fraction: float) -> None:
        """The old direct payout (available -> treasury, no request), still a service."""
        teacher = self.teachers[which]
        available = earnings_of(teacher).balance_tokens
        amount = max(1, int(available * fraction))
        try:
            pay_out_teacher(teacher=teacher, amount_tokens=amount, idempotency_key=self.key())
        except InsufficientTokens:
            assert amount > available
            return
        self.expected_paid[which] += amount
        note("direct payout (pay_out_teacher)")

    # --- coupons ----------------------------------------------------------------------------

    @rule(**COUPON)
    def create_coupon(self, percent, tokens_off, platform, scope, on, max_uses, per_learner) -> None:
        self.add_coupon(percent, tokens_off, platform, scope, on, max_uses, per_learner)

    def add_coupon(self, percent, tokens_off, platform, scope, on, max_uses, per_learner) -> None:
        course = self.courses[on]
        self.coupons.append(
            CouponFactory(
                code=f"C{self.prefix[:10]}{len(self.coupons)}".upper(),
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

    @precondition(lambda self: bool(self.coupons))
    @rule(who=st.integers(0, 2), which=st.integers(0, 3), pick=st.integers(0, 50), fund=st.booleans())
    def buy_with_coupon(self, who: int, which: int, pick: int, fund: bool) -> None:
        """A coupon purchase (``fund``: the learner first tops up what the coupon price is)."""
        if not self.coupons:
            return
        learner, course = self.learners[who], self.courses[which]
        coupon = self.coupons[pick % len(self.coupons)]
        coupon.refresh_from_db()
        price = coupon_price(coupon, list_price_tokens=course.price_tokens)
        if fund and price:
            top_up_wallet(learner=learner, amount_tokens=price, idempotency_key=self.key())
            self.expected_wallet[learner.pk] += price
        before = wallet_of(learner).balance_tokens
        key = self.key()
        try:
            enrollment = purchase_with_coupon(
                learner=learner, course=course, code=coupon.code, idempotency_key=key, at=self.now
            )
        except (CouponRefused, AlreadyEnrolled) as exc:
            assert wallet_of(learner).balance_tokens == before
            note(f"coupon refused ({type(exc).__name__})")
            return
        except InsufficientTokens:
            assert price > before
            return
        assert enrollment.price_paid_tokens == price and enrollment.coupon_id == coupon.pk
        if price == 0:
            assert enrollment.released_at is not None  # nothing pending for a free enrollment
            assert not Transfer.objects.filter(enrollment=enrollment, kind=TransferKind.PURCHASE).exists()
        note("coupon purchase, " + ("100% off" if price == 0 else f"{coupon.funded_by}-funded"))
        self.expected_wallet[learner.pk] -= price
        self.replayable.append(
            (
                key,
                lambda k=key, lr=learner, c=course, code=coupon.code, e=enrollment.pk: self._replay_coupon(
                    k, lr, c, code, e
                ),
            )
        )

    def _replay_coupon(self, key, learner, course, code, enrollment_pk) -> None:
        again = purchase_with_coupon(
            learner=learner, course=course, code=code, idempotency_key=key, at=self.now
        )
        assert again.pk == enrollment_pk

    # --- payouts ----------------------------------------------------------------------------
    @precondition(lambda self: bool(self.teachers_with_earnings()))
    @rule(which=st.integers(0, 1), fraction=st.floats(0.0, 1.5), wait=st.booleans())
    def payout_request(self, which: int, fraction: float, wait: bool) -> None:
        """A request for part, all or more than the available balance (or less than the minimum);
        ``wait``: the clock first moves past the refund window (so there is often something)."""
        teacher = self.teachers[which]
        if wait:
            self.now += timedelta(days=15)
        release_due(now=self.now, teacher=teacher)  # the request releases on read; so does the check
        available = teacher_balances(teacher, release=False).available
        amount = int(available * fraction)
        key = self.key()
        try:
            payout = request_payout(teacher=teacher, amount_tokens=amount, idempotency_key=key, at=self.now)
        except PayoutRefused as exc:
            assert amount < PAYOUT_MINIMUM or amount > available, (amount, available, str(exc))
            note(
                "payout request refused: "
                + ("below the minimum" if amount < PAYOUT_MINIMUM else "above available")
            )
            return
        assert PAYOUT_MINIMUM <= amount <= available
        assert payout.status == PayoutStatus.REQUESTED
        self.expected_held[which] += amount
        self.payouts.append((payout, which, key))
        note("payout requested")

    def teachers_with_earnings(self) -> list[int]:
        """Indexes of the teachers whose pending + available reach the minimum payout."""
        if not hasattr(self, "teachers"):
            return []
        return [
            index
            for index, teacher in enumerate(self.teachers)
            if (b := teacher_balances(teacher, release=False)).pending + b.available >= PAYOUT_MINIMUM
        ]

    @precondition(lambda self: bool(self.teachers_with_earnings()))
    @rule(data=st.data())
    def payout_request_within_the_balance(self, data) -> None:
        """The clock moves past the refund window, then a request the teacher can make (between
        the minimum and all they have available), when what cleared reaches the minimum."""
        which = data.draw(st.sampled_from(self.teachers_with_earnings()))
        teacher = self.teachers[which]
        self.now += timedelta(days=15)
        STATS["enrollments released"] += release_due(now=self.now)
        available = teacher_balances(teacher, release=False).available
        if available < PAYOUT_MINIMUM:
            return
        amount = data.draw(st.integers(PAYOUT_MINIMUM, available))
        key = self.key()
        payout = request_payout(teacher=teacher, amount_tokens=amount, idempotency_key=key, at=self.now)
        assert payout.status == PayoutStatus.REQUESTED and payout.amount_tokens == amount
        assert teacher_balances(teacher, release=False).available == available - amount
        self.expected_held[which] += amount
        self.payouts.append((payout, which, key))
        note("payout requested" + (" (all available)" if amount == available else ""))

    @precondition(lambda self: bool(self.payouts))
    @rule(data=st.data(), change=st.booleans())
    def payout_retry(self, data, change: bool) -> None:
        """The same key again: the same amount returns the first request, another one is a 409."""
        if not self.payouts:
            return
        payout, which, key = data.draw(st.sampled_from(self.payouts))
        amount = payout.amount_tokens + (1 if change else 0)
        try:
            again = request_payout(
                teacher=self.teachers[which], amount_tokens=amount, idempotency_key=key, at=self.now
            )
        except IdempotencyConflict:
            assert change
            note("payout retry with another amount: 409")
            return
        assert not change and again.pk == payout.pk
        note("payout retry replayed")

    @precondition(lambda self: bool(self.payouts))
    @rule(data=st.data(), approve=st.booleans())
    def payout_decide(self, data, approve: bool) -> None:
        """Staff approve or reject; a decided request keeps its decision (the same one replays)."""
        if not self.payouts:
            return
        payout, which, _key = data.draw(st.sampled_from(self.payouts))
        payout.refresh_from_db()
        before = payout.status
        try:
            if approve:
                decided = approve_payout(payout, by=self.staff, at=self.now)
            else:
                decided = reject_payout(payout, by=self.staff, reason="random", at=self.now)
        except PayoutRefused:
            wanted = PayoutStatus.PAID if approve else PayoutStatus.REJECTED
            assert before not in (PayoutStatus.REQUESTED, wanted)
            note("payout decision refused (decided the other way)")
            return
        if before == PayoutStatus.REQUESTED:
            self.expected_held[which] -= payout.amount_tokens
            if approve:
                self.expected_paid[which] += payout.amount_tokens
            note("payout approved" if approve else "payout rejected")
        assert decided.status == (PayoutStatus.PAID if approve else PayoutStatus.REJECTED)

    @precondition(lambda self: bool(self.replayable))
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
    def count_steps(self) -> None:
        STATS["steps"] += 1

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

    @invariant()
    def holds_and_payouts_match_the_model(self) -> None:
        if not hasattr(self, "teachers"):
            return
        for index, teacher in enumerate(self.teachers):
            balances = teacher_balances(teacher, release=False)
            assert balances.held == self.expected_held[index], balances
            assert balances.paid == self.expected_paid[index], balances

    @invariant()
    def every_coupon_purchase_splits_what_was_paid(self) -> None:
        if not self.coupons:
            return
        for transfer in Transfer.objects.filter(
            kind=TransferKind.PURCHASE, coupon__in=self.coupons
        ).select_related("enrollment", "coupon"):
            legs = dict(Entry.objects.filter(transfer=transfer).values_list("account__kind", "amount_tokens"))
            paid = transfer.enrollment.price_paid_tokens
            assert legs[AccountKind.LEARNER_WALLET] == -paid
            assert sum(v for k, v in legs.items() if k != AccountKind.LEARNER_WALLET) == paid
            platform = transfer.coupon.funded_by == "platform"
            list_price = transfer.enrollment.list_price_tokens
            assert (
                legs[AccountKind.TEACHER_PENDING]
                == split_commission(paid_tokens=list_price if platform else paid)[0]
            )

    @invariant()
    def coupon_uses_count_every_redemption_within_the_caps(self) -> None:
        if not self.coupons:
            return
        mine = Coupon.objects.filter(pk__in=[c.pk for c in self.coupons])
        for coupon in mine.annotate(redeemed=Count("enrollments")):
            assert coupon.uses_count == coupon.redeemed
            assert coupon.max_uses is None or coupon.uses_count <= coupon.max_uses
        per_learner = (
            Enrollment.objects.filter(coupon__in=mine).values("coupon", "learner").annotate(n=Count("pk"))
        )
        caps = dict(mine.values_list("pk", "max_uses_per_learner"))
        assert all(row["n"] <= caps[row["coupon"]] for row in per_learner)


@pytest.mark.django_db
def test_random_operation_sequences_keep_the_ledger_consistent(settings_override):
    STATS.clear()
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    outcomes = ", ".join(
        f"{label}: {n}" for label, n in sorted(STATS.items()) if label not in ("examples", "steps")
    )
    print(f"\nledger state machine: {STATS['examples']} examples, {STATS['steps']} steps; {outcomes}")
    assert STATS["examples"] >= 25


@pytest.fixture
def settings_override(settings):
    settings.TOKEN_PAYOUT_MIN_TOKENS = PAYOUT_MINIMUM
    settings.PAYOUT_PROVIDER = "test"
    return settings
