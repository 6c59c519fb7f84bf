import numpy as np
import pandas as pd

from pricing.ml.panel import build_weekly_panel, time_split
from tests.pricing.synthetic import synthetic_tables


def build(courses, changes, enrollments, start, end, **kwargs):
    return build_weekly_panel(
        courses=courses, price_changes=changes, enrollments=enrollments, start=start, end=end, **kwargs
    )


def test_features_never_see_the_week_they_describe_or_later():
    courses, changes, enrollments, _truth, start, end = synthetic_tables(n_courses=20, weeks=20)
    before = build(courses, changes, enrollments, start, end)
    # Plant a burst of enrollments (with ratings) in week 12 of one course.
    course_id = courses["course_id"].iloc[0]
    burst_day = pd.Timestamp(start, tz="UTC") + pd.Timedelta(weeks=12, days=2)
    burst = pd.DataFrame(
        {
            "course_id": [course_id] * 50,
            "enrolled_at": [burst_day] * 50,
            "completed_at": [burst_day] * 50,
            "rating": [1] * 50,
        }
    )
    after = build(courses, changes, pd.concat([enrollments, burst]), start, end)
    features = ["log_enrollments_to_date", "rating_to_date", "has_rating", "log_lag_enrollments", "log_price"]
    early = before["week"] <= 12
    pd.testing.assert_frame_equal(before.loc[early, features], after.loc[early, features])
    changed = after.loc[(after["course_id"] == course_id) & (after["week"] == 13), "log_enrollments_to_date"]
    assert (
        changed.iloc[0]
        > before.loc[
            (before["course_id"] == course_id) & (before["week"] == 13), "log_enrollments_to_date"
        ].iloc[0]
    )


def _mid_week_doubling(n_courses=5, weeks=6):
    courses, changes, enrollments, _truth, start, end = synthetic_tables(n_courses=n_courses, weeks=weeks)
    course_id = courses["course_id"].iloc[0]
    mid_week = pd.Timestamp(start, tz="UTC") + pd.Timedelta(weeks=2, days=3)
    first_price = float(changes.loc[changes["course_id"] == course_id, "new_price_tokens"].iloc[0])
    extra = pd.DataFrame(
        {
            "course_id": [course_id],
            "effective_at": [mid_week],
            "old_price_tokens": [first_price],
            "new_price_tokens": [first_price * 2],
        }
    )
    only_first = changes[changes["course_id"] == course_id].head(1)
    others = changes[changes["course_id"] != course_id]
    return courses, pd.concat([others, only_first, extra]), enrollments, start, end, course_id, first_price


def test_week_price_is_the_daily_schedule_averaged_when_not_split():
    courses, changes, enrollments, start, end, course_id, first_price = _mid_week_doubling()
    panel = build(courses, changes, enrollments, start, end, split_at_price_changes=False)
    row = panel[(panel["course_id"] == course_id)].set_index("week")["price"]
    assert row[1] == first_price
    assert row[2] == (3 * first_price + 4 * 2 * first_price) / 7
    assert row[3] == 2 * first_price


def test_a_week_with_a_price_change_becomes_one_row_per_price():
    courses, changes, enrollments, start, end, course_id, first_price = _mid_week_doubling()
    day = pd.Timestamp(start, tz="UTC") + pd.Timedelta(weeks=2)
    planted = pd.DataFrame(
        {
            "course_id": [course_id] * 5,
            # Two enrollments on the old price's days (Mon-Wed), three on the new one's (Thu-Sun).
            "enrolled_at": [day + pd.Timedelta(days=d, hours=9) for d in (0, 2, 3, 5, 6)],
            "completed_at": [pd.NaT] * 5,
            "rating": [np.nan] * 5,
        }
    )
    others = enrollments[enrollments["course_id"] != course_id]
    panel = build(courses, changes, pd.concat([others, planted]), start, end)
    week = panel[(panel["course_id"] == course_id) & (panel["week"] == 2)].sort_values("price")
    assert week["price"].tolist() == [first_price, 2 * first_price]
    assert week["exposure_days"].tolist() == [3, 4]
    assert week["enrollments"].tolist() == [2, 3]
    # Weeks with one price stay whole, and no enrollment is lost or counted twice.
    assert len(panel[(panel["course_id"] == course_id) & (panel["week"] == 3)]) == 1
    whole = build(courses, changes, pd.concat([others, planted]), start, end, split_at_price_changes=False)
    assert panel["enrollments"].sum() == whole["enrollments"].sum()
    assert panel["exposure_days"].sum() == whole["exposure_days"].sum()


def test_time_split_keeps_the_future_out_of_training():
    courses, changes, enrollments, _truth, start, end = synthetic_tables(n_courses=10, weeks=20)
    panel = build(courses, changes, enrollments, start, end)
    train, test = time_split(panel, holdout_weeks=4)
    assert train["week_start"].max() < test["week_start"].min()
    assert set(test["week"]) == set(range(16, 20))
    assert len(train) + len(test) == len(panel)
    assert np.isfinite(panel["log_price"]).all()
