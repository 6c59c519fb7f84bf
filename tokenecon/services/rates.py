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


def coupon_price_tokens(
    *, list_price_tokens: int, percent_off: Decimal | None = None, tokens_off: int | None = None
) -> int:
    """Price after a coupon: a percentage off rounded up to a whole token, or a number of tokens
    off; never below 0 (a 100% coupon, or tokens off above the price, makes the course free)."""
    if percent_off is not None:
        pct = Decimal(str(percent_off))
        if pct <= 0 or pct > 100:
            raise InvalidAmount(f"percent_off must be above 0 and at most 100, got {pct}.")
        price = Decimal(list_price_tokens) * (Decimal(100) - pct) / Decimal(100)
        return int(price.to_integral_value(rounding=ROUND_CEILING))
    if tokens_off is None or tokens_off <= 0:
        raise InvalidAmount("A coupon takes a percentage or a positive number of tokens off.")
    return max(0, list_price_tokens - tokens_off)


def split_commission(*, paid_tokens: int) -> tuple[int, int]:
    """Return (teacher_tokens, platform_tokens) for a purchase; they add up to paid_tokens."""
    rate: Decimal = settings.TOKEN_COMMISSION_RATE
    platform = int((Decimal(paid_tokens) * rate).to_integral_value(rounding=ROUND_HALF_UP))
    return paid_tokens - platform, platform


def split_purchase(
    *, list_price_tokens: int, paid_tokens: int, platform_funded: bool = False
) -> tuple[int, int]:
    """(teacher_tokens, platform_tokens) of a purchase; they add up to ``paid_tokens``.

    A discount the teacher funds (an offer, a teacher's coupon) lowers the price the commission is
    taken from. One the platform funds credits the teacher as at list price; the platform's part
    is then what is left, negative when the discount is larger than its commission (the treasury
    pays the difference).
    """
    if not platform_funded:
        return split_commission(paid_tokens=paid_tokens)
    teacher, _ = split_commission(paid_tokens=list_price_tokens)
    return teacher, paid_tokens - teacher


def tokens_to_money(tokens: int) -> Decimal:
    rate: Decimal = settings.TOKEN_TO_MONEY_RATE
    return (Decimal(tokens) * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
