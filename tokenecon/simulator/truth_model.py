"""The simulator's stored ground truth: its latent parameters, their exact formulas, and its file.

``Truth`` holds what a run leaves behind (demand weights, utilities, learner probabilities, offer
inputs) and computes true demand, elasticity, the revenue optimum and offer response from them
exactly (see MODEL.md). ``save_truth`` and ``load_simulation_truth`` own the file
(``settings.ARTIFACTS_DIR / "simulator" / "truth.joblib"`` unless a path is given): its format
version and the in-process cache of what was read. ``truth_computation`` computes a ``Truth`` at
the end of a run; ``truth_queries`` answers questions from a stored one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import joblib
import numpy as np
from django.conf import settings

from tokenecon.simulator.config import SENSITIVITY_LEVELS

TRUTH_VERSION = 1
HORIZON_DAYS = 30
CHURN_DAYS = 60
GRID_POINTS = 60


def default_truth_path() -> Path:
    """Where a run saves its truth unless told otherwise: ``SIMULATOR_TRUTH_PATH`` or the artifacts."""
    configured = getattr(settings, "SIMULATOR_TRUTH_PATH", None)
    return Path(configured) if configured else Path(settings.ARTIFACTS_DIR) / "simulator" / "truth.joblib"


@dataclass
class Truth:
    """Everything saved after a run. Arrays are indexed by course or learner number."""

    version: int
    seed: int
    start_date: date
    end_date: date
    price_min: int
    price_max: int
    categories: tuple[str, ...]
    category_coefficient: np.ndarray
    course_code: np.ndarray
    course_category: np.ndarray
    course_utility: np.ndarray
    course_reference_price: np.ndarray
    course_price_at_end: np.ndarray
    demand_weight: np.ndarray  # Z[j, l]
    learner_external_id: np.ndarray
    learner_sensitivity: np.ndarray
    learner_p_enroll_30d: np.ndarray
    learner_p_churn_60d: np.ndarray
    learner_p_complete_60d: np.ndarray  # NaN without a course in progress
    learner_current_course: np.ndarray  # course number of the course in progress, -1 for none
    learner_state: dict
    browse_scale: float
    # Optional parts: None where a run did not compute them (no cut-off with truth_cutoff_days 0).
    # Learner truth at the forward cut-off (start of day ``cutoff_day``, date ``cutoff_date``):
    # arrays by learner number: joined, alive, p_enroll_30d, p_churn_60d, p_complete_60d,
    # current_course (see ``learner_probabilities``).
    cutoff_day: int | None = None
    cutoff_date: date | None = None
    cutoff_learners: dict | None = None
    # For the true response to an offer over the 30 days after the end (``offer_probability``).
    offer_expected_active: np.ndarray | None = None  # (learners, 30) E[active] per day, float32
    offer_consider: np.ndarray | None = None  # (courses, 30) share of its category's looks, float32
    learner_interest: np.ndarray | None = None  # (learners, categories)
    learner_browse: np.ndarray | None = None  # courses considered per active day (browse scale in)
    learner_owned_keys: np.ndarray | None = None  # sorted learner * n_courses + course, at the end

    # Offers -----------------------------------------------------------------------------------
    def offer_probability(
        self,
        learners: np.ndarray,
        courses: np.ndarray,
        discounts: np.ndarray | float,
        prices: np.ndarray | None = None,
        *,
        block: int = 200_000,
    ) -> np.ndarray:
        """P(learner buys course within 30 days after the end | offered ``discounts`` off ``prices``).

        By learner and course number (pairs, broadcast). ``prices`` defaults to the price at the
        end of the run. ``P = 1 - exp(-K sigmoid(u))`` with ``u = v_j - b_c s_l price (1-d) / ref_j``
        and ``K = browse_l interest_l[c_j] sum_t E[active_l,t] consider_j,t`` (expected looks at j);
        0 for a course the learner owns (or had refunded) and for a learner who has left.
        """
        if self.offer_expected_active is None:
            raise ValueError("This truth file predates offer truth: run `manage.py simulate` again.")
        learners, courses, discounts = np.broadcast_arrays(
            np.asarray(learners, dtype=np.int64),
            np.asarray(courses, dtype=np.int64),
            np.asarray(discounts, dtype=float),
        )
        shape = learners.shape
        learners, courses, discounts = learners.ravel(), courses.ravel(), discounts.ravel()
        if prices is None:
            price = self.course_price_at_end[courses].astype(float)
        else:
            price = np.broadcast_to(np.asarray(prices, dtype=float), shape).ravel()
        n_c = len(self.course_code)
        out = np.zeros(len(learners))
        for start in range(0, len(learners), block):
            sl = slice(start, start + block)
            ll, cc = learners[sl], courses[sl]
            category = self.course_category[cc]
            looks = np.einsum(
                "ij,ij->i", self.offer_expected_active[ll], self.offer_consider[cc], dtype=float
            )
            k = self.learner_browse[ll].astype(float) * self.learner_interest[ll, category] * looks
            b = self.category_coefficient[category]
            u = (
                self.course_utility[cc]
                - b
                * self.learner_sensitivity[ll]
                * price[sl]
                * (1 - discounts[sl])
                / self.course_reference_price[cc]
            )
            p = -np.expm1(-k / (1 + np.exp(-u)))
            keys = ll * n_c + cc
            owned = self.learner_owned_keys
            if len(owned):
                pos = np.minimum(np.searchsorted(owned, keys), len(owned) - 1)
                p[owned[pos] == keys] = 0.0
            p[~self.learner_state["alive"][ll]] = 0.0
            out[sl] = p
        return out.reshape(shape)

    # Demand ---------------------------------------------------------------------------------
    def _shares(self, courses: np.ndarray, prices: np.ndarray) -> np.ndarray:
        """sigmoid utilities, shape (courses, prices, levels); ``prices`` is (courses, prices)."""
        b = self.category_coefficient[self.course_category[courses]]
        x = (b / self.course_reference_price[courses])[:, None, None] * prices[:, :, None]
        u = self.course_utility[courses][:, None, None] - x * SENSITIVITY_LEVELS[None, None, :]
        return 1 / (1 + np.exp(-u))

    def expected_enrollments(self, courses: np.ndarray, prices: np.ndarray) -> np.ndarray:
        """Expected enrollments in the next 30 days; ``prices`` is (courses,) or (courses, k)."""
        courses = np.asarray(courses)
        prices = np.asarray(prices, dtype=float)
        flat = prices.ndim == 1
        p = prices[:, None] if flat else prices
        q = np.einsum("jkl,jl->jk", self._shares(courses, p), self.demand_weight[courses])
        return q[:, 0] if flat else q

    def elasticity(self, courses: np.ndarray, prices: np.ndarray) -> np.ndarray:
        """d log D / d log p, exactly: sum_l Z s (1-s) (-b s_l p / ref) / sum_l Z s."""
        courses = np.asarray(courses)
        prices = np.asarray(prices, dtype=float)
        flat = prices.ndim == 1
        p = prices[:, None] if flat else prices
        share = self._shares(courses, p)
        z = self.demand_weight[courses][:, None, :]
        b = self.category_coefficient[self.course_category[courses]]
        slope = (b / self.course_reference_price[courses])[:, None, None] * p[:, :, None] * SENSITIVITY_LEVELS
        num = -(z * share * (1 - share) * slope).sum(axis=2)
        den = (z * share).sum(axis=2)
        e = num / np.maximum(den, 1e-300)
        return e[:, 0] if flat else e

    def revenue_optimal_price(
        self, courses: np.ndarray, *, block: int = 2000
    ) -> tuple[np.ndarray, np.ndarray]:
        """Whole-token price within the platform's bounds that maximises price x enrollments."""
        courses = np.asarray(courses)
        grid = np.arange(self.price_min, self.price_max + 1, dtype=float)
        best_price = np.zeros(len(courses))
        best_q = np.zeros(len(courses))
        for start in range(0, len(courses), block):
            part = courses[start : start + block]
            q = self.expected_enrollments(part, np.broadcast_to(grid, (len(part), len(grid))))
            best = np.argmax(q * grid, axis=1)
            best_price[start : start + block] = grid[best]
            best_q[start : start + block] = q[np.arange(len(part)), best]
        return best_price.astype(int), best_q


def price_grid(price_min: int, price_max: int, points: int = GRID_POINTS) -> np.ndarray:
    """Whole-token prices from the lower to the upper bound, evenly spaced on a log scale."""
    grid = np.unique(np.rint(np.geomspace(price_min, price_max, points)).astype(int))
    return grid


# The truth file of the path, keyed by its modification time: the queries read it many times.
_cache: dict[str, tuple[float, Truth]] = {}


def save_truth(truth: Truth, path: Path | str | None = None) -> Path:
    """Write ``truth`` atomically (temporary file, then rename) and return where it went."""
    target = Path(path) if path else default_truth_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    joblib.dump(truth, tmp, compress=3)
    tmp.replace(target)
    _cache.pop(str(target), None)
    return target


def load_simulation_truth(path: Path | str | None = None) -> Truth | None:
    """The raw truth a simulation saved; None when none was run or its file is unreadable or stale."""
    target = Path(path) if path else default_truth_path()
    try:
        mtime = target.stat().st_mtime
    except OSError:
        return None
    cached = _cache.get(str(target))
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        truth = joblib.load(target)
    except Exception:  # noqa: BLE001 - a stale or foreign file means "no truth", never a crash
        return None
    if not isinstance(truth, Truth) or truth.version != TRUTH_VERSION:
        return None
    _cache[str(target)] = (mtime, truth)
    return truth
