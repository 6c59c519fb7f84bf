"""Computing the simulator's ground truth at the end of a run (see MODEL.md, "Ground truth").

Demand (exact): for course j in category c at price p, the expected enrollments in the 30 days
after the simulation's last day are

    D_j(p) = sum over sensitivity levels l of Z[j, l] * sigmoid(v_j - b_c * s_l * p / ref_j)

where Z[j, l] = expected number of times a learner of level l who does not own j considers j in
those 30 days (computed once at the end of the run from a Monte Carlo forecast of every learner's
activity, plus expected new sign-ups). ``Truth`` evaluates the formula; this module computes Z.

Learner probabilities come from a forward Monte Carlo of the end state (``truth_replications``
paths per learner, Rao-Blackwellised: the purchase and completion chances are averaged exactly
along each simulated activity path) and, for churn, an exact recursion (see ``_churn_probability``).
The same computation (``learner_probabilities``) also runs from the state copied at a forward
cut-off inside the window, so the data after it holds realised labels.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import numpy as np
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
from tokenecon.simulator.truth_model import CHURN_DAYS, HORIZON_DAYS, TRUTH_VERSION, Truth
from tokenecon.simulator.world import World, draw_learners


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

    probabilities = partial(
        learner_probabilities, cfg=cfg, world=world, browse_scale=browse_scale, rng=rng, block=block
    )
    end = probabilities(state=state, first_day=D)
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
        at_cutoff = probabilities(
            state=cutoff_state, first_day=cutoff_day, prices=price_path(world, cutoff_day, HORIZON_DAYS)
        )
        cutoff_learners = {
            key: at_cutoff[key]
            for key in ("joined", "alive", "p_enroll_30d", "p_churn_60d", "p_complete_60d", "current_course")
        }

    return Truth(
        version=TRUTH_VERSION,
        seed=cfg.seed,
        start_date=cfg.start_date,
        end_date=cfg.end_date,
        price_min=int(settings.TOKEN_PRICE_MIN),
        price_max=int(settings.TOKEN_PRICE_MAX),
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
