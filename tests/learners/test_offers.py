import numpy as np

from learners.ml.offers import (
    choose_discounts,
    estimate_discount_response,
    expected_incremental_revenue,
    fixed_rule_discounts,
)


def test_no_discount_for_learners_who_buy_anyway_or_do_not_respond():
    d, gain = choose_discounts(
        p0=np.array([0.95, 0.3, 0.3]),
        sensitivity=np.array([0.5, 0.0, 1.0]),
        price=np.array([100, 100, 100]),
        beta=8.0,
    )
    assert d[0] == 0.0  # would buy anyway
    assert d[1] == 0.0  # a discount would not move them
    assert d[2] > 0.0 and gain[2] > 0
    assert (gain >= 0).all()


def test_policy_beats_the_seed_rule_when_the_response_model_is_right():
    rng = np.random.default_rng(0)
    p0 = rng.beta(1.5, 6, 5000)
    sensitivity = rng.random(5000)
    price = rng.uniform(30, 200, 5000)
    beta = 6.0
    ours, _ = choose_discounts(p0=p0, sensitivity=sensitivity, price=price, beta=beta)
    rule = fixed_rule_discounts(propensity=p0, sensitivity=sensitivity)
    ours_gain = expected_incremental_revenue(
        p0=p0, sensitivity=sensitivity, price=price, discount=ours, beta=beta
    )
    rule_gain = expected_incremental_revenue(
        p0=p0, sensitivity=sensitivity, price=price, discount=rule, beta=beta
    )
    assert ours_gain.sum() > rule_gain.sum()


def test_discount_response_is_recovered_from_random_offers():
    rng = np.random.default_rng(1)
    n = 40000
    baseline = rng.normal(-2, 1, n)
    sensitivity = rng.random(n)
    discount = rng.choice([0, 0.05, 0.1, 0.2, 0.3], n)
    p = 1 / (1 + np.exp(-(baseline + 5.0 * sensitivity * discount)))
    bought = rng.random(n) < p
    beta = estimate_discount_response(
        bought=bought, discount=discount, sensitivity=sensitivity, baseline_logit=baseline
    )
    assert abs(beta - 5.0) < 0.5
