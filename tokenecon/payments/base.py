"""The payment-provider interface and its registry."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from tokenecon.models import TopUpOrder


@dataclass(frozen=True)
class Checkout:
    """How the learner pays an order: ``redirect_url`` is the provider's hosted page (Stripe
    Checkout); empty means the site's own card form (the demo provider)."""

    redirect_url: str = ""
    session_id: str = ""


@dataclass(frozen=True)
class CardResult:
    """An immediate answer to a card charge: paid (with a reference that holds no card number) or
    declined with the reason the learner reads."""

    paid: bool
    payment_ref: str = ""
    reason: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A provider's verified webhook event, reduced to what the payment service needs."""

    event_id: str
    event_type: str
    order_id: int | None = None
    session_id: str = ""
    payment_status: str = ""
    amount_minor: int | None = None
    currency: str = ""
    payment_ref: str = ""


class PaymentProvider:
    """What the payment service needs of a provider. Methods a provider does not support raise
    ``NotImplementedError`` (the demo provider has no webhook; Stripe takes no card here)."""

    name: ClassVar[str] = ""
    # True: the learner pays on the provider's site and the webhook says so later.
    hosted: ClassVar[bool] = False

    def create_checkout(self, order: TopUpOrder, *, success_url: str, cancel_url: str) -> Checkout:
        raise NotImplementedError

    def charge_card(self, order: TopUpOrder, *, card_number: str) -> CardResult:
        raise NotImplementedError(f"The {self.name} provider takes no card number on this site.")

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookEvent:
        """Verify and read one webhook body; ``WebhookRejected`` if it is not genuine or unreadable."""
        raise NotImplementedError(f"The {self.name} provider sends no webhooks.")

    def refund(self, order: TopUpOrder) -> str:
        """Give the learner's money back; returns the provider's refund reference."""
        raise NotImplementedError


PROVIDERS = {
    "demo": "tokenecon.payments.demo.DemoProvider",
    "stripe": "tokenecon.payments.stripe_checkout.StripeProvider",
}


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called ``name`` (default: ``settings.PAYMENT_PROVIDER``)."""
    name = name or settings.PAYMENT_PROVIDER
    try:
        dotted = PROVIDERS[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"Unknown payment provider {name!r}; PAYMENT_PROVIDER is one of {', '.join(sorted(PROVIDERS))}."
        ) from None
    module, _, cls = dotted.rpartition(".")
    return getattr(import_module(module), cls)()


def minor_units(amount: Decimal) -> int:
    """An amount with two decimals in the currency's smallest unit (cents), as providers count."""
    return int((amount * 100).to_integral_value())
