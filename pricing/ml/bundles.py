"""Bundles: courses often taken together, offered as a pair at a discount that the demand model
expects to raise revenue.

Co-enrollment says which pairs belong together: ``c_AB``, the share of A's buyers who also took B.
A bundle of A and B at a discount d off both list prices is offered to the buyers of either. For
a buyer of A, taking B now costs ``p_B' = p_B - d (p_A + p_B)`` more instead of ``p_B``; B's demand
curve (the production model) says how much more often B is taken at that price, and those who
took B anyway now pay less. The bundle's expected effect on revenue per 30 days, both directions:

    n_A c_AB (Q_B(p_B') / Q_B(p_B) p_B' - p_B)  +  n_B c_BA (Q_A(p_A') / Q_A(p_A) p_A' - p_A)

with ``n_A`` A's expected enrollments per 30 days at its price. The best discount of the ladder
is proposed when its effect is positive; otherwise no bundle (a discount that buys no extra
enrollments only gives tokens away).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LADDER = np.array([0.05, 0.10, 0.15, 0.20])


def co_enrollment_pairs(
    enrollments: pd.DataFrame, *, min_together: int = 5, per_course: int = 3
) -> pd.DataFrame:
    """For each course, the partners most often taken by the same learners.

    ``enrollments``: learner_id, course_id (refunds left out by the caller). Returns course_id,
    partner_id, together (learners who took both), buyers (of course_id), share = together / buyers.
    """
    taken = enrollments[["learner_id", "course_id"]].drop_duplicates()
    columns = ["course_id", "partner_id", "together", "buyers", "share"]
    if taken.empty:
        return pd.DataFrame(columns=columns)
    both = taken.merge(taken, on="learner_id", suffixes=("", "_partner"))
    both = both[both["course_id"] != both["course_id_partner"]]
    together = both.groupby(["course_id", "course_id_partner"]).size().rename("together").reset_index()
    together = together[together["together"] >= min_together]
    buyers = taken.groupby("course_id").size()
    together["buyers"] = together["course_id"].map(buyers).to_numpy()
    together["share"] = together["together"] / together["buyers"]
    together = together.rename(columns={"course_id_partner": "partner_id"})
    together = together.sort_values(["course_id", "together", "partner_id"], ascending=[True, False, True])
    return together.groupby("course_id").head(per_course).reset_index(drop=True)[columns]


def best_bundles(
    pairs: pd.DataFrame,
    *,
    price: pd.Series,
    enrollments_30d: pd.Series,
    quantity_ratio,
) -> pd.DataFrame:
    """The best discount per pair (A < B, each pair once) and its expected revenue effect.

    ``price`` and ``enrollments_30d`` are indexed by course id; ``quantity_ratio(course_ids,
    prices)`` returns Q(price) / Q(today's price) per row from the demand model (NaN where the
    model should not be trusted at that price). Returns
    course_id, partner_id, together, discount, bundle_price, gain_30d (pairs with no positive
    step are dropped).
    """
    columns = ["course_id", "partner_id", "together", "discount", "bundle_price", "gain_30d"]
    pairs = pairs[pairs["course_id"].isin(price.index) & pairs["partner_id"].isin(price.index)]
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    share = pairs.set_index(["course_id", "partner_id"])["share"]
    unique = pairs[pairs["course_id"] < pairs["partner_id"]][["course_id", "partner_id", "together"]]
    mirrored = pairs[pairs["course_id"] > pairs["partner_id"]].rename(
        columns={"course_id": "partner_id", "partner_id": "course_id"}
    )[["course_id", "partner_id", "together"]]
    unique = (
        pd.concat([unique, mirrored]).groupby(["course_id", "partner_id"], as_index=False)["together"].max()
    )
    a, b = unique["course_id"].to_numpy(), unique["partner_id"].to_numpy()
    p_a, p_b = price.reindex(a).to_numpy(float), price.reindex(b).to_numpy(float)
    n_a, n_b = enrollments_30d.reindex(a).to_numpy(float), enrollments_30d.reindex(b).to_numpy(float)
    c_ab = share.reindex(pd.MultiIndex.from_arrays([a, b])).fillna(0).to_numpy(float)
    c_ba = share.reindex(pd.MultiIndex.from_arrays([b, a])).fillna(0).to_numpy(float)
    cut = LADDER[None, :] * (p_a + p_b)[:, None]  # pairs x steps
    new_b, new_a = np.maximum(p_b[:, None] - cut, 1.0), np.maximum(p_a[:, None] - cut, 1.0)
    steps = len(LADDER)
    # One model call for every pair, step and direction.
    ratios = quantity_ratio(
        np.concatenate([np.repeat(b, steps), np.repeat(a, steps)]),
        np.concatenate([new_b.ravel(), new_a.ravel()]),
    )
    ratio_b, ratio_a = (
        ratios[: a.size * steps].reshape(-1, steps),
        ratios[a.size * steps :].reshape(-1, steps),
    )
    gains = (n_a * c_ab)[:, None] * (ratio_b * new_b - p_b[:, None]) + (n_b * c_ba)[:, None] * (
        ratio_a * new_a - p_a[:, None]
    )
    gains = np.where(np.isnan(gains), -np.inf, gains)  # a step the model cannot value is never taken
    best = np.argmax(gains, axis=1)
    out = unique.assign(
        discount=LADDER[best],
        bundle_price=np.round((p_a + p_b) * (1 - LADDER[best])),
        gain_30d=gains[np.arange(len(unique)), best],
    )
    return out[out["gain_30d"] > 0].reset_index(drop=True)[columns]
