import numpy as np
import pandas as pd

from learners.ml.propensity import (
    choose,
    churn_rule_score,
    classification_metrics,
    enrollment_rule_score,
    expected_calibration_error,
    fit_candidates,
    lift_at_top,
)
from learners.ml.snapshot import FEATURES


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(rng.gamma(2.0, 3.0, size=(n, len(FEATURES))), columns=FEATURES)
    features["days_since_last_activity"] = rng.exponential(20, n)
    logit = -1.0 + 1.2 * np.log1p(features["active_days_30d"]) - 0.08 * features["days_since_last_activity"]
    labels = pd.Series((rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int), name="enrolls_30d")
    return features, labels, 1 / (1 + np.exp(-logit))


def test_calibrated_models_beat_the_rule_and_are_calibrated():
    train_x, train_y, _ = synthetic(8000, 1)
    test_x, test_y, truth = synthetic(10000, 2)
    candidates = fit_candidates(train_x, train_y)
    best, scores = choose(candidates, test_x, test_y)
    oracle = classification_metrics(test_y.to_numpy(), truth.to_numpy())["roc_auc"]
    rule = classification_metrics(test_y.to_numpy(), enrollment_rule_score(test_x))["roc_auc"]
    assert scores[best]["roc_auc"] > 0.95 * oracle
    assert scores[best]["roc_auc"] > rule
    assert scores[best]["calibration_error"] < 0.03


def test_metrics_on_known_values():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.8, 0.9])
    metrics = classification_metrics(y, p)
    assert metrics["roc_auc"] == 1.0
    assert lift_at_top(np.array([1] + [0] * 9), np.linspace(1, 0, 10)) == 10.0
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0]), bins=2) == 0.0


def test_churn_rule_scores_inactive_learners_higher():
    features, _, _ = synthetic(100, 3)
    scores = churn_rule_score(features)
    quiet = features["days_since_last_activity"] > features["days_since_last_activity"].median()
    assert scores[quiet.to_numpy()].mean() > scores[~quiet.to_numpy()].mean()
