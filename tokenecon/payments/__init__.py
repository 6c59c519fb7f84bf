"""Payment providers for learners' token top-ups, behind one interface (``base.PaymentProvider``),
chosen by ``settings.PAYMENT_PROVIDER``: ``demo`` (instant, on the site's own card form) and
``stripe`` (Stripe Checkout; tokens are credited only by its signed webhook). The business rules
(orders, crediting, refunds) live in ``tokenecon.services.payments``; a provider only talks to
the outside world."""

from tokenecon.payments.base import (
    CardResult,
    Checkout,
    PaymentProvider,
    WebhookEvent,
    get_provider,
    minor_units,
)

__all__ = ["CardResult", "Checkout", "PaymentProvider", "WebhookEvent", "get_provider", "minor_units"]
