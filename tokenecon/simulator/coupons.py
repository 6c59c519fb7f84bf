"""Launch coupons of the simulated marketplace: which courses have one, its terms and how often
a buyer redeems it.

Drawn from their own random stream (seeded by the run's seed), so adding coupons changes
neither the world nor the engine's behavioural draws: the same seed buys the same courses on the
same days, and a coupon only lowers what some of those buyers pay. The price after a coupon is
``rates.coupon_price_tokens`` and the split ``rates.split_purchase``, as in the live product.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from tokenecon.services.rates import coupon_price_tokens, split_purchase
from tokenecon.simulator.config import SimulationConfig
from tokenecon.simulator.world import World

COUPON_STREAM = 16  # the spawn key of the coupons' random stream
TEACHER_SHARE = 0.25  # about this share of the teachers gives one course a launch coupon
VALID_DAYS = 60  # a launch coupon is valid this many days from the course's launch (or day 0)
REDEEM_CHANCE = 0.35  # chance that a buyer of the course inside that window uses the code
PERCENTS = np.array([10, 15, 20, 25, 30])
TOKENS_OFF = np.array([5, 10, 15, 20])


@dataclass(frozen=True)
class CouponPlan:
    course: np.ndarray  # course index of each coupon
    percent_off: np.ndarray  # 0 for a tokens-off coupon
    tokens_off: np.ndarray  # 0 for a percent coupon
    platform_funded: np.ndarray  # bool
    valid_from_day: np.ndarray
    valid_until_day: np.ndarray  # exclusive
    coupon_of_course: np.ndarray  # per course: coupon index or -1

    def __len__(self) -> int:
        return len(self.course)

    @staticmethod
    def code(prefix: str, course_code: str) -> str:
        return f"{prefix}-LAUNCH-{course_code}".upper()[:32]

    def price(self, k: int, list_price: int) -> int:
        if self.percent_off[k]:
            return coupon_price_tokens(
                list_price_tokens=list_price, percent_off=Decimal(int(self.percent_off[k]))
            )
        return coupon_price_tokens(list_price_tokens=list_price, tokens_off=int(self.tokens_off[k]))

    def teacher_share(self, k: int, list_price: int, paid: int) -> int:
        teacher, _ = split_purchase(
            list_price_tokens=list_price, paid_tokens=paid, platform_funded=bool(self.platform_funded[k])
        )
        return teacher


def plan_coupons(cfg: SimulationConfig, world: World) -> CouponPlan:
    rng = np.random.default_rng([cfg.seed, COUPON_STREAM])
    n_t, n_c = len(world.teacher_z), len(world.course_category)
    chosen = np.nonzero(rng.random(n_t) < TEACHER_SHARE)[0]
    if len(chosen) == 0 and n_t:
        chosen = np.array([0])
    courses = []
    for teacher in chosen:
        own = np.nonzero(world.course_teacher == teacher)[0]
        if len(own):
            courses.append(int(own[rng.integers(0, len(own))]))
    course = np.array(sorted(set(courses)), dtype=np.int64)
    n = len(course)
    percent = rng.random(n) < 0.7
    percent_off = np.where(percent, PERCENTS[rng.integers(0, len(PERCENTS), n)], 0)
    tokens_off = np.where(percent, 0, TOKENS_OFF[rng.integers(0, len(TOKENS_OFF), n)])
    platform = rng.random(n) < 0.35
    start = np.maximum(world.course_launch_day[course], 0).astype(np.int64)
    of_course = np.full(n_c, -1, dtype=np.int64)
    of_course[course] = np.arange(n)
    return CouponPlan(
        course=course,
        percent_off=percent_off.astype(np.int64),
        tokens_off=tokens_off.astype(np.int64),
        platform_funded=platform,
        valid_from_day=start,
        valid_until_day=start + VALID_DAYS,
        coupon_of_course=of_course,
    )


def apply_coupons(
    plan: CouponPlan,
    rng: np.random.Generator,
    *,
    day: int,
    course: np.ndarray,
    price: np.ndarray,
    teacher_share: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(paid, coupon index or -1, teacher share) of each purchase of the day. A redemption that
    would make the course free is not taken (a free enrollment moves no tokens)."""
    paid = price.copy()
    share = teacher_share[price]
    used = np.full(len(course), -1, dtype=np.int64)
    k = plan.coupon_of_course[course] if len(plan) else np.full(len(course), -1)
    valid = k >= 0
    if valid.any():
        kk = np.maximum(k, 0)
        valid &= (plan.valid_from_day[kk] <= day) & (day < plan.valid_until_day[kk])
    draws = rng.random(len(course))
    for i in np.nonzero(valid & (draws < REDEEM_CHANCE))[0]:
        after = plan.price(int(k[i]), int(price[i]))
        if after <= 0:
            continue
        paid[i] = after
        used[i] = k[i]
        share[i] = plan.teacher_share(int(k[i]), int(price[i]), after)
    return paid, used, share
