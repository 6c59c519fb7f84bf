"""Scoring prices against true demand curves (the simulator's), never used to set prices."""

from __future__ import annotations

import numpy as np
import pandas as pd


def true_enrollments_at(curves: pd.DataFrame, course_ids: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """Interpolate each course's true curve (log-log) at the given prices.

    ``curves``: course_id, price, expected_enrollments_30d on a grid per course.
    """
    out = np.full(len(course_ids), np.nan)
    grouped = {cid: g.sort_values("price") for cid, g in curves.groupby("course_id")}
    for i, (cid, price) in enumerate(zip(course_ids, prices, strict=True)):
        g = grouped.get(cid)
        if g is None:
            continue
        x = np.log(g["price"].to_numpy())
        y = np.log(np.maximum(g["expected_enrollments_30d"].to_numpy(), 1e-12))
        out[i] = float(np.exp(np.interp(np.log(price), x, y)))
    return out


def revenue_capture(curves: pd.DataFrame, decisions: pd.DataFrame) -> dict:
    """Revenue under the true curves at recommended prices, against the true optimum.

    ``decisions``: course_id, current_price, recommended_price. The true optimum is the best
    price on the truth's grid (within the platform's bounds, which the grid spans).
    """
    ids = decisions["course_id"].to_numpy()
    q_rec = true_enrollments_at(curves, ids, decisions["recommended_price"].to_numpy(dtype=float))
    q_now = true_enrollments_at(curves, ids, decisions["current_price"].to_numpy(dtype=float))
    revenue_grid = curves.assign(revenue=curves["price"] * curves["expected_enrollments_30d"])
    best = revenue_grid.groupby("course_id")["revenue"].max()
    optimal = best.reindex(ids).to_numpy()
    recommended = q_rec * decisions["recommended_price"].to_numpy(dtype=float)
    current = q_now * decisions["current_price"].to_numpy(dtype=float)
    share = recommended / optimal
    return {
        "courses": int(np.isfinite(share).sum()),
        "median_share_of_optimal": float(np.nanmedian(share)),
        "catalog_share_of_optimal": float(np.nansum(recommended) / np.nansum(optimal)),
        "current_share_of_optimal": float(np.nansum(current) / np.nansum(optimal)),
        "lift_over_current_pct": float((np.nansum(recommended) / np.nansum(current) - 1) * 100),
        "share_p10": float(np.nanquantile(share, 0.1)),
    }
