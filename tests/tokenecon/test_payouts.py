"""Payout requests and decisions: every refusal is precise and writes nothing, and the teacher's
identity (pending + available + held + paid = earned - refunded) holds after each step."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.factories import StaffFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tests.tokenecon.payout_world import AFTER_WINDOW, BOUGHT_AT, sell, teacher_with_available
from tokenecon.errors import IdempotencyConflict, PayoutRefused
from tokenecon.models import AccountKind, PayoutRequest, PayoutStatus, Transfer, TransferKind
from tokenecon.services.earnings import teacher_balances
from tokenecon.services.ledger import platform_account
from tokenecon.services.payout_providers import ManualProvider, TestProvider, payout_provider
from tokenecon.services.payouts import approve_many, approve_payout, reject_payout, request_payout

pytestmark = pytest.mark.django_db


def snapshot():
    return (PayoutRequest.objects.count(), Transfer.objects.count())


def test_a_request_holds_the_tokens_and_records_the_money_value():
    teacher = teacher_with_available()  # 800 available
    payout = request_payout(teacher=teacher, amount_tokens=600, idempotency_key="k1", at=AFTER_WINDOW)
    assert payout.status == PayoutStatus.REQUESTED
    assert payout.money_amount == Decimal("60.00") and payout.currency == "USD"
    assert payout.idempotency_key == f"{teacher.pk}:k1"
    assert payout.hold_transfer.idempotency_key == f"payout:{payout.pk}:hold"
    assert payout.hold_transfer.kind == TransferKind.PAYOUT_REQUEST
    balances = teacher_balances(teacher)
    assert (balances.available, balances.held, balances.paid) == (200, 600, 0)
    assert balances.identity_holds
    assert_ledger_consistent()


def test_the_request_releases_what_has_cleared_first():
    teacher = TeacherFactory()
    sell(teacher, price_tokens=1000)  # pending until the window passes
    payout = request_payout(teacher=teacher, amount_tokens=800, idempotency_key="k", at=AFTER_WINDOW)
    assert payout.amount_tokens == 800
    assert teacher_balances(teacher, release=False).pending == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "A payout must be a positive number of tokens, got 0."),
        (-5, "A payout must be a positive number of tokens, got -5."),
        (1.5, "A payout is a whole number of tokens, got 1.5."),
        (True, "A payout is a whole number of tokens, got True."),
        (499, "The minimum payout is 500 tokens; you asked for 499."),
        (801, "You asked for 801 tokens but only 800 are available"),
    ],
)
def test_bad_amounts_are_refused_and_write_nothing(amount, message):
    teacher = teacher_with_available()
    before = snapshot()
    with pytest.raises(PayoutRefused, match=message.replace("(", r"\(").replace(".", r"\.")):
        request_payout(teacher=teacher, amount_tokens=amount, idempotency_key="k", at=AFTER_WINDOW)
    assert snapshot() == before
    assert teacher_balances(teacher).available == 800


def test_pending_earnings_cannot_be_requested():
    teacher = TeacherFactory()
    sell(teacher, price_tokens=1000, at=AFTER_WINDOW)  # bought just now: still pending
    with pytest.raises(PayoutRefused, match="only 0 are available"):
        request_payout(teacher=teacher, amount_tokens=500, idempotency_key="k", at=AFTER_WINDOW)
    assert not PayoutRequest.objects.exists()


@pytest.mark.parametrize(("key", "message"), [("", "needs an idempotency key"), ("x" * 101, "at most 100")])
def test_a_missing_or_long_key_is_refused(key, message):
    teacher = teacher_with_available()
    with pytest.raises(PayoutRefused, match=message):
        request_payout(teacher=teacher, amount_tokens=500, idempotency_key=key)
    assert not PayoutRequest.objects.exists()


def test_the_same_key_returns_the_first_request_and_another_amount_is_a_conflict():
    teacher = teacher_with_available()
    first = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="same", at=AFTER_WINDOW)
    again = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="same", at=AFTER_WINDOW)
    assert again.pk == first.pk
    before = snapshot()
    with pytest.raises(IdempotencyConflict, match="of 500 tokens, not 600") as caught:
        request_payout(teacher=teacher, amount_tokens=600, idempotency_key="same", at=AFTER_WINDOW)
    assert caught.value.status_code == 409
    assert snapshot() == before
    assert teacher_balances(teacher).held == 500


def test_keys_are_scoped_to_the_teacher():
    one, two = teacher_with_available(), teacher_with_available()
    a = request_payout(teacher=one, amount_tokens=500, idempotency_key="k", at=AFTER_WINDOW)
    b = request_payout(teacher=two, amount_tokens=600, idempotency_key="k", at=AFTER_WINDOW)
    assert a.pk != b.pk and b.teacher == two


def test_two_requests_cannot_hold_more_than_available():
    teacher = teacher_with_available()
    request_payout(teacher=teacher, amount_tokens=500, idempotency_key="a", at=AFTER_WINDOW)
    with pytest.raises(PayoutRefused, match="only 300 are available"):
        request_payout(teacher=teacher, amount_tokens=500, idempotency_key="b", at=AFTER_WINDOW)
    assert PayoutRequest.objects.count() == 1


def test_approval_pays_the_hold_out_to_the_treasury(settings):
    settings.PAYOUT_PROVIDER = "manual"
    teacher, staff = teacher_with_available(), StaffFactory()
    payout = request_payout(teacher=teacher, amount_tokens=800, idempotency_key="k", at=AFTER_WINDOW)
    treasury_before = platform_account(AccountKind.PLATFORM_TREASURY).balance_tokens
    paid = approve_payout(payout, by=staff, reference="BANK-42")
    assert paid.status == PayoutStatus.PAID and paid.decided_by == staff
    assert (paid.provider, paid.provider_reference) == ("manual", "BANK-42")
    assert paid.settle_transfer.idempotency_key == f"payout:{payout.pk}:paid"
    assert paid.settle_transfer.kind == TransferKind.PAYOUT
    assert platform_account(AccountKind.PLATFORM_TREASURY).balance_tokens == treasury_before + 800
    balances = teacher_balances(teacher)
    assert (balances.available, balances.held, balances.paid) == (0, 0, 800)
    assert balances.identity_holds
    # Approving again replays it; rejecting it now is refused.
    assert approve_payout(payout, by=staff).settle_transfer_id == paid.settle_transfer_id
    before = snapshot()
    with pytest.raises(
        PayoutRefused, match=f"Payout request {payout.pk} was already paid on .*cannot be rejected"
    ):
        reject_payout(payout, by=staff, reason="too late")
    assert snapshot() == before
    assert_ledger_consistent()


def test_the_manual_provider_generates_a_reference_when_staff_give_none(settings):
    settings.PAYOUT_PROVIDER = "manual"
    teacher = teacher_with_available()
    payout = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="k", at=AFTER_WINDOW)
    paid = approve_payout(payout, by=StaffFactory())
    assert paid.provider_reference.startswith(f"MANUAL-{payout.pk}-")


def test_rejection_returns_the_hold_and_needs_a_reason():
    teacher, staff = teacher_with_available(), StaffFactory()
    payout = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="k", at=AFTER_WINDOW)
    before = snapshot()
    with pytest.raises(PayoutRefused, match="needs a reason"):
        reject_payout(payout, by=staff, reason="  ")
    with pytest.raises(PayoutRefused, match="at most 255"):
        reject_payout(payout, by=staff, reason="x" * 256)
    assert snapshot() == before
    rejected = reject_payout(payout, by=staff, reason="Bank details missing")
    assert rejected.status == PayoutStatus.REJECTED and rejected.reason == "Bank details missing"
    assert rejected.settle_transfer.idempotency_key == f"payout:{payout.pk}:returned"
    assert rejected.settle_transfer.kind == TransferKind.PAYOUT_RETURN
    balances = teacher_balances(teacher)
    assert (balances.available, balances.held, balances.paid) == (800, 0, 0)
    assert balances.identity_holds
    assert reject_payout(payout, by=staff, reason="again").reason == "Bank details missing"
    with pytest.raises(PayoutRefused, match="already rejected.*cannot be approved"):
        approve_payout(payout, by=staff)
    assert_ledger_consistent()


def test_a_declining_provider_pays_nothing(settings):
    settings.PAYOUT_PROVIDER = "test"
    teacher = teacher_with_available()
    payout = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="k", at=AFTER_WINDOW)
    before = snapshot()
    with pytest.raises(PayoutRefused, match="declined"):
        approve_payout(payout, by=StaffFactory(), reference="DECLINE-1")
    assert snapshot() == before
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.REQUESTED
    assert approve_payout(payout, by=StaffFactory()).provider_reference == f"TEST-{payout.pk}"


def test_bulk_approve_reports_each_refusal_and_pays_the_rest(settings):
    settings.PAYOUT_PROVIDER = "test"
    staff = StaffFactory()
    a = request_payout(
        teacher=teacher_with_available(), amount_tokens=500, idempotency_key="a", at=AFTER_WINDOW
    )
    b = request_payout(
        teacher=teacher_with_available(), amount_tokens=500, idempotency_key="b", at=AFTER_WINDOW
    )
    reject_payout(b, by=staff, reason="no")
    decisions = approve_many([a, b], by=staff, reference="BATCH")
    assert [d.ok for d in decisions] == [True, False]
    assert decisions[0].payout.provider_reference == f"BATCH-{a.pk}"
    assert "already rejected" in decisions[1].error


def test_providers_are_chosen_by_the_setting(settings):
    settings.PAYOUT_PROVIDER = "manual"
    assert isinstance(payout_provider(), ManualProvider)
    settings.PAYOUT_PROVIDER = "test"
    assert isinstance(payout_provider(), TestProvider)
    settings.PAYOUT_PROVIDER = "stripe-connect"
    with pytest.raises(ImproperlyConfigured, match="one of manual, test"):
        payout_provider()


def test_a_long_reference_is_refused():
    teacher = teacher_with_available()
    payout = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="k", at=AFTER_WINDOW)
    with pytest.raises(PayoutRefused, match="at most 128"):
        approve_payout(payout, by=StaffFactory(), reference="R" * 129)
    assert not Transfer.objects.filter(kind=TransferKind.PAYOUT).exists()


def test_requested_at_is_the_request_time():
    teacher = teacher_with_available()
    payout = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="k", at=AFTER_WINDOW)
    assert payout.requested_at == AFTER_WINDOW and payout.requested_at > BOUGHT_AT
