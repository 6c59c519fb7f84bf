"""The demo provider: pays at once on the site's own card form, for demos and tests.

``4000 0000 0000 0002`` declines; any other well-formed 16-digit number (Luhn check) pays. The
card number is never stored: the payment reference keeps its last four digits only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenecon.payments.base import CardResult, Checkout, PaymentProvider

if TYPE_CHECKING:
    from tokenecon.models import TopUpOrder

DECLINE_CARD = "4000000000000002"
DECLINE_REASON = "Your card was declined (the demo decline card)."


def normalise_card_number(text: str) -> str:
    """The digits of a typed card number (spaces and dashes dropped), or ``ValueError`` with the
    reason when it is not 16 ASCII digits passing the Luhn check."""
    digits = "".join(ch for ch in text if ch not in " -")
    if len(digits) != 16 or not all("0" <= ch <= "9" for ch in digits):
        raise ValueError("Enter the card's 16 digits, like 4242 4242 4242 4242.")
    if not luhn_valid(digits):
        raise ValueError("This card number has a typo: its check digit does not match.")
    return digits


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class DemoProvider(PaymentProvider):
    name = "demo"
    hosted = False

    def create_checkout(self, order: TopUpOrder, *, success_url: str, cancel_url: str) -> Checkout:
        return Checkout(session_id=f"demo_{order.pk}")

    def charge_card(self, order: TopUpOrder, *, card_number: str) -> CardResult:
        digits = normalise_card_number(card_number)
        if digits == DECLINE_CARD:
            return CardResult(paid=False, reason=DECLINE_REASON)
        return CardResult(paid=True, payment_ref=f"demo card ending {digits[-4:]}")

    def refund(self, order: TopUpOrder) -> str:
        return f"demo refund of order {order.pk}"
