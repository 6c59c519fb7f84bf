"""Scoring every learner with the production propensity models; the latest scores are stored in
``LearnerScore`` with the model versions that made them.

One process scores everyone with ``score_all_learners``; ``plan_scoring`` + ``score_learner_chunk``
split the same work into learner-id chunks that Celery workers score in parallel (the
``learners.score_learners`` task). A chunk reads the whole tables, because two inputs compare a
learner with all others (the category's mean price and the price-sensitivity percentile ranks),
and builds features, predicts and writes only for its own learners, so every learner gets the
score the single-process run gives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Max

from learners import selectors
from learners.ml.snapshot import learner_features, price_sensitivity_scores
from learners.models import LearnerScore
from learners.segments import churn_risk_for, segment_for
from learners.services.model_source import NoLearnerModel, production_model
from tokenecon.models import Enrollment, Learner, LearnerActivity

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


def compute_scores(
    tables: dict[str, pd.DataFrame], *, cutoff: date, learner_ids: Iterable[int] | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Scores of every learner who joined before the cut-off, or of those among ``learner_ids``
    (pure apart from loading models). The other tables stay whole: features that compare a
    learner with the rest see the same rest either way."""
    if learner_ids is not None:
        learners = tables["learners"]
        tables = {**tables, "learners": learners[learners["learner_id"].isin(set(learner_ids))]}
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
    """Score every learner in this process and replace their stored scores in one transaction."""
    tables = load_tables()
    if tables["learners"].empty:
        return {"scored": 0}
    cutoff = cutoff or data_as_of(tables)
    scores, versions = compute_scores(tables, cutoff=cutoff)
    store_scores(scores, versions=versions, cutoff=cutoff)
    return summarise_scores(scores, versions=versions, cutoff=cutoff)


@dataclass(frozen=True)
class ScoringPlan:
    cutoff: date
    chunks: list[list[int]]


def newest_data_day() -> date | None:
    """``data_as_of`` from two aggregates instead of whole tables (the planner loads nothing)."""
    newest = Enrollment.objects.aggregate(at=Max("enrolled_at"))["at"]
    days = [newest.astimezone(UTC).date()] if newest else []
    last_activity = LearnerActivity.objects.aggregate(day=Max("day"))["day"]
    if last_activity:
        days.append(last_activity)
    return max(days) + timedelta(days=1) if days else None


def plan_scoring(*, chunk_size: int, cutoff: date | None = None) -> ScoringPlan:
    """The cut-off every chunk uses and the ids of the learners to score, in chunks of
    ``chunk_size`` (only learners who joined before the cut-off have scores)."""
    if chunk_size < 1:
        raise ValueError("chunk_size is at least 1")
    cutoff = cutoff or newest_data_day() or date.today()
    ids = list(Learner.objects.filter(joined_on__lt=cutoff).order_by("pk").values_list("pk", flat=True))
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    return ScoringPlan(cutoff=cutoff, chunks=chunks)


def score_learner_chunk(*, learner_ids: list[int], cutoff: date) -> dict:
    """Score the given learners (one chunk of a split run) and store their scores."""
    tables = load_tables()
    scores, versions = compute_scores(tables, cutoff=cutoff, learner_ids=learner_ids)
    store_scores(scores, versions=versions, cutoff=cutoff)
    return summarise_scores(scores, versions=versions, cutoff=cutoff)


def merge_chunk_summaries(summaries: list[dict]) -> dict:
    """One summary for a split run, as ``score_all_learners`` would have returned it."""
    summaries = [s for s in summaries if s.get("scored")]
    if not summaries:
        return {"scored": 0}
    segments: Counter = Counter()
    risks: Counter = Counter()
    for summary in summaries:
        segments.update(summary["segments"])
        risks.update(summary["churn_risk"])
    versions = {name: v for s in summaries for name, v in s["model_versions"].items()}
    return {
        "scored": sum(s["scored"] for s in summaries),
        "as_of": summaries[0]["as_of"],
        "model_versions": versions,
        "segments": dict(segments),
        "churn_risk": dict(risks),
        "chunks": len(summaries),
    }


def store_scores(scores: pd.DataFrame, *, versions: dict[str, int], cutoff: date) -> None:
    """Replace the stored scores of the learners in ``scores`` in one transaction."""
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


def summarise_scores(scores: pd.DataFrame, *, versions: dict[str, int], cutoff: date) -> dict:
    return {
        "scored": len(scores),
        "as_of": str(cutoff),
        "model_versions": versions,
        "segments": {str(k): int(v) for k, v in scores["segment"].value_counts().items()},
        "churn_risk": {str(k): int(v) for k, v in scores["churn_risk"].value_counts().items()},
    }
