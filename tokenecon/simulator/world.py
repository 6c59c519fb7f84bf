"""The static, latent side of a simulated marketplace: people, courses and the price schedule.

Pure numpy (no Django models): every array is indexed by a 0-based learner, teacher or course
number. Everything here is drawn from the ``world`` stream of the run's seed, so the same seed
gives the same world whatever the engine later does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenecon.simulator.config import CATEGORIES, CATEGORY_PARAMS, SENSITIVITY_LEVELS, SimulationConfig

PRICE_SOURCES = ("initial", "manual", "promotion", "experiment")

COUNTRIES = np.array(["US", "IN", "GB", "DE", "BR", "NG", "FR", "ES", "CA", "PL", "MX", "JP", "KE", "PT"])
COUNTRY_WEIGHTS = np.array([20, 16, 9, 8, 8, 6, 5, 5, 5, 4, 4, 4, 3, 3], dtype=float)
AGE_GROUPS = np.array(["under_18", "18_24", "25_34", "35_44", "45_plus"])
AGE_WEIGHTS = np.array([5, 30, 35, 18, 12], dtype=float)
EDUCATIONS = np.array(["secondary", "bachelor", "master", "doctorate", "other"])
EDUCATION_WEIGHTS = np.array([30, 40, 20, 4, 6], dtype=float)
CHANNELS = np.array(["organic", "referral", "paid", "social", "partner"])
CHANNEL_WEIGHTS = np.array([35, 15, 25, 20, 5], dtype=float)


@dataclass
class World:
    """Latent parameters of one run. Day numbers count from the first simulated day (0)."""

    n_days: int
    category_coefficient: np.ndarray  # b_c, by category index
    category_intercept: np.ndarray  # utility intercept by category, before calibration
    # teachers
    teacher_z: np.ndarray
    teacher_quality_score: np.ndarray
    teacher_years: np.ndarray
    teacher_joined_day: np.ndarray
    # courses
    course_teacher: np.ndarray
    course_category: np.ndarray
    course_quality: np.ndarray
    course_utility: np.ndarray  # v_j: the utility of the course at a zero price
    course_reference_price: np.ndarray  # ref_j: the price learners judge this course's price against
    course_appeal: np.ndarray  # consideration weight (popularity) before the novelty boost
    course_launch_day: np.ndarray
    course_difficulty: np.ndarray
    course_duration_hours: np.ndarray
    course_sessions: np.ndarray  # active study days needed to finish
    course_certificate: np.ndarray
    course_initial_price: np.ndarray
    course_final_price: np.ndarray
    # price schedule: every change, sorted by day (initial prices of launched courses included)
    change_day: np.ndarray
    change_course: np.ndarray
    change_old_price: np.ndarray  # -1 for the initial price
    change_new_price: np.ndarray
    change_source: np.ndarray  # index into PRICE_SOURCES
    # learners
    learner_join_day: np.ndarray
    learner_activity: np.ndarray  # base chance to be active on a day
    learner_browse: np.ndarray  # relative number of courses considered per active day (mean 1)
    learner_level: np.ndarray  # index into SENSITIVITY_LEVELS
    learner_interest: np.ndarray  # (learners, categories), rows sum to 1
    learner_topup_tokens: np.ndarray
    learner_engagement: np.ndarray  # standardised log activity
    learner_country: np.ndarray
    learner_age_group: np.ndarray
    learner_education: np.ndarray
    learner_channel: np.ndarray

    @property
    def learner_sensitivity(self) -> np.ndarray:
        return SENSITIVITY_LEVELS[self.learner_level]


def _choice(rng: np.random.Generator, values: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return values[rng.choice(len(values), size=n, p=weights / weights.sum())]


def draw_learners(rng: np.random.Generator, n: int, join_low: int, join_high: int) -> dict[str, np.ndarray]:
    """Learner traits; join days uniform in [join_low, join_high]. Also used for truth arrivals."""
    n_cat = len(CATEGORIES)
    interest_prior = np.array([CATEGORY_PARAMS[c].interest_weight for c in CATEGORIES])
    interest = np.zeros((n, n_cat), dtype=np.float32)
    n_interests = 1 + rng.binomial(2, 0.5, size=n)
    keys = rng.random((n, n_cat)) ** (1.0 / interest_prior)  # weighted sampling without replacement
    order = np.argsort(-keys, axis=1)
    weights = rng.gamma(2.0, 1.0, size=(n, 3))
    for k in range(3):
        chosen = n_interests > k
        interest[np.nonzero(chosen)[0], order[chosen, k]] = weights[chosen, k]
    interest /= interest.sum(axis=1, keepdims=True)

    log_activity = rng.normal(np.log(0.10), 0.6, size=n)
    activity = np.clip(np.exp(log_activity), 0.01, 0.7)
    engagement = (log_activity - np.log(0.10)) / 0.6
    sensitivity_z = rng.normal(size=n)
    level = np.clip(np.rint(1.5 * sensitivity_z) + 4, 0, len(SENSITIVITY_LEVELS) - 1).astype(np.int8)
    # Learners with small top-ups are the price-sensitive ones (budget and sensitivity correlate).
    topup = np.exp(rng.normal(np.log(250), 0.4, size=n) - 0.3 * sensitivity_z)
    topup = np.clip(np.round(topup / 10) * 10, 50, 2000).astype(np.int64)
    browse = np.exp(rng.normal(-0.045, 0.3, size=n))
    return {
        "join_day": rng.integers(join_low, join_high + 1, size=n).astype(np.int32),
        "activity": activity,
        "browse": browse,
        "level": level,
        "interest": interest,
        "topup": topup,
        "engagement": engagement,
    }


def _price_schedule(rng, cfg: SimulationConfig, launch: np.ndarray, ref: np.ndarray, initial: np.ndarray):
    """Teacher changes, promotions and random tests: about eight moves of 10-35% per course a year."""
    lo, hi = _bounds()
    days, courses, olds, news, sources = [], [], [], [], []
    final = initial.copy()
    for j in range(len(launch)):
        price = int(initial[j])
        first_day = int(launch[j])
        days.append(first_day)
        courses.append(j)
        olds.append(-1)
        news.append(price)
        sources.append(0)
        day = max(first_day + 1, 0) + int(rng.exponential(45))
        while day < cfg.days:
            kind = rng.choice(3, p=[0.30, 0.20, 0.50])
            if kind == 0:
                # Teachers re-price around what they think the course is worth (their launch
                # price), so prices do not wander away for good.
                new = initial[j] * np.exp(rng.normal(0, 0.10))
                length = None
            elif kind == 1:
                new = price * (1 - rng.uniform(0.10, 0.25))
                length = int(rng.integers(7, 15))
            else:
                # Random tests move the price up or down alike: symmetric variation keeps a
                # log-log slope close to the elasticity at the usual price.
                new = price * np.exp(rng.choice([-1, 1]) * rng.uniform(0.20, 0.40))
                length = int(rng.integers(28, 57))
            new = int(np.clip(round(new), lo, hi))
            if new != price:
                days.append(day)
                courses.append(j)
                olds.append(price)
                news.append(new)
                sources.append(kind + 1)
                if length is not None and day + length < cfg.days:
                    days.append(day + length)
                    courses.append(j)
                    olds.append(new)
                    news.append(price)
                    sources.append(kind + 1)
                    day += length
                else:
                    price = new
            day += 7 + int(rng.exponential(25))
        final[j] = price
    order = np.lexsort((np.arange(len(days)), np.array(days)))
    return (
        np.array(days, dtype=np.int32)[order],
        np.array(courses, dtype=np.int32)[order],
        np.array(olds, dtype=np.int32)[order],
        np.array(news, dtype=np.int32)[order],
        np.array(sources, dtype=np.int8)[order],
        final,
    )


def _bounds() -> tuple[int, int]:
    from django.conf import settings

    return int(settings.TOKEN_PRICE_MIN), int(settings.TOKEN_PRICE_MAX)


def build_world(cfg: SimulationConfig, rng: np.random.Generator) -> World:
    n_cat = len(CATEGORIES)
    params = [CATEGORY_PARAMS[c] for c in CATEGORIES]
    coefficient = np.array([p.price_coefficient for p in params])
    # Keeps every category's purchase chance at its usual price in the same range, so elastic
    # categories are not simply empty.
    intercept = -2.6 + 0.8 * coefficient

    n_t = cfg.teachers
    teacher_z = rng.normal(size=n_t)
    quality_score = np.clip(np.rint(55 + 14 * teacher_z + rng.normal(0, 6, size=n_t)), 0, 100).astype(int)
    years = np.clip(np.rint(rng.gamma(2.0, 3.0, size=n_t) + 0.8 * teacher_z), 0, 40).astype(int)

    n_c = cfg.courses
    # Every teacher gets at least one course; the rest go to teachers in proportion to a
    # heavy-tailed productivity.
    productivity = rng.gamma(1.2, 1.0, size=n_t)
    extra = rng.choice(n_t, size=max(0, n_c - n_t), p=productivity / productivity.sum())
    course_teacher = np.concatenate([np.arange(min(n_t, n_c)), extra])[:n_c]
    course_teacher = course_teacher[rng.permutation(n_c)].astype(np.int32)
    share = np.array([p.course_share for p in params])
    # Teachers stick to one or two categories.
    home = rng.choice(n_cat, size=n_t, p=share / share.sum())
    second = rng.choice(n_cat, size=n_t, p=share / share.sum())
    course_category = np.where(rng.random(n_c) < 0.75, home[course_teacher], second[course_teacher])
    course_category = course_category.astype(np.int8)

    t_z = teacher_z[course_teacher]
    quality = 0.6 * t_z + 0.8 * rng.normal(size=n_c)
    utility = intercept[course_category] + 0.5 * quality + 0.3 * t_z + rng.normal(0, 0.3, size=n_c)
    # Better courses are worth more to learners, and their teachers price them higher: the
    # confounding a cross-sectional regression of enrollments on price falls for.
    base = np.array([p.base_price_tokens for p in params])[course_category]
    reference = base * np.exp(0.30 * (0.7 * quality + 0.3 * t_z) + rng.normal(0, 0.10, size=n_c))
    lo, hi = _bounds()
    initial = np.clip(np.rint(reference * np.exp(rng.normal(0, 0.08, size=n_c))), lo, hi).astype(np.int64)
    appeal = np.exp(0.7 * rng.normal(size=n_c) + 0.3 * quality)

    launched_before = rng.random(n_c) < 0.5
    launch = np.where(
        launched_before,
        rng.integers(-730, 0, size=n_c),
        rng.integers(0, max(1, int(0.9 * cfg.days)), size=n_c),
    ).astype(np.int32)
    teacher_first = np.full(n_t, 10**9)
    np.minimum.at(teacher_first, course_teacher, launch)
    teacher_first = np.where(teacher_first == 10**9, 0, teacher_first)
    teacher_joined = (teacher_first - rng.integers(0, 120, size=n_t)).astype(np.int32)

    difficulty = rng.choice(3, size=n_c, p=[0.45, 0.35, 0.20]).astype(np.int8)
    duration = np.clip(np.round(np.exp(rng.normal(np.log(12), 0.6, size=n_c)) * 2) / 2, 1.0, 80.0)
    sessions = np.clip(np.ceil(duration / 2.0), 1, 40).astype(np.int16)
    certificate = rng.random(n_c) < 0.4

    change_day, change_course, change_old, change_new, change_source, final = _price_schedule(
        rng, cfg, launch, reference, initial
    )

    n_l = cfg.learners
    existing = rng.random(n_l) < 0.45
    drawn = draw_learners(rng, n_l, 0, cfg.days - 1)
    join = np.where(existing, rng.integers(-730, 0, size=n_l), drawn["join_day"]).astype(np.int32)

    return World(
        n_days=cfg.days,
        category_coefficient=coefficient,
        category_intercept=intercept,
        teacher_z=teacher_z,
        teacher_quality_score=quality_score,
        teacher_years=years,
        teacher_joined_day=teacher_joined,
        course_teacher=course_teacher,
        course_category=course_category,
        course_quality=quality,
        course_utility=utility,
        course_reference_price=reference,
        course_appeal=appeal,
        course_launch_day=launch,
        course_difficulty=difficulty,
        course_duration_hours=duration,
        course_sessions=sessions,
        course_certificate=certificate,
        course_initial_price=initial,
        course_final_price=final,
        change_day=change_day,
        change_course=change_course,
        change_old_price=change_old,
        change_new_price=change_new,
        change_source=change_source,
        learner_join_day=join,
        learner_activity=drawn["activity"],
        learner_browse=drawn["browse"],
        learner_level=drawn["level"],
        learner_interest=drawn["interest"],
        learner_topup_tokens=drawn["topup"],
        learner_engagement=drawn["engagement"],
        learner_country=_choice(rng, COUNTRIES, COUNTRY_WEIGHTS, n_l),
        learner_age_group=_choice(rng, AGE_GROUPS, AGE_WEIGHTS, n_l),
        learner_education=_choice(rng, EDUCATIONS, EDUCATION_WEIGHTS, n_l),
        learner_channel=_choice(rng, CHANNELS, CHANNEL_WEIGHTS, n_l),
    )
