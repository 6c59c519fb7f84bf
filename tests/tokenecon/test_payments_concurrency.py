"""Real threads, real connections: the same webhook delivered at once, the same card form
submitted at once and orders racing for the last of the 24-hour allowance each move tokens as
one request would (CI runs this on SQLite and on PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter

import pytest
from django.test import override_settings

from tests.factories import LearnerFactory
from tests.helpers import THREADS, run_in_threads
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import TopUpLimitExceeded
from tokenecon.models import OrderStatus, PaymentEvent, TopUpOrder, Transfer, TransferKind
from tokenecon.services.accounts import wallet_of
from tokenecon.services.payments import create_top_up_order, handle_webhook, pay_order_with_card

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_concurrency_test"


def credits() -> int:
    return Transfer.objects.filter(kind=TransferKind.TOP_UP).count()


@override_settings(STRIPE_WEBHOOK_SECRET=SECRET)
def test_one_webhook_delivered_at_once_by_many_threads_credits_once():
    learner = LearnerFactory()
    order = create_top_up_order(learner=learner, pack_code="regular", client_key="c", provider="stripe")
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "metadata": {"order_id": str(order.pk)},
        "payment_status": "paid",
        "amount_total": 11000,
        "currency": "usd",
        "payment_intent": "pi_1",
    }
    payload = json.dumps(
        {
            "id": "evt_once",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": session},
        }
    )
    at = int(time.time())
    signature = (
        f"t={at},v1=" + hmac.new(SECRET.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    )

    def deliver(_index: int) -> str:
        outcome = handle_webhook(provider="stripe", payload=payload.encode(), signature=signature)
        return "replay" if outcome.replay else "first"

    outcomes = run_in_threads(deliver)
    assert outcomes["first"] == 1 and outcomes["first"] + outcomes["replay"] == THREADS, outcomes
    assert PaymentEvent.objects.count() == 1 and credits() == 1
    assert wallet_of(learner).balance_tokens == 1200
    assert_ledger_consistent()


def test_one_card_form_submitted_at_once_credits_once():
    learner = LearnerFactory()
    order = create_top_up_order(learner=learner, pack_code="starter", client_key="c", provider="demo")

    def submit(_index: int) -> str:
        return pay_order_with_card(
            order=TopUpOrder.objects.get(pk=order.pk), card_number="4242424242424242"
        ).status

    outcomes = run_in_threads(submit)
    assert outcomes == Counter({OrderStatus.PAID: THREADS}), outcomes
    assert credits() == 1 and wallet_of(learner).balance_tokens == 500
    assert_ledger_consistent()


@override_settings(TOKEN_TOP_UP_DAILY_MAX_TOKENS=1_000)
def test_orders_racing_for_the_last_of_the_daily_allowance_fit_exactly():
    learner = LearnerFactory()

    def order(index: int) -> str:
        create_top_up_order(learner=learner, pack_code="starter", client_key=f"k{index}")
        return "ordered"

    outcomes = run_in_threads(order)
    assert outcomes == Counter({"ordered": 2, TopUpLimitExceeded.__name__: THREADS - 2}), outcomes
    assert TopUpOrder.objects.count() == 2
