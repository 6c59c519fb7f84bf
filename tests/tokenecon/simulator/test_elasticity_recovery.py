"""The planted elasticities can be recovered from the simulated data, and a naive regression cannot.

Estimator: a within-course Poisson regression (PPML, log link) of weekly enrollments on log
price, one slope per category, with course and week fixed effects (the week effects absorb the
season and the growing learner base). Fitted by alternating exact updates of the fixed effects
and Newton steps for the slopes, in plain numpy.

Tolerance: at scale 0.5 (5,000 learners, 1,000 courses, 25,000 enrollments in a year) each
category's estimate lies within 0.2 + 0.15 * |truth| of its true elasticity (the mean over its
courses at their current prices): 0.26 for the most inelastic category, 0.57 for the most
elastic. Two parts: sampling error (about 0.1-0.15 per category at this scale) and, growing with
the elasticity, the gap between a pooled log-log slope (a sales-weighted average of elasticities
along the price path: cheaper weeks and cheaper courses sell more and are less elastic, because
utility is linear in price) and the unweighted mean at current prices. At default scale the same
regression lands within about 0.1 everywhere except the most elastic category (about 0.4).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from tokenecon.models import Course, Enrollment, PriceChange
from tokenecon.simulator import truth_queries
from tokenecon.simulator.config import SimulationConfig
from tokenecon.simulator.service import run_simulation


def tolerance(true_elasticity: float) -> float:
    return 0.2 + 0.15 * abs(true_elasticity)


AGE_BINS_WEEKS = np.array([2, 4, 6, 9, 13, 18, 26, 39])


def weekly_panel(start, days: int) -> pd.DataFrame:
    """Course-week rows while the course is live: enrollments and the week's mean daily price."""
    courses = pd.DataFrame(list(Course.objects.values("id", "category", "launch_date")))
    changes = pd.DataFrame(list(PriceChange.objects.values("course_id", "effective_at", "new_price_tokens")))
    changes["day"] = (
        pd.to_datetime(changes["effective_at"]).dt.tz_convert(None) - pd.Timestamp(start)
    ).dt.days
    changes = changes.sort_values(["course_id", "day"], kind="stable")
    weeks = days // 7
    index = {cid: i for i, cid in enumerate(courses["id"])}
    price = np.full((len(courses), weeks * 7), np.nan)
    for course_id, group in changes.groupby("course_id"):
        position = np.searchsorted(group["day"].to_numpy(), np.arange(weeks * 7), side="right") - 1
        values = group["new_price_tokens"].to_numpy(dtype=float)
        price[index[course_id]] = np.where(position >= 0, values[np.maximum(position, 0)], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # weeks before a course's launch are all NaN
        weekly_price = np.nanmean(price.reshape(len(courses), weeks, 7), axis=2)
    enrolled = pd.DataFrame(list(Enrollment.objects.values("course_id", "enrolled_at")))
    day = (
        pd.to_datetime(enrolled["enrolled_at"]).dt.tz_convert(None) - pd.Timestamp(start)
    ).dt.days.to_numpy()
    keep = day < weeks * 7
    counts = np.zeros((len(courses), weeks))
    np.add.at(counts, (enrolled["course_id"].map(index).to_numpy()[keep], day[keep] // 7), 1)
    launch_day = (pd.to_datetime(courses["launch_date"]) - pd.Timestamp(start)).dt.days.to_numpy()
    # Whole weeks after launch only, so a launch week's few live days do not look like low demand.
    live = (np.arange(weeks)[None, :] * 7) >= launch_day[:, None]
    c, w = np.nonzero(live & np.isfinite(weekly_price))
    return pd.DataFrame(
        {
            "course": c,
            "week": w,
            "category": courses["category"].to_numpy()[c],
            "log_price": np.log(weekly_price[c, w]),
            "enrollments": counts[c, w],
            "age_weeks": w - launch_day[c] / 7,
        }
    )


def within_course_elasticities(panel: pd.DataFrame, iterations: int = 300) -> dict[str, float]:
    panel = panel[panel.groupby("course")["enrollments"].transform("sum") > 0]
    course = pd.factorize(panel["course"])[0]
    week = pd.factorize(panel["week"])[0]
    category, names = pd.factorize(panel["category"])
    # New courses get extra attention for a few months: course age in bins, shared by all courses.
    age = np.searchsorted(AGE_BINS_WEEKS, panel["age_weeks"].to_numpy(), side="right")
    x = panel["log_price"].to_numpy() - panel.groupby("course")["log_price"].transform("mean").to_numpy()
    y = panel["enrollments"].to_numpy()
    alpha, gamma, beta = np.zeros(course.max() + 1), np.zeros(week.max() + 1), np.zeros(len(names))
    delta = np.zeros(len(AGE_BINS_WEEKS) + 1)
    for _ in range(iterations):
        eta = gamma[week] + delta[age] + beta[category] * x
        alpha = np.log(np.bincount(course, y) / np.bincount(course, np.exp(eta)))
        eta = alpha[course] + delta[age] + beta[category] * x
        gamma = np.log(np.maximum(np.bincount(week, y), 1e-12) / np.bincount(week, np.exp(eta)))
        eta = alpha[course] + gamma[week] + beta[category] * x
        delta = np.log(
            np.maximum(np.bincount(age, y), 1e-12) / np.maximum(np.bincount(age, np.exp(eta)), 1e-12)
        )
        mu = np.exp(alpha[course] + gamma[week] + delta[age] + beta[category] * x)
        step = np.bincount(category, (y - mu) * x) / np.bincount(category, mu * x * x)
        beta = beta + step
        if np.abs(step).max() < 1e-8:
            break
    return dict(zip(names, beta, strict=True))


def naive_cross_sectional_elasticities(panel: pd.DataFrame) -> dict[str, float]:
    """OLS across courses of log(mean weekly enrollments) on log(mean price), per category."""
    per_course = panel.groupby("course").agg(
        category=("category", "first"), log_price=("log_price", "mean"), rate=("enrollments", "mean")
    )
    per_course = per_course[per_course["rate"] > 0]
    out = {}
    for name, group in per_course.groupby("category"):
        design = np.column_stack([np.ones(len(group)), group["log_price"]])
        coef, *_ = np.linalg.lstsq(design, np.log(group["rate"]), rcond=None)
        out[name] = float(coef[1])
    return out


@pytest.mark.slow
def test_within_course_regression_recovers_planted_elasticities_and_naive_one_is_biased(db, tmp_path):
    config = SimulationConfig(truth_replications=20).scaled(0.5)
    result = run_simulation(config=config, truth_path=tmp_path / "truth.joblib")
    true = truth_queries.category_elasticities(path=result.truth_path)
    panel = weekly_panel(config.start_date, config.days)
    estimate = within_course_elasticities(panel)
    naive = naive_cross_sectional_elasticities(panel)
    errors = {c: estimate[c] - true[c] for c in true}
    report = str({c: (round(true[c], 2), round(float(estimate[c]), 2), round(naive[c], 2)) for c in true})
    assert all(abs(errors[c]) < tolerance(true[c]) for c in true), report
    # Better courses cost more and sell more, so the cross-section makes demand look far less
    # price sensitive than it is (often upward sloping).
    bias = np.array([naive[c] - true[c] for c in true])
    assert bias.mean() > 0.5, report
    assert (bias > 0).sum() >= 8, report
