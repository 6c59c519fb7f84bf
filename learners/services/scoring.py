"""Scoring every learner with the production propensity models; the latest scores are stored in
``LearnerScore`` with the model versions that made them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.db import transaction

from learners import selectors
from learners.ml.snapshot import learner_features, price_sensitivity_scores
from learners.models import LearnerScore
from learners.segments import churn_risk_for, segment_for
from learners.services.model_source import NoLearnerModel, production_model

MODELS = {  # LearnerScore field -> registry name
    "enroll_prob": "propensity_enroll",
    "churn_prob": "propensity_churn",
    "complete_prob": "propensity_complete",
    "upsell_prob": "propensity_upsell",
}
REQUIRED = ("enroll_prob", "churn_prob")


def data_as_of(tables: dict[str, pd.DataFrame]) -> date:
    """The day after the newest row: scores describe the learners as the data last saw them, so a
    data set that stopped a month ago does not make every learner look a month more inactive."""
    days = [tables["enrollments"]["enrolled_at"].max().date()] if len(tables["enrollments"]) else []
    if len(tables["activity"]):
        days.append(pd.to_datetime(tables["activity"]["day"]).max().date())
    return (max(days) + timedelta(days=1)) if days else date.today()


def compute_scores(tables: dict[str, pd.DataFrame], *, cutoff: date) -> tuple[pd.DataFrame, dict[str, int]]:
    """Scores of every learner who joined before the cut-off (pure apart from loading models)."""
    features = learner_features(tables, cutoff=cutoff)
    out = pd.DataFrame(index=features.index)
    versions = {}
    for field, name in MODELS.items():
        try:
            model = production_model(name)
        except NoLearnerModel:
            if field in REQUIRED:
                raise
            out[field] = np.nan
            continue
        out[field] = model.artifact.predict_proba(features)
        versions[name] = model.version
    # Completion only means something for learners with a course in progress.
    out.loc[features["current_enrollments"].to_numpy() == 0, "complete_prob"] = np.nan
    out.loc[features["enrollments_total"].to_numpy() == 0, "upsell_prob"] = np.nan
    sensitivity = price_sensitivity_scores(
        tables["enrollments"], cutoff=cutoff, wallet=tables["wallet"], activity=tables["activity"]
    )
    out["price_sensitivity"] = sensitivity.reindex(out.index).fillna(0.5)
    try:
        versions["price_sensitivity"] = production_model("price_sensitivity").version
    except NoLearnerModel:
        pass
    out["segment"] = [segment_for(p) for p in out["enroll_prob"]]
    out["churn_risk"] = [churn_risk_for(p) for p in out["churn_prob"]]
    return out, versions


def load_tables() -> dict[str, pd.DataFrame]:
    return {
        "learners": selectors.learner_frame(),
        "enrollments": selectors.enrollment_frame(),
        "activity": selectors.activity_frame(),
        "wallet": selectors.wallet_frame(),
    }


def score_all_learners(*, cutoff: date | None = None) -> dict:
    """Score every learner and replace their stored scores in one transaction."""
    tables = load_tables()
    if tables["learners"].empty:
        return {"scored": 0}
    cutoff = cutoff or data_as_of(tables)
    scores, versions = compute_scores(tables, cutoff=cutoff)
    scored_at = datetime.combine(cutoff, time.min, tzinfo=UTC)

    def value(x):
        return None if pd.isna(x) else float(x)

    rows = [
        LearnerScore(
            learner_id=int(learner_id),
            scored_at=scored_at,
            enroll_prob=float(r.enroll_prob),
            churn_prob=float(r.churn_prob),
            complete_prob=value(r.complete_prob),
            upsell_prob=value(r.upsell_prob),
            price_sensitivity=float(r.price_sensitivity),
            segment=r.segment,
            churn_risk=r.churn_risk,
            model_versions=versions,
        )
        for learner_id, r in zip(scores.index, scores.itertuples(index=False), strict=True)
    ]
    fields = ["scored_at", *MODELS, "price_sensitivity", "segment", "churn_risk", "model_versions"]
    with transaction.atomic():
        LearnerScore.objects.bulk_create(
            rows, batch_size=2000, update_conflicts=True, unique_fields=["learner"], update_fields=fields
        )
    return {
        "scored": len(rows),
        "as_of": str(cutoff),
        "model_versions": versions,
        "segments": scores["segment"].value_counts().to_dict(),
        "churn_risk": scores["churn_risk"].value_counts().to_dict(),
    }
