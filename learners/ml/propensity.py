"""Propensity models (logistic regression and gradient boosting, calibrated), the seeds'
weighted-score rules as a baseline, and the metrics they are judged by."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

TARGETS = ["enrolls_30d", "churns_60d", "completes_60d", "upsells_60d"]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - predicted probability| over equal-count bins, weighted by bin size."""
    order = np.argsort(p)
    chunks = np.array_split(order, bins)
    total = sum(len(c) * abs(y[c].mean() - p[c].mean()) for c in chunks if len(c))
    return float(total / len(y))


def lift_at_top(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> float:
    top = np.argsort(-p)[: max(1, int(len(p) * share))]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 0, 1)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "calibration_error": expected_calibration_error(y, p),
        "lift_top_decile": lift_at_top(y, p),
        "base_rate": float(y.mean()),
        "rows": int(len(y)),
    }


# -- the seeds' weighted-score rules ------------------------------------------------------------
def _scaled(values: pd.Series, *, inverse: bool = False) -> pd.Series:
    ranked = values.rank(pct=True)
    return 1 - ranked if inverse else ranked


def enrollment_rule_score(features: pd.DataFrame) -> np.ndarray:
    """Recency 30%, engagement 25%, financial 20%, success 15%, satisfaction 10%."""
    score = (
        0.30 * _scaled(features["days_since_last_activity"], inverse=True)
        + 0.25 * _scaled(features["active_days_30d"])
        + 0.20 * _scaled(features["wallet_balance"] + features["spend_tokens_total"])
        + 0.15 * _scaled(features["completion_rate"])
        + 0.10 * _scaled(features["mean_rating_given"])
    )
    return score.to_numpy()


def churn_rule_score(features: pd.DataFrame) -> np.ndarray:
    """Inactivity 35%, engagement decline 25%, completion 20%, financial 10%, satisfaction 10%."""
    score = (
        0.35 * _scaled(features["days_since_last_activity"])
        + 0.25 * _scaled(features["activity_trend"], inverse=True)
        + 0.20 * _scaled(features["completion_rate"], inverse=True)
        + 0.10 * _scaled(features["wallet_balance"], inverse=True)
        + 0.10 * _scaled(features["mean_rating_given"], inverse=True)
    )
    return score.to_numpy()


RULES = {"enrolls_30d": enrollment_rule_score, "churns_60d": churn_rule_score}


# -- models --------------------------------------------------------------------------------------
def _transform(features: pd.DataFrame) -> np.ndarray:
    """Log-compress counts and durations so a linear model sees roughly linear effects."""
    x = features.to_numpy(dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class PropensityModel:
    target: str
    algorithm: str
    estimator: object
    features: list[str]

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=1, user_api="openmp"):
            return self.estimator.predict_proba(_transform(features[self.features]))[:, 1]


def fit_candidates(features: pd.DataFrame, labels: pd.Series, *, seed: int = 0) -> dict[str, PropensityModel]:
    """Calibrated logistic regression and gradient boosting on one target."""
    keep = labels.notna().to_numpy()
    X = _transform(features[keep])
    y = labels[keep].astype(int).to_numpy()
    logistic = CalibratedClassifierCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0)), method="sigmoid", cv=3
    )
    boosting = CalibratedClassifierCV(
        HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.06, min_samples_leaf=40, random_state=seed
        ),
        method="isotonic",
        cv=3,
    )
    columns = list(features.columns)
    fitted = {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for name, estimator in (("logistic", logistic), ("gradient_boosting", boosting)):
            estimator.fit(X, y)
            fitted[name] = PropensityModel(
                target=labels.name, algorithm=name, estimator=estimator, features=columns
            )
    return fitted


def choose(
    candidates: dict[str, PropensityModel], features: pd.DataFrame, labels: pd.Series
) -> tuple[str, dict]:
    """Pick the candidate with the best held-out log loss proxy: Brier score, then ROC AUC."""
    keep = labels.notna().to_numpy()
    y = labels[keep].astype(int).to_numpy()
    scores = {
        name: classification_metrics(y, m.predict_proba(features[keep])) for name, m in candidates.items()
    }
    best = min(scores, key=lambda n: (scores[n]["brier"], -scores[n]["roc_auc"]))
    return best, scores
