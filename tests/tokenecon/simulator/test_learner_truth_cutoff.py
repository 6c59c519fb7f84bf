"""The learner truth at the forward cut-off inside the window, checked against what happened after it."""

import copy
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from tests.tokenecon.simulator.conftest import SMALL
from tokenecon.models import Enrollment, Learner, LearnerActivity
from tokenecon.simulator import truth_model, truth_queries
from tokenecon.simulator.service import run_simulation


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half."""
    ranks = pd.Series(score).rank().to_numpy()
    pos = label.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Realised labels from the simulated rows on and after the cut-off date."""
    cutoff = frame["cutoff_date"].iloc[0]
    start = datetime.combine(cutoff, time(0), tzinfo=UTC)
    bought = set(
        Enrollment.objects.filter(
            enrolled_at__gte=start, enrolled_at__lt=start + timedelta(days=30)
        ).values_list("learner_id", flat=True)
    )
    seen = set(
        LearnerActivity.objects.filter(day__gte=cutoff, day__lt=cutoff + timedelta(days=60)).values_list(
            "learner_id", flat=True
        )
    )
    completed = set(
        Enrollment.objects.filter(
            completed_at__gte=start, completed_at__lt=start + timedelta(days=60)
        ).values_list("learner_id", "course__code")
    )
    frame = frame.copy()
    frame["enrolled"] = frame["learner_id"].isin(bought)
    frame["churned"] = ~frame["learner_id"].isin(seen)
    frame["completed"] = [
        (i, c) in completed for i, c in zip(frame["learner_id"], frame["current_course_code"], strict=True)
    ]
    return frame


def test_cutoff_truth_has_every_learner_and_maps_to_the_database(small_run):
    frame = truth_queries.learners_truth_at_cutoff(path=small_run.truth_path)
    cutoff = SMALL.start_date + timedelta(days=SMALL.days - SMALL.truth_cutoff_days)
    assert (frame["cutoff_date"] == cutoff).all()
    assert list(frame.columns) == [
        "learner",
        "external_id",
        "learner_id",
        "cutoff_date",
        "joined",
        "alive",
        "p_enroll_30d",
        "p_churn_60d",
        "p_complete_60d",
        "has_current_course",
        "current_course_code",
        "price_sensitivity",
    ]
    db = pd.DataFrame(list(Learner.objects.values("id", "external_id", "joined_on")))
    merged = frame.merge(db, on="external_id", validate="one_to_one")
    assert len(merged) == len(frame) == SMALL.learners
    assert (merged["learner_id"] == merged["id"]).all()
    assert (merged["learner"] == merged["external_id"]).all()
    # Joined means a joined_on date strictly before the cut-off date (features see the learner).
    assert (merged["joined"] == (merged["joined_on"] < cutoff)).all()
    assert 0 < (~frame["joined"]).sum() < len(frame)

    joined = frame[frame["joined"]]
    for column in ("p_enroll_30d", "p_churn_60d"):
        assert joined[column].between(0, 1).all()
        assert frame.loc[~frame["joined"], column].isna().all()
    assert joined.loc[joined["has_current_course"], "p_complete_60d"].between(0, 1).all()
    assert joined.loc[~joined["has_current_course"], "p_complete_60d"].isna().all()
    left = joined[~joined["alive"]]
    assert len(left) > 0
    assert (left["p_churn_60d"] == 1).all() and (left["p_enroll_30d"] == 0).all()
    assert (
        truth_queries.learners_truth(path=small_run.truth_path)["external_id"].tolist()
        == frame["learner"].tolist()
    )


def test_realised_labels_after_the_cutoff_agree_with_the_truth(small_run):
    frame = _with_labels(truth_queries.learners_truth_at_cutoff(path=small_run.truth_path))
    joined = frame[frame["joined"]]
    alive = joined[joined["alive"]]
    # Who had left before the cut-off never comes back and never buys.
    left = joined[~joined["alive"]]
    assert left["churned"].all() and not left["enrolled"].any()

    assert alive["enrolled"].mean() == pytest.approx(alive["p_enroll_30d"].mean(), abs=0.07)
    assert joined["churned"].mean() == pytest.approx(joined["p_churn_60d"].mean(), abs=0.05)
    assert alive["churned"].mean() == pytest.approx(alive["p_churn_60d"].mean(), abs=0.04)
    assert _auc(alive["p_enroll_30d"].to_numpy(), alive["enrolled"].to_numpy()) > 0.65
    assert _auc(alive["p_churn_60d"].to_numpy(), alive["churned"].to_numpy()) > 0.7
    assert _auc(joined["p_enroll_30d"].to_numpy(), joined["enrolled"].to_numpy()) > 0.7

    studying = alive[alive["has_current_course"]]
    assert len(studying) > 50
    assert studying["completed"].mean() == pytest.approx(studying["p_complete_60d"].mean(), abs=0.08)
    assert _auc(studying["p_complete_60d"].to_numpy(), studying["completed"].to_numpy()) > 0.7


def test_cutoff_file_is_written_and_an_older_truth_file_has_none(small_run, tmp_path):
    files = truth_queries.write_truth_files(tmp_path / "out", path=small_run.truth_path)
    written = pd.read_csv(files["learners_cutoff"], keep_default_na=False, na_values=[""])
    api = truth_queries.learners_truth_at_cutoff(path=small_run.truth_path, db_ids=False)
    assert list(written.columns) == [c for c in api.columns if c != "external_id"]
    np.testing.assert_allclose(written["p_churn_60d"], api["p_churn_60d"], rtol=1e-5)
    assert written["cutoff_date"].nunique() == 1

    old = copy.copy(truth_model.load_simulation_truth(small_run.truth_path))  # the loaded one is cached
    for name in ("cutoff_day", "cutoff_date", "cutoff_learners"):
        old.__dict__.pop(name)
    older = truth_model.save_truth(old, tmp_path / "older.joblib")
    assert truth_queries.learners_truth_at_cutoff(path=older) is None
    assert len(truth_queries.learners_truth(path=older)) == SMALL.learners
    assert "learners_cutoff" not in truth_queries.write_truth_files(tmp_path / "older", path=older)


def test_no_cutoff_when_disabled(db, tmp_path):
    config = replace(SMALL, learners=100, courses=30, enrollments=200, days=60, truth_cutoff_days=0)
    result = run_simulation(config=config, truth_path=tmp_path / "t.joblib")
    assert truth_queries.learners_truth_at_cutoff(path=result.truth_path) is None
    assert len(truth_queries.learners_truth(path=result.truth_path)) == 100
