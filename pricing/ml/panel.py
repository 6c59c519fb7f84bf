"""The course-by-week demand panel.

One row per course and week while the course is live: the price in effect (the time-weighted
mean of the daily price schedule, which the platform sets in advance), the enrollments of that
week (the outcome) and features known at the start of the week only: static course facts,
enrollments and ratings to date (strictly before the week), last week's enrollments, course age,
the category's average price and the course's price relative to it, and the season.

Nothing here reads an outcome of the week it describes; ``tests/pricing/test_panel.py`` plants a
future-only spike and checks no feature of an earlier week moves.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

STATIC_FEATURES = [
    "category",
    "difficulty",
    "duration_hours",
    "certificate_offered",
    "teacher_quality",
    "teacher_years",
]
DYNAMIC_FEATURES = [
    "log_price",
    "log_rel_category_price",
    "log_category_avg_price",
    "course_age_weeks",
    "log_enrollments_to_date",
    "rating_to_date",
    "has_rating",
    "log_lag_enrollments",
    "season_sin",
    "season_cos",
]


def _day_index(values: pd.Series, start: np.datetime64) -> np.ndarray:
    days = pd.to_datetime(values, utc=True).dt.tz_convert(None).values.astype("datetime64[D]")
    return (days - start).astype(np.int64)


def daily_prices(courses: pd.DataFrame, price_changes: pd.DataFrame, start: date, end: date) -> np.ndarray:
    """Price of every course (rows, in ``courses`` order) on every day from start to end."""
    start64 = np.datetime64(start, "D")
    n_days = int((np.datetime64(end, "D") - start64).astype(int)) + 1
    index = {cid: i for i, cid in enumerate(courses["course_id"].to_numpy())}
    prices = np.repeat(courses["price_tokens"].to_numpy(dtype=float)[:, None], n_days, axis=1)
    if price_changes.empty:
        return prices
    changes = price_changes.sort_values(["course_id", "effective_at"]).copy()
    changes["day"] = _day_index(changes["effective_at"], start64)
    for course_id, group in changes.groupby("course_id", sort=False):
        row = index.get(course_id)
        if row is None:
            continue
        change_days = group["day"].to_numpy()
        new_prices = group["new_price_tokens"].to_numpy(dtype=float)
        before = group["old_price_tokens"].iloc[0]
        first_price = float(before) if pd.notna(before) else new_prices[0]
        # Price on day d = newest change effective on or before d, else the price before the first.
        position = np.searchsorted(change_days, np.arange(n_days), side="right") - 1
        prices[row] = np.where(position >= 0, new_prices[np.clip(position, 0, None)], first_price)
    return prices


def build_weekly_panel(
    *,
    courses: pd.DataFrame,
    price_changes: pd.DataFrame,
    enrollments: pd.DataFrame,
    start: date,
    end: date,
    split_at_price_changes: bool = True,
) -> pd.DataFrame:
    """Course-week rows from ``start`` (moved back to its Monday) to ``end``.

    With ``split_at_price_changes`` a week in which the price changed becomes one row per price
    (its days as exposure, its enrollments), so every row has one exact price: a week's mean price
    would blur the price each enrollment was made at and bias the estimated response towards zero.

    ``courses``: course_id, code, category, difficulty, duration_hours, certificate_offered,
    launch_date, teacher_quality, teacher_years, price_tokens.
    ``price_changes``: course_id, effective_at, old_price_tokens, new_price_tokens.
    ``enrollments``: course_id, enrolled_at, completed_at, rating.
    """
    monday = pd.Timestamp(start) - pd.Timedelta(days=pd.Timestamp(start).weekday())
    start64 = np.datetime64(monday.date(), "D")
    end64 = np.datetime64(end, "D")
    n_days = int((end64 - start64).astype(int)) + 1
    n_weeks = n_days // 7  # whole weeks only: a partial last week would look like a demand drop
    n_days = n_weeks * 7
    courses = courses.reset_index(drop=True)
    n_courses = len(courses)
    prices = daily_prices(
        courses, price_changes, monday.date(), (monday + pd.Timedelta(days=n_days - 1)).date()
    )

    launch = (courses["launch_date"].to_numpy().astype("datetime64[D]") - start64).astype(np.int64)
    day_numbers = np.arange(n_days)
    live = day_numbers[None, :] >= launch[:, None]
    exposure = live.reshape(n_courses, n_weeks, 7).sum(axis=2)
    live_price_sum = np.where(live, prices, 0.0).reshape(n_courses, n_weeks, 7).sum(axis=2)
    weekly_price = np.where(exposure > 0, live_price_sum / np.maximum(exposure, 1), np.nan)

    row_of = pd.Series(np.arange(n_courses), index=courses["course_id"].to_numpy())
    counts = np.zeros((n_courses, n_weeks))
    daily_counts = np.zeros((n_courses, n_days))
    before_counts = np.zeros(n_courses)
    rating_sum = np.zeros((n_courses, n_weeks))
    rating_n = np.zeros((n_courses, n_weeks))
    before_rating_sum = np.zeros(n_courses)
    before_rating_n = np.zeros(n_courses)
    if not enrollments.empty:
        rows = row_of.reindex(enrollments["course_id"].to_numpy()).to_numpy()
        known = ~np.isnan(rows)
        e = enrollments[known]
        rows = rows[known].astype(int)
        day = _day_index(e["enrolled_at"], start64)
        in_window = (day >= 0) & (day < n_days)
        np.add.at(counts, (rows[in_window], day[in_window] // 7), 1)
        np.add.at(daily_counts, (rows[in_window], day[in_window]), 1)
        np.add.at(before_counts, rows[day < 0], 1)
        rated = e["rating"].notna().to_numpy() & e["completed_at"].notna().to_numpy()
        if rated.any():
            r_rows = rows[rated]
            r_day = _day_index(e.loc[rated, "completed_at"], start64)
            r_val = e.loc[rated, "rating"].to_numpy(dtype=float)
            inside = (r_day >= 0) & (r_day < n_days)
            np.add.at(rating_sum, (r_rows[inside], r_day[inside] // 7), r_val[inside])
            np.add.at(rating_n, (r_rows[inside], r_day[inside] // 7), 1)
            earlier = r_day < 0
            np.add.at(before_rating_sum, r_rows[earlier], r_val[earlier])
            np.add.at(before_rating_n, r_rows[earlier], 1)

    # "To date" means strictly before the week starts: shift the running totals by one week.
    def to_date(weekly: np.ndarray, before: np.ndarray) -> np.ndarray:
        running = np.cumsum(weekly, axis=1) - weekly
        return running + before[:, None]

    enrollments_to_date = to_date(counts, before_counts)
    ratings_total = to_date(rating_sum, before_rating_sum)
    ratings_count = to_date(rating_n, before_rating_n)
    lag = np.concatenate([np.full((n_courses, 1), np.nan), counts[:, :-1]], axis=1)

    week_start = monday + pd.to_timedelta(np.arange(n_weeks) * 7, unit="D")
    start_price = prices[:, ::7][:, :n_weeks]
    live_at_start = (np.arange(n_weeks) * 7)[None, :] >= launch[:, None]
    categories = courses["category"].to_numpy()
    category_avg = np.zeros((n_courses, n_weeks))
    for category in np.unique(categories):
        members = categories == category
        masked = np.where(live_at_start[members], start_price[members], np.nan)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(masked, axis=0)
        category_avg[members] = np.where(np.isnan(mean), np.nanmean(start_price[members]), mean)[None, :]

    course_idx, week_idx = np.nonzero(exposure > 0)
    frame = pd.DataFrame(
        {
            "course_id": courses["course_id"].to_numpy()[course_idx],
            "code": courses["code"].to_numpy()[course_idx],
            "week": week_idx,
            "week_start": week_start[week_idx],
            "exposure_days": exposure[course_idx, week_idx],
            "price": weekly_price[course_idx, week_idx],
            "enrollments": counts[course_idx, week_idx],
        }
    )
    if split_at_price_changes:
        frame, course_idx, week_idx = _split_by_price(frame, course_idx, week_idx, live, prices, daily_counts)
    for column in STATIC_FEATURES:
        frame[column] = courses[column].to_numpy()[course_idx]
    frame["log_price"] = np.log(frame["price"])
    frame["log_category_avg_price"] = np.log(category_avg[course_idx, week_idx])
    frame["log_rel_category_price"] = frame["log_price"] - frame["log_category_avg_price"]
    frame["course_age_weeks"] = (week_idx * 7 - launch[course_idx]) / 7.0
    frame["log_enrollments_to_date"] = np.log1p(enrollments_to_date[course_idx, week_idx])
    n_ratings = ratings_count[course_idx, week_idx]
    frame["has_rating"] = (n_ratings > 0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["rating_to_date"] = np.where(
            n_ratings > 0, ratings_total[course_idx, week_idx] / n_ratings, 0.0
        )
    frame["log_lag_enrollments"] = np.log1p(np.nan_to_num(lag[course_idx, week_idx], nan=0.0))
    day_of_year = frame["week_start"].dt.dayofyear.to_numpy() + 3
    frame["season_sin"] = np.sin(2 * np.pi * day_of_year / 365.25)
    frame["season_cos"] = np.cos(2 * np.pi * day_of_year / 365.25)
    frame["category"] = frame["category"].astype("category")
    frame["difficulty"] = frame["difficulty"].astype("category")
    frame["certificate_offered"] = frame["certificate_offered"].astype(float)
    return frame.sort_values(["week", "course_id"], kind="stable").reset_index(drop=True)


def _split_by_price(frame, course_idx, week_idx, live, prices, daily_counts):
    """Replace each course-week whose live days had more than one price by one row per price."""
    lo = np.where(live, prices, np.inf).reshape(len(prices), -1, 7).min(axis=2)
    hi = np.where(live, prices, -np.inf).reshape(len(prices), -1, 7).max(axis=2)
    mixed = (hi > lo)[course_idx, week_idx]
    if not mixed.any():
        return frame, course_idx, week_idx
    days = (week_idx[mixed][:, None] * 7 + np.arange(7)[None, :]).ravel()
    courses_rep = np.repeat(course_idx[mixed], 7)
    rows_rep = np.repeat(np.nonzero(mixed)[0], 7)
    alive = live[courses_rep, days]
    parts = pd.DataFrame(
        {
            "row": rows_rep[alive],
            "price": prices[courses_rep[alive], days[alive]],
            "enrollments": daily_counts[courses_rep[alive], days[alive]],
        }
    )
    pieces = parts.groupby(["row", "price"], as_index=False, sort=True).agg(
        exposure_days=("enrollments", "size"), enrollments=("enrollments", "sum")
    )
    split = frame.iloc[pieces["row"].to_numpy()].copy()
    split["price"] = pieces["price"].to_numpy()
    split["enrollments"] = pieces["enrollments"].to_numpy()
    split["exposure_days"] = pieces["exposure_days"].to_numpy()
    whole = frame[~mixed]
    out = pd.concat([whole, split], ignore_index=True)
    order = np.concatenate([np.nonzero(~mixed)[0], pieces["row"].to_numpy()])
    return out, course_idx[order], week_idx[order]


def time_split(panel: pd.DataFrame, *, holdout_weeks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on every week before the last ``holdout_weeks``; test on those weeks."""
    cutoff = panel["week"].max() - holdout_weeks
    return panel[panel["week"] <= cutoff], panel[panel["week"] > cutoff]
