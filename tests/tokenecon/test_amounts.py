"""One formatting of tokens and money for every page."""

from decimal import Decimal

import pytest

from tokenecon.templatetags.amounts import money, signed_tokens, tokens


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1400, "1,400 tokens"), (1, "1 token"), (2457.5, "2,458 tokens"), (-9616, "−9,616 tokens"), (None, "–")],
)
def test_tokens_are_whole_with_thousands_separators_and_their_unit(value, expected):
    assert tokens(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(1400, "+1,400 tokens"), (-9616, "−9,616 tokens"), (0, "0 tokens")]
)
def test_a_change_in_tokens_carries_its_sign(value, expected):
    assert signed_tokens(value) == expected


def test_money_has_two_decimals_separators_and_the_configured_currency(settings):
    settings.TOKEN_CURRENCY = "EUR"
    assert money(Decimal("132802.6")) == "132,802.60 EUR"
    assert money(Decimal("0.1")) == "0.10 EUR"
