"""Discount offers chosen to raise expected token revenue, not just to give discounts.

A discount d on a course of price P changes the chance to buy from p(0) to p(d); the platform
earns p(d)·P·(1-d) instead of p(0)·P. The policy picks, per learner and course, the step of the
ladder with the largest expected incremental revenue p(d)·P·(1-d) - p(0)·P, which is zero for no
discount: learners who would buy anyway get none, and so do learners no discount would move.

The response to a discount is a shift on the log-odds scale proportional to the learner's price
sensitivity: logit p(d) = logit p(0) + beta · sensitivity · d, with beta estimated from past
discounted and undiscounted offers (``estimate_discount_response``).
"""

from __future__ import annotations

import numpy as np

LADDER = np.array([0.0, 0.05, 0.10, 0.15, 0.20, 0.30])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def purchase_probability(
    p0: np.ndarray, sensitivity: np.ndarray, discount: np.ndarray, beta: float
) -> np.ndarray:
    shifted = 1 / (1 + np.exp(-(_logit(p0) + beta * sensitivity * discount)))
    # No discount, no change: exactly p0, so "no offer" is worth exactly zero extra revenue.
    return np.where(discount == 0, p0, shifted)


def choose_discounts(
    *, p0: np.ndarray, sensitivity: np.ndarray, price: np.ndarray, beta: float, ladder: np.ndarray = LADDER
) -> tuple[np.ndarray, np.ndarray]:
    """Best discount per row and its expected incremental revenue (tokens)."""
    p0, sensitivity, price = (np.asarray(a, dtype=float) for a in (p0, sensitivity, price))
    d = ladder[None, :]
    p = purchase_probability(p0[:, None], sensitivity[:, None], d, beta)
    gain = p * price[:, None] * (1 - d) - p0[:, None] * price[:, None]
    best = np.argmax(gain, axis=1)
    return ladder[best], gain[np.arange(len(p0)), best]


def fixed_rule_discounts(*, propensity: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
    """The fixed discount rule the model policy is compared with: 5% for hot (>= 0.7), 10% for
    warm (>= 0.5), 20% otherwise; +10% if price sensitive."""
    propensity = np.asarray(propensity, dtype=float)
    base = np.where(propensity >= 0.7, 0.05, np.where(propensity >= 0.5, 0.10, 0.20))
    return base + np.where(np.asarray(sensitivity) >= 0.7, 0.10, 0.0)


def expected_incremental_revenue(
    *, p0: np.ndarray, sensitivity: np.ndarray, price: np.ndarray, discount: np.ndarray, beta: float
) -> np.ndarray:
    p = purchase_probability(
        np.asarray(p0, float), np.asarray(sensitivity, float), np.asarray(discount, float), beta
    )
    return p * price * (1 - discount) - np.asarray(p0, float) * price


def estimate_discount_response(
    *, bought: np.ndarray, discount: np.ndarray, sensitivity: np.ndarray, baseline_logit: np.ndarray
) -> float:
    """Maximum-likelihood beta from offers with known outcomes, holding each offer's baseline
    log-odds fixed (one-parameter logistic regression with an offset, by Newton's method)."""
    x = np.asarray(sensitivity, float) * np.asarray(discount, float)
    y = np.asarray(bought, float)
    offset = np.asarray(baseline_logit, float)
    beta = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(offset + beta * x)))
        gradient = np.sum(x * (y - p))
        hessian = np.sum(x * x * p * (1 - p)) + 1e-9
        step = gradient / hessian
        beta += step
        if abs(step) < 1e-10:
            break
    return float(beta)


def response_slope(*, elasticity: np.ndarray, sensitivity_score: np.ndarray) -> np.ndarray:
    """How far a discount moves a learner's log-odds of buying a course, per unit of discount.

    In a logit demand model the log-odds fall by b·price/ref for each unit of price (relative to
    what learners expect), and the course's own-price elasticity at low purchase chances is about
    -b·price/ref; so -elasticity is the average learner's slope. The learner's price-sensitivity
    score (a percentile, mean 0.5) scales it between half and one and a half times that.
    """
    return np.maximum(-np.asarray(elasticity, float), 0.0) * (0.5 + np.asarray(sensitivity_score, float))


def model_policy(
    *, p0: np.ndarray, elasticity: np.ndarray, sensitivity_score: np.ndarray, price: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Discount, expected incremental tokens and the chance to buy with the offer, per row."""
    slope = response_slope(elasticity=elasticity, sensitivity_score=sensitivity_score)
    discount, gain = choose_discounts(p0=p0, sensitivity=slope, price=price, beta=1.0)
    return discount, gain, purchase_probability(np.asarray(p0, float), slope, discount, 1.0)
