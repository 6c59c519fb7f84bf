"""A coupon purchase's split is whole tokens summing to what the learner paid, for any list price,
discount and funder.

Random coupon purchases in sequence (kinds, funders, scopes, caps, 100% off, refunds) are rules of
the ledger's one state machine, ``tests/tokenecon/test_ledger_properties.py``, with the ledger's
invariants and the coupons' (uses count every redemption within the caps) after every step."""

from hypothesis import given
from hypothesis import strategies as st

from tokenecon.services.enrollment import purchase_legs
from tokenecon.services.rates import split_commission

WALLET, TEACHER, REVENUE, TREASURY = 1, 2, 3, 4


@given(
    list_price=st.integers(1, 10_000),
    off=st.integers(0, 100),
    platform_funded=st.booleans(),
)
def test_a_purchase_split_is_whole_tokens_summing_to_what_was_paid(list_price, off, platform_funded):
    paid = list_price * (100 - off) // 100
    legs = dict(
        purchase_legs(
            wallet_id=WALLET,
            earnings_id=TEACHER,
            revenue_id=REVENUE,
            paid_tokens=paid,
            list_price_tokens=list_price,
            platform_funded=platform_funded,
            treasury_id=TREASURY,
        )
    )
    assert all(isinstance(v, int) and v != 0 for v in legs.values())
    assert sum(legs.values()) == 0
    assert legs.get(WALLET, 0) == -paid
    teacher = legs.get(TEACHER, 0)
    expected = split_commission(paid_tokens=list_price if platform_funded else paid)[0]
    assert teacher == expected
    assert legs.get(REVENUE, 0) >= 0 and legs.get(TREASURY, 0) <= 0
    if not platform_funded:
        assert TREASURY not in legs
