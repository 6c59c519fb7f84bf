"""Propensity models (logistic regression and gradient boosting, calibrated), fixed-weight score
rules (hand-set weights over ranked features, nothing fitted) as a baseline, and the metrics
they are judged by."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler
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


# -- fixed-weight score rules (the baseline) ---------------------------------------------------
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


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class PropensityModel:
    """A classifier fitted on older cut-offs and recalibrated (Platt scaling on its log-odds) on
    the most recent cut-off whose labels are complete.

    Why recalibrate on the freshest window: base rates drift with the season and with the
    learner population, so a model calibrated on the windows it was fitted on is off by a few
    points on the next one; the ranking transfers, the level does not.
    """

    target: str
    algorithm: str
    estimator: object
    features: list[str]
    calibration: tuple[float, float] = (1.0, 0.0)  # slope, intercept on the raw log-odds

    def raw_proba(self, features: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=1, user_api="openmp"):
            return self.estimator.predict_proba(_transform(features[self.features]))[:, 1]

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        slope, intercept = self.calibration
        return 1 / (1 + np.exp(-(slope * _logit(self.raw_proba(features)) + intercept)))


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(np.unique(y)) < 2:
        return 1.0, 0.0
    fit = LogisticRegression(C=1e4, max_iter=1000).fit(_logit(raw)[:, None], y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def make_estimators(seed: int = 0) -> dict[str, object]:
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0)),
        # An additive logistic GAM: a cubic spline per feature, so a non-linear effect (days
        # since the last visit, say) keeps its shape without trees' steps.
        "logistic_gam": make_pipeline(
            SplineTransformer(n_knots=5, degree=3, knots="quantile", extrapolation="constant"),
            StandardScaler(),
            LogisticRegression(max_iter=3000, C=0.5),
        ),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.06, min_samples_leaf=40, random_state=seed
        ),
    }


def fit_candidates(
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    calibration_features: pd.DataFrame | None = None,
    calibration_labels: pd.Series | None = None,
    seed: int = 0,
) -> dict[str, PropensityModel]:
    """Logistic regression, a logistic GAM and gradient boosting on one target, each recalibrated on the
    calibration cut-off (or, without one, on a held-out fifth of the training rows)."""
    keep = labels.notna().to_numpy()
    features, labels = features[keep], labels[keep].astype(int)
    if calibration_features is None:
        rng = np.random.default_rng(seed)
        held = rng.random(len(features)) < 0.2
        calibration_features, calibration_labels = features[held], labels[held]
        features, labels = features[~held], labels[~held]
    else:
        known = calibration_labels.notna().to_numpy()
        calibration_features = calibration_features[known]
        calibration_labels = calibration_labels[known].astype(int)
    columns = list(features.columns)
    X, y = _transform(features), labels.to_numpy()
    fitted = {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for name, estimator in make_estimators(seed).items():
            estimator.fit(X, y)
            model = PropensityModel(
                target=str(labels.name), algorithm=name, estimator=estimator, features=columns
            )
            model.calibration = _platt(model.raw_proba(calibration_features), calibration_labels.to_numpy())
            fitted[name] = model
    return fitted


def choose(
    candidates: dict[str, PropensityModel], features: pd.DataFrame, labels: pd.Series
) -> tuple[str, dict]:
    """Lowest held-out Brier score (it rewards ranking and calibration together), ties
    broken by ROC AUC, then by the simpler model (logistic first)."""
    keep = labels.notna().to_numpy()
    y = labels[keep].astype(int).to_numpy()
    scores = {
        name: classification_metrics(y, m.predict_proba(features[keep])) for name, m in candidates.items()
    }
    simpler = {"logistic": 0, "logistic_gam": 1, "gradient_boosting": 2}
    best = min(
        scores,
        key=lambda n: (round(scores[n]["brier"], 4), -round(scores[n]["roc_auc"], 4), simpler.get(n, 9)),
    )
    return best, scores
