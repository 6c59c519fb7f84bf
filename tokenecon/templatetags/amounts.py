"""One way to write tokens and money on every page: ``{% load amounts %}``.

``{{ 1400|tokens }}`` -> ``1,400 tokens``; ``{{ -9616|signed_tokens }}`` -> ``−9,616 tokens``;
``{{ balance_money|money }}`` -> ``2,457.50 USD`` (the configured currency).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.conf import settings

register = template.Library()


def _whole(value) -> int | None:
    try:
        return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (ArithmeticError, ValueError, TypeError):
        return None


@register.filter
def tokens(value) -> str:
    """A whole number of tokens with thousands separators and the unit."""
    amount = _whole(value)
    if amount is None:
        return "–"
    return f"{amount:,} token{'' if abs(amount) == 1 else 's'}".replace("-", "−")


@register.filter
def signed_tokens(value) -> str:
    """A change in tokens, always with its sign (``+1,400 tokens``, ``−9,616 tokens``, ``0 tokens``)."""
    amount = _whole(value)
    if amount is None:
        return "–"
    sign = "+" if amount > 0 else ""
    return sign + tokens(amount)


@register.filter
def money(value) -> str:
    """An amount of money with two decimals, thousands separators and the configured currency."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (ArithmeticError, ValueError, TypeError):
        return "–"
    return f"{amount:,.2f} {settings.TOKEN_CURRENCY}".replace("-", "−")
