"""Bundles for price advice: the catalog's co-enrollment pairs (cached per process) valued on
the production demand model (``pricing.ml.bundles``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db.models import Max

from pricing.ml.bundles import best_bundles, co_enrollment_pairs
from pricing.ml.optimizer import SUPPORT_FACTOR
from pricing.services.model_source import ProductionDemand, course_rows
from tokenecon.models import Enrollment, EnrollmentStatus, Transfer

_PAIRS_CACHE: dict[str, tuple[tuple, pd.DataFrame]] = {}


def clear_pairs_cache() -> None:
    _PAIRS_CACHE.clear()


def catalog_pairs() -> pd.DataFrame:
    """Co-enrollment pairs of the whole catalog, recomputed only when enrollments changed (a
    course page or an ``optimize`` call must not read every enrollment)."""
    # Purchases and refunds both write a transfer: the newest ids (primary-key lookups, not a
    # count over every enrollment) tell whether anything changed.
    signature = (
        Enrollment.objects.aggregate(last=Max("id"))["last"],
        Transfer.objects.aggregate(last=Max("id"))["last"],
    )
    cached = _PAIRS_CACHE.get("pairs")
    if cached is not None and cached[0] == signature:
        return cached[1]
    taken = Enrollment.objects.exclude(status=EnrollmentStatus.REFUNDED)
    frame = pd.DataFrame.from_records(
        list(taken.values_list("learner_id", "course_id")), columns=["learner_id", "course_id"]
    )
    pairs = co_enrollment_pairs(frame)
    _PAIRS_CACHE["pairs"] = (signature, pairs)
    return pairs


def course_bundles(rows: pd.DataFrame, demand: ProductionDemand) -> dict[int, dict]:
    """The best bundle (``pricing.ml.bundles``) for each course in ``rows`` that has one."""
    ids = set(rows["course_id"].astype(int))
    pairs = catalog_pairs()
    pairs = pairs[pairs["course_id"].isin(ids) | pairs["partner_id"].isin(ids)]
    if pairs.empty:
        return {}
    needed = ids | set(pairs["course_id"]) | set(pairs["partner_id"])
    known = rows if needed <= ids else course_rows(demand, sorted(needed))
    known = known.reset_index(drop=True)
    position = pd.Series(np.arange(len(known)), index=known["course_id"].astype(int).to_numpy())
    model = demand.artifact.model
    weekly_now = model.predict_weekly(known)

    lowest = (
        known["observed_min_price"].to_numpy(float) / SUPPORT_FACTOR
        if "observed_min_price" in known
        else None
    )

    def quantity_ratio(course_ids: np.ndarray, prices: np.ndarray) -> np.ndarray:
        at = position.reindex(course_ids).to_numpy()
        sub = known.iloc[at].reset_index(drop=True)
        ratio = model.predict_weekly(sub, prices) / np.maximum(weekly_now[at], 1e-12)
        if lowest is not None:
            # As for prices: the curve is not trusted far below the prices a course has had.
            ratio = np.where(prices < np.nan_to_num(lowest[at], nan=0.0), np.nan, ratio)
        return ratio

    best = best_bundles(
        pairs,
        price=pd.Series(known["price"].to_numpy(float), index=position.index),
        enrollments_30d=pd.Series(weekly_now * 30 / 7, index=position.index),
        quantity_ratio=quantity_ratio,
    )
    codes = dict(zip(known["course_id"].astype(int), known["code"], strict=True))
    prices = dict(zip(known["course_id"].astype(int), known["price"].astype(float), strict=True))
    out: dict[int, dict] = {}
    for r in best.itertuples():
        for me, other in ((int(r.course_id), int(r.partner_id)), (int(r.partner_id), int(r.course_id))):
            if me in ids and (me not in out or out[me]["gain_30d"] < r.gain_30d):
                out[me] = {
                    "partner_id": other,
                    "partner_code": codes[other],
                    "together": int(r.together),
                    "discount": float(r.discount),
                    "bundle_price": float(r.bundle_price),
                    "full_price": prices[me] + prices[other],
                    "gain_30d": float(r.gain_30d),
                }
    return out
