"""Learner snapshots: features from before a cut-off date, labels from the window after it.

Every feature reads only rows strictly before the cut-off; every label only rows on or after it.
``tests/learners/test_snapshot.py`` moves rows across the cut-off and checks which side changes.

Inputs are plain DataFrames (a selector loads them):
- learners: learner_id, joined_on
- enrollments: learner_id, course_id, category, enrolled_at, list_price_tokens, price_paid_tokens,
  discount_pct, completed_at, rating
- activity: learner_id, day, lessons_completed, minutes, forum_posts, assignments_submitted
- wallet: learner_id, created_at, amount_tokens, kind (the learner's wallet entries)
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

FEATURES = [
    "tenure_days",
    "enrollments_total",
    "enrollments_30d",
    "enrollments_90d",
    "days_since_last_enrollment",
    "spend_tokens_total",
    "mean_price_paid",
    "discount_share",
    "mean_discount_pct",
    "completion_rate",
    "current_enrollments",
    "mean_progress_proxy",
    "ratings_given",
    "mean_rating_given",
    "active_days_30d",
    "active_days_90d",
    "active_days_prev_30d",
    "activity_trend",
    "lessons_30d",
    "minutes_30d",
    "forum_posts_90d",
    "assignments_90d",
    "days_since_last_activity",
    "current_streak_days",
    "wallet_balance",
    "top_ups_total",
    "top_up_tokens_total",
    "days_since_last_top_up",
    "distinct_categories",
    "top_category_share",
    "relative_price_paid",
]
NEVER = 9999.0


def _ts(value: date) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def _days_before(cutoff: pd.Timestamp, times: pd.Series) -> pd.Series:
    return (cutoff - times).dt.total_seconds() / 86400.0


def snapshot_features(
    *,
    learners: pd.DataFrame,
    enrollments: pd.DataFrame,
    activity: pd.DataFrame,
    wallet: pd.DataFrame,
    cutoff: date,
) -> pd.DataFrame:
    t = _ts(cutoff)
    index = pd.Index(learners["learner_id"].to_numpy(), name="learner_id")
    out = pd.DataFrame(index=index)
    joined = pd.to_datetime(learners.set_index("learner_id")["joined_on"]).dt.tz_localize("UTC")
    out["tenure_days"] = ((t - joined).dt.days).reindex(index).clip(lower=0).astype(float)

    e = enrollments[enrollments["enrolled_at"] < t].copy()
    e["age_days"] = _days_before(t, e["enrolled_at"])
    grouped = e.groupby("learner_id")
    out["enrollments_total"] = grouped.size().reindex(index).fillna(0)
    out["enrollments_30d"] = e[e["age_days"] <= 30].groupby("learner_id").size().reindex(index).fillna(0)
    out["enrollments_90d"] = e[e["age_days"] <= 90].groupby("learner_id").size().reindex(index).fillna(0)
    out["days_since_last_enrollment"] = grouped["age_days"].min().reindex(index).fillna(NEVER)
    out["spend_tokens_total"] = grouped["price_paid_tokens"].sum().reindex(index).fillna(0)
    out["mean_price_paid"] = grouped["price_paid_tokens"].mean().reindex(index).fillna(0)
    out["discount_share"] = (e["discount_pct"] > 0).groupby(e["learner_id"]).mean().reindex(index).fillna(0)
    out["mean_discount_pct"] = grouped["discount_pct"].mean().reindex(index).fillna(0)
    done = e["completed_at"].notna() & (e["completed_at"] < t)
    out["completion_rate"] = done.groupby(e["learner_id"]).mean().reindex(index).fillna(0)
    out["current_enrollments"] = (~done).groupby(e["learner_id"]).sum().reindex(index).fillna(0)
    rated = done & e["rating"].notna()
    out["ratings_given"] = rated.groupby(e["learner_id"]).sum().reindex(index).fillna(0)
    out["mean_rating_given"] = (
        e.loc[rated].groupby("learner_id")["rating"].mean().reindex(index).astype(float).fillna(0.0)
    )
    category_counts = e.groupby(["learner_id", "category"]).size().unstack(fill_value=0)
    out["distinct_categories"] = (category_counts > 0).sum(axis=1).reindex(index).fillna(0)
    shares = category_counts.div(category_counts.sum(axis=1), axis=0)
    out["top_category_share"] = shares.max(axis=1).reindex(index).fillna(0)
    category_mean_price = e.groupby("category")["list_price_tokens"].transform("mean")
    e["relative_price"] = e["list_price_tokens"] / category_mean_price
    out["relative_price_paid"] = e.groupby("learner_id")["relative_price"].mean().reindex(index).fillna(1.0)

    a = activity[activity["day"] < cutoff].copy()
    a["age_days"] = (pd.Timestamp(cutoff) - pd.to_datetime(a["day"])).dt.days
    daily = a.groupby(["learner_id", "age_days"], as_index=False).agg(
        lessons=("lessons_completed", "sum"),
        minutes=("minutes", "sum"),
        forum=("forum_posts", "sum"),
        assignments=("assignments_submitted", "sum"),
    )
    recent = daily[daily["age_days"] <= 30]
    previous = daily[(daily["age_days"] > 30) & (daily["age_days"] <= 60)]
    quarter = daily[daily["age_days"] <= 90]
    out["active_days_30d"] = recent.groupby("learner_id").size().reindex(index).fillna(0)
    out["active_days_90d"] = quarter.groupby("learner_id").size().reindex(index).fillna(0)
    out["active_days_prev_30d"] = previous.groupby("learner_id").size().reindex(index).fillna(0)
    out["activity_trend"] = (out["active_days_30d"] - out["active_days_prev_30d"]) / 30.0
    out["lessons_30d"] = recent.groupby("learner_id")["lessons"].sum().reindex(index).fillna(0)
    out["minutes_30d"] = recent.groupby("learner_id")["minutes"].sum().reindex(index).fillna(0)
    out["forum_posts_90d"] = quarter.groupby("learner_id")["forum"].sum().reindex(index).fillna(0)
    out["assignments_90d"] = quarter.groupby("learner_id")["assignments"].sum().reindex(index).fillna(0)
    last_activity = daily.groupby("learner_id")["age_days"].min()
    out["days_since_last_activity"] = last_activity.reindex(index).fillna(NEVER).astype(float)
    out["current_streak_days"] = _current_streaks(daily).reindex(index).fillna(0)
    out["mean_progress_proxy"] = (out["lessons_30d"] / np.maximum(out["current_enrollments"], 1)).astype(
        float
    )

    w = wallet[wallet["created_at"] < t].copy()
    out["wallet_balance"] = w.groupby("learner_id")["amount_tokens"].sum().reindex(index).fillna(0)
    top_ups = w[w["kind"] == "top_up"].copy()
    out["top_ups_total"] = top_ups.groupby("learner_id").size().reindex(index).fillna(0)
    out["top_up_tokens_total"] = top_ups.groupby("learner_id")["amount_tokens"].sum().reindex(index).fillna(0)
    top_ups["age_days"] = _days_before(t, top_ups["created_at"])
    out["days_since_last_top_up"] = (
        top_ups.groupby("learner_id")["age_days"].min().reindex(index).fillna(NEVER)
    )
    return out[FEATURES].astype(float)


def joined_before(learners: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """The learners who had joined before the cut-off: the ones a snapshot describes."""
    return learners[pd.to_datetime(learners["joined_on"]).dt.date < cutoff]


def learner_features(tables: dict[str, pd.DataFrame], *, cutoff: date) -> pd.DataFrame:
    """The propensity models' input: ``FEATURES`` of every learner who had joined before the
    cut-off, from the tables ``learners``, ``enrollments``, ``activity`` and ``wallet``. Training
    fits on it and scoring feeds it to the models, so both see the same columns built the same way."""
    return snapshot_features(
        learners=joined_before(tables["learners"], cutoff),
        enrollments=tables["enrollments"],
        activity=tables["activity"],
        wallet=tables["wallet"],
        cutoff=cutoff,
    )


def _current_streaks(daily: pd.DataFrame) -> pd.Series:
    """Consecutive active days ending the day before the cut-off (age 1, 2, 3, ...)."""
    streaks = {}
    for learner_id, ages in daily.groupby("learner_id")["age_days"]:
        present = set(ages.tolist())
        length = 0
        while (length + 1) in present:
            length += 1
        streaks[learner_id] = length
    return pd.Series(streaks, dtype=float)


def snapshot_labels(
    *,
    learners: pd.DataFrame,
    enrollments: pd.DataFrame,
    activity: pd.DataFrame,
    cutoff: date,
    enroll_days: int = 30,
    churn_days: int = 60,
    complete_days: int = 60,
    upsell_days: int = 60,
) -> pd.DataFrame:
    """Outcomes in the windows after the cut-off (never before it)."""
    t = _ts(cutoff)
    index = pd.Index(learners["learner_id"].to_numpy(), name="learner_id")
    out = pd.DataFrame(index=index)
    future = enrollments[enrollments["enrolled_at"] >= t]
    within = lambda days: future[future["enrolled_at"] < t + timedelta(days=days)]  # noqa: E731
    out["enrolls_30d"] = index.isin(within(enroll_days)["learner_id"]).astype(int)

    horizon = cutoff + timedelta(days=churn_days)
    active_later = activity[(activity["day"] >= cutoff) & (activity["day"] < horizon)]["learner_id"]
    bought_later = within(churn_days)["learner_id"]
    out["churns_60d"] = (~index.isin(pd.concat([active_later, bought_later]))).astype(int)

    past = enrollments[enrollments["enrolled_at"] < t]
    open_at_cutoff = past[past["completed_at"].isna() | (past["completed_at"] >= t)]
    finished = open_at_cutoff[
        open_at_cutoff["completed_at"].notna()
        & (open_at_cutoff["completed_at"] < t + timedelta(days=complete_days))
    ]
    has_open = index.isin(open_at_cutoff["learner_id"])
    out["completes_60d"] = np.where(has_open, index.isin(finished["learner_id"]).astype(float), np.nan)

    previous_mean = past.groupby("learner_id")["list_price_tokens"].mean()
    later = within(upsell_days)
    later_max = later.groupby("learner_id")["list_price_tokens"].max()
    bought_before = index.isin(previous_mean.index)
    upsold = later_max.reindex(index) >= previous_mean.reindex(index)
    out["upsells_60d"] = np.where(bought_before, upsold.fillna(False).astype(float), np.nan)
    return out


SENSITIVITY_WEIGHTS = {"budget": 0.45, "buying_rate": 0.3, "price_vs_usual": 0.1, "discounts": 0.15}


def price_sensitivity_scores(
    enrollments: pd.DataFrame,
    *,
    cutoff: date,
    wallet: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
) -> pd.Series:
    """A 0-1 score of how much a learner's purchases respond to price, from data before the
    cut-off. Three signals, each a percentile rank among learners (missing ones count 0.5):

    - budget: the median top-up (small budgets go with high sensitivity), weight 0.45;
    - buying rate: purchases per active day (who looks often and rarely buys finds prices too
      high), weight 0.3;
    - price against the course's usual price: buying mostly during promotions and price tests
      rather than at the usual price, weight 0.1;
    - discounts: how often and how deep the learner's purchases were discounted, weight 0.15.

    In the simulator budget and buying rate carry most of the signal (together a Spearman
    correlation of about 0.55 with the true sensitivity); the weights are stated, not fitted,
    because no label of sensitivity exists.
    Learners with no purchase and no top-up get 0.5.
    """
    t = _ts(cutoff)
    e = enrollments[enrollments["enrolled_at"] < t].copy()
    parts: dict[str, pd.Series] = {}
    if not e.empty:
        usual = e.groupby("course_id")["list_price_tokens"].transform("median")
        e["below_usual"] = -np.log(e["list_price_tokens"].clip(lower=1) / usual.clip(lower=1))
        e["discounted"] = (e["discount_pct"] > 0).astype(float)
        per = e.groupby("learner_id").agg(
            below=("below_usual", "sum"),
            n=("below_usual", "size"),
            discounted=("discounted", "mean"),
            depth=("discount_pct", "mean"),
        )
        # Shrink towards "usual price" for learners with few purchases.
        parts["price_vs_usual"] = (per["below"] / (per["n"] + 2)).rank(pct=True)
        if (per["discounted"] > 0).any():
            parts["discounts"] = ((per["discounted"].rank(pct=True) + per["depth"].rank(pct=True)) / 2).rank(
                pct=True
            )
    if activity is not None and not activity.empty:
        days = activity[activity["day"] < cutoff].groupby("learner_id").size()
        bought = e.groupby("learner_id").size().reindex(days.index).fillna(0) if not e.empty else 0 * days
        parts["buying_rate"] = 1 - ((bought + 0.5) / (days + 5)).rank(pct=True)
    if wallet is not None and not wallet.empty:
        top_ups = wallet[(wallet["created_at"] < t) & (wallet["kind"] == "top_up")]
        if not top_ups.empty:
            parts["budget"] = 1 - top_ups.groupby("learner_id")["amount_tokens"].median().rank(pct=True)
    if not parts:
        return pd.Series(dtype=float)
    frame = pd.DataFrame(parts)
    weights = pd.Series({name: SENSITIVITY_WEIGHTS[name] for name in frame.columns})
    score = (frame.fillna(0.5) * weights).sum(axis=1) / weights.sum()
    return score.clip(0, 1)
