"""A tiny course-week demand world with known elasticities, for testing models without a database."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

CATEGORY_SLOPES = {"programming": 0.5, "design": 1.2, "music": 2.0}


def synthetic_tables(*, n_courses: int = 300, weeks: int = 52, seed: int = 0):
    """Courses, price changes and enrollments where better courses charge more (confounding).

    Demand per week: exp(appeal_c) * exp(-b_cat * price / ref_c); elasticity at price p is
    -b_cat * p / ref_c.
    """
    rng = np.random.default_rng(seed)
    start = date(2025, 1, 6)
    categories = rng.choice(list(CATEGORY_SLOPES), n_courses)
    quality = rng.uniform(0, 100, n_courses)
    ref = 40 + quality  # reference price: better courses are worth (and charge) more
    appeal = -0.5 + 0.02 * quality + rng.normal(0, 0.3, n_courses)
    base_price = np.round(ref * rng.uniform(0.8, 1.2, n_courses))
    courses = pd.DataFrame(
        {
            "course_id": np.arange(1, n_courses + 1),
            "code": [f"C{i:05d}" for i in range(1, n_courses + 1)],
            "category": categories,
            "difficulty": rng.choice(["beginner", "intermediate", "advanced"], n_courses),
            "duration_hours": rng.uniform(2, 40, n_courses).round(1),
            "certificate_offered": rng.random(n_courses) < 0.5,
            "launch_date": [start - timedelta(days=30)] * n_courses,
            "teacher_quality": quality.round(),
            "teacher_years": rng.integers(0, 20, n_courses),
            "price_tokens": base_price,
        }
    )
    changes, enrollments = [], []
    for i in range(n_courses):
        price = base_price[i]
        changes.append((i + 1, pd.Timestamp(start - timedelta(days=30), tz="UTC"), None, price))
        for week in range(weeks):
            if rng.random() < 0.08:
                new = float(np.clip(np.round(price * rng.uniform(0.75, 1.3)), 10, 500))
                changes.append((i + 1, pd.Timestamp(start + timedelta(weeks=week), tz="UTC"), price, new))
                price = new
            slope = CATEGORY_SLOPES[categories[i]]
            rate = np.exp(appeal[i] + 1.0) * np.exp(-slope * price / ref[i]) * 1.5
            for _ in range(rng.poisson(rate)):
                day = start + timedelta(weeks=week, days=int(rng.integers(0, 7)))
                enrollments.append((i + 1, pd.Timestamp(day, tz="UTC"), None, None))
        courses.loc[i, "price_tokens"] = price
    price_changes = pd.DataFrame(
        changes, columns=["course_id", "effective_at", "old_price_tokens", "new_price_tokens"]
    )
    enrollment_frame = pd.DataFrame(
        enrollments, columns=["course_id", "enrolled_at", "completed_at", "rating"]
    )
    truth = pd.DataFrame(
        {
            "course_id": courses["course_id"],
            "category": categories,
            "true_elasticity": [
                -CATEGORY_SLOPES[c] * p / r
                for c, p, r in zip(categories, courses["price_tokens"], ref, strict=True)
            ],
        }
    )
    return (
        courses,
        price_changes,
        enrollment_frame,
        truth,
        start,
        start + timedelta(weeks=weeks) - timedelta(days=1),
    )
