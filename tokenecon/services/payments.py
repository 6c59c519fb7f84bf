"""Learners buying packs of tokens through a payment provider (``tokenecon.payments``).

A top-up is an order (``TopUpOrder``) for one of ``settings.TOKEN_PACKS``; its tokens reach the
wallet only once the provider says it is paid: at once for the demo provider's card form, by the
signed webhook for Stripe. Crediting is one transaction (order row locked): the treasury -> wallet
TOP_UP transfer keyed ``order:<id>:credit`` and the order marked paid, so a replayed webhook or a
double-submitted card form credits once. A declined, abandoned or expired payment credits
nothing. A refund of a top-up takes back its tokens while they are unspent
(``order:<id>:refund``, TOP_UP_REFUND) and calls the provider's refund.

Caps: the per-top-up and 24-hour caps (``TOKEN_TOP_UP_MAX_TOKENS``,
``TOKEN_TOP_UP_DAILY_MAX_TOKENS``) are checked when an order is created, before the learner pays:
the 24 hours count the top-ups received and the orders still awaiting payment. They are not
checked again when the payment arrives: the money has been taken by then, so the tokens are owed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from tokenecon.errors import (
    IdempotencyConflict,
    InvalidAmount,
    PaymentFailed,
    RefundRefused,
    TopUpLimitExceeded,
    WebhookRejected,
)
from tokenecon.models import (
    Account,
    AccountKind,
    Learner,
    OrderStatus,
    PaymentEvent,
    TopUpOrder,
    TransferKind,
)
from tokenecon.payments import Checkout, PaymentProvider, WebhookEvent, get_provider, minor_units
from tokenecon.services.accounts import TOP_UP_WINDOW, topped_up_recently, wallet_of
from tokenecon.services.ledger import TransferSpec, platform_account, post_transfer_locked

# --- packs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPack:
    code: str
    tokens: int
    price: Decimal
    currency: str

    @property
    def label(self) -> str:
        return self.code.replace("_", " ").capitalize()


def token_packs() -> list[TokenPack]:
    """The packs on sale (``settings.TOKEN_PACKS``), priced in ``TOKEN_CURRENCY``."""
    return [
        TokenPack(
            code=str(p["code"]),
            tokens=int(p["tokens"]),
            price=Decimal(p["price"]).quantize(Decimal("0.01")),
            currency=settings.TOKEN_CURRENCY,
        )
        for p in settings.TOKEN_PACKS
    ]


def pack_by_code(code: str) -> TokenPack:
    for pack in token_packs():
        if pack.code == code:
            return pack
    raise InvalidAmount(f"There is no token pack called {code!r}.")


def smallest_pack_covering(tokens: int) -> TokenPack | None:
    """The cheapest pack with at least ``tokens`` (a shortfall's suggestion), if any."""
    covering = [p for p in token_packs() if p.tokens >= tokens]
    return min(covering, key=lambda p: (p.price, p.tokens)) if covering else None


# --- orders --------------------------------------------------------------------------------------


def pending_order_tokens(learner: Learner, *, now: datetime, excluding: int | None = None) -> int:
    rows = TopUpOrder.objects.filter(
        learner=learner, status=OrderStatus.PENDING, created_at__gt=now - TOP_UP_WINDOW
    )
    if excluding is not None:
        rows = rows.exclude(pk=excluding)
    return rows.aggregate(total=Sum("tokens"))["total"] or 0


def check_order_limits(*, learner: Learner, wallet: Account, tokens: int, now: datetime) -> None:
    """The caps of a learner's own top-up, with the wallet row locked: a pack over the per-top-up
    cap, or over what is left of the 24-hour cap (top-ups received and orders awaiting payment)."""
    per_top_up = settings.TOKEN_TOP_UP_MAX_TOKENS
    if tokens > per_top_up:
        raise TopUpLimitExceeded(f"A top-up is at most {per_top_up:,} tokens; this pack has {tokens:,}.")
    daily = settings.TOKEN_TOP_UP_DAILY_MAX_TOKENS
    pending = pending_order_tokens(learner, now=now)
    remaining = max(daily - topped_up_recently(wallet, now=now) - pending, 0)
    if tokens > remaining:
        raise TopUpLimitExceeded(
            f"You can buy at most {daily:,} tokens in 24 hours; {remaining:,} more are possible now"
            + (" (orders awaiting payment count too)." if pending else ".")
        )


def create_top_up_order(
    *, learner: Learner, pack_code: str, client_key: str, provider: str | None = None
) -> TopUpOrder:
    """An order awaiting payment for one pack, once per ``client_key`` (the confirmation form's
    token): the same key and pack return the first order; the same key with another pack is an
    ``IdempotencyConflict``. Over a cap: ``TopUpLimitExceeded``, no order written."""
    pack = pack_by_code(pack_code)
    if not client_key:
        raise InvalidAmount("An idempotency key is required.")
    key = f"{learner.pk}:{client_key}"

    def replay() -> TopUpOrder | None:
        existing = TopUpOrder.objects.filter(idempotency_key=key).first()
        if existing is not None and existing.pack != pack.code:
            raise IdempotencyConflict("This form was already used to order another pack; reload the page.")
        return existing

    existing = replay()
    if existing is not None:
        return existing
    provider_name = provider or settings.PAYMENT_PROVIDER
    get_provider(provider_name)  # an unknown provider is refused before anything is written
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            wallet = Account.objects.select_for_update().get(pk=wallet_of(learner).pk)
            check_order_limits(learner=learner, wallet=wallet, tokens=pack.tokens, now=now)
            return TopUpOrder.objects.create(
                learner=learner,
                pack=pack.code,
                tokens=pack.tokens,
                money_amount=pack.price,
                currency=pack.currency,
                provider=provider_name,
                idempotency_key=key,
                created_at=now,
            )
    except IntegrityError:
        existing = replay()
        if existing is None:
            raise
        return existing


def provider_of(order: TopUpOrder) -> PaymentProvider:
    return get_provider(order.provider)


def start_checkout(*, order: TopUpOrder, success_url: str, cancel_url: str) -> Checkout:
    """Ask the order's provider how the learner pays it (Stripe: a Checkout Session, over the
    network, outside any transaction). A provider that cannot start fails the order with the
    reason and raises ``PaymentFailed``; nothing is credited."""
    if order.status != OrderStatus.PENDING:
        raise PaymentFailed(f"Order {order.pk} is {order.get_status_display().lower()}; start a new one.")
    try:
        checkout = provider_of(order).create_checkout(order, success_url=success_url, cancel_url=cancel_url)
    except PaymentFailed as exc:
        _close_order(order.pk, status=OrderStatus.FAILED, reason=str(exc))
        raise
    if checkout.session_id and checkout.session_id != order.provider_session_id:
        TopUpOrder.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
            provider_session_id=checkout.session_id
        )
        order.provider_session_id = checkout.session_id
    return checkout


def _close_order(order_id: int, *, status: str, reason: str = "") -> TopUpOrder:
    """Fail or cancel an order that is still pending (a paid one stays paid)."""
    with transaction.atomic(durable=True):
        order = TopUpOrder.objects.select_for_update().get(pk=order_id)
        if order.status == OrderStatus.PENDING:
            order.status = status
            order.failure_reason = reason[:255]
            order.save(update_fields=["status", "failure_reason"])
        return order


def cancel_order(*, order: TopUpOrder) -> TopUpOrder:
    """The learner gave up on a pending order (its allowance is free again); nothing credited."""
    return _close_order(order.pk, status=OrderStatus.CANCELED, reason="Canceled by the learner.")


def _credit_order_locked(order: TopUpOrder, *, payment_ref: str, at: datetime | None = None) -> TopUpOrder:
    """Credit a pending order inside the caller's transaction, with its row locked."""
    key = f"order:{order.pk}:credit"
    wallet = wallet_of(order.learner)
    treasury = platform_account(AccountKind.PLATFORM_TREASURY)
    transfer = post_transfer_locked(
        TransferSpec(
            kind=TransferKind.TOP_UP,
            idempotency_key=key,
            legs=((treasury.pk, -order.tokens), (wallet.pk, order.tokens)),
            memo=f"Top-up order {order.pk}: {order.tokens:,} tokens ({order.pack} pack)",
            created_at=at,
        )
    )
    order.status = OrderStatus.PAID
    order.transfer = transfer
    order.paid_at = transfer.created_at
    order.provider_payment_ref = payment_ref[:255]
    order.failure_reason = ""
    order.save(update_fields=["status", "transfer", "paid_at", "provider_payment_ref", "failure_reason"])
    return order


def pay_order_with_card(*, order: TopUpOrder, card_number: str) -> TopUpOrder:
    """Pay a pending order on the site's own card form (the demo provider): paid, its tokens
    credited and the order marked paid in one transaction; declined, the order failed with the
    reason and nothing credited. A second submit of a decided order returns it unchanged. A
    malformed number is a ``ValueError`` with the reason (the order stays pending)."""
    provider = provider_of(order)
    if provider.hosted:
        raise PaymentFailed(f"Order {order.pk} is paid on {provider.name}'s page, not with a card here.")
    try:
        with transaction.atomic(durable=True):
            locked = TopUpOrder.objects.select_for_update().select_related("learner").get(pk=order.pk)
            if locked.status != OrderStatus.PENDING:
                return locked
            result = provider.charge_card(locked, card_number=card_number)
            if not result.paid:
                locked.status = OrderStatus.FAILED
                locked.failure_reason = result.reason[:255]
                locked.save(update_fields=["status", "failure_reason"])
                return locked
            return _credit_order_locked(locked, payment_ref=result.payment_ref)
    except IntegrityError:
        # A racing submit credited it first (the credit key is unique): read what it wrote.
        order.refresh_from_db()
        if order.status != OrderStatus.PAID:
            raise
        return order


# --- webhooks ------------------------------------------------------------------------------------

COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
ASYNC_FAILED = "checkout.session.async_payment_failed"
EXPIRED = "checkout.session.expired"


@dataclass(frozen=True)
class WebhookOutcome:
    event: PaymentEvent
    replay: bool


def handle_webhook(*, provider: str, payload: bytes, signature: str) -> WebhookOutcome:
    """Verify one webhook and act on it once per event id: ``WebhookRejected`` (nothing written)
    for a bad signature or body; a replayed event id returns the first outcome and does nothing.
    Every verified event is recorded (``PaymentEvent``) with what it did, unknown types too."""
    verified = get_provider(provider).parse_webhook(payload=payload, signature=signature)
    if not verified.event_id:
        raise WebhookRejected("The webhook event has no id.")

    def first() -> PaymentEvent | None:
        return PaymentEvent.objects.filter(provider=provider, event_id=verified.event_id).first()

    existing = first()
    if existing is not None:
        return WebhookOutcome(existing, replay=True)
    try:
        with transaction.atomic(durable=True):
            event = PaymentEvent.objects.create(
                provider=provider, event_id=verified.event_id, event_type=verified.event_type[:64]
            )
            order, outcome = _apply_event(provider, verified)
            event.order = order
            event.outcome = outcome[:255]
            event.save(update_fields=["order", "outcome"])
            return WebhookOutcome(event, replay=False)
    except IntegrityError:
        # The same event delivered twice at once: the loser rolls back whole.
        existing = first()
        if existing is None:
            raise
        return WebhookOutcome(existing, replay=True)


def _apply_event(provider: str, event: WebhookEvent) -> tuple[TopUpOrder | None, str]:
    handled = (COMPLETED, ASYNC_SUCCEEDED, ASYNC_FAILED, EXPIRED)
    if event.event_type not in handled:
        return None, f"ignored: {event.event_type} is not an event this site acts on"
    if event.order_id is None:
        return None, "ignored: the session names no order"
    order = TopUpOrder.objects.select_for_update().select_related("learner").filter(pk=event.order_id).first()
    if order is None or order.provider != provider:
        return None, f"ignored: no {provider} order {event.order_id}"
    if order.provider_session_id and event.session_id and event.session_id != order.provider_session_id:
        return order, f"refused: session {event.session_id} is not the order's {order.provider_session_id}"
    if order.status != OrderStatus.PENDING:
        return order, f"ignored: the order is already {order.status}"

    if event.event_type in (COMPLETED, ASYNC_SUCCEEDED):
        if event.payment_status != "paid":
            return order, f"awaiting payment: payment_status is {event.payment_status or 'missing'}"
        expected = minor_units(order.money_amount)
        if event.amount_minor != expected or event.currency.upper() != order.currency.upper():
            paid = "no amount" if event.amount_minor is None else f"{event.amount_minor} {event.currency}"
            reason = f"refused: paid {paid} (minor units) but the order is {expected} {order.currency}"
            order.failure_reason = reason[:255]
            order.save(update_fields=["failure_reason"])
            return order, reason
        _credit_order_locked(order, payment_ref=event.payment_ref or event.session_id)
        return order, f"credited {order.tokens} tokens"
    if event.event_type == EXPIRED:
        order.status = OrderStatus.CANCELED
        order.failure_reason = "The checkout expired before it was paid."
        order.save(update_fields=["status", "failure_reason"])
        return order, "canceled: the checkout expired"
    order.status = OrderStatus.FAILED
    order.failure_reason = "The payment did not go through."
    order.save(update_fields=["status", "failure_reason"])
    return order, "failed: the asynchronous payment failed"


# --- refunds -------------------------------------------------------------------------------------


def refund_top_up(*, order: TopUpOrder, by: AbstractBaseUser | None = None) -> TopUpOrder:
    """Give a paid top-up back (staff): its tokens leave the wallet for the treasury
    (TOP_UP_REFUND, ``order:<id>:refund``) only while the wallet still holds them all, the order
    is marked refunded, and the provider refunds the money, all in one transaction (the
    provider's refund is idempotent by the same key, so a retry after a failure is safe)."""
    with transaction.atomic(durable=True):
        locked = TopUpOrder.objects.select_for_update().select_related("learner__user").get(pk=order.pk)
        if locked.status == OrderStatus.REFUNDED:
            return locked
        if locked.status != OrderStatus.PAID:
            raise RefundRefused(
                f"Order {locked.pk} is {locked.get_status_display().lower()}: "
                "only a paid order can be refunded."
            )
        wallet = Account.objects.select_for_update().get(pk=wallet_of(locked.learner).pk)
        if wallet.balance_tokens < locked.tokens:
            raise RefundRefused(
                f"Order {locked.pk} added {locked.tokens:,} tokens but the wallet of "
                f"{locked.learner.user.get_username()} holds {wallet.balance_tokens:,}: "
                f"only unspent tokens can be refunded."
            )
        treasury = platform_account(AccountKind.PLATFORM_TREASURY)
        who = f" by {by.get_username()}" if by is not None else ""
        transfer = post_transfer_locked(
            TransferSpec(
                kind=TransferKind.TOP_UP_REFUND,
                idempotency_key=f"order:{locked.pk}:refund",
                legs=((wallet.pk, -locked.tokens), (treasury.pk, locked.tokens)),
                memo=f"Refund of top-up order {locked.pk}{who}"[:255],
            )
        )
        # Last: a provider that refuses rolls the ledger back; one that refunded and then sees
        # this transaction fail is asked again on the retry with the same idempotency key.
        reference = provider_of(locked).refund(locked)
        locked.status = OrderStatus.REFUNDED
        locked.refund_transfer = transfer
        locked.provider_payment_ref = f"{locked.provider_payment_ref} · refund {reference}"[:255]
        locked.save(update_fields=["status", "refund_transfer", "provider_payment_ref"])
        return locked
