"""Questions answered from the simulator's stored truth: true demand, elasticities, learner and
offer probabilities, in the product's keys, and the truth files (columns in MODEL.md).

Scoring only: no product model reads this module. Demand answers use the courses' current prices
from the database, so a price applied after the simulation is priced by the true curve too.
Offers: ``offer_purchase_probability`` gives the true chance that a learner buys a course in the
30 days after the run when offered a discount on it (expected looks K times the logit chance).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tokenecon.models import Course, Learner
from tokenecon.simulator.truth_model import Truth, default_truth_path, load_simulation_truth, price_grid


def _require(path) -> Truth:
    truth = load_simulation_truth(path)
    if truth is None:
        raise FileNotFoundError(
            f"No simulator truth at {path or default_truth_path()}: run `manage.py simulate` first."
        )
    return truth


def simulated_catalog(truth: Truth) -> pd.DataFrame:
    """Course number, database id and current price of every simulated course still in the database."""
    rows = pd.DataFrame(
        list(
            Course.objects.filter(code__in=list(truth.course_code)).values_list("code", "id", "price_tokens")
        ),
        columns=["code", "course_id", "price_tokens"],
    )
    index = pd.Series(np.arange(len(truth.course_code)), index=truth.course_code)
    rows["course"] = index.reindex(rows["code"]).to_numpy()
    return rows.sort_values("course").reset_index(drop=True)


def describes_catalog(truth: Truth) -> bool:
    """Whether the database's catalog is exactly the simulated one (same number, every code found)."""
    simulated = len(truth.course_code)
    return Course.objects.count() == simulated and len(simulated_catalog(truth)) == simulated


def expected_enrollments_30d(code: str, price: float | np.ndarray, *, path=None) -> np.ndarray:
    """True expected enrollments of one course in the 30 days after the run, at any price(s)."""
    truth = _require(path)
    j = int(np.nonzero(truth.course_code == code)[0][0])
    prices = np.atleast_1d(np.asarray(price, dtype=float))
    return truth.expected_enrollments(np.array([j]), prices[None, :])[0]


def elasticity_at_price(code: str, price: float | np.ndarray, *, path=None) -> np.ndarray:
    """True own-price elasticity of one course at any price(s)."""
    truth = _require(path)
    j = int(np.nonzero(truth.course_code == code)[0][0])
    prices = np.atleast_1d(np.asarray(price, dtype=float))
    return truth.elasticity(np.array([j]), prices[None, :])[0]


def courses_truth(*, path=None) -> pd.DataFrame:
    """One row per simulated course at its current price (see MODEL.md, courses_truth.csv)."""
    truth = _require(path)
    rows = simulated_catalog(truth)
    courses = rows["course"].to_numpy()
    prices = rows["price_tokens"].to_numpy(dtype=float)
    optimum, optimum_q = truth.revenue_optimal_price(courses)
    return pd.DataFrame(
        {
            "course_id": rows["course_id"].to_numpy(),
            "code": rows["code"].to_numpy(),
            "category": np.array(truth.categories)[truth.course_category[courses]],
            "price_tokens": rows["price_tokens"].to_numpy(),
            "expected_enrollments_30d": truth.expected_enrollments(courses, prices),
            "elasticity": truth.elasticity(courses, prices),
            "optimal_price_tokens": optimum,
            "optimal_expected_enrollments_30d": optimum_q,
        }
    )


def mean_elasticity_by_category(frame: pd.DataFrame) -> dict[str, float]:
    """Mean of the ``elasticity`` column of a ``courses_truth()`` frame in each category."""
    return {str(k): float(v) for k, v in frame.groupby("category")["elasticity"].mean().items()}


def category_elasticities(*, path=None) -> dict[str, float]:
    """Mean true elasticity at current prices of the courses in each category."""
    return mean_elasticity_by_category(courses_truth(path=path))


def demand_curves(*, path=None, grid: np.ndarray | None = None) -> pd.DataFrame:
    """True expected enrollments per 30 days of every course on a grid of prices across the bounds."""
    truth = _require(path)
    rows = simulated_catalog(truth)
    courses = rows["course"].to_numpy()
    prices = price_grid(truth.price_min, truth.price_max) if grid is None else np.asarray(grid, dtype=float)
    q = truth.expected_enrollments(courses, np.broadcast_to(prices, (len(courses), len(prices))))
    return pd.DataFrame(
        {
            "course_id": np.repeat(rows["course_id"].to_numpy(), len(prices)),
            "code": np.repeat(rows["code"].to_numpy(), len(prices)),
            "price": np.tile(prices, len(courses)),
            "expected_enrollments_30d": q.ravel(),
        }
    )


def learners_truth(*, path=None) -> pd.DataFrame:
    """Per learner: true probabilities for the 30 / 60 days after the run, and price sensitivity."""
    truth = _require(path)
    current = truth.learner_current_course
    return pd.DataFrame(
        {
            "external_id": truth.learner_external_id,
            "p_enroll_30d": truth.learner_p_enroll_30d,
            "p_churn_60d": truth.learner_p_churn_60d,
            "p_complete_60d": truth.learner_p_complete_60d,
            "current_course_code": np.where(current >= 0, truth.course_code[np.maximum(current, 0)], ""),
            "price_sensitivity": truth.learner_sensitivity,
        }
    )


def _db_learner_ids(truth: Truth) -> np.ndarray:
    """Database ``Learner.pk`` of every simulated learner (-1 where no row has its external id)."""
    rows = dict(Learner.objects.values_list("external_id", "id"))
    return np.array([rows.get(str(x), -1) for x in truth.learner_external_id], dtype=np.int64)


def learners_truth_at_cutoff(*, path=None, db_ids: bool = True) -> pd.DataFrame | None:
    """Per learner: the true probabilities at the forward cut-off inside the simulated window.

    The cut-off is the start (midnight UTC) of ``cutoff_date`` = start date + (days -
    truth_cutoff_days); the state is the one after the previous day, so features built from data
    strictly before ``cutoff_date`` see exactly what the truth conditions on, and the simulated
    data from ``cutoff_date`` on holds the realised labels. Columns (MODEL.md,
    learners_truth_cutoff.csv): ``learner`` and ``external_id`` (both ``Learner.external_id``, the
    key of ``learners_truth()``), ``learner_id`` (``Learner.pk``, -1 if missing; only with
    ``db_ids``), ``cutoff_date``, ``joined`` (joined before the cut-off date), ``alive`` (joined and
    not left), ``p_enroll_30d``, ``p_churn_60d``, ``p_complete_60d`` (NaN without a course in
    progress), ``has_current_course``, ``current_course_code``, ``price_sensitivity``. The
    probabilities are NaN for learners who had not joined. None when the truth file has no cut-off
    (one saved without it, or ``truth_cutoff_days`` 0).
    """
    truth = _require(path)
    cut = truth.cutoff_learners
    if cut is None:
        return None
    current = cut["current_course"]
    frame = pd.DataFrame(
        {
            "learner": truth.learner_external_id,
            "external_id": truth.learner_external_id,
            "cutoff_date": truth.cutoff_date,
            "joined": cut["joined"],
            "alive": cut["alive"],
            "p_enroll_30d": cut["p_enroll_30d"],
            "p_churn_60d": cut["p_churn_60d"],
            "p_complete_60d": cut["p_complete_60d"],
            "has_current_course": (current >= 0) & cut["joined"],
            "current_course_code": np.where(current >= 0, truth.course_code[np.maximum(current, 0)], ""),
            "price_sensitivity": truth.learner_sensitivity,
        }
    )
    if db_ids:
        frame.insert(2, "learner_id", _db_learner_ids(truth))
    return frame


def _positions(known: np.ndarray, keys: np.ndarray, what: str) -> np.ndarray:
    found = pd.Index(known).get_indexer(keys)
    if (found < 0).any():
        missing = keys[found < 0][:5]
        raise KeyError(f"unknown {what}: {', '.join(map(str, missing))}")
    return found


def _as_keys(keys) -> np.ndarray:
    """Keys as an array; whole floats (ids that went through a float column) become integers."""
    keys = np.asarray(keys)
    if keys.dtype.kind == "f" and np.isfinite(keys).all() and (keys == np.round(keys)).all():
        keys = keys.astype(np.int64)
    return keys


def learner_numbers(truth: Truth, keys) -> np.ndarray:
    """Learner numbers for ``Learner.external_id`` strings or database ``Learner.pk`` integers."""
    keys = _as_keys(keys)
    if keys.dtype.kind in "iu":
        rows = dict(Learner.objects.values_list("id", "external_id"))
        keys = np.array([rows.get(int(k), f"<Learner.pk {int(k)}>") for k in keys.ravel()]).reshape(
            keys.shape
        )
    return _positions(truth.learner_external_id, keys.astype(str).ravel(), "learners").reshape(keys.shape)


def course_numbers(truth: Truth, keys) -> np.ndarray:
    """Course numbers for ``Course.code`` strings or database ``Course.pk`` integers."""
    keys = _as_keys(keys)
    if keys.dtype.kind in "iu":
        rows = dict(Course.objects.values_list("id", "code"))
        keys = np.array([rows.get(int(k), f"<Course.pk {int(k)}>") for k in keys.ravel()]).reshape(keys.shape)
    return _positions(truth.course_code, keys.astype(str).ravel(), "courses").reshape(keys.shape)


def offer_purchase_probability(
    learner_keys, course_codes, discounts, *, prices=None, path=None
) -> np.ndarray:
    """True P(learner buys course in the 30 days after the end | discount ``d`` on it for those days).

    Vectorised over pairs (the three arguments broadcast together). ``learner_keys``:
    ``Learner.external_id`` strings (the key of ``learners_truth()``) or database ``Learner.pk``
    integers; ``course_codes``: ``Course.code`` strings or database ``Course.pk`` integers;
    ``discounts``: fractions (0.05 = 5 % off). The price paid is ``price * (1 - d)`` where
    ``price`` is the course's current price in the database (its price at the end of the run if
    the row is gone), or ``prices`` when given (per pair).

    ``P = 1 - exp(-K_lj * sigmoid(v_j - b_c s_l price (1 - d) / ref_j))``, where
    ``K_lj = browse_l * interest_l[c_j] * sum_t E[active_l,t] consider_j,t`` is the expected number
    of times l looks at j in those 30 days (expected activity from the end-of-run Monte Carlo).
    Using expected activity inside the concave ``1 - exp(-.)`` gives an upper bound (Jensen) on the
    path-averaged probability, slightly above it for the most active learners; the formula is the
    same for every offer policy, so policy comparisons are fair. 0 for a course the learner owns
    (or had refunded) and for a learner who has left.
    """
    truth = _require(path)
    learners = learner_numbers(truth, learner_keys)
    courses = course_numbers(truth, course_codes)
    if prices is None:
        current = truth.course_price_at_end.astype(float)
        rows = simulated_catalog(truth)
        current[rows["course"].to_numpy()] = rows["price_tokens"].to_numpy(dtype=float)
        learners_b, courses_b = np.broadcast_arrays(learners, courses)
        prices = current[courses_b]
    return truth.offer_probability(learners, courses, discounts, prices)


def write_truth_files(out_dir: Path | str, *, path=None) -> dict[str, Path]:
    """Write courses_truth.csv, demand_truth.csv, learners_truth.csv and, when the truth has a
    cut-off, learners_truth_cutoff.csv (columns in MODEL.md)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "courses": out / "courses_truth.csv",
        "demand": out / "demand_truth.csv",
        "learners": out / "learners_truth.csv",
    }
    courses_truth(path=path).drop(columns=["course_id"]).to_csv(
        files["courses"], index=False, float_format="%.6g"
    )
    demand_curves(path=path).drop(columns=["course_id"]).to_csv(
        files["demand"], index=False, float_format="%.6g"
    )
    learners_truth(path=path).to_csv(files["learners"], index=False, float_format="%.6g")
    cutoff = learners_truth_at_cutoff(path=path, db_ids=False)
    if cutoff is not None:
        files["learners_cutoff"] = out / "learners_truth_cutoff.csv"
        cutoff.drop(columns=["external_id"]).to_csv(
            files["learners_cutoff"], index=False, float_format="%.6g"
        )
    return files
