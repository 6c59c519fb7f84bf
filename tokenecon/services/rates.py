"""The one place where token prices, discounts, commission and money value are computed."""

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.conf import settings

from tokenecon.errors import InvalidAmount


def discounted_price_tokens(*, list_price_tokens: int, discount_pct: Decimal | int | str) -> int:
    """Price after a percentage discount, rounded up to a whole token (never below 1)."""
    discount = Decimal(str(discount_pct))
    if discount < 0 or discount >= 100:
        raise InvalidAmount(f"discount_pct must be at least 0 and below 100, got {discount}.")
    price = Decimal(list_price_tokens) * (Decimal(100) - discount) / Decimal(100)
    return max(1, int(price.to_integral_value(rounding=ROUND_CEILING)))


def split_commission(*, paid_tokens: int) -> tuple[int, int]:
    """Return (teacher_tokens, platform_tokens) for a purchase; they add up to paid_tokens."""
    rate: Decimal = settings.TOKEN_COMMISSION_RATE
    platform = int((Decimal(paid_tokens) * rate).to_integral_value(rounding=ROUND_HALF_UP))
    return paid_tokens - platform, platform


def tokens_to_money(tokens: int) -> Decimal:
    rate: Decimal = settings.TOKEN_TO_MONEY_RATE
    return (Decimal(tokens) * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
