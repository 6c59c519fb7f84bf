from dataclasses import replace

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Q, Sum

from tests.ledger_checks import assert_ledger_consistent
from tests.tokenecon.simulator.conftest import SMALL
from tokenecon.models import (
    Account,
    AccountKind,
    Course,
    Enrollment,
    Entry,
    Learner,
    LearnerActivity,
    PriceChange,
    Teacher,
    Transfer,
    TransferKind,
)
from tokenecon.simulator.service import MarketplaceNotEmpty, flush_marketplace, run_simulation


def _summary() -> dict:
    return {
        "enrollments": list(
            Enrollment.objects.order_by("enrolled_at", "learner__external_id").values_list(
                "learner__external_id", "course__code", "enrolled_at", "price_paid_tokens", "status", "rating"
            )
        ),
        "transfers": list(
            Transfer.objects.values("kind")
            .annotate(
                n=Count("id"), tokens=Sum("entries__amount_tokens", filter=Q(entries__amount_tokens__gt=0))
            )
            .order_by("kind")
        ),  # fmt: skip
        "balances": sorted(Account.objects.values_list("kind", "balance_tokens")),
        "activity": LearnerActivity.objects.count(),
        "prices": list(Course.objects.order_by("code").values_list("code", "price_tokens")),
    }


def test_same_seed_gives_the_same_data_and_another_seed_does_not(db, tmp_path):
    run_simulation(config=SMALL, truth_path=tmp_path / "a.joblib")
    first = _summary()
    run_simulation(config=SMALL, flush=True, truth_path=tmp_path / "b.joblib")
    assert _summary() == first
    run_simulation(config=replace(SMALL, seed=7), flush=True, truth_path=tmp_path / "c.joblib")
    other = _summary()
    assert other["enrollments"] != first["enrollments"]
    assert other["prices"] != first["prices"]


def test_ledger_invariants_hold_after_a_simulation(small_run):
    assert_ledger_consistent()
    non_negative = Account.objects.exclude(kind=AccountKind.PLATFORM_TREASURY).filter(balance_tokens__lt=0)
    assert not non_negative.exists()
    assert Account.objects.filter(kind=AccountKind.LEARNER_WALLET).count() == Learner.objects.count()
    assert Account.objects.filter(kind=AccountKind.TEACHER_EARNINGS).count() == Teacher.objects.count()
    # Every enrollment has exactly one purchase, and the wallet paid exactly the price.
    purchases = (
        Entry.objects.filter(transfer__kind=TransferKind.PURCHASE, account__kind=AccountKind.LEARNER_WALLET)
        .values("transfer__enrollment")
        .annotate(n=Count("transfer", distinct=True), paid=Sum("amount_tokens"))
    )
    by_enrollment = {row["transfer__enrollment"]: row for row in purchases}
    enrollments = list(Enrollment.objects.values_list("id", "price_paid_tokens", "status"))
    assert len(by_enrollment) == len(enrollments)
    for enrollment_id, paid, _status in enrollments:
        assert by_enrollment[enrollment_id]["n"] == 1
        assert -by_enrollment[enrollment_id]["paid"] == paid
    refunded = {e for e, _p, status in enrollments if status == "refunded"}
    refunds = set(Transfer.objects.filter(kind=TransferKind.REFUND).values_list("enrollment_id", flat=True))
    assert refunded == refunds
    kinds = set(Transfer.objects.values_list("kind", flat=True))
    assert {TransferKind.TOP_UP, TransferKind.PURCHASE, TransferKind.PAYOUT} <= kinds


def test_enrollment_count_lands_within_five_percent_of_the_target(small_run):
    count = Enrollment.objects.count()
    assert abs(count - SMALL.enrollments) <= 0.05 * SMALL.enrollments
    assert small_run.counts["enrollments"] == count


def test_price_history_explains_every_current_price(small_run):
    assert PriceChange.objects.filter(source="initial").count() == Course.objects.count()
    sources = set(PriceChange.objects.values_list("source", flat=True))
    assert {"initial", "manual", "promotion", "experiment"} <= sources
    for code, price in Course.objects.values_list("code", "price_tokens"):
        last = PriceChange.objects.filter(course__code=code).order_by("-effective_at", "-id").first()
        assert last.new_price_tokens == price
    assert not Course.objects.filter(Q(price_tokens__lt=10) | Q(price_tokens__gt=500)).exists()


def test_simulated_people_cannot_log_in(small_run):
    learner = Learner.objects.select_related("user").first()
    assert not learner.user.has_usable_password()


def test_refuses_a_non_empty_database_without_flush(small_run, tmp_path):
    with pytest.raises(MarketplaceNotEmpty):
        run_simulation(config=SMALL, truth_path=tmp_path / "again.joblib")
    with pytest.raises(CommandError, match="--flush"):
        call_command(
            "simulate", "--scale", "0.01", "--days", "30", "--truth-path", str(tmp_path / "x.joblib")
        )


def test_flush_removes_marketplace_data(small_run):
    flush_marketplace()
    for model in (Course, Learner, Teacher, Enrollment, Account, LearnerActivity, PriceChange):
        assert not model.objects.exists(), model
    assert not Transfer.objects.exists() and not Entry.objects.exists()


def test_command_runs_and_writes_truth_files(db, tmp_path, capsys):
    out = tmp_path / "truth"
    call_command(
        "simulate",
        "--learners", "200", "--teachers", "10", "--courses", "30", "--enrollments", "600", "--days", "60",
        "--truth-replications", "20", "--truth-path", str(tmp_path / "t.joblib"), "--truth-out", str(out),
        verbosity=0,
    )  # fmt: skip
    assert {p.name for p in out.iterdir()} == {"courses_truth.csv", "demand_truth.csv", "learners_truth.csv"}
    printed = capsys.readouterr().out
    assert "True elasticity" in printed and "enrollments" in printed
    assert np.isfinite(Enrollment.objects.count())


def test_a_world_has_releases_refunds_coupon_redemptions_and_payouts_that_reconcile(small_run):
    from tokenecon.models import Coupon, PayoutRequest, PayoutStatus
    from tokenecon.services.earnings import refund_window, teacher_balances

    counts = small_run.counts
    assert counts["releases"] > 0 and counts["coupon_redemptions"] > 0 and counts["payouts"] > 0
    # Releases: one per released enrollment, keyed by it, at the end of its refund window.
    released = Enrollment.objects.filter(released_at__isnull=False)
    assert released.count() == counts["releases"]
    releases = Transfer.objects.filter(kind=TransferKind.RELEASE)
    assert releases.count() == counts["releases"]
    for enrollment in released[:50]:
        assert enrollment.released_at == enrollment.enrolled_at + refund_window()
        assert Transfer.objects.get(idempotency_key=f"release:{enrollment.pk}").enrollment_id == enrollment.pk
    assert not released.filter(status="refunded").exists()
    # Refunds come back from pending, inside the window.
    refunds = Transfer.objects.filter(kind=TransferKind.REFUND)
    assert refunds.exists()
    assert not Entry.objects.filter(transfer__in=refunds, account__kind=AccountKind.TEACHER_EARNINGS).exists()
    # Coupons: redemptions stored on the enrollment and its purchase, uses counted, price below list.
    with_coupon = Enrollment.objects.filter(coupon__isnull=False)
    assert with_coupon.count() == counts["coupon_redemptions"]
    assert not with_coupon.filter(price_paid_tokens__gte=F("list_price_tokens")).exists()
    assert (
        Transfer.objects.filter(kind=TransferKind.PURCHASE, coupon__isnull=False).count()
        == with_coupon.count()
    )
    assert sum(Coupon.objects.values_list("uses_count", flat=True)) == with_coupon.count()
    assert Coupon.objects.filter(funded_by="platform").exists() or Coupon.objects.count() < 3
    # Payouts: paid requests with their hold and payout transfers, from available earnings only.
    payouts = PayoutRequest.objects.all()
    assert payouts.count() == counts["payouts"]
    assert not payouts.exclude(status=PayoutStatus.PAID).exists()
    for request in payouts.select_related("hold_transfer", "settle_transfer"):
        assert request.hold_transfer.idempotency_key == f"payout:{request.pk}:hold"
        assert request.settle_transfer.idempotency_key == f"payout:{request.pk}:paid"
        assert request.amount_tokens >= 500
    assert not Account.objects.filter(kind=AccountKind.TEACHER_PAYOUT_HOLD).exclude(balance_tokens=0).exists()
    # Every teacher's identity holds to the token, and all balances sum to zero.
    for teacher in Teacher.objects.all():
        balances = teacher_balances(teacher, release=False)
        assert balances.identity_holds, (teacher.pk, balances)
    assert sum(Account.objects.values_list("balance_tokens", flat=True)) == 0
    assert_ledger_consistent()
