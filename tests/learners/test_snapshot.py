"""Snapshot features see only the past; labels see only the window after the cut-off."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from learners.ml.snapshot import FEATURES, price_sensitivity_scores, snapshot_features, snapshot_labels

CUTOFF = date(2026, 6, 1)


def ts(day: date, hour: int = 12) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hour)


@pytest.fixture
def tables():
    learners = pd.DataFrame({"learner_id": [1, 2, 3], "joined_on": [date(2026, 1, 1)] * 3})
    enrollments = pd.DataFrame(
        [
            # learner 1: two past purchases (one completed and rated), one 10 days after the cut-off
            (
                1,
                10,
                "music",
                ts(CUTOFF - timedelta(days=40)),
                100,
                90,
                10.0,
                ts(CUTOFF - timedelta(days=5)),
                5,
            ),
            (1, 11, "music", ts(CUTOFF - timedelta(days=3)), 50, 50, 0.0, ts(CUTOFF + timedelta(days=20)), 4),
            (1, 12, "design", ts(CUTOFF + timedelta(days=10)), 120, 120, 0.0, None, None),
            # learner 2: one old purchase, nothing after
            (2, 10, "music", ts(CUTOFF - timedelta(days=100)), 100, 100, 0.0, None, None),
        ],
        columns=[
            "learner_id",
            "course_id",
            "category",
            "enrolled_at",
            "list_price_tokens",
            "price_paid_tokens",
            "discount_pct",
            "completed_at",
            "rating",
        ],
    )
    activity = pd.DataFrame(
        [
            (1, CUTOFF - timedelta(days=1), 2, 30, 1, 0),
            (1, CUTOFF - timedelta(days=2), 1, 20, 0, 1),
            (1, CUTOFF + timedelta(days=3), 1, 10, 0, 0),
            (2, CUTOFF - timedelta(days=50), 1, 15, 0, 0),
        ],
        columns=["learner_id", "day", "lessons_completed", "minutes", "forum_posts", "assignments_submitted"],
    )
    wallet = pd.DataFrame(
        [
            (1, ts(CUTOFF - timedelta(days=41)), 300, "top_up"),
            (1, ts(CUTOFF - timedelta(days=40)), -90, "purchase"),
            (1, ts(CUTOFF + timedelta(days=1)), 500, "top_up"),
        ],
        columns=["learner_id", "created_at", "amount_tokens", "kind"],
    )
    return learners, enrollments, activity, wallet


def test_features_count_only_what_happened_before_the_cutoff(tables):
    learners, enrollments, activity, wallet = tables
    f = snapshot_features(
        learners=learners, enrollments=enrollments, activity=activity, wallet=wallet, cutoff=CUTOFF
    ).loc[1]
    assert f["enrollments_total"] == 2
    assert f["spend_tokens_total"] == 140
    assert f["completion_rate"] == 0.5
    assert f["current_enrollments"] == 1
    assert f["ratings_given"] == 1 and f["mean_rating_given"] == 5
    assert f["active_days_30d"] == 2 and f["current_streak_days"] == 2
    assert f["wallet_balance"] == 210
    assert f["top_ups_total"] == 1
    assert f["discount_share"] == 0.5
    assert (
        list(
            snapshot_features(
                learners=learners, enrollments=enrollments, activity=activity, wallet=wallet, cutoff=CUTOFF
            ).columns
        )
        == FEATURES
    )


def test_future_rows_never_change_features(tables):
    learners, enrollments, activity, wallet = tables
    before = snapshot_features(
        learners=learners, enrollments=enrollments, activity=activity, wallet=wallet, cutoff=CUTOFF
    )
    later = CUTOFF + timedelta(days=1)
    more_enrollments = pd.concat(
        [enrollments, enrollments.assign(enrolled_at=ts(later), completed_at=ts(later))]
    )
    more_activity = pd.concat([activity, activity.assign(day=later)])
    more_wallet = pd.concat([wallet, wallet.assign(created_at=ts(later))])
    after = snapshot_features(
        learners=learners,
        enrollments=more_enrollments,
        activity=more_activity,
        wallet=more_wallet,
        cutoff=CUTOFF,
    )
    pd.testing.assert_frame_equal(before, after)


def test_labels_come_from_the_window_after_the_cutoff(tables):
    learners, enrollments, activity, _wallet = tables
    labels = snapshot_labels(learners=learners, enrollments=enrollments, activity=activity, cutoff=CUTOFF)
    assert labels.loc[1, "enrolls_30d"] == 1 and labels.loc[2, "enrolls_30d"] == 0
    assert (
        labels.loc[1, "churns_60d"] == 0
        and labels.loc[2, "churns_60d"] == 1
        and labels.loc[3, "churns_60d"] == 1
    )
    assert labels.loc[1, "completes_60d"] == 1
    assert np.isnan(labels.loc[3, "completes_60d"])
    assert labels.loc[1, "upsells_60d"] == 1  # 120 tokens >= the 75-token average before
    assert labels.loc[2, "upsells_60d"] == 0
    assert np.isnan(labels.loc[3, "upsells_60d"])


def test_price_sensitivity_scores_rank_discount_hunters_higher(tables):
    _learners, enrollments, _activity, _wallet = tables
    scores = price_sensitivity_scores(enrollments, cutoff=CUTOFF)
    assert scores.between(0, 1).all()
    assert scores.loc[1] > scores.loc[2]
