"""The simulator's ground truth: true demand curves, elasticities, optima and learner probabilities.

Scoring only: no product model reads this module. After a run the latent parameters are saved
to a joblib file (``settings.ARTIFACTS_DIR / "simulator" / "truth.joblib"`` unless a path is
given); every function here reads that file and, for demand, the courses' current prices from
the database, so a price applied after the simulation is priced by the true curve too.

Demand (exact, see MODEL.md): for course j in category c at price p, the expected enrollments in
the 30 days after the simulation's last day are

    D_j(p) = sum over sensitivity levels l of Z[j, l] * sigmoid(v_j - b_c * s_l * p / ref_j)

where Z[j, l] = expected number of times a learner of level l who does not own j considers j in
those 30 days (computed once at the end of the run from a Monte Carlo forecast of every learner's
activity, plus expected new sign-ups). Elasticity and the revenue optimum follow analytically.

Learner probabilities come from a forward Monte Carlo of the end state (``truth_replications``
paths per learner, Rao-Blackwellised: the purchase and completion chances are averaged exactly
along each simulated activity path) and, for churn, an exact recursion (see ``_churn_probability``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from django.conf import settings

from tokenecon.simulator.config import CATEGORIES, SENSITIVITY_LEVELS, SimulationConfig
from tokenecon.simulator.engine import (
    QUEUE_SLOTS,
    EndState,
    activity_chance,
    churn_hazard,
    course_weights,
    day_factor,
    purchase_utility,
)
from tokenecon.simulator.world import World, draw_learners

TRUTH_VERSION = 1
HORIZON_DAYS = 30
CHURN_DAYS = 60
GRID_POINTS = 60


def default_truth_path() -> Path:
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


# ------------------------------------------------------------------------------------------------
# Computing the truth at the end of a run


def _churn_probability(
    base: np.ndarray, days_since_join: np.ndarray, inactive: np.ndarray, successes: np.ndarray,
    alive: np.ndarray, factors: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """P(no activity in the next 60 days), exactly.

    Along a path with no activity nothing but the inactivity count changes (completions need
    activity), so the mass of "still here and not seen yet" follows a simple recursion:
    each day the learner first may leave (hazard at the current inactivity), then stays
    inactive with 1 - the activity chance.
    """
    here = alive.astype(float)
    gone = 1 - here
    k = inactive.astype(float).copy()
    for t in range(len(factors)):
        hazard = churn_hazard(k, successes)
        leaving = here * hazard
        here = (here - leaving) * (1 - activity_chance(base, days_since_join + t, factors[t]))
        gone = gone + leaving
        k = k + 1
    return here + gone


def _monte_carlo(
    *,
    rng: np.random.Generator,
    reps: int,
    base: np.ndarray,
    join_day: np.ndarray,
    first_day: int,
    alive: np.ndarray,
    inactive: np.ndarray,
    successes: np.ndarray,
    progress: np.ndarray,
    q_sessions: np.ndarray,
    q_drop: np.ndarray,
    factors: np.ndarray,
    daily_rate: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Forward paths of activity, churn and study for one block of learners.

    Returns the expected active indicator per day (first 30 days), and, when ``daily_rate`` (the
    Poisson purchase rate on an active day, per learner and day) is given, P(enroll in 30 days)
    and P(complete the current course in 60 days).
    """
    n = len(base)
    shape = (reps, n)
    # Lookup instead of exp() on every path and day: inactivity and success are capped anyway.
    hazard_table = churn_hazard(np.arange(91)[:, None], np.arange(6)[None, :]).astype(np.float32)
    alive_r = np.broadcast_to(alive, shape).copy()
    inactive_r = np.broadcast_to(np.minimum(inactive, 90), shape).astype(np.int16)
    succ_r = np.broadcast_to(np.minimum(successes, 5), shape).astype(np.int16)
    progress_r = np.broadcast_to(progress, shape).astype(np.int16)
    sessions_r = np.broadcast_to(q_sessions, (reps, *q_sessions.shape)).astype(np.int16)
    drop_r = np.broadcast_to(q_drop, (reps, *q_drop.shape)).astype(np.float32)
    has_course = q_sessions[:, 0] > 0
    remaining = np.where(has_course, np.maximum(q_sessions[:, 0] - progress, 1), 0)
    active_days = np.zeros(shape, dtype=np.int16)
    expected_active = np.zeros((n, HORIZON_DAYS))
    purchase_hazard = np.zeros(shape, dtype=np.float64)
    for t in range(len(factors)):
        day = first_day + t
        joined = join_day <= day
        leave = rng.random(shape, dtype=np.float32) < hazard_table[inactive_r, succ_r]
        alive_r &= ~(leave & joined)
        chance = activity_chance(base, day - join_day, factors[t]).astype(np.float32)
        active = alive_r & joined & (rng.random(shape, dtype=np.float32) < chance)
        inactive_r = np.where(active, 0, np.minimum(inactive_r + joined, 90)).astype(np.int16)
        active_days += active
        if t < HORIZON_DAYS:
            expected_active[:, t] = active.mean(axis=0)
            if daily_rate is not None:
                purchase_hazard += active * daily_rate[:, t]
        studying = active & (sessions_r[:, :, 0] > 0)
        if studying.any():
            r_idx, l_idx = np.nonzero(studying)
            progress_r[r_idx, l_idx] += 1
            dropped = rng.random(len(r_idx), dtype=np.float32) < drop_r[r_idx, l_idx, 0]
            done = ~dropped & (progress_r[r_idx, l_idx] >= sessions_r[r_idx, l_idx, 0])
            finished = dropped | done
            fr, fl = r_idx[finished], l_idx[finished]
            succ_r[r_idx[done], l_idx[done]] = np.minimum(succ_r[r_idx[done], l_idx[done]] + 1, 5)
            sessions_r[fr, fl, :-1] = sessions_r[fr, fl, 1:]
            drop_r[fr, fl, :-1] = drop_r[fr, fl, 1:]
            sessions_r[fr, fl, -1] = 0
            progress_r[fr, fl] = 0
    out = {"expected_active": expected_active}
    if daily_rate is not None:
        out["p_enroll_30d"] = 1 - np.exp(-purchase_hazard).mean(axis=0)
        reached = (active_days >= remaining[None, :]).mean(axis=0)
        survive = (1 - q_drop[:, 0]) ** remaining
        out["p_complete_60d"] = np.where(has_course, reached * survive, np.nan)
    return out


def compute_truth(
    *,
    cfg: SimulationConfig,
    world: World,
    state: EndState,
    browse_scale: float,
    course_codes: np.ndarray,
    learner_ids: np.ndarray,
    rng: np.random.Generator,
    block: int = 1000,
) -> Truth:
    n_l, n_c = len(world.learner_join_day), len(world.course_category)
    n_levels = len(SENSITIVITY_LEVELS)
    D = cfg.days
    horizon = np.arange(D, D + CHURN_DAYS)
    factors = day_factor(cfg.start_date, horizon)

    # Consideration probability of each course per horizon day: its weight within its category.
    weights = np.stack([course_weights(world, d) for d in horizon[:HORIZON_DAYS]], axis=1)
    category_total = np.zeros((len(CATEGORIES), HORIZON_DAYS))
    np.add.at(category_total, world.course_category, weights)
    consider = weights / np.maximum(category_total[world.course_category], 1e-300)

    # Chance to buy each course at its end price, by sensitivity level.
    levels = np.arange(n_levels)
    buy = 1 / (
        1
        + np.exp(
            -purchase_utility(
                world,
                np.repeat(np.arange(n_c), n_levels),
                np.tile(levels, n_c),
                np.repeat(state.prices, n_levels).astype(float),
            )
        )
    ).reshape(n_c, n_levels)
    # phi[c, l, t] = P(buy | a learner of level l considers category c on day t)
    phi = np.zeros((len(CATEGORIES), n_levels, HORIZON_DAYS))
    for lv in range(n_levels):
        np.add.at(phi[:, lv, :], world.course_category, consider * buy[:, lv][:, None])

    owner = state.owned_keys // n_c  # sorted by learner, so a block of learners is one slice
    owned_course = state.owned_keys % n_c
    browse = browse_scale * world.learner_browse
    level = world.learner_level

    days_since_join = D - world.learner_join_day
    p_churn = _churn_probability(
        world.learner_activity, days_since_join, state.days_inactive, state.successes, state.alive, factors
    )

    # W[c, l, t]: expected considerations of category c by active learners of level l on day t.
    W = np.zeros((len(CATEGORIES), n_levels, HORIZON_DAYS))
    owner_correction = np.zeros((n_c, n_levels))

    def add_considerations(q, m, lv_of, ea):
        weighted = m[:, None] * ea
        for lv in range(n_levels):
            members = lv_of == lv
            if members.any():
                W[:, lv, :] += q[members].T @ weighted[members]

    p_enroll = np.zeros(n_l)
    p_complete = np.full(n_l, np.nan)
    for start in range(0, n_l, block):
        stop = min(start + block, n_l)
        sl = slice(start, stop)
        q_block, lv_block = world.learner_interest[sl], level[sl]
        lo, hi = np.searchsorted(owner, [start, stop])
        i, j = owner[lo:hi], owned_course[lo:hi]
        # Purchase rate on an active day: every course considered, minus the ones already owned.
        rate = np.einsum("ic,ict->it", q_block, phi[:, lv_block, :].transpose(1, 0, 2))
        own_part = np.zeros((stop - start, HORIZON_DAYS))
        pair_weight = world.learner_interest[i, world.course_category[j]][:, None] * consider[j]
        np.add.at(own_part, i - start, pair_weight * buy[j, level[i]][:, None])
        rate = browse[sl, None] * np.maximum(rate - own_part, 0)
        out = _monte_carlo(
            rng=rng,
            reps=cfg.truth_replications,
            base=world.learner_activity[sl],
            join_day=world.learner_join_day[sl],
            first_day=D,
            alive=state.alive[sl],
            inactive=state.days_inactive[sl],
            successes=state.successes[sl],
            progress=state.progress[sl],
            q_sessions=state.queue_sessions[sl],
            q_drop=state.queue_drop[sl],
            factors=factors,
            daily_rate=rate,
        )
        p_enroll[sl] = out["p_enroll_30d"]
        p_complete[sl] = out["p_complete_60d"]
        ea = out["expected_active"]
        add_considerations(q_block, browse[sl], lv_block, ea)
        # Owners never buy again: their considerations of what they own do not count.
        own = browse[i] * (pair_weight * ea[i - start]).sum(axis=1)
        np.add.at(owner_correction, (j, level[i]), own)

    # Learners who will sign up in the next 30 days, at the simulation's sign-up rate.
    joined_during = int(((world.learner_join_day >= 0) & (world.learner_join_day < D)).sum())
    n_new = int(round(joined_during * HORIZON_DAYS / D))
    if n_new:
        new = draw_learners(rng, n_new, D, D + HORIZON_DAYS - 1)
        for start in range(0, n_new, block):
            sl = slice(start, start + block)
            m = len(new["activity"][sl])
            out = _monte_carlo(
                rng=rng,
                reps=cfg.truth_replications,
                base=new["activity"][sl],
                join_day=new["join_day"][sl],
                first_day=D,
                alive=np.ones(m, dtype=bool),
                inactive=np.zeros(m, dtype=np.int32),
                successes=np.zeros(m, dtype=np.int32),
                progress=np.zeros(m, dtype=np.int32),
                q_sessions=np.zeros((m, QUEUE_SLOTS), dtype=np.int32),
                q_drop=np.zeros((m, QUEUE_SLOTS)),
                factors=factors,
                daily_rate=None,
            )
            add_considerations(new["interest"][sl], browse_scale * new["browse"][sl], new["level"][sl],
                               out["expected_active"])  # fmt: skip

    demand_weight = np.zeros((n_c, n_levels))
    for lv in range(n_levels):
        demand_weight[:, lv] = (consider * W[world.course_category, lv, :]).sum(axis=1)
    demand_weight = np.maximum(demand_weight - owner_correction, 0)

    current = np.where(state.queue_sessions[:, 0] > 0, state.queue_course[:, 0], -1)
    from django.conf import settings as dj_settings

    return Truth(
        version=TRUTH_VERSION,
        seed=cfg.seed,
        start_date=cfg.start_date,
        end_date=cfg.end_date,
        price_min=int(dj_settings.TOKEN_PRICE_MIN),
        price_max=int(dj_settings.TOKEN_PRICE_MAX),
        categories=CATEGORIES,
        category_coefficient=world.category_coefficient,
        course_code=np.asarray(course_codes),
        course_category=world.course_category,
        course_utility=world.course_utility,
        course_reference_price=world.course_reference_price,
        course_price_at_end=state.prices.copy(),
        demand_weight=demand_weight,
        learner_external_id=np.asarray(learner_ids),
        learner_sensitivity=SENSITIVITY_LEVELS[world.learner_level],
        learner_p_enroll_30d=p_enroll,
        learner_p_churn_60d=p_churn,
        learner_p_complete_60d=p_complete,
        learner_current_course=current.astype(np.int64),
        learner_state={
            "alive": state.alive,
            "days_inactive": state.days_inactive,
            "successes": state.successes,
            "activity": world.learner_activity,
            "join_day": world.learner_join_day,
        },
        browse_scale=browse_scale,
    )


# ------------------------------------------------------------------------------------------------
# Saving, loading and the public API

_cache: dict[str, tuple[float, Truth]] = {}


def save_truth(truth: Truth, path: Path | str | None = None) -> Path:
    target = Path(path) if path else default_truth_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    joblib.dump(truth, tmp, compress=3)
    tmp.replace(target)
    _cache.pop(str(target), None)
    return target


def load_truth(path: Path | str | None = None) -> Truth | None:
    """The saved truth, or None when no simulation has been run (or its file is unreadable)."""
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


def _require(path) -> Truth:
    truth = load_truth(path)
    if truth is None:
        raise FileNotFoundError(
            f"No simulator truth at {path or default_truth_path()}: run `manage.py simulate` first."
        )
    return truth


def _catalog(truth: Truth) -> pd.DataFrame:
    """Course number, database id and current price of every simulated course still in the database."""
    from tokenecon.models import Course

    rows = pd.DataFrame(
        list(
            Course.objects.filter(code__in=list(truth.course_code)).values_list("code", "id", "price_tokens")
        ),
        columns=["code", "course_id", "price_tokens"],
    )
    index = pd.Series(np.arange(len(truth.course_code)), index=truth.course_code)
    rows["course"] = index.reindex(rows["code"]).to_numpy()
    return rows.sort_values("course").reset_index(drop=True)


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
    rows = _catalog(truth)
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


def category_elasticities(*, path=None) -> dict[str, float]:
    """Mean true elasticity at current prices of the courses in each category."""
    frame = courses_truth(path=path)
    return {str(k): float(v) for k, v in frame.groupby("category")["elasticity"].mean().items()}


def demand_curves(*, path=None, grid: np.ndarray | None = None) -> pd.DataFrame:
    """True expected enrollments per 30 days of every course on a grid of prices across the bounds."""
    truth = _require(path)
    rows = _catalog(truth)
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


@dataclass
class DemandTruthForEvaluation:
    category_elasticity: dict[str, float]
    course_elasticity: pd.Series  # by course_id
    curves: pd.DataFrame  # course_id, price, expected_enrollments_30d


def demand_truth_for_evaluation(*, path=None) -> DemandTruthForEvaluation | None:
    """What model evaluation compares against, or None when the catalog is not the simulator's."""
    truth = load_truth(path)
    if truth is None:
        return None
    from tokenecon.models import Course

    if Course.objects.count() != len(truth.course_code) or not len(_catalog(truth)) == len(truth.course_code):
        return None
    frame = courses_truth(path=path)
    curves = demand_curves(path=path)
    return DemandTruthForEvaluation(
        category_elasticity={
            str(k): float(v) for k, v in frame.groupby("category")["elasticity"].mean().items()
        },
        course_elasticity=frame.set_index("course_id")["elasticity"],
        curves=curves[["course_id", "price", "expected_enrollments_30d"]],
    )


def write_truth_files(out_dir: Path | str, *, path=None) -> dict[str, Path]:
    """Write courses_truth.csv, demand_truth.csv and learners_truth.csv (columns in MODEL.md)."""
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
    return files
