"""Buying token packs through a payment provider (tokenecon.services.payments): the demo
provider's card pays or declines at once; Stripe's tokens come only from its signed webhook,
once per event id, for the order's exact amount; an abandoned, expired or failed payment credits
nothing; a paid top-up is refunded while its tokens are unspent."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import CourseFactory, LearnerFactory, StaffFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import (
    IdempotencyConflict,
    InvalidAmount,
    PaymentFailed,
    RefundRefused,
    TopUpLimitExceeded,
    WebhookRejected,
)
from tokenecon.models import OrderStatus, PaymentEvent, TopUpOrder, Transfer, TransferKind
from tokenecon.payments import get_provider, minor_units
from tokenecon.payments.demo import luhn_valid, normalise_card_number
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.payments import (
    cancel_order,
    create_top_up_order,
    handle_webhook,
    pay_order_with_card,
    refund_top_up,
    smallest_pack_covering,
    start_checkout,
    token_packs,
)

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret_for_local_signing"
GOOD_CARD = "4242 4242 4242 4242"
DECLINE_CARD = "4000 0000 0000 0002"


def balance(learner) -> int:
    return wallet_of(learner).balance_tokens


def top_up_transfers() -> int:
    return Transfer.objects.filter(kind=TransferKind.TOP_UP).count()


# --- packs and cards -----------------------------------------------------------------------------


def test_packs_come_from_the_setting_with_their_money_price(settings):
    packs = {p.code: p for p in token_packs()}
    assert packs["regular"].tokens == 1200 and packs["regular"].price == Decimal("110.00")
    assert packs["regular"].currency == settings.TOKEN_CURRENCY
    assert smallest_pack_covering(90).code == "starter"
    assert smallest_pack_covering(501).code == "regular"
    assert smallest_pack_covering(3001) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("4242 4242 4242 4241", "check digit"),
        ("4242 4242 4242", "16 digits"),
        ("4242-4242-4242-42424", "16 digits"),
        ("４２４２ ４２４２ ４２４２ ４２４２", "16 digits"),
        ("4242 4242 4242 424x", "16 digits"),
        ("", "16 digits"),
    ],
)
def test_a_malformed_card_number_is_refused_with_its_reason(text, reason):
    with pytest.raises(ValueError, match=reason):
        normalise_card_number(text)


def test_luhn_accepts_the_well_known_test_cards():
    assert luhn_valid("4242424242424242") and luhn_valid("4000000000000002")
    assert normalise_card_number("4242-4242-4242-4242") == "4242424242424242"


# --- orders and the demo provider ----------------------------------------------------------------


def test_demo_card_pays_the_order_credits_its_tokens_once_and_keeps_only_the_last_four_digits(learner):
    order = create_top_up_order(learner=learner, pack_code="regular", client_key="k1", provider="demo")
    assert order.status == OrderStatus.PENDING and order.tokens == 1200
    assert order.money_amount == Decimal("110.00") and balance(learner) == 0
    checkout = start_checkout(order=order, success_url="http://x/ok", cancel_url="http://x/no")
    assert checkout.redirect_url == ""  # the site's own card form
    paid = pay_order_with_card(order=order, card_number=GOOD_CARD)
    assert paid.status == OrderStatus.PAID and paid.paid_at is not None
    assert paid.provider_payment_ref == "demo card ending 4242"
    assert "4242424242424242" not in json.dumps(list(TopUpOrder.objects.values()), default=str)
    assert paid.transfer.idempotency_key == f"order:{order.pk}:credit"
    assert paid.transfer.kind == TransferKind.TOP_UP
    assert balance(learner) == 1200
    # A second submit of the card form returns the paid order and credits nothing more.
    again = pay_order_with_card(order=order, card_number=GOOD_CARD)
    assert again.status == OrderStatus.PAID and balance(learner) == 1200 and top_up_transfers() == 1
    assert_ledger_consistent()


def test_demo_decline_card_fails_the_order_with_the_reason_and_credits_nothing(learner):
    order = create_top_up_order(learner=learner, pack_code="starter", client_key="k1", provider="demo")
    failed = pay_order_with_card(order=order, card_number=DECLINE_CARD)
    assert failed.status == OrderStatus.FAILED
    assert failed.failure_reason == "Your card was declined (the demo decline card)."
    assert failed.transfer is None and balance(learner) == 0 and top_up_transfers() == 0
    # A failed order cannot be paid later with another card.
    assert pay_order_with_card(order=order, card_number=GOOD_CARD).status == OrderStatus.FAILED
    assert balance(learner) == 0


def test_a_malformed_card_leaves_the_order_pending_and_credits_nothing(learner):
    order = create_top_up_order(learner=learner, pack_code="starter", client_key="k1", provider="demo")
    with pytest.raises(ValueError, match="check digit"):
        pay_order_with_card(order=order, card_number="4242 4242 4242 4241")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and balance(learner) == 0


def test_an_abandoned_or_canceled_order_credits_nothing(learner):
    abandoned = create_top_up_order(learner=learner, pack_code="starter", client_key="a", provider="demo")
    canceled = cancel_order(order=create_top_up_order(learner=learner, pack_code="big", client_key="b"))
    assert canceled.status == OrderStatus.CANCELED
    assert pay_order_with_card(order=canceled, card_number=GOOD_CARD).status == OrderStatus.CANCELED
    abandoned.refresh_from_db()
    assert abandoned.status == OrderStatus.PENDING
    assert balance(learner) == 0 and top_up_transfers() == 0


def test_the_same_form_key_returns_the_first_order_and_another_pack_is_a_conflict(learner):
    first = create_top_up_order(learner=learner, pack_code="starter", client_key="k1")
    assert create_top_up_order(learner=learner, pack_code="starter", client_key="k1") == first
    with pytest.raises(IdempotencyConflict, match="another pack"):
        create_top_up_order(learner=learner, pack_code="big", client_key="k1")
    # Keys are per learner: another learner's same key is their own order.
    other = create_top_up_order(learner=LearnerFactory(), pack_code="starter", client_key="k1")
    assert other != first and TopUpOrder.objects.count() == 2


def test_an_unknown_pack_is_refused_and_writes_nothing(learner):
    with pytest.raises(InvalidAmount, match="no token pack called 'huge'"):
        create_top_up_order(learner=learner, pack_code="huge", client_key="k1")
    assert not TopUpOrder.objects.exists()


# --- caps ----------------------------------------------------------------------------------------


def test_a_pack_over_the_per_top_up_cap_is_refused_before_any_payment(learner, settings):
    settings.TOKEN_TOP_UP_MAX_TOKENS = 1_000
    with pytest.raises(TopUpLimitExceeded, match="at most 1,000 tokens; this pack has 1,200") as refused:
        create_top_up_order(learner=learner, pack_code="regular", client_key="k1")
    assert refused.value.status_code == 400 and not TopUpOrder.objects.exists()


def test_the_24_hour_cap_counts_paid_top_ups_and_orders_awaiting_payment(learner, settings):
    settings.TOKEN_TOP_UP_DAILY_MAX_TOKENS = 2_000
    paid = create_top_up_order(learner=learner, pack_code="regular", client_key="a")
    pay_order_with_card(order=paid, card_number=GOOD_CARD)
    create_top_up_order(learner=learner, pack_code="starter", client_key="b")  # pending: counts
    with pytest.raises(TopUpLimitExceeded, match="2,000 tokens in 24 hours; 300 more .*awaiting payment"):
        create_top_up_order(learner=learner, pack_code="starter", client_key="c")
    # Canceling the pending order frees its allowance.
    cancel_order(order=TopUpOrder.objects.get(idempotency_key=f"{learner.pk}:b"))
    create_top_up_order(learner=learner, pack_code="starter", client_key="c")
    # Another learner has an allowance of their own; operators' funding is not capped.
    create_top_up_order(learner=LearnerFactory(), pack_code="regular", client_key="a")
    top_up_wallet(learner=learner, amount_tokens=50_000, idempotency_key="seed")
    assert TopUpOrder.objects.count() == 4


def test_a_retry_of_an_order_replays_it_even_when_the_allowance_is_used_up(learner, settings):
    settings.TOKEN_TOP_UP_DAILY_MAX_TOKENS = 500
    first = create_top_up_order(learner=learner, pack_code="starter", client_key="a")
    assert create_top_up_order(learner=learner, pack_code="starter", client_key="a") == first


# --- Stripe webhooks, signed here with a test secret ---------------------------------------------


def sign(payload: str, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def stripe_event(order, *, event_id="evt_1", kind="checkout.session.completed", **session) -> str:
    body = {
        "id": f"cs_test_{order.pk}",
        "object": "checkout.session",
        "client_reference_id": str(order.pk),
        "metadata": {"order_id": str(order.pk)},
        "payment_status": "paid",
        "amount_total": minor_units(order.money_amount),
        "currency": order.currency.lower(),
        "payment_intent": f"pi_test_{order.pk}",
        **session,
    }
    return json.dumps({"id": event_id, "object": "event", "type": kind, "data": {"object": body}})


@pytest.fixture
def stripe_order(learner, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    order = create_top_up_order(learner=learner, pack_code="regular", client_key="s1", provider="stripe")
    TopUpOrder.objects.filter(pk=order.pk).update(provider_session_id=f"cs_test_{order.pk}")
    order.refresh_from_db()
    return order


def post_webhook(client, payload: str, signature: str | None):
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(reverse("stripe_webhook"), data=payload, content_type="application/json", **headers)


def test_a_signed_completed_checkout_credits_the_order_once_and_a_replay_answers_200(client, stripe_order):
    payload = stripe_event(stripe_order)
    first = post_webhook(client, payload, sign(payload))
    assert first.status_code == 200 and first.json()["outcome"] == "credited 1200 tokens"
    stripe_order.refresh_from_db()
    assert stripe_order.status == OrderStatus.PAID
    assert stripe_order.provider_payment_ref == f"pi_test_{stripe_order.pk}"
    assert balance(stripe_order.learner) == 1200
    # Stripe delivers again (same event id, signed anew): 200, credited once.
    replay = post_webhook(client, payload, sign(payload))
    assert replay.status_code == 200 and replay.json()["replay"] is True
    # Another event for the already paid order credits nothing either.
    other = stripe_event(stripe_order, event_id="evt_2")
    assert post_webhook(client, other, sign(other)).json()["outcome"] == "ignored: the order is already paid"
    assert balance(stripe_order.learner) == 1200 and top_up_transfers() == 1
    assert PaymentEvent.objects.filter(order=stripe_order).count() == 2
    assert_ledger_consistent()


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "garbage",
        "t=1,v1=deadbeef",
        "SIGN_WITH_OTHER_SECRET",
        "SIGN_TOO_OLD",
        "SIGN_OTHER_BODY",
    ],
)
def test_a_bad_signature_is_a_400_and_credits_and_records_nothing(client, stripe_order, signature):
    payload = stripe_event(stripe_order)
    if signature == "SIGN_WITH_OTHER_SECRET":
        signature = sign(payload, secret="whsec_someone_else")
    elif signature == "SIGN_TOO_OLD":
        signature = sign(payload, at=int(time.time()) - 3600)
    elif signature == "SIGN_OTHER_BODY":
        signature = sign(payload.replace('"paid"', '"unpaid"'))
    response = post_webhook(client, payload, signature)
    assert response.status_code == 400 and "error" in response.json()
    assert balance(stripe_order.learner) == 0 and not PaymentEvent.objects.exists()
    stripe_order.refresh_from_db()
    assert stripe_order.status == OrderStatus.PENDING


@pytest.mark.parametrize("body", ["not json", "[]", '{"id": "evt_1"}', "\u00ff"])
def test_a_signed_body_that_is_not_a_stripe_event_is_a_400(client, stripe_order, body):
    response = post_webhook(client, body, sign(body))
    assert response.status_code == 400
    assert not PaymentEvent.objects.exists() and balance(stripe_order.learner) == 0


def test_without_a_webhook_secret_every_webhook_is_refused(client, stripe_order, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = stripe_event(stripe_order)
    response = post_webhook(client, payload, sign(payload))
    assert response.status_code == 400 and "STRIPE_WEBHOOK_SECRET" in response.json()["error"]
    assert balance(stripe_order.learner) == 0


@pytest.mark.parametrize(
    ("session", "reason"),
    [
        ({"amount_total": 100}, "paid 100 USD (minor units) but the order is 11000 USD"),
        ({"currency": "eur"}, "paid 11000 EUR (minor units) but the order is 11000 USD"),
        ({"amount_total": None}, "paid no amount"),
    ],
)
def test_a_webhook_for_another_amount_or_currency_is_refused_and_recorded(
    client, stripe_order, session, reason
):
    payload = stripe_event(stripe_order, **session)
    response = post_webhook(client, payload, sign(payload))
    assert response.status_code == 200
    event = PaymentEvent.objects.get()
    assert event.outcome.startswith("refused:") and reason in event.outcome and event.order == stripe_order
    stripe_order.refresh_from_db()
    assert stripe_order.status == OrderStatus.PENDING and reason in stripe_order.failure_reason
    assert balance(stripe_order.learner) == 0 and top_up_transfers() == 0


def test_a_webhook_for_another_checkout_session_of_the_order_is_refused(client, stripe_order):
    payload = stripe_event(stripe_order, id="cs_test_forged")
    post_webhook(client, payload, sign(payload))
    assert PaymentEvent.objects.get().outcome.startswith("refused: session cs_test_forged")
    assert balance(stripe_order.learner) == 0


def test_an_unpaid_completed_session_waits_and_its_async_success_credits(client, stripe_order):
    payload = stripe_event(stripe_order, payment_status="unpaid")
    post_webhook(client, payload, sign(payload))
    assert balance(stripe_order.learner) == 0
    done = stripe_event(stripe_order, event_id="evt_2", kind="checkout.session.async_payment_succeeded")
    assert post_webhook(client, done, sign(done)).json()["outcome"] == "credited 1200 tokens"
    assert balance(stripe_order.learner) == 1200


@pytest.mark.parametrize(
    ("kind", "status", "outcome"),
    [
        ("checkout.session.expired", OrderStatus.CANCELED, "canceled: the checkout expired"),
        (
            "checkout.session.async_payment_failed",
            OrderStatus.FAILED,
            "failed: the asynchronous payment failed",
        ),
    ],
)
def test_an_expired_or_failed_checkout_closes_the_order_and_credits_nothing(
    client, stripe_order, kind, status, outcome
):
    payload = stripe_event(stripe_order, kind=kind, payment_status="unpaid")
    response = post_webhook(client, payload, sign(payload))
    assert response.status_code == 200 and response.json()["outcome"] == outcome
    stripe_order.refresh_from_db()
    assert stripe_order.status == status and balance(stripe_order.learner) == 0
    # A late "completed" for a closed order credits nothing.
    late = stripe_event(stripe_order, event_id="evt_late")
    post_webhook(client, late, sign(late))
    assert balance(stripe_order.learner) == 0 and top_up_transfers() == 0


def test_unknown_event_types_and_unknown_orders_are_recorded_and_ignored(client, stripe_order):
    unknown = json.dumps({"id": "evt_x", "object": "event", "type": "invoice.paid", "data": {"object": {}}})
    response = post_webhook(client, unknown, sign(unknown))
    assert response.status_code == 200
    assert PaymentEvent.objects.get(event_id="evt_x").outcome.startswith("ignored: invoice.paid")
    missing = stripe_event(stripe_order, event_id="evt_y", metadata={"order_id": "999999"})
    missing = missing.replace(f'"client_reference_id": "{stripe_order.pk}"', '"client_reference_id": null')
    post_webhook(client, missing, sign(missing))
    assert PaymentEvent.objects.get(event_id="evt_y").outcome == "ignored: no stripe order 999999"
    # A demo order cannot be paid by a Stripe event.
    demo = create_top_up_order(
        learner=stripe_order.learner, pack_code="starter", client_key="d", provider="demo"
    )
    forged = stripe_event(demo, event_id="evt_z")
    post_webhook(client, forged, sign(forged))
    assert PaymentEvent.objects.get(event_id="evt_z").outcome == f"ignored: no stripe order {demo.pk}"
    assert balance(stripe_order.learner) == 0


def test_the_webhook_answers_only_post(client):
    assert client.get(reverse("stripe_webhook")).status_code == 405


def test_handle_webhook_refuses_a_bad_signature_with_the_domain_error(stripe_order):
    with pytest.raises(WebhookRejected) as refused:
        handle_webhook(provider="stripe", payload=b"{}", signature="t=1,v1=00")
    assert refused.value.status_code == 400


def test_stripe_checkout_without_a_secret_key_fails_the_order_and_calls_no_network(stripe_order, settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(PaymentFailed, match="STRIPE_SECRET_KEY is empty"):
        start_checkout(order=stripe_order, success_url="http://x/ok", cancel_url="http://x/no")
    stripe_order.refresh_from_db()
    assert stripe_order.status == OrderStatus.FAILED and balance(stripe_order.learner) == 0


def test_a_stripe_order_takes_no_card_here(stripe_order):
    with pytest.raises(PaymentFailed, match="paid on stripe's page"):
        pay_order_with_card(order=stripe_order, card_number=GOOD_CARD)
    assert get_provider("stripe").hosted and not get_provider("demo").hosted


# --- refunds of top-ups --------------------------------------------------------------------------


def paid_order(learner, pack="starter", key="r1"):
    order = create_top_up_order(learner=learner, pack_code=pack, client_key=key, provider="demo")
    return pay_order_with_card(order=order, card_number=GOOD_CARD)


def test_refund_of_an_unspent_top_up_takes_its_tokens_back_once(learner):
    order = paid_order(learner)
    staff = StaffFactory()
    refunded = refund_top_up(order=order, by=staff)
    assert refunded.status == OrderStatus.REFUNDED and balance(learner) == 0
    transfer = refunded.refund_transfer
    assert transfer.kind == TransferKind.TOP_UP_REFUND
    assert transfer.idempotency_key == f"order:{order.pk}:refund"
    assert staff.username in transfer.memo
    assert refunded.provider_payment_ref.endswith(f"refund demo refund of order {order.pk}")
    # Twice: the refunded order comes back unchanged.
    assert refund_top_up(order=order).refund_transfer == transfer
    assert Transfer.objects.filter(kind=TransferKind.TOP_UP_REFUND).count() == 1
    assert_ledger_consistent()


def test_refund_of_a_spent_top_up_is_refused_with_the_balance_and_moves_nothing(learner):
    order = paid_order(learner)
    purchase_course(learner=learner, course=CourseFactory(price_tokens=100), idempotency_key="spend")
    with pytest.raises(RefundRefused, match="added 500 tokens but the wallet of .* holds 400") as refused:
        refund_top_up(order=order)
    assert refused.value.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and balance(learner) == 400
    assert not Transfer.objects.filter(kind=TransferKind.TOP_UP_REFUND).exists()


def test_refund_of_an_unpaid_order_is_refused(learner):
    order = create_top_up_order(learner=learner, pack_code="starter", client_key="r1")
    with pytest.raises(RefundRefused, match="awaiting payment: only a paid order can be refunded"):
        refund_top_up(order=order)


def test_a_stripe_refund_without_a_secret_key_is_refused_and_keeps_the_tokens(client, stripe_order, settings):
    payload = stripe_event(stripe_order)
    post_webhook(client, payload, sign(payload))
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(PaymentFailed, match="not configured"):
        refund_top_up(order=stripe_order)
    stripe_order.refresh_from_db()
    assert stripe_order.status == OrderStatus.PAID and balance(stripe_order.learner) == 1200
    assert not Transfer.objects.filter(kind=TransferKind.TOP_UP_REFUND).exists()


def test_the_webhook_needs_no_csrf_token_or_login(stripe_order):
    from django.test import Client

    payload = stripe_event(stripe_order)
    response = post_webhook(Client(enforce_csrf_checks=True), payload, sign(payload))
    assert response.status_code == 200 and balance(stripe_order.learner) == 1200
