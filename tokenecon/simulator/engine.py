"""The day-by-day behavioural engine: numpy state per learner, events emitted in chunks of days.

The engine knows nothing about the database. It yields a ``Chunk`` of events (purchases, some
with a launch coupon, top-ups, refunds, releases of teacher earnings, payouts, enrollment
outcomes, activity rows) every few days; the writer turns
them into rows through the ledger services, and a calibration pass simply counts them. Times are
whole seconds since midnight (UTC) of the first simulated day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.conf import settings

from tokenecon.services.rates import split_commission
from tokenecon.simulator.config import SENSITIVITY_LEVELS, SimulationConfig
from tokenecon.simulator.coupons import COUPON_STREAM, CouponPlan, apply_coupons, plan_coupons
from tokenecon.simulator.world import World

DAY_S = 86_400
QUEUE_SLOTS = 6
WEEKDAY_FACTOR = np.array([1.10, 1.08, 1.04, 1.00, 0.90, 0.84, 1.04])  # Monday first
COURSE_NOVELTY = 1.0  # extra consideration weight of a brand-new course, decaying over 60 days
LEARNER_NOVELTY = 0.8  # extra activity of a new learner, decaying over 30 days
REFUND_DELAY_MAX_S = 10 * DAY_S  # a refund comes at most this long after its purchase (inside the window)

# Enrollment outcome codes in Chunk.outcome_status
ACTIVE, COMPLETED, DROPPED, REFUNDED = 0, 1, 2, 3


def season_factor(dates: np.ndarray) -> np.ndarray:
    """Activity by time of year: a January peak, a September bump and a summer dip."""
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    return (
        1 + 0.20 * np.cos(2 * np.pi * (doy - 10) / 365.25) + 0.08 * np.cos(4 * np.pi * (doy - 250) / 365.25)
    )


def day_factor(start: date, day_numbers: np.ndarray) -> np.ndarray:
    """Season times weekday multiplier of every learner's activity chance on the given days."""
    dates = np.datetime64(start, "D") + day_numbers.astype("timedelta64[D]")
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-05 was a Monday
    return season_factor(dates) * WEEKDAY_FACTOR[weekday]


def activity_chance(base: np.ndarray, days_since_join: np.ndarray, factor: float | np.ndarray) -> np.ndarray:
    novelty = 1 + LEARNER_NOVELTY * np.exp(-np.maximum(days_since_join, 0) / 30.0)
    return np.minimum(base * novelty * factor, 0.95)


def churn_hazard(days_inactive: np.ndarray, successes: np.ndarray) -> np.ndarray:
    """Daily chance that a learner leaves for good: rises with inactivity, falls with success."""
    return (
        0.0015 * np.exp(0.9 * np.minimum(days_inactive, 90) / 30.0) * np.exp(-0.35 * np.minimum(successes, 5))
    )


def course_weights(world: World, day: int) -> np.ndarray:
    """Consideration weight (popularity) of every course on a day; zero before launch."""
    age = day - world.course_launch_day
    weight = world.course_appeal * (1 + COURSE_NOVELTY * np.exp(-np.maximum(age, 0) / 60.0))
    return np.where(age >= 0, weight, 0.0)


def purchase_utility(world: World, courses: np.ndarray, levels: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """u = v_j - b_c * s * price / ref_j: linear in price, so each course has an interior optimum."""
    b = world.category_coefficient[world.course_category[courses]]
    return (
        world.course_utility[courses]
        - b * SENSITIVITY_LEVELS[levels] * prices / world.course_reference_price[courses]
    )


def drop_chance(world: World, learners: np.ndarray, courses: np.ndarray) -> np.ndarray:
    """Chance to abandon a course on each study day: engagement and quality help, difficulty hurts."""
    z = (
        -3.3
        - 0.5 * world.learner_engagement[learners]
        + 0.45 * world.course_difficulty[courses]
        - 0.5 * world.course_quality[courses]
    )
    return 1 / (1 + np.exp(-z))


def refund_chance(world: World, courses: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(4.0 + 0.8 * world.course_quality[courses]))


def commission_tables(max_price: int) -> tuple[np.ndarray, np.ndarray]:
    """Teacher and platform share of every whole price, from the ledger's own split_commission."""
    teacher = np.zeros(max_price + 1, dtype=np.int64)
    platform = np.zeros(max_price + 1, dtype=np.int64)
    for price in range(1, max_price + 1):
        teacher[price], platform[price] = split_commission(paid_tokens=price)
    return teacher, platform


@dataclass
class Chunk:
    first_day: int
    last_day: int
    # purchases (enrollments), in time order
    enrollment_index: np.ndarray
    purchase_learner: np.ndarray
    purchase_course: np.ndarray
    purchase_time_s: np.ndarray
    purchase_price: np.ndarray  # the list price in effect
    purchase_paid: np.ndarray  # what the learner paid (below the list price with a coupon)
    purchase_coupon: np.ndarray  # coupon index (CouponPlan) or -1
    topup_learner: np.ndarray
    topup_tokens: np.ndarray
    topup_time_s: np.ndarray
    refund_enrollment: np.ndarray
    refund_time_s: np.ndarray
    # Teacher shares leaving pending at the end of their refund window, in time order.
    release_enrollment: np.ndarray
    release_time_s: np.ndarray
    release_tokens: np.ndarray
    # Payout requests (available -> hold -> paid), from the teacher's available earnings only.
    payout_teacher: np.ndarray
    payout_tokens: np.ndarray
    payout_time_s: np.ndarray
    outcome_enrollment: np.ndarray
    outcome_status: np.ndarray
    outcome_progress_pct: np.ndarray
    outcome_time_s: np.ndarray  # completed_at for completions, -1 otherwise
    outcome_rating: np.ndarray  # 0 for none
    activity_learner: np.ndarray
    activity_day: np.ndarray
    activity_course: np.ndarray  # -1 for a browsing day without a course
    activity_lessons: np.ndarray
    activity_minutes: np.ndarray
    activity_forum: np.ndarray
    activity_assignments: np.ndarray


@dataclass
class EndState:
    """What the truth needs about every learner and course when the simulation stops."""

    alive: np.ndarray
    days_inactive: np.ndarray
    successes: np.ndarray
    progress: np.ndarray
    queue_course: np.ndarray
    queue_sessions: np.ndarray
    queue_drop: np.ndarray
    queue_enrollment: np.ndarray
    owned_keys: np.ndarray  # sorted learner * n_courses + course of every enrollment
    prices: np.ndarray
    wallet: np.ndarray
    teacher_balance: np.ndarray  # pending + available
    enrollments: int
    teacher_available: np.ndarray | None = None


class _Buffer:
    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def add(self, **arrays: np.ndarray) -> None:
        for name, values in arrays.items():
            self.parts.setdefault(name, []).append(np.asarray(values))

    def take(self, name: str, dtype) -> np.ndarray:
        parts = self.parts.get(name)
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


@dataclass
class Engine:
    cfg: SimulationConfig
    world: World
    browse_scale: float
    rng: np.random.Generator
    state: EndState | None = field(default=None, init=False)
    coupons: CouponPlan | None = field(default=None, init=False)
    # The same learner state at the start of the truth cut-off day (cfg.truth_cutoff_day), if any.
    cutoff_state: EndState | None = field(default=None, init=False)

    def run(self, progress: Callable[[int], None] | None = None) -> Iterator[Chunk]:
        w, cfg, rng = self.world, self.cfg, self.rng
        n_l, n_c, n_t = len(w.learner_join_day), len(w.course_category), len(w.teacher_z)
        teacher_share, platform_share = commission_tables(int(max(w.change_new_price.max(), 1)))
        days = np.arange(cfg.days)
        factors = day_factor(cfg.start_date, days)
        dates = [cfg.start_date + timedelta(days=int(d)) for d in days]

        alive = np.ones(n_l, dtype=bool)
        inactive = np.zeros(n_l, dtype=np.int32)
        successes = np.zeros(n_l, dtype=np.int32)
        progress_days = np.zeros(n_l, dtype=np.int32)
        q_enr = np.full((n_l, QUEUE_SLOTS), -1, dtype=np.int64)
        q_course = np.full((n_l, QUEUE_SLOTS), -1, dtype=np.int32)
        q_sessions = np.zeros((n_l, QUEUE_SLOTS), dtype=np.int32)
        q_drop = np.zeros((n_l, QUEUE_SLOTS), dtype=np.float64)
        wallet = np.zeros(n_l, dtype=np.int64)
        refunded_pending = np.zeros(n_l, dtype=np.int64)
        teacher_balance = np.zeros(n_t, dtype=np.int64)
        teacher_available = np.zeros(n_t, dtype=np.int64)
        window_s = settings.TOKEN_REFUND_WINDOW_DAYS * DAY_S
        payout_minimum = settings.TOKEN_PAYOUT_MIN_TOKENS
        # Coupons draw from their own stream: the behavioural draws below stay the same.
        self.coupons = plan_coupons(cfg, w)
        coupon_rng = np.random.default_rng([cfg.seed, COUPON_STREAM, 1])
        prices = np.zeros(n_c, dtype=np.int64)
        change_ptr = 0
        owned = np.zeros(0, dtype=np.int64)
        chunk_keys: list[np.ndarray] = []
        # Refunds waiting for their time: enrollment, time, learner, paid, teacher, teacher share
        pending = np.zeros((0, 6), dtype=np.int64)
        # Releases waiting for the end of their window: enrollment, time, teacher, teacher share
        to_release = np.zeros((0, 4), dtype=np.int64)
        n_enrollments = 0
        cum_interest = np.cumsum(w.learner_interest, axis=1)
        cum_interest[:, -1] = 1.0
        by_category = np.argsort(w.course_category, kind="stable")
        cat_sorted = w.course_category[by_category]
        seg_start = np.searchsorted(cat_sorted, np.arange(len(w.category_coefficient)), side="left")
        seg_end = np.searchsorted(cat_sorted, np.arange(len(w.category_coefficient)), side="right")
        end_s = cfg.days * DAY_S - 1

        buffer = _Buffer()
        chunk_first = 0
        cutoff = cfg.truth_cutoff_day
        for d in range(cfg.days):
            if d == cutoff:
                # The state after day d - 1 (before today's price changes), copied: the arrays
                # keep changing. Purchases of the chunk not yet flushed are owned already.
                owned_now = np.union1d(owned, np.concatenate(chunk_keys)) if chunk_keys else owned.copy()
                self.cutoff_state = EndState(
                    alive=alive.copy(),
                    days_inactive=inactive.copy(),
                    successes=successes.copy(),
                    progress=progress_days.copy(),
                    queue_course=q_course.copy(),
                    queue_sessions=q_sessions.copy(),
                    queue_drop=q_drop.copy(),
                    queue_enrollment=q_enr.copy(),
                    owned_keys=owned_now,
                    prices=prices.copy(),
                    wallet=wallet.copy(),
                    teacher_balance=teacher_balance.copy(),
                    enrollments=n_enrollments,
                    teacher_available=teacher_available.copy(),
                )
            # Prices in effect today (the platform applies changes at midnight).
            while change_ptr < len(w.change_day) and w.change_day[change_ptr] <= d:
                prices[w.change_course[change_ptr]] = w.change_new_price[change_ptr]
                change_ptr += 1

            # Monthly payout requests at 00:05, of the whole available balance (earnings past
            # their refund window, released below on earlier days) when it reaches the minimum.
            if dates[d].day == 1 and d > 0:
                payable = teacher_available.copy()
                paid_out = np.nonzero(payable >= payout_minimum)[0]
                if len(paid_out):
                    teacher_balance[paid_out] -= payable[paid_out]
                    teacher_available[paid_out] = 0
                    buffer.add(
                        payout_teacher=paid_out,
                        payout_tokens=payable[paid_out],
                        payout_time_s=np.full(len(paid_out), d * DAY_S + 300),
                    )

            joined = w.learner_join_day <= d
            eligible = alive & joined
            idx = np.nonzero(eligible)[0]
            leaving = rng.random(len(idx)) < churn_hazard(inactive[idx], successes[idx])
            alive[idx[leaving]] = False
            idx = idx[~leaving]
            chance = activity_chance(w.learner_activity[idx], d - w.learner_join_day[idx], factors[d])
            is_active = rng.random(len(idx)) < chance
            act = idx[is_active]
            inactive[idx[~is_active]] += 1
            inactive[act] = 0

            # Study: one session of the current course per active day.
            studying = act[q_enr[act, 0] >= 0]
            studied_course = np.full(n_l, -1, dtype=np.int32)
            studied_course[studying] = q_course[studying, 0]
            if len(studying):
                progress_days[studying] += 1
                dropped = rng.random(len(studying)) < q_drop[studying, 0]
                done = ~dropped & (progress_days[studying] >= q_sessions[studying, 0])
                finished = studying[dropped | done]
                when = d * DAY_S + rng.integers(8 * 3600, 23 * 3600, size=len(finished))
                completed = done[dropped | done]
                c_course = q_course[finished, 0]
                rating = np.where(
                    completed & (rng.random(len(finished)) < 0.75),
                    np.clip(
                        np.rint(3.8 + 0.7 * w.course_quality[c_course] + rng.normal(0, 0.7, len(finished))),
                        1,
                        5,
                    ),
                    0,
                )
                pct = np.where(
                    completed,
                    100,
                    np.minimum(
                        99, (100 * (progress_days[finished] - 1)) // np.maximum(q_sessions[finished, 0], 1)
                    ),
                )
                buffer.add(
                    outcome_enrollment=q_enr[finished, 0],
                    outcome_status=np.where(completed, COMPLETED, DROPPED),
                    outcome_progress_pct=pct,
                    outcome_time_s=np.where(completed, when, -1),
                    outcome_rating=rating,
                )
                successes[finished[completed]] += 1
                for q in (q_enr, q_course, q_sessions, q_drop):
                    q[finished, :-1] = q[finished, 1:]
                q_enr[finished, -1] = -1
                q_course[finished, -1] = -1
                progress_days[finished] = 0

            # Shopping: a Poisson number of considered courses per active day (interest, then
            # popularity within the category), each bought or not by a binary logit.
            n_seen = rng.poisson(self.browse_scale * w.learner_browse[act])
            seen_by = np.repeat(act, n_seen)
            if len(seen_by):
                u = rng.random(len(seen_by))
                category = (u[:, None] > cum_interest[seen_by]).sum(axis=1)
                weights = course_weights(w, d)[by_category]
                cum = np.cumsum(weights)
                before = np.where(seg_start > 0, cum[np.maximum(seg_start - 1, 0)], 0.0)
                total = np.where(seg_end > seg_start, cum[np.maximum(seg_end - 1, 0)], 0.0) - before
                target = before[category] + rng.random(len(seen_by)) * total[category]
                pos = np.searchsorted(cum, target, side="right")
                pos = np.clip(
                    pos, seg_start[category], np.maximum(seg_end[category] - 1, seg_start[category])
                )
                course = by_category[np.minimum(pos, n_c - 1)]
                valid = total[category] > 0
                utility = purchase_utility(w, course, w.learner_level[seen_by], prices[course])
                buy = valid & (rng.random(len(seen_by)) < 1 / (1 + np.exp(-utility)))
                buyer, course = seen_by[buy], course[buy]
                keys = buyer.astype(np.int64) * n_c + course
                keys, first = np.unique(keys, return_index=True)
                buyer, course = buyer[first], course[first]
                already = np.zeros(len(keys), dtype=bool)
                if len(owned):
                    pos_owned = np.minimum(np.searchsorted(owned, keys), len(owned) - 1)
                    already = owned[pos_owned] == keys
                if chunk_keys:
                    already |= np.isin(keys, np.concatenate(chunk_keys))
                buyer, course, keys = buyer[~already], course[~already], keys[~already]
                self._purchase(
                    d, buyer, course, keys, prices, wallet, teacher_balance, teacher_share,
                    platform_share, q_enr, q_course, q_sessions, q_drop, progress_days, chunk_keys, buffer,
                    end_s, n_enrollments, coupon_rng, window_s,
                )  # fmt: skip
                n_enrollments += len(buyer)
                pending = np.concatenate([pending, buffer.parts.pop("_new_refunds", [pending[:0]])[0]])
                to_release = np.concatenate(
                    [to_release, buffer.parts.pop("_new_releases", [to_release[:0]])[0]]
                )

            # Refunds due today, after today's purchases (a same-day refund follows its purchase).
            due = pending[:, 1] < (d + 1) * DAY_S
            if due.any():
                today = pending[due]
                pending = pending[~due]
                t_id, t_amount = today[:, 4], today[:, 5]
                np.subtract.at(teacher_balance, t_id, t_amount)
                # Inside the window the share is still pending (balance less available).
                if (teacher_balance[t_id] - teacher_available[t_id] < 0).any():
                    raise AssertionError("a refund would overdraw a teacher's pending earnings")
                # The wallet can spend refunded tokens only after this chunk is written, because
                # the writer posts a chunk's purchases before its refunds.
                np.add.at(refunded_pending, today[:, 2], today[:, 3])
                buffer.add(refund_enrollment=today[:, 0], refund_time_s=today[:, 1])
                buffer.add(
                    outcome_enrollment=today[:, 0],
                    outcome_status=np.full(len(today), REFUNDED),
                    outcome_progress_pct=np.zeros(len(today)),
                    outcome_time_s=np.full(len(today), -1),
                    outcome_rating=np.zeros(len(today)),
                )

            # Teacher shares whose refund window ends today move to available.
            due = to_release[:, 1] < (d + 1) * DAY_S
            if due.any():
                today = to_release[due]
                to_release = to_release[~due]
                np.add.at(teacher_available, today[:, 2], today[:, 3])
                buffer.add(
                    release_enrollment=today[:, 0], release_time_s=today[:, 1], release_tokens=today[:, 3]
                )

            if len(act):
                course_today = studied_course[act]
                on_course = course_today >= 0
                lessons = np.where(on_course, 1 + rng.poisson(1.0, len(act)), 0)
                minutes = np.where(
                    on_course, 15 + rng.gamma(2.0, 20.0, len(act)), 3 + rng.gamma(1.5, 5.0, len(act))
                ).astype(np.int64)
                buffer.add(
                    activity_learner=act,
                    activity_day=np.full(len(act), d),
                    activity_course=course_today,
                    activity_lessons=lessons,
                    activity_minutes=minutes,
                    activity_forum=rng.poisson(0.08, len(act)),
                    activity_assignments=(on_course & (rng.random(len(act)) < 0.25)).astype(np.int64),
                )

            last = d == cfg.days - 1
            if last or d - chunk_first + 1 >= cfg.days_per_chunk:
                if last:
                    current = np.nonzero(q_enr[:, 0] >= 0)[0]
                    buffer.add(
                        outcome_enrollment=q_enr[current, 0],
                        outcome_status=np.full(len(current), ACTIVE),
                        outcome_progress_pct=np.minimum(
                            99, (100 * progress_days[current]) // np.maximum(q_sessions[current, 0], 1)
                        ),
                        outcome_time_s=np.full(len(current), -1),
                        outcome_rating=np.zeros(len(current)),
                    )
                wallet += refunded_pending
                refunded_pending[:] = 0
                if chunk_keys:
                    owned = np.union1d(owned, np.concatenate(chunk_keys))
                    chunk_keys = []
                yield self._chunk(buffer, chunk_first, d)
                buffer = _Buffer()
                chunk_first = d + 1
            if progress is not None:
                progress(1)

        self.state = EndState(
            alive=alive,
            days_inactive=inactive,
            successes=successes,
            progress=progress_days,
            queue_course=q_course,
            queue_sessions=q_sessions,
            queue_drop=q_drop,
            queue_enrollment=q_enr,
            owned_keys=owned,
            prices=prices,
            wallet=wallet,
            teacher_balance=teacher_balance,
            enrollments=n_enrollments,
            teacher_available=teacher_available,
        )

    def _purchase(
        self, d, buyer, course, keys, prices, wallet, teacher_balance, teacher_share,
        platform_share, q_enr, q_course, q_sessions, q_drop, progress_days, chunk_keys, buffer, end_s,
        first_index, coupon_rng, window_s,
    ) -> None:  # fmt: skip
        w, rng = self.world, self.rng
        n = len(buyer)
        if n == 0:
            return
        time_s = d * DAY_S + rng.integers(6 * 3600, 23 * 3600 + 1800, size=n)
        order = np.argsort(time_s, kind="stable")
        buyer, course, keys, time_s = buyer[order], course[order], keys[order], time_s[order]
        chunk_keys.append(keys)
        price = prices[course]
        paid, coupon, share = apply_coupons(
            self.coupons, coupon_rng, day=d, course=course, price=price, teacher_share=teacher_share
        )
        index = first_index + np.arange(n, dtype=np.int64)
        refund = rng.random(n) < refund_chance(w, course)
        # Every refund comes inside the refund window, while the teacher's share is pending.
        delay_max = min(REFUND_DELAY_MAX_S, window_s - 1)
        refund_at = np.minimum(time_s + rng.integers(2 * 3600, delay_max, size=n), end_s)
        refund_at = np.maximum(refund_at, time_s + 1)
        drop = drop_chance(w, buyer, course)

        # A learner's purchases of the day are handled in time order, rank by rank.
        by_learner = np.lexsort((time_s, buyer))
        ranks = np.zeros(n, dtype=np.int64)
        sorted_buyer = buyer[by_learner]
        new_run = np.r_[True, sorted_buyer[1:] != sorted_buyer[:-1]]
        run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0))
        ranks[by_learner] = np.arange(n) - run_start
        topups_l, topups_t, topups_s = [], [], []
        for rank in range(int(ranks.max()) + 1):
            sel = np.nonzero(ranks == rank)[0]
            who = buyer[sel]
            short = paid[sel] - wallet[who]
            need = short > 0
            if need.any():
                amount = np.maximum(w.learner_topup_tokens[who[need]], short[need])
                amount = ((amount + 9) // 10) * 10
                wallet[who[need]] += amount
                topups_l.append(who[need])
                topups_t.append(amount)
                topups_s.append(time_s[sel[need]] - 30)
            wallet[who] -= paid[sel]
            keep = sel[~refund[sel]]
            learners = buyer[keep]
            free = q_enr[learners] < 0
            has_room = free.any(axis=1)
            slot = np.argmax(free, axis=1)
            learners, slot, keep = learners[has_room], slot[has_room], keep[has_room]
            q_enr[learners, slot] = index[keep]
            q_course[learners, slot] = course[keep]
            q_sessions[learners, slot] = w.course_sessions[course[keep]]
            q_drop[learners, slot] = drop[keep]
            progress_days[learners[slot == 0]] = 0
        teacher = w.course_teacher[course]
        np.add.at(teacher_balance, teacher, share)
        if topups_l:
            buffer.add(
                topup_learner=np.concatenate(topups_l),
                topup_tokens=np.concatenate(topups_t),
                topup_time_s=np.concatenate(topups_s),
            )
        buffer.add(
            enrollment_index=index,
            purchase_learner=buyer,
            purchase_course=course,
            purchase_time_s=time_s,
            purchase_price=price,
            purchase_paid=paid,
            purchase_coupon=coupon,
        )
        new_refunds = np.stack([index, refund_at, buyer, paid, teacher, share], axis=1)[refund]
        buffer.parts["_new_refunds"] = [new_refunds.astype(np.int64)]
        # The rest clear at the end of their window, if it ends inside the simulated period.
        release_at = time_s + window_s
        kept = ~refund & (release_at <= end_s) & (share > 0)
        new_releases = np.stack([index, release_at, teacher, share], axis=1)[kept]
        buffer.parts["_new_releases"] = [new_releases.astype(np.int64)]

    @staticmethod
    def _chunk(buffer: _Buffer, first: int, last: int) -> Chunk:
        i64 = np.int64
        refund_order = np.argsort(buffer.take("refund_time_s", i64), kind="stable")
        release_order = np.argsort(buffer.take("release_time_s", i64), kind="stable")
        topup_order = np.argsort(buffer.take("topup_time_s", i64), kind="stable")
        return Chunk(
            first_day=first,
            last_day=last,
            enrollment_index=buffer.take("enrollment_index", i64),
            purchase_learner=buffer.take("purchase_learner", i64),
            purchase_course=buffer.take("purchase_course", i64),
            purchase_time_s=buffer.take("purchase_time_s", i64),
            purchase_price=buffer.take("purchase_price", i64),
            purchase_paid=buffer.take("purchase_paid", i64),
            purchase_coupon=buffer.take("purchase_coupon", i64),
            topup_learner=buffer.take("topup_learner", i64)[topup_order],
            topup_tokens=buffer.take("topup_tokens", i64)[topup_order],
            topup_time_s=buffer.take("topup_time_s", i64)[topup_order],
            refund_enrollment=buffer.take("refund_enrollment", i64)[refund_order],
            refund_time_s=buffer.take("refund_time_s", i64)[refund_order],
            release_enrollment=buffer.take("release_enrollment", i64)[release_order],
            release_time_s=buffer.take("release_time_s", i64)[release_order],
            release_tokens=buffer.take("release_tokens", i64)[release_order],
            payout_teacher=buffer.take("payout_teacher", i64),
            payout_tokens=buffer.take("payout_tokens", i64),
            payout_time_s=buffer.take("payout_time_s", i64),
            outcome_enrollment=buffer.take("outcome_enrollment", i64),
            outcome_status=buffer.take("outcome_status", np.int8),
            outcome_progress_pct=buffer.take("outcome_progress_pct", i64),
            outcome_time_s=buffer.take("outcome_time_s", i64),
            outcome_rating=buffer.take("outcome_rating", i64),
            activity_learner=buffer.take("activity_learner", i64),
            activity_day=buffer.take("activity_day", i64),
            activity_course=buffer.take("activity_course", i64),
            activity_lessons=buffer.take("activity_lessons", i64),
            activity_minutes=buffer.take("activity_minutes", i64),
            activity_forum=buffer.take("activity_forum", i64),
            activity_assignments=buffer.take("activity_assignments", i64),
        )


def count_enrollments(cfg: SimulationConfig, world: World, browse_scale: float, seed_seq) -> int:
    """Run the engine without writing anything and count its enrollments (for calibration)."""
    engine = Engine(cfg, world, browse_scale, np.random.default_rng(seed_seq))
    for _ in engine.run():
        pass
    return engine.state.enrollments


def calibrate_browse_scale(
    cfg: SimulationConfig, world: World, seed_seq, *, log: Callable[[str], None] | None = None
) -> tuple[float, int]:
    """Find the browsing intensity that gives the target enrollment count.

    Enrollments are close to proportional to the number of courses learners look at, so a few
    multiplicative corrections converge; each pass replays the same random streams, so the final
    stochastic run reproduces the last pass's count exactly.
    """
    scale, count = 2.5, 0
    history: list[tuple[float, int]] = []
    for attempt in range(8):
        count = count_enrollments(cfg, world, scale, seed_seq)
        history.append((scale, count))
        if log:
            log(f"calibration pass {attempt + 1}: browse scale {scale:.4f} -> {count} enrollments")
        if count and abs(count - cfg.enrollments) <= cfg.calibration_tolerance * cfg.enrollments:
            break
        # Owned courses cannot be bought again, so counts grow less than proportionally when a
        # small catalog saturates: step on the log-log slope measured by the last two passes.
        slope = 1.0
        if len(history) >= 2:
            (s0, c0), (s1, c1) = history[-2], history[-1]
            if c0 > 0 and c1 > 0 and s0 != s1:
                slope = float(np.clip(np.log(c1 / c0) / np.log(s1 / s0), 0.2, 1.5))
        scale *= (cfg.enrollments / max(count, 1)) ** (1 / slope)
    else:
        scale, count = min(history, key=lambda sc: abs(sc[1] - cfg.enrollments))
    return scale, count
