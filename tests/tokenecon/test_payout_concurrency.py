"""Real threads, real connections: payout requests racing for the same available earnings.

CI runs this on SQLite and again on PostgreSQL, where the conditional UPDATE of the available
account and the unique request key are what keep two requests from holding the same tokens.
"""

from collections import Counter

import pytest

from tests.factories import StaffFactory
from tests.helpers import run_in_threads
from tests.ledger_checks import assert_ledger_consistent
from tests.tokenecon.payout_world import AFTER_WINDOW, teacher_with_available
from tokenecon.errors import PayoutRefused
from tokenecon.models import PayoutRequest, PayoutStatus, Transfer, TransferKind
from tokenecon.services.earnings import teacher_balances
from tokenecon.services.payouts import approve_payout, reject_payout, request_payout

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_requests_that_together_exceed_available_exactly_one_holds():
    teacher = teacher_with_available()  # 800 available

    def ask(index: int) -> str:
        request_payout(teacher=teacher, amount_tokens=600, idempotency_key=f"k{index}", at=AFTER_WINDOW)
        return "held"

    outcomes = run_in_threads(ask, 2)
    assert outcomes == Counter({"held": 1, PayoutRefused.__name__: 1}), outcomes
    assert PayoutRequest.objects.count() == 1  # the refused request left no row behind
    assert Transfer.objects.filter(kind=TransferKind.PAYOUT_REQUEST).count() == 1
    balances = teacher_balances(teacher)
    assert (balances.available, balances.held) == (200, 600)
    assert balances.identity_holds
    assert_ledger_consistent()


def test_many_requests_never_hold_more_than_available():
    teacher = teacher_with_available(sales=3)  # 2,400 available

    def ask(index: int) -> str:
        request_payout(teacher=teacher, amount_tokens=700, idempotency_key=f"k{index}", at=AFTER_WINDOW)
        return "held"

    outcomes = run_in_threads(ask, 6)
    assert outcomes == Counter({"held": 3, PayoutRefused.__name__: 3}), outcomes
    balances = teacher_balances(teacher)
    assert (balances.available, balances.held) == (300, 2100)
    assert PayoutRequest.objects.count() == 3
    assert balances.identity_holds
    assert_ledger_consistent()


def test_the_same_key_twice_at_once_makes_one_request():
    teacher = teacher_with_available()

    def ask(_index: int) -> int:
        return request_payout(teacher=teacher, amount_tokens=500, idempotency_key="once", at=AFTER_WINDOW).pk

    outcomes = run_in_threads(ask, 4)
    assert len(outcomes) == 1 and sum(outcomes.values()) == 4, outcomes
    assert PayoutRequest.objects.count() == 1
    assert teacher_balances(teacher).held == 500
    assert_ledger_consistent()


def test_approve_and_reject_at_once_decide_once():
    teacher = teacher_with_available()
    staff = StaffFactory()
    payout = request_payout(teacher=teacher, amount_tokens=800, idempotency_key="k", at=AFTER_WINDOW)

    def decide(index: int) -> str:
        if index % 2:
            return approve_payout(payout, by=staff).status
        return reject_payout(payout, by=staff, reason="racing").status

    outcomes = run_in_threads(decide, 4)
    payout.refresh_from_db()
    # The first decision wins; the same decision replays it, the opposite one is refused.
    assert outcomes == Counter({payout.status: 2, PayoutRefused.__name__: 2}), outcomes
    assert payout.status in (PayoutStatus.PAID, PayoutStatus.REJECTED)
    assert Transfer.objects.filter(kind__in=[TransferKind.PAYOUT, TransferKind.PAYOUT_RETURN]).count() == 1
    balances = teacher_balances(teacher)
    assert balances.held == 0 and balances.identity_holds
    assert_ledger_consistent()
