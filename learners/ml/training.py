"""How the propensity models are trained and judged: which cut-offs, which rows, which metrics.

Time is the split. The evaluation cut-off is the latest date whose longest label window (60
days) is complete in the data. Each target is calibrated on the latest cut-off whose own window
ends by the evaluation cut-off, and fitted on a few cut-offs before that, so no label the model
learns from overlaps the period it is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from learners.ml.propensity import RULES, classification_metrics
from learners.ml.snapshot import joined_before, learner_features, snapshot_labels

TARGETS = {  # label column -> (registry name, label window in days)
    "enrolls_30d": ("propensity_enroll", 30),
    "churns_60d": ("propensity_churn", 60),
    "completes_60d": ("propensity_complete", 60),
    "upsells_60d": ("propensity_upsell", 60),
}
TRUTH_COLUMNS = {
    "enrolls_30d": "p_enroll_30d",
    "churns_60d": "p_churn_60d",
    "completes_60d": "p_complete_60d",
}
LONGEST_WINDOW = max(days for _, days in TARGETS.values())


@dataclass(frozen=True)
class CutoffPlan:
    data_end: date  # the first day with no data
    evaluation: date
    calibration: dict[str, date]
    training: dict[str, list[date]] = field(default_factory=dict)

    def all_cutoffs(self) -> list[date]:
        days = {self.evaluation, *self.calibration.values()}
        for cutoffs in self.training.values():
            days.update(cutoffs)
        return sorted(days)


def plan_cutoffs(
    *, data_end: date, first_day: date, training_cutoffs: int = 6, spacing_days: int = 14
) -> CutoffPlan:
    evaluation = data_end - timedelta(days=LONGEST_WINDOW)
    calibration, training = {}, {}
    for target, (_, window) in TARGETS.items():
        calibration[target] = evaluation - timedelta(days=window)
        cutoffs = [
            calibration[target] - timedelta(days=spacing_days * (i + 1)) for i in range(training_cutoffs)
        ]
        # A cut-off needs some history before it to describe learners by.
        training[target] = [c for c in cutoffs if c >= first_day + timedelta(days=30)]
        if not training[target]:
            raise ValueError(
                f"The data ({first_day} to {data_end}) is too short to train {target}: it needs at least "
                f"{LONGEST_WINDOW + window + spacing_days + 30} days."
            )
    return CutoffPlan(data_end=data_end, evaluation=evaluation, calibration=calibration, training=training)


def snapshot(tables: dict[str, pd.DataFrame], cutoff: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and labels of every learner who had joined before the cut-off."""
    features = learner_features(tables, cutoff=cutoff)
    labels = snapshot_labels(
        learners=joined_before(tables["learners"], cutoff),
        enrollments=tables["enrollments"],
        activity=tables["activity"],
        cutoff=cutoff,
    )
    return features, labels


def stack(snapshots: dict[date, tuple[pd.DataFrame, pd.DataFrame]], cutoffs: list[date], target: str):
    features = pd.concat([snapshots[c][0] for c in cutoffs])
    labels = pd.concat([snapshots[c][1][target] for c in cutoffs])
    return features, labels


def evaluate_target(
    *,
    target: str,
    candidates: dict,
    features: pd.DataFrame,
    labels: pd.Series,
    truth: pd.Series | None = None,
) -> dict:
    """Held-out metrics of every candidate, of the fixed-weight score rule where there is one
    (``learners.ml.propensity.RULES``, the baseline; stored as ``seed_rule``), and of the oracle
    (the simulator's true probabilities on the same learners) where the truth is known."""
    keep = labels.notna().to_numpy()
    y = labels[keep].astype(int).to_numpy()
    rows = features[keep]
    out = {"candidates": {}, "rows": int(keep.sum()), "base_rate": float(y.mean()) if len(y) else None}
    for name, model in candidates.items():
        out["candidates"][name] = classification_metrics(y, model.predict_proba(rows))
    if target in RULES:
        out["seed_rule"] = classification_metrics(y, RULES[target](rows))
        # Rule scores are ranks, not probabilities: only their ranking metrics mean anything.
        for key in ("brier", "calibration_error"):
            out["seed_rule"][key] = None
    if truth is not None:
        known = truth.reindex(rows.index)
        usable = known.notna().to_numpy()
        if usable.sum() > 50:
            out["oracle"] = classification_metrics(y[usable], known.to_numpy()[usable])
            out["oracle_rows"] = int(usable.sum())
    return out


def sensitivity_agreement(scores: pd.Series, truth: pd.Series) -> dict:
    both = pd.concat([scores.rename("score"), truth.rename("truth")], axis=1).dropna()
    if len(both) < 20:
        return {"learners": int(len(both)), "spearman": None}
    return {
        "learners": int(len(both)),
        "spearman": float(spearmanr(both["score"], both["truth"]).correlation),
        "top_vs_bottom_quartile_truth": float(
            both.loc[both["score"] >= both["score"].quantile(0.75), "truth"].mean()
            / both.loc[both["score"] <= both["score"].quantile(0.25), "truth"].mean()
        ),
    }


def fraction_of_oracle(metrics: dict, name: str) -> float | None:
    oracle = metrics.get("oracle", {}).get("roc_auc")
    mine = metrics["candidates"][name]["roc_auc"]
    return float(mine / oracle) if oracle and np.isfinite(oracle) else None
