"""Bundles: pairs from co-enrollment, and a discount only where the demand model says it pays."""

import numpy as np
import pandas as pd

from pricing.ml.bundles import LADDER, best_bundles, co_enrollment_pairs


def _enrollments(groups: dict[tuple[int, ...], int]) -> pd.DataFrame:
    """``{(course, course, ...): number of learners who took exactly those}``."""
    rows, learner = [], 0
    for courses, learners in groups.items():
        for _ in range(learners):
            learner += 1
            rows.extend((learner, c) for c in courses)
    return pd.DataFrame(rows, columns=["learner_id", "course_id"])


def test_pairs_count_learners_who_took_both_and_keep_the_strongest():
    frame = _enrollments({(1, 2): 6, (1, 3): 5, (1, 4): 2, (1,): 7, (2,): 4})
    pairs = co_enrollment_pairs(frame, min_together=5, per_course=1)
    first = pairs[pairs["course_id"] == 1].iloc[0]
    assert (first["partner_id"], first["together"], first["buyers"]) == (2, 6, 20)
    assert first["share"] == 6 / 20
    # Course 4 was taken with 1 by only two learners: below the threshold, no pair.
    assert 4 not in set(pairs["course_id"]) | set(pairs["partner_id"])
    # Duplicate rows (a learner listed twice) count once.
    again = co_enrollment_pairs(pd.concat([frame, frame]), min_together=5, per_course=1)
    pd.testing.assert_frame_equal(pairs, again)


def _plan(ratio):
    pairs = co_enrollment_pairs(_enrollments({(1, 2): 30, (1,): 70, (2,): 20}), min_together=5)
    price = pd.Series({1: 100.0, 2: 80.0})
    enrollments_30d = pd.Series({1: 20.0, 2: 10.0})
    return best_bundles(pairs, price=price, enrollments_30d=enrollments_30d, quantity_ratio=ratio)


def test_no_bundle_when_a_lower_price_wins_nobody():
    assert _plan(lambda ids, prices: np.ones(len(ids))).empty


def test_a_bundle_when_the_demand_curve_says_the_discount_pays():
    def elastic(ids, prices):  # demand triples when a price halves
        base = np.where(ids == 1, 100.0, 80.0)
        return (prices / base) ** -1.6

    plan = _plan(elastic)
    assert len(plan) == 1
    bundle = plan.iloc[0]
    assert (bundle["course_id"], bundle["partner_id"], bundle["together"]) == (1, 2, 30)
    assert bundle["discount"] in LADDER
    assert bundle["bundle_price"] == round(180 * (1 - bundle["discount"]))
    assert bundle["gain_30d"] > 0


def test_a_step_the_model_cannot_value_is_never_taken():
    def untrusted(ids, prices):
        ratio = (prices / np.where(ids == 1, 100.0, 80.0)) ** -1.6
        return np.where(ratio > 1.5, np.nan, ratio)  # deep cuts are outside the model's support

    plan = _plan(untrusted)
    # 15% and 20% off both would cut course 2's extra price below what the model trusts.
    assert len(plan) == 1
    assert plan.iloc[0]["discount"] <= 0.10
