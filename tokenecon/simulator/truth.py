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
The same computation (``learner_probabilities``) also runs from the state copied at a forward
cut-off inside the window (``learners_truth_at_cutoff``), so the data after it holds realised labels.

Offers: ``offer_purchase_probability`` gives the true chance that a learner buys a course in the
30 days after the run when offered a discount on it (expected looks K times the logit chance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
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
    # Added later: None in truth files written before them (class defaults fill the gap on load).
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
    hazard_table = churn_hazard(np.arange(91)[:, None], np.arange(6)[None, :]).astype(np.float32).ravel()

    def paths(values, dtype):  # one C-ordered copy per path (astype of a broadcast is not C-ordered)
        return np.array(np.broadcast_to(values, (reps, *np.shape(values))), dtype=dtype, order="C")

    alive_r = paths(alive, bool)
    inactive_r = paths(np.minimum(inactive, 90), np.int16)
    succ_r = paths(np.minimum(successes, 5), np.int16)
    succ_flat = succ_r.reshape(-1)  # a view: completions below update succ_r
    # Study state as flat (path x learner) rows, so that a day's sessions are one flat index.
    progress_r = paths(progress, np.int16).reshape(-1)
    sessions_r = paths(q_sessions, np.int16).reshape(reps * n, -1)
    drop_r = paths(q_drop, np.float32).reshape(reps * n, -1)
    has_course = q_sessions[:, 0] > 0
    remaining = np.where(has_course, np.maximum(q_sessions[:, 0] - progress, 1), 0)
    active_days = np.zeros(shape, dtype=np.int16)
    expected_active = np.zeros((n, HORIZON_DAYS))
    purchase_hazard = np.zeros(shape, dtype=np.float64)
    for t in range(len(factors)):
        day = first_day + t
        joined = join_day <= day
        every = bool(joined.all())
        leave = rng.random(shape, dtype=np.float32) < hazard_table.take(inactive_r * 6 + succ_r)
        alive_r &= ~leave if every else ~(leave & joined)
        chance = activity_chance(base, day - join_day, factors[t]).astype(np.float32)
        active = rng.random(shape, dtype=np.float32) < chance
        active &= alive_r
        if not every:
            active &= joined
        inactive_r += joined
        np.minimum(inactive_r, 90, out=inactive_r)
        inactive_r *= ~active
        active_days += active
        if t < HORIZON_DAYS:
            expected_active[:, t] = active.mean(axis=0)
            if daily_rate is not None:
                np.add(purchase_hazard, daily_rate[:, t], out=purchase_hazard, where=active)
        studying = np.flatnonzero(active.ravel() & (sessions_r[:, 0] > 0))
        if len(studying):
            progress_r[studying] += 1
            dropped = rng.random(len(studying), dtype=np.float32) < drop_r[studying, 0]
            done = ~dropped & (progress_r[studying] >= sessions_r[studying, 0])
            finished = studying[dropped | done]
            completed = studying[done]
            succ_flat[completed] = np.minimum(succ_flat[completed] + 1, 5)
            sessions_r[finished, :-1] = sessions_r[finished, 1:]
            drop_r[finished, :-1] = drop_r[finished, 1:]
            sessions_r[finished, -1] = 0
            progress_r[finished] = 0
    out = {"expected_active": expected_active}
    if daily_rate is not None:
        out["p_enroll_30d"] = 1 - np.exp(-purchase_hazard).mean(axis=0)
        reached = (active_days >= remaining[None, :]).mean(axis=0)
        survive = (1 - q_drop[:, 0]) ** remaining
        out["p_complete_60d"] = np.where(has_course, reached * survive, np.nan)
    return out


def price_path(world: World, first_day: int, n_days: int) -> np.ndarray:
    """Every course's price on each of ``n_days`` days from ``first_day`` (the world's schedule).

    Price changes are exogenous (drawn with the world), so the truth at a cut-off inside the window
    prices the days after it as they really were. Zero before a course's launch.
    """
    prices = np.zeros(len(world.course_category), dtype=np.int64)
    out = np.zeros((len(prices), n_days), dtype=np.int64)
    ptr = 0
    for t in range(n_days):
        while ptr < len(world.change_day) and world.change_day[ptr] <= first_day + t:
            prices[world.change_course[ptr]] = world.change_new_price[ptr]
            ptr += 1
        out[:, t] = prices
    return out


def consideration_shares(world: World, first_day: int) -> np.ndarray:
    """consider[j, t]: chance that a look at j's category on day first_day + t lands on j."""
    days = np.arange(first_day, first_day + HORIZON_DAYS)
    weights = np.stack([course_weights(world, d) for d in days], axis=1)
    category_total = np.zeros((len(CATEGORIES), HORIZON_DAYS))
    np.add.at(category_total, world.course_category, weights)
    return weights / np.maximum(category_total[world.course_category], 1e-300)


def _buy_chances(world: World, prices: np.ndarray) -> np.ndarray:
    """buy[j, level, t] = sigmoid(u) at price prices[j, t] (``prices`` is (courses,) or (courses, T))."""
    n_c, n_levels = len(world.course_category), len(SENSITIVITY_LEVELS)
    p = np.asarray(prices, dtype=float)
    p = p[:, None] if p.ndim == 1 else p
    T = p.shape[1]
    u = purchase_utility(
        world,
        np.repeat(np.arange(n_c), n_levels * T),
        np.tile(np.repeat(np.arange(n_levels), T), n_c),
        np.broadcast_to(p[:, None, :], (n_c, n_levels, T)).ravel(),
    )
    return (1 / (1 + np.exp(-u))).reshape(n_c, n_levels, T)


def learner_probabilities(
    *,
    cfg: SimulationConfig,
    world: World,
    state: EndState,
    first_day: int,
    browse_scale: float,
    rng: np.random.Generator,
    prices: np.ndarray | None = None,
    block: int = 1000,
) -> dict[str, np.ndarray]:
    """True learner probabilities from ``state`` (the state at the start of ``first_day``).

    Used at the end of the run (first_day = days) and at the truth cut-off. ``prices`` is
    (courses,) held fixed, or (courses, 30) per horizon day; default: ``state.prices``. Learners
    who have left, or join on ``first_day`` or later, are not simulated (their expected activity
    is zero). Returns per learner ``joined``, ``p_enroll_30d`` (NaN before joining),
    ``p_churn_60d`` (exact; NaN before joining), ``p_complete_60d`` (NaN without a course in
    progress or before joining), ``current_course`` (-1: none), ``expected_active`` (learners x 30,
    the expected active indicator on each of the next 30 days), and ``consider`` (courses x 30).
    """
    n_l = len(world.learner_join_day)
    n_c = len(world.course_category)
    n_levels = len(SENSITIVITY_LEVELS)
    factors = day_factor(cfg.start_date, np.arange(first_day, first_day + CHURN_DAYS))
    consider = consideration_shares(world, first_day)
    buy = _buy_chances(world, state.prices if prices is None else prices)  # (n_c, levels, T)
    # phi[c, l, t] = P(buy | a learner of level l considers category c on day t)
    phi = np.zeros((len(CATEGORIES), n_levels, HORIZON_DAYS))
    np.add.at(phi, world.course_category, consider[:, None, :] * buy)

    owner = state.owned_keys // n_c  # sorted by learner
    owned_course = state.owned_keys % n_c
    browse = browse_scale * world.learner_browse
    level = world.learner_level
    joined = world.learner_join_day < first_day

    p_churn = _churn_probability(
        world.learner_activity,
        first_day - world.learner_join_day,
        state.days_inactive,
        state.successes,
        state.alive,
        factors,
    )
    p_enroll = np.zeros(n_l)
    has_course = state.queue_sessions[:, 0] > 0
    p_complete = np.where(has_course, 0.0, np.nan)
    expected_active = np.zeros((n_l, HORIZON_DAYS))

    # Only learners who are here can do anything; the others keep 0 (enroll, complete, activity).
    simulated = np.nonzero(state.alive & joined)[0]
    for start in range(0, len(simulated), block):
        idx = simulated[start : start + block]
        lo, hi = np.searchsorted(owner, [idx[0], idx[-1] + 1])
        i, j = owner[lo:hi], owned_course[lo:hi]
        mine = np.isin(i, idx)
        i, j = i[mine], j[mine]
        row = np.searchsorted(idx, i)
        q_block, lv_block = world.learner_interest[idx], level[idx]
        # Purchase rate on an active day: every course considered, minus the ones already owned.
        rate = np.einsum("ic,ict->it", q_block, phi[:, lv_block, :].transpose(1, 0, 2))
        own_part = np.zeros((len(idx), HORIZON_DAYS))
        pair_weight = world.learner_interest[i, world.course_category[j]][:, None] * consider[j]
        np.add.at(own_part, row, pair_weight * buy[j, level[i], :])
        rate = browse[idx, None] * np.maximum(rate - own_part, 0)
        out = _monte_carlo(
            rng=rng,
            reps=cfg.truth_replications,
            base=world.learner_activity[idx],
            join_day=world.learner_join_day[idx],
            first_day=first_day,
            alive=state.alive[idx],
            inactive=state.days_inactive[idx],
            successes=state.successes[idx],
            progress=state.progress[idx],
            q_sessions=state.queue_sessions[idx],
            q_drop=state.queue_drop[idx],
            factors=factors,
            daily_rate=rate,
        )
        p_enroll[idx] = out["p_enroll_30d"]
        p_complete[idx] = out["p_complete_60d"]
        expected_active[idx] = out["expected_active"]

    for values in (p_enroll, p_churn, p_complete):
        values[~joined] = np.nan
    current = np.where(has_course, state.queue_course[:, 0], -1).astype(np.int64)
    return {
        "joined": joined,
        "alive": state.alive & joined,
        "p_enroll_30d": p_enroll,
        "p_churn_60d": p_churn,
        "p_complete_60d": p_complete,
        "current_course": current,
        "expected_active": expected_active,
        "consider": consider,
    }


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
    cutoff_state: EndState | None = None,
) -> Truth:
    n_c = len(world.course_category)
    n_levels = len(SENSITIVITY_LEVELS)
    D = cfg.days
    factors = day_factor(cfg.start_date, np.arange(D, D + CHURN_DAYS))
    browse = browse_scale * world.learner_browse
    level = world.learner_level

    end = learner_probabilities(
        cfg=cfg, world=world, state=state, first_day=D, browse_scale=browse_scale, rng=rng, block=block
    )
    consider, ea = end["consider"], end["expected_active"]
    buy = _buy_chances(world, state.prices)[:, :, 0]  # (n_c, levels) at the end prices

    # W[c, l, t]: expected considerations of category c by active learners of level l on day t.
    W = np.zeros((len(CATEGORIES), n_levels, HORIZON_DAYS))

    def add_considerations(q, m, lv_of, expected):
        weighted = m[:, None] * expected
        for lv in range(n_levels):
            members = lv_of == lv
            if members.any():
                W[:, lv, :] += q[members].T @ weighted[members]

    add_considerations(world.learner_interest, browse, level, ea)
    # Owners never buy again: their considerations of what they own do not count.
    i, j = state.owned_keys // n_c, state.owned_keys % n_c
    pair_weight = world.learner_interest[i, world.course_category[j]][:, None] * consider[j]
    owner_correction = np.zeros((n_c, n_levels))
    np.add.at(owner_correction, (j, level[i]), browse[i] * (pair_weight * ea[i]).sum(axis=1))

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
    del buy

    cutoff_day = cfg.truth_cutoff_day if cutoff_state is not None else None
    cutoff_learners = None
    if cutoff_day is not None:
        at_cutoff = learner_probabilities(
            cfg=cfg,
            world=world,
            state=cutoff_state,
            first_day=cutoff_day,
            browse_scale=browse_scale,
            rng=rng,
            prices=price_path(world, cutoff_day, HORIZON_DAYS),
            block=block,
        )
        cutoff_learners = {
            key: at_cutoff[key]
            for key in ("joined", "alive", "p_enroll_30d", "p_churn_60d", "p_complete_60d", "current_course")
        }

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
        learner_p_enroll_30d=end["p_enroll_30d"],
        learner_p_churn_60d=end["p_churn_60d"],
        learner_p_complete_60d=end["p_complete_60d"],
        learner_current_course=end["current_course"],
        learner_state={
            "alive": state.alive,
            "days_inactive": state.days_inactive,
            "successes": state.successes,
            "activity": world.learner_activity,
            "join_day": world.learner_join_day,
        },
        browse_scale=browse_scale,
        cutoff_day=cutoff_day,
        cutoff_date=cfg.start_date + timedelta(days=cutoff_day) if cutoff_day is not None else None,
        cutoff_learners=cutoff_learners,
        offer_expected_active=ea.astype(np.float32),
        offer_consider=consider.astype(np.float32),
        learner_interest=np.asarray(world.learner_interest, dtype=np.float32),
        learner_browse=browse.astype(np.float32),
        learner_owned_keys=state.owned_keys.copy(),
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


def _db_learner_ids(truth: Truth) -> np.ndarray:
    """Database ``Learner.pk`` of every simulated learner (-1 where no row has its external id)."""
    from tokenecon.models import Learner

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
    (an older file, or ``truth_cutoff_days`` 0).
    """
    truth = _require(path)
    cut = getattr(truth, "cutoff_learners", None)
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
        from tokenecon.models import Learner

        rows = dict(Learner.objects.values_list("id", "external_id"))
        keys = np.array([rows.get(int(k), f"<Learner.pk {int(k)}>") for k in keys.ravel()]).reshape(
            keys.shape
        )
    return _positions(truth.learner_external_id, keys.astype(str).ravel(), "learners").reshape(keys.shape)


def course_numbers(truth: Truth, keys) -> np.ndarray:
    """Course numbers for ``Course.code`` strings or database ``Course.pk`` integers."""
    keys = _as_keys(keys)
    if keys.dtype.kind in "iu":
        from tokenecon.models import Course

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
        rows = _catalog(truth)
        current[rows["course"].to_numpy()] = rows["price_tokens"].to_numpy(dtype=float)
        learners_b, courses_b = np.broadcast_arrays(learners, courses)
        prices = current[courses_b]
    return truth.offer_probability(learners, courses, discounts, prices)


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
