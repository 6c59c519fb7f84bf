"""The Stripe provider: a Checkout Session per order (``mode=payment``), paid on Stripe's page;
the tokens are credited only when its signed webhook says ``checkout.session.completed`` with
``payment_status=paid`` (``tokenecon.services.payments.handle_webhook``).

Creating a session and refunding call Stripe over the network, so they need
``STRIPE_SECRET_KEY`` and are not exercised by the tests; verifying a webhook is local (an
HMAC-SHA256 of the body with ``STRIPE_WEBHOOK_SECRET``) and is tested with events signed here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe
from django.conf import settings

from tokenecon.errors import PaymentFailed, WebhookRejected
from tokenecon.payments.base import Checkout, PaymentProvider, WebhookEvent, minor_units

if TYPE_CHECKING:
    from tokenecon.models import TopUpOrder

# Stripe's default tolerance: a signed event older than five minutes is refused (replay window).
SIGNATURE_TOLERANCE_SECONDS = 300


def _secret_key() -> str:
    key = settings.STRIPE_SECRET_KEY
    if not key:
        raise PaymentFailed("Card payments through Stripe are not configured (STRIPE_SECRET_KEY is empty).")
    return key


def _order_id(session: dict) -> int | None:
    metadata = session.get("metadata") or {}
    raw = metadata.get("order_id") or session.get("client_reference_id") or ""
    raw = str(raw)
    return int(raw) if raw.isascii() and raw.isdigit() else None


class StripeProvider(PaymentProvider):
    name = "stripe"
    hosted = True

    def create_checkout(self, order: TopUpOrder, *, success_url: str, cancel_url: str) -> Checkout:
        try:
            session = stripe.checkout.Session.create(
                api_key=_secret_key(),
                idempotency_key=f"order:{order.pk}:checkout",
                mode="payment",
                line_items=[
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": order.currency.lower(),
                            "unit_amount": minor_units(order.money_amount),
                            "product_data": {"name": f"{order.tokens:,} tokens ({order.pack} pack)"},
                        },
                    }
                ],
                client_reference_id=str(order.pk),
                metadata={"order_id": str(order.pk)},
                payment_intent_data={"metadata": {"order_id": str(order.pk)}},
                success_url=success_url,
                cancel_url=cancel_url,
            )
        except stripe.StripeError as exc:
            raise PaymentFailed(f"Stripe could not start the payment: {exc.user_message or exc}") from exc
        return Checkout(redirect_url=session.url, session_id=session.id)

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookEvent:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookRejected("STRIPE_WEBHOOK_SECRET is not set, so no webhook can be verified.")
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"Bad Stripe signature: {exc.user_message or exc}") from exc
        except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
            raise WebhookRejected("The webhook body is not a JSON Stripe event.") from exc
        try:
            event_id, event_type = str(event["id"]), str(event["type"])
            session = event["data"]["object"].to_dict()
        except (KeyError, TypeError, AttributeError) as exc:
            raise WebhookRejected("The webhook body is a JSON object but not a Stripe event.") from exc
        if not event_type.startswith("checkout.session."):
            return WebhookEvent(event_id=event_id, event_type=event_type)
        amount = session.get("amount_total")
        return WebhookEvent(
            event_id=event_id,
            event_type=event_type,
            order_id=_order_id(session),
            session_id=str(session.get("id") or ""),
            payment_status=str(session.get("payment_status") or ""),
            amount_minor=amount if isinstance(amount, int) else None,
            currency=str(session.get("currency") or "").upper(),
            payment_ref=str(session.get("payment_intent") or ""),
        )

    def refund(self, order: TopUpOrder) -> str:
        if not order.provider_payment_ref.startswith("pi_"):
            raise PaymentFailed(f"Order {order.pk} has no Stripe payment to refund.")
        try:
            refund = stripe.Refund.create(
                api_key=_secret_key(),
                idempotency_key=f"order:{order.pk}:refund",
                payment_intent=order.provider_payment_ref,
                metadata={"order_id": str(order.pk)},
            )
        except stripe.StripeError as exc:
            raise PaymentFailed(f"Stripe refused the refund: {exc.user_message or exc}") from exc
        return refund.id
